"""Run the benchmark: ``python -m benchmarks.run`` (``make bench``).

Starts dynalite (in memory) on a loopback port, creates a table, seeds a 5,000-item
partition, then measures every scenario for every contender (the baselines, the library
and the peers of `peers`), interleaved and in a rotated order each round, ``--reps``
times: wall time and this process's CPU time (``getrusage(RUSAGE_SELF)``, every thread;
dynalite runs in another process, so its CPU is not counted). In the first round each
writer's items are deleted before its run and read back through the library after it,
so nobody wins by doing less. Then the scaling runs (`scaling`) and the peak RSS of a
100,000-item ``iter_query`` walk. Prints a table, writes JSON and a chart.

``--profile SCENARIO:CONTENDER`` instead runs that one pair under cProfile and prints the
functions that cost the most.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from benchmarks import peers
from benchmarks.competitors import COMPETITORS, ON_REQUEST, Competitor
from benchmarks.items import QUERY_PK, BenchItem, make_item
from benchmarks.report import render_chart, render_markdown, render_table, summarize
from benchmarks.scaling import SIZES, run_scaling, scale_partition
from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.testing import create_table, dynalite_server

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

ROOT: Final = Path(__file__).resolve().parent.parent
TABLE: Final = "bench"
WARM_UP: Final = 200


@dataclass(frozen=True)
class Scenario:
    """One measured workload: how many operations, on which data."""

    name: str
    title: str
    count: int
    partition: str


SCENARIOS: Final = (
    Scenario("get_one", "get_one x5,000, 50 tasks", 5000, QUERY_PK),
    Scenario("batch_write", "batch_write 5,000 items", 5000, "bench#write"),
    Scenario("batch_get", "batch_get 5,000 keys", 5000, QUERY_PK),
    Scenario("query", "query walk 5,000 items, pages of 100", 5000, QUERY_PK),
    Scenario("save", "save x2,000, 50 tasks", 2000, "bench#save"),
)


_server_pid: list[int] = []  # dynalite's process, once started


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu_seconds() -> float:
    """User plus system CPU time of the dynalite process so far (0 when unknown)."""
    if not _server_pid:
        return 0.0
    stat = Path(f"/proc/{_server_pid[0]}/stat").read_text()
    # Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed(run: Callable[[Any], Awaitable[int]], data: object, expected: int) -> list[float]:
    """``[wall, cpu, server cpu]`` seconds of one run, which must handle ``expected`` items."""
    gc.collect()
    wall, cpu, server = time.perf_counter(), cpu_seconds(), server_cpu_seconds()
    handled = await run(data)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    server = server_cpu_seconds() - server
    if handled != expected:
        msg = f"{run.__qualname__} handled {handled} items, expected {expected}"
        raise RuntimeError(msg)
    return [wall, cpu, server]


def bench_config(endpoint: str) -> DynamoDBConfig:
    """The library's configuration for the benchmark table: defaults, dummy credentials."""
    return DynamoDBConfig(
        table_name=TABLE,
        region="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - dynalite takes any key
    )


async def seed(config: DynamoDBConfig, count: int) -> None:
    """Create the table and the partition that reads and the query walk use."""
    await create_table(config)
    async with DynamoDBService(LoggingService(), config) as service:
        await service.batch_write([make_item(QUERY_PK, index) for index in range(count)])


def scenario_models(scenario: Scenario, scale: float) -> list[BenchItem]:
    """The models a scenario works on (its keys are read from them for reads)."""
    return [make_item(scenario.partition, index) for index in range(int(scenario.count * scale))]


WRITES: Final = frozenset({"batch_write", "save"})


async def open_all(config: DynamoDBConfig, names: set[str] | None) -> list[Competitor]:
    """Open the contenders (the default set, or those named)."""
    default = COMPETITORS + peers.available()
    kinds = default if names is None else [k for k in default + ON_REQUEST if k.name in names]
    competitors = [kind(config) for kind in kinds]
    for competitor in competitors:
        await competitor.open()
    return competitors


async def warm_up(competitors: list[Competitor], scenarios: list[Scenario]) -> None:
    """Run each pair once on a few items: connections, lazy imports and botocore models."""
    for scenario in scenarios:
        models = scenario_models(scenario, WARM_UP / scenario.count)
        for competitor in competitors:
            run = competitor.scenario(scenario.name)
            if run is not None:
                expected = scenario.count if scenario.name == "query" else len(models)
                await timed(run, competitor.prepare(scenario.name, models), expected)


async def read_back(
    checker: DynamoDBService, competitor: str, scenario: str, models: list[BenchItem]
) -> None:
    """Every item a writer was given is stored exactly as given."""
    stored = await checker.batch_get([(model.pk, model.sk) for model in models], BenchItem)
    if stored != models:
        wrong = sum(a != b for a, b in zip(stored, models, strict=False))
        msg = (
            f"{competitor} {scenario}: read back {len(stored)} of {len(models)} items,"
            f" {wrong} of them different"
        )
        raise RuntimeError(msg)


async def measure_all(
    competitors: list[Competitor],
    scenarios: list[Scenario],
    reps: int,
    scale: float,
    checker: DynamoDBService,
) -> dict[str, dict[str, list[list[float]]]]:
    """Samples per scenario and contender; contenders interleaved and rotated each round."""
    samples: dict[str, dict[str, list[list[float]]]] = {}
    for rep in range(reps):
        for scenario in scenarios:
            models = scenario_models(scenario, scale)
            expected = len(models) if scenario.name != "query" else scenario.count
            shift = rep % len(competitors)
            for competitor in competitors[shift:] + competitors[:shift]:
                run = competitor.scenario(scenario.name)
                if run is None:
                    continue
                data = competitor.prepare(scenario.name, models)
                check = rep == 0 and scenario.name in WRITES
                if check:
                    await checker.batch_delete([(model.pk, model.sk) for model in models])
                sample = await timed(run, data, expected)
                if check:
                    await read_back(checker, competitor.name, scenario.name, models)
                samples.setdefault(scenario.name, {}).setdefault(competitor.name, []).append(sample)
                print(
                    f"  round {rep + 1}/{reps} {scenario.name:<12} {competitor.name:<14}"
                    f" wall {sample[0]:6.2f} s  cpu {sample[1]:6.2f} s  server {sample[2]:6.2f} s",
                    flush=True,
                )
    return samples


async def profile(competitors: list[Competitor], scenario: Scenario, scale: float) -> str:
    """CProfile one run of the single contender on ``scenario``; the top functions."""
    (competitor,) = competitors
    run = competitor.scenario(scenario.name)
    if run is None:
        msg = f"{competitor.name} does not run {scenario.name}"
        raise SystemExit(msg)
    await warm_up(competitors, [scenario])
    models = scenario_models(scenario, scale)
    data = competitor.prepare(scenario.name, models)
    expected = len(models) if scenario.name != "query" else scenario.count
    profiler = cProfile.Profile()
    profiler.enable()
    await timed(run, data, expected)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(45)
    return out.getvalue()


def measure_memory(endpoint: str, count: int, *walk: str) -> dict[str, float]:
    """Peak RSS growth of one ``batch_write`` (or ``--walk PK``) in a fresh process."""
    completed = subprocess.run(  # noqa: S603 - this interpreter, the project's own module
        [sys.executable, "-m", "benchmarks.memory", endpoint, TABLE, str(count), *walk],
        capture_output=True,
        check=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    result: dict[str, float] = json.loads(completed.stdout)
    return result


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each workload")
    parser.add_argument("--scenarios", help="comma-separated scenario names (default: all)")
    parser.add_argument("--competitors", help="comma-separated contender names (default: all)")
    parser.add_argument("--profile", metavar="SCENARIO:CONTENDER", help="cProfile one pair")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--chart", type=Path, default=ROOT / "docs" / "benchmark.png")
    parser.add_argument("--no-chart", action="store_true", help="write no chart")
    parser.add_argument(
        "--sizes",
        default=",".join(str(size) for size in SIZES),
        help="item counts of the scaling runs (comma-separated; empty: none)",
    )
    parser.add_argument(
        "--render", type=Path, metavar="JSON", help="only print and chart earlier results"
    )
    return parser.parse_args()


async def main_async(args: argparse.Namespace, endpoint: str) -> dict[str, Any] | None:
    """Seed, measure (or profile) and summarize, against the running server."""
    config = bench_config(endpoint)
    await seed(config, SCENARIOS[0].count)
    scenarios = [
        scenario
        for scenario in SCENARIOS
        if not args.scenarios or scenario.name in args.scenarios.split(",")
    ]
    if args.profile:
        scenario_name, competitor_name = args.profile.split(":")
        (scenario,) = [s for s in SCENARIOS if s.name == scenario_name]
        competitors = await open_all(config, {competitor_name})
        try:
            print(await profile(competitors, scenario, args.scale))
        finally:
            for competitor in competitors:
                await competitor.close()
        return None
    names = set(args.competitors.split(",")) if args.competitors else None
    competitors = await open_all(config, names)
    try:
        await warm_up(competitors, scenarios)
        async with DynamoDBService(LoggingService(), config) as checker:
            samples = await measure_all(competitors, scenarios, args.reps, args.scale, checker)
    finally:
        for competitor in competitors:
            await competitor.close()
    labels = {competitor.name: competitor.label for competitor in competitors}
    titles = {scenario.name: scenario.title for scenario in scenarios}
    counts = {scenario.name: int(scenario.count * args.scale) for scenario in scenarios}
    counts["query"] = SCENARIOS[3].count
    return summarize(samples, labels, titles, counts)


def main() -> None:
    """Entry point."""
    args = parse_args()
    if args.render:
        summary = json.loads(args.render.read_text())
        print(render_table(summary))
        print(render_markdown(summary))
        render_chart(summary, args.chart)
        return
    started = time.perf_counter()
    with dynalite_server(ROOT / "tools" / "dynalite") as server:
        if server._process is not None:
            _server_pid.append(server._process.pid)
        summary = asyncio.run(main_async(args, server.endpoint_url))
        if summary is None:
            return
        if not args.scenarios and not args.competitors:
            summary["memory"] = measure_memory(server.endpoint_url, int(5000 * args.scale))
        sizes = tuple(int(size) for size in args.sizes.split(",") if size)
        if sizes:
            config = bench_config(server.endpoint_url)
            summary["scaling"] = asyncio.run(run_scaling(config, sizes))
            largest = max(sizes)
            summary["scaling"]["walk_memory"] = measure_memory(
                server.endpoint_url, largest, "--walk", scale_partition(largest)
            )
    summary["settings"] = {
        "reps": args.reps,
        "order": "contenders interleaved, the order rotated by one each round",
        "read_back": "first round: each writer's items deleted before, read back after",
        "machine_load": os.getloadavg()[0],
        "scale": args.scale,
        "server": "dynalite 4.0.0 in memory, same machine",
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {platform.system()}, {os.cpu_count()} CPUs",
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(render_table(summary))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"results: {args.json}")
    if not args.no_chart:
        render_chart(summary, args.chart)
        print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()

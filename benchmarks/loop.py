"""One scenario of the library, round after round: ``python -m benchmarks.loop SCENARIO``.

For a sampling profiler, which sees the program as it runs, without cProfile's cost per
call (``--profile`` of `benchmarks.run` inflates small Python functions): for example
``py-spy record -f raw -o walk.txt -- python -m benchmarks.loop query --rounds 40``
(py-spy is not installed by the project). Starts dynalite in memory, seeds the read
partition, runs the scenario once to warm up, then ``--rounds`` times, printing each
round's client CPU per item and wall time; the garbage collector runs before each round,
as in the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time

from benchmarks.competitors import Library
from benchmarks.run import ROOT, SCENARIOS, bench_config, cpu_seconds, scenario_models, seed
from lvrgd_common.testing import dynalite_server


async def loop(endpoint: str, name: str, rounds: int) -> None:
    """Seed, warm up, then run scenario ``name`` of the library ``rounds`` times."""
    (scenario,) = [candidate for candidate in SCENARIOS if candidate.name == name]
    config = bench_config(endpoint)
    await seed(config, SCENARIOS[0].count)
    library = Library(config)
    await library.open()
    try:
        run = library.scenario(name)
        if run is None:
            msg = f"the library does not run {name}"
            raise SystemExit(msg)
        data = library.prepare(name, scenario_models(scenario, 1.0))
        await run(data)
        samples = []
        for index in range(rounds):
            gc.collect()
            wall, cpu = time.perf_counter(), cpu_seconds()
            await run(data)
            cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
            samples.append(cpu / scenario.count * 1e6)
            print(f"round {index + 1}: {samples[-1]:.1f} us/item client CPU, {wall:.2f} s wall")
        print(f"{name}: median {statistics.median(samples):.1f}, best {min(samples):.1f} us/item")
    finally:
        await library.close()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("scenario", choices=[scenario.name for scenario in SCENARIOS])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with dynalite_server(ROOT / "tools" / "dynalite") as server:
        asyncio.run(loop(server.endpoint_url, args.scenario, args.rounds))


if __name__ == "__main__":
    main()

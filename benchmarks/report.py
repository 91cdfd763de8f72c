"""Medians, ratios, targets; the printed table and the chart."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from pathlib import Path

BASELINE: Final = "resource"
LIBRARY: Final = "library"
SEQUENTIAL: Final = "sequential"
PROTOTYPE: Final = "prototype"
# Client CPU of the library as a fraction of the resource Table's, per scenario (issue 14).
CPU_TARGETS: Final = {
    "get_one": 0.30,
    "save": 0.25,
    "batch_write": 0.15,
    "batch_get": 0.20,
    "query": 0.20,
}
# On CPU the library must be at or below the best of these; on wall time, aiodynamo.
CPU_PEERS: Final = ("aiodynamo", "pydynox_models")
WALL_PEER: Final = "aiodynamo"
WALL_VS_SEQUENTIAL_TARGET: Final = 0.5
MEMORY_TARGET_MIB: Final = 50.0
# Scaling: per-item CPU at the largest size within this factor of the smallest; peak RSS
# growth of the largest iter_query walk below this.
SCALING_FLAT_FACTOR: Final = 1.25
WALK_MEMORY_TARGET_MIB: Final = 30.0


def summarize(
    samples: dict[str, dict[str, list[list[float]]]],
    labels: dict[str, str],
    titles: dict[str, str],
    counts: dict[str, int],
) -> dict[str, Any]:
    """Medians per scenario and contender, their ratios to the baseline, and the targets."""
    scenarios: dict[str, Any] = {}
    for name, per_competitor in samples.items():
        results: dict[str, Any] = {}
        for competitor, runs in per_competitor.items():
            wall = statistics.median(run[0] for run in runs)
            cpu = statistics.median(run[1] for run in runs)
            server = statistics.median(run[2] for run in runs)
            results[competitor] = {
                "label": labels[competitor],
                "wall_s": [round(run[0], 4) for run in runs],
                "cpu_s": [round(run[1], 4) for run in runs],
                "server_cpu_s": [round(run[2], 4) for run in runs],
                "median_wall_s": round(wall, 4),
                "median_cpu_s": round(cpu, 4),
                "median_server_cpu_s": round(server, 4),
                "cpu_us_per_item": round(cpu / counts[name] * 1e6, 1),
            }
        base = results.get(BASELINE)
        for result in results.values():
            if base:
                result["cpu_ratio"] = round(result["median_cpu_s"] / base["median_cpu_s"], 3)
                result["wall_ratio"] = round(result["median_wall_s"] / base["median_wall_s"], 3)
        scenarios[name] = {"title": titles[name], "count": counts[name], "results": results}
    return {"scenarios": scenarios, "targets": _targets(scenarios)}


def _targets(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []
    for name, target in CPU_TARGETS.items():
        library = scenarios.get(name, {}).get("results", {}).get(LIBRARY, {})
        if "cpu_ratio" in library:
            value = library["cpu_ratio"]
            targets.append(_target(name, "client CPU / resource Table", value, target))
    for name, scenario in scenarios.items():
        results = scenario["results"]
        library = results.get(LIBRARY)
        peers = [results[peer] for peer in CPU_PEERS if peer in results]
        if library is None:
            continue
        if peers:
            best = min(peer["cpu_us_per_item"] for peer in peers)
            targets.append(
                _target(name, "CPU us/item vs best peer", library["cpu_us_per_item"], best)
            )
        if WALL_PEER in results:
            targets.append(
                _target(
                    name,
                    "wall s vs aiodynamo",
                    library["median_wall_s"],
                    results[WALL_PEER]["median_wall_s"],
                )
            )
    write = scenarios.get("batch_write", {}).get("results", {})
    if LIBRARY in write and SEQUENTIAL in write:
        value = round(write[LIBRARY]["median_wall_s"] / write[SEQUENTIAL]["median_wall_s"], 3)
        targets.append(
            _target("batch_write", "wall / sequential chunks", value, WALL_VS_SEQUENTIAL_TARGET)
        )
    return targets


def _target(scenario: str, measure: str, value: float, target: float) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "measure": measure,
        "value": value,
        "target": target,
        "met": value <= target,
    }


def render_table(summary: dict[str, Any]) -> str:
    """The results as plain text: one block per scenario, then targets, prototype, memory."""
    header = ("wall s", "cpu s", "cpu us/item", "cpu ratio", "wall ratio", "server cpu s")
    lines = [
        "",
        (
            f"{'':38} {header[0]:>7} {header[1]:>7} {header[2]:>11} {header[3]:>9}"
            f" {header[4]:>10} {header[5]:>12}"
        ),
    ]
    for scenario in summary["scenarios"].values():
        lines.append(scenario["title"])
        lines.extend(_result_line(result) for result in scenario["results"].values())
    lines += [
        "",
        "medians; ratios: the contender's median / the aioboto3 resource Table's median;",
        "cpu = this (client) process, server cpu = dynalite's process in the same interval",
        "",
    ]
    lines.append("targets (library)")
    for target in summary["targets"]:
        verdict = "met" if target["met"] else "NOT MET"
        lines.append(
            f"  {target['scenario']:<12} {target['measure']:<28} {target['value']:6.2f}"
            f" <= {target['target']:.2f}  {verdict}"
        )
    memory = summary.get("memory")
    if memory:
        verdict = "met" if memory["growth_mib"] < MEMORY_TARGET_MIB else "NOT MET"
        lines.append(
            f"  {'batch_write':<12} {'peak RSS growth, MiB':<28} {memory['growth_mib']:6.1f}"
            f" <  {MEMORY_TARGET_MIB:.0f}    {verdict}"
        )
    lines += ["", *scaling_lines(summary.get("scaling")), *_prototype_lines(summary["scenarios"])]
    return "\n".join(lines)


def scaling_verdicts(scaling: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-item CPU flat from the smallest to the largest size; the walk's peak RSS."""
    verdicts: list[dict[str, Any]] = []
    for workload in ("batch_write", "iter_query"):
        runs = scaling["runs"]
        first, last = runs[0], runs[-1]
        value = round(last[workload]["cpu_us_per_item"] / first[workload]["cpu_us_per_item"], 2)
        verdicts.append(
            _target(
                workload,
                f"CPU/item {last['items']:,} vs {first['items']:,}",
                value,
                SCALING_FLAT_FACTOR,
            )
        )
    walk = scaling.get("walk_memory")
    if walk:
        verdicts.append(
            _target(
                "iter_query",
                f"peak RSS growth MiB, {walk['items']:,}",
                walk["growth_mib"],
                WALK_MEMORY_TARGET_MIB,
            )
        )
    return verdicts


def scaling_lines(scaling: dict[str, Any] | None) -> list[str]:
    """The scaling runs as plain text."""
    if not scaling:
        return []
    lines = ["scaling (library): client CPU us per item"]
    lines.append(f"  {'items':>8} {'batch_write':>12} {'iter_query':>11}")
    lines.extend(
        f"  {run['items']:>8,} {run['batch_write']['cpu_us_per_item']:>12.1f}"
        f" {run['iter_query']['cpu_us_per_item']:>11.1f}"
        for run in scaling["runs"]
    )
    for verdict in scaling_verdicts(scaling):
        met = "met" if verdict["met"] else "NOT MET"
        lines.append(
            f"  {verdict['scenario']:<12} {verdict['measure']:<34} {verdict['value']:6.2f}"
            f" <= {verdict['target']:.2f}  {met}"
        )
    lines.append("")
    return lines


# The README table's columns: contender name -> heading.
MARKDOWN_COLUMNS: Final = {
    "aiodynamo": "aiodynamo",
    "pydynox_models": "pydynox, models",
    "pydynox_dicts": "pydynox, dicts",
    LIBRARY: "lvrgd_common",
}


def render_markdown(summary: dict[str, Any]) -> str:
    """CPU ratios to the resource Table per contender and wall times, as Markdown."""
    headings = " | ".join(MARKDOWN_COLUMNS.values())
    lines = [
        f"| scenario | {headings} | target | library us/item | library wall / aiodynamo wall |",
        "|---" * (len(MARKDOWN_COLUMNS) + 4) + "|",
    ]
    for name, scenario in summary["scenarios"].items():
        results = scenario["results"]
        if LIBRARY not in results or BASELINE not in results:
            continue
        cells = []
        for contender in MARKDOWN_COLUMNS:
            ratio = results.get(contender, {}).get("cpu_ratio")
            cells.append("" if ratio is None else f"{ratio:.2f}")
        library = results[LIBRARY]
        target = CPU_TARGETS.get(name)
        peer = results.get(WALL_PEER)
        wall = "" if peer is None else f"{library['median_wall_s'] / peer['median_wall_s']:.2f}"
        lines.append(
            f"| {scenario['title']} | {' | '.join(cells)}"
            f" | {'' if target is None else f'<= {target}'}"
            f" | {library['cpu_us_per_item']:.0f} | {wall} |"
        )
    return "\n".join(lines)


def _result_line(result: dict[str, Any]) -> str:
    return (
        f"  {result['label']:<36} {result['median_wall_s']:7.2f} {result['median_cpu_s']:7.2f}"
        f" {result['cpu_us_per_item']:11.1f} {result.get('cpu_ratio', float('nan')):9.2f}"
        f" {result.get('wall_ratio', float('nan')):10.2f} {result['median_server_cpu_s']:12.2f}"
    )


def _prototype_lines(scenarios: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for name in ("get_one", "batch_write"):
        results = scenarios.get(name, {}).get("results", {})
        if PROTOTYPE not in results or LIBRARY not in results:
            continue
        if not lines:
            lines.append("prototype: own JSON over aioboto3's signer and HTTP session")
        proto = results[PROTOTYPE]["cpu_us_per_item"]
        library = results[LIBRARY]["cpu_us_per_item"]
        saved = 1 - proto / library
        lines.append(
            f"  {name:<12} {proto:7.1f} us/item vs library {library:7.1f}:"
            f" {saved:5.0%} less client CPU"
            f" (ratio to resource Table {results[PROTOTYPE].get('cpu_ratio', float('nan')):.2f})"
        )
    return lines


def render_chart(summary: dict[str, Any], path: Path) -> None:
    """Grouped bars: client CPU and wall time per scenario, relative to the resource Table."""
    import matplotlib as mpl  # noqa: PLC0415 - only `make bench` installs it

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    scenarios = summary["scenarios"]
    names = list(scenarios)
    order = [
        "resource",
        "client",
        "sequential",
        "aiodynamo",
        "pydynox_models",
        "pydynox_dicts",
        "library",
        "library_pages",
        "prototype",
    ]
    present = [c for c in order if any(c in scenarios[n]["results"] for n in names)]
    colors = {
        "resource": "#9e9e9e",
        "client": "#607d8b",
        "sequential": "#b0bec5",
        "library": "#1e88e5",
        "library_pages": "#64b5f6",
        "prototype": "#ff9800",
        "aiodynamo": "#8e24aa",
        "pydynox_models": "#43a047",
        "pydynox_dicts": "#a5d6a7",
    }
    # Each scenario's bars are packed side by side: not every contender runs every scenario.
    slots = {name: [c for c in present if c in scenarios[name]["results"]] for name in names}
    width = 0.8 / max(len(members) for members in slots.values())
    figure, axes = plt.subplots(2, 1, figsize=(11, 8.5), sharex=True)
    for axis, measure, ylabel in (
        (axes[0], "cpu_ratio", "client CPU, resource Table = 1"),
        (axes[1], "wall_ratio", "wall time, resource Table = 1"),
    ):
        for competitor in present:
            xs, ys, notes = [], [], []
            for index, name in enumerate(names):
                members = slots[name]
                result = scenarios[name]["results"].get(competitor)
                if competitor in members and result and measure in result:
                    position = members.index(competitor) - (len(members) - 1) / 2
                    xs.append(index + position * width)
                    ys.append(result[measure])
                    notes.append(f"{result['cpu_us_per_item']:.0f}")
            label = _label(scenarios, competitor)
            bars = axis.bar(xs, ys, width, label=label, color=colors[competitor])
            if measure == "cpu_ratio":
                axis.bar_label(bars, labels=notes, fontsize=6, padding=1)
        if measure == "cpu_ratio":
            for index, name in enumerate(names):
                target = CPU_TARGETS.get(name)
                if target is not None:
                    axis.hlines(
                        target, index - 0.45, index + 0.45, colors="#d32f2f", linestyles=":"
                    )
        axis.axhline(1.0, color="#424242", linewidth=0.6)
        axis.set_ylim(0, 1.12)
        axis.set_ylabel(ylabel)
        axis.grid(axis="y", alpha=0.3)
    axes[0].set_title(
        "lvrgd_common vs aioboto3 and peers on dynalite (medians)."
        " Bar labels: client CPU us per item; dotted red: the library's target",
        fontsize=9,
    )
    axes[1].set_xticks(range(len(names)), [scenarios[n]["title"] for n in names], fontsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncols=3, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _label(scenarios: dict[str, Any], competitor: str) -> str:
    for scenario in scenarios.values():
        result = scenario["results"].get(competitor)
        if result:
            label: str = result["label"]
            return label
    return competitor

"""`make mutate` and `make mutate-changed`: mutmut over the core modules, and the score.

The core modules are ``only_mutate`` in pyproject's ``[tool.mutmut]`` (the one list to edit
when a module moves). mutmut keeps its mutants and results in ``mutants/`` and re-tests
only what changed since the last run, so a second ``make mutate`` is quick.

- ``python tools/mutation.py run``: every core module; prints the per-module table and
  writes it to ``mutation-score.md``. Exit status 1 while any survivor is not allowlisted.
- ``python tools/mutation.py changed [BASE]``: only the functions that the branch changed
  relative to BASE (default ``main``): git's changed line ranges, mapped to the functions
  that hold them.
- ``python tools/mutation.py report``: the table from the results at hand, nothing run.

``mutation-allowlist`` names a surviving mutant per line, then why it is equivalent or not
worth a test; ``#`` starts a comment. An entry whose mutant is killed or gone is reported
as stale.
"""

from __future__ import annotations

import ast
import datetime as dt
import fnmatch
import json
import os
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

from lvrgd_common.testing import moto_server

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
ALLOWLIST = ROOT / "mutation-allowlist"
SCORE = ROOT / "mutation-score.md"
SEPARATOR = "ǁ"  # mutmut's class/method separator in mutant names
TARGET = 0.9

# mutmut's exit codes per mutant (mutmut/stats.py), grouped for the table.
KILLED = {1: "killed", 3: "killed", 37: "killed"}
TIMEOUT = {36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout"}
SURVIVED = {0: "survived"}
NO_TESTS = {5: "no tests", 33: "no tests"}
COLUMNS = ("killed", "survived", "allowlisted", "timeout", "no tests", "not run", "other")


def settings() -> dict[str, list[str]]:
    """``[tool.mutmut]`` of pyproject.toml."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    tool: dict[str, list[str]] = data["tool"]["mutmut"]
    return tool


def core_files() -> list[Path]:
    """The source files that only_mutate selects, relative to the repository."""
    patterns = settings()["only_mutate"]
    return sorted(
        path.relative_to(ROOT)
        for path in (ROOT / "src").rglob("*.py")
        if any(fnmatch.fnmatch(str(path.relative_to(ROOT)), p) for p in patterns)
    )


def module_of(path: Path) -> str:
    """``src/lvrgd_common/services/_dynamodb/codec.py`` -> its dotted module name."""
    parts = path.relative_to("src").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def short(module: str) -> str:
    """The module's name in the table, without the common prefix."""
    for prefix in ("lvrgd_common.services._dynamodb.", "lvrgd_common."):
        if module.startswith(prefix):
            return module.removeprefix(prefix)
    return module


def read_allowlist() -> dict[str, str]:
    """Mutant name -> reason."""
    entries: dict[str, str] = {}
    if not ALLOWLIST.exists():
        return entries
    for raw in ALLOWLIST.read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            msg = f"mutation-allowlist: {name} has no reason"
            raise SystemExit(msg)
        entries[name] = reason.strip()
    return entries


def results() -> dict[str, dict[str, int | None]]:
    """Per core module, mutant name -> mutmut's exit code (None: not run yet)."""
    found: dict[str, dict[str, int | None]] = {}
    for path in core_files():
        meta = MUTANTS / (str(path) + ".meta")
        if meta.exists():
            found[module_of(path)] = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
    return found


def status_of(code: int | None) -> str:
    """The table's column for one exit code."""
    if code is None:
        return "not run"
    for table in (KILLED, TIMEOUT, SURVIVED, NO_TESTS):
        if code in table:
            return table[code]
    return "other"


def report() -> int:
    """Print the table, write mutation-score.md; 1 while a survivor is not allowlisted."""
    allowed = read_allowlist()
    rows, seen, open_survivors = tally(allowed)
    stale = sorted(set(allowed) - seen)
    lines = table(rows)
    found = {module for module, _ in rows}
    unmutated = [short(module_of(p)) for p in core_files() if module_of(p) not in found]
    if unmutated:
        lines += ["", "No mutants generated yet (not in the last run): " + ", ".join(unmutated)]
    head = f"Mutation score ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {commit()})"
    text = [f"# {head}", "", *lines, ""]
    if open_survivors:
        text += [f"Survivors neither killed nor allowlisted: {len(open_survivors)}", ""]
        text += [f"- `{name}`" for name in sorted(open_survivors)] + [""]
    if stale:
        text += ["Stale allowlist entries (killed, or no such mutant):", ""]
        text += [f"- `{name}`" for name in stale] + [""]
    text += [
        "killed% = (killed + timeout) / (all - allowlisted - not run - other), '-' when none",
        "was run; 'no tests': no selected test calls the function; 'other': suspicious or",
        "crashed. `mutmut show NAME` in this directory prints a mutant's diff.",
        "",
    ]
    SCORE.write_text("\n".join(text), "utf-8")
    print("\n".join(lines))
    print(f"\nwritten to {SCORE.relative_to(ROOT)}; survivors left: {len(open_survivors)}")
    for name in sorted(open_survivors):
        print("  survived:", name)
    for name in stale:
        print("  stale allowlist entry:", name)
    return 1 if open_survivors else 0


def tally(
    allowed: dict[str, str],
) -> tuple[list[tuple[str, Counter[str]]], set[str], list[str]]:
    """Per module, its counts; the allowlisted names seen; the survivors not allowlisted."""
    seen: set[str] = set()
    rows: list[tuple[str, Counter[str]]] = []
    open_survivors: list[str] = []
    for module, codes in sorted(results().items()):
        counts: Counter[str] = Counter()
        for name, code in codes.items():
            status = status_of(code)
            if name in allowed:
                seen.add(name)
                if status in {"survived", "no tests"}:
                    status = "allowlisted"
            elif status in {"survived", "no tests"}:
                open_survivors.append(name)
            counts[status] += 1
        rows.append((module, counts))
    return rows, seen, open_survivors


def table(rows: list[tuple[str, Counter[str]]]) -> list[str]:
    """Markdown table: one row per module and a total."""
    header = "| module | " + " | ".join(COLUMNS) + " | killed% |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    total: Counter[str] = Counter()
    for module, counts in [*rows, ("TOTAL", None)]:
        shown = total if counts is None else counts
        if counts is not None:
            total.update(counts)
        judged = sum(shown.values()) - shown["allowlisted"] - shown["not run"] - shown["other"]
        if judged:
            score = (shown["killed"] + shown["timeout"]) / judged
            shown_score = f"{score:.1%}" + ("" if score >= TARGET else " (<90%)")
        else:
            shown_score = "-"
        cells = " | ".join(str(shown[c]) for c in COLUMNS)
        lines.append(f"| {short(module)} | {cells} | {shown_score} |")
    return lines


def commit() -> str:
    """The commit the results belong to, and whether the tree had changes."""
    head = git("rev-parse", "--short", "HEAD").strip()
    dirty = git("status", "--porcelain", "--untracked-files=no", "src", "tests").strip()
    return head + (" + uncommitted changes" if dirty else "")


def git(*args: str) -> str:
    """Run git in the repository; its standard output."""
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603, S607
    return done.stdout


def changed_functions(base: str) -> list[str]:
    """The mutmut name globs for the functions of core files that differ from ``base``."""
    merge_base = git("merge-base", base, "HEAD").strip()
    globs: list[str] = []
    for path in core_files():
        diff = git("diff", "-U0", merge_base, "--", str(path))
        lines = {
            line
            for start, count in re.findall(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", diff, re.MULTILINE)
            for line in range(int(start), int(start) + max(int(count or 1), 1))
        }
        if lines:
            module = module_of(path)
            globs += [f"{module}.{name}__mutmut_*" for name in functions_at(path, lines)]
    return globs


def functions_at(path: Path, lines: set[int]) -> list[str]:
    """Mangled names (as mutmut writes them) of the functions that hold any of ``lines``."""
    tree = ast.parse((ROOT / path).read_text("utf-8"))
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if touches(node, lines):
                names.append(f"x_{node.name}")
        elif isinstance(node, ast.ClassDef):
            names += [
                f"x{SEPARATOR}{node.name}{SEPARATOR}{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and touches(item, lines)
            ]
    return names


def touches(node: ast.AST, lines: set[int]) -> bool:
    """Whether a definition (decorators included) spans one of ``lines``."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])  # type: ignore[attr-defined]
    last = node.end_lineno or node.lineno  # type: ignore[attr-defined]
    return any(first <= line <= last for line in lines)


def mutmut(*names: str) -> int:
    """``mutmut run`` on ``names`` (all when empty) with MUTATE_JOBS workers.

    One moto server serves every mutant's integration tests (the conftest takes it from
    LVRGD_SHARED_MOTO_URL): no server start per mutant, and none left behind by a worker
    that mutmut kills on timeout.
    """
    jobs = os.environ.get("MUTATE_JOBS", "2")
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", jobs, *names]
    with moto_server() as server:
        env = {**os.environ, "LVRGD_SHARED_MOTO_URL": server.endpoint_url}
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603  # noqa: S603


def main(argv: list[str]) -> int:
    """Entry point: run | changed [BASE] | report."""
    action = argv[0] if argv else "run"
    if action == "report":
        return report()
    if action == "changed":
        globs = changed_functions(argv[1] if len(argv) > 1 else "main")
        if not globs:
            print("no core function changed relative to", argv[1] if len(argv) > 1 else "main")
            return 0
        print(f"mutating {len(globs)} changed functions:", *globs, sep="\n  ")
        status = mutmut(*globs)
    elif action == "run":
        status = mutmut()
    else:
        print(__doc__)
        return 2
    if status:
        print(f"mutmut exited with status {status}")
        return status
    return report()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

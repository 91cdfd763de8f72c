"""Check what `python -m build` put in a dist folder: one sdist and one wheel, complete.

Usage: python tools/check_dist.py DIST_DIR
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL_FILES = (
    "lvrgd_common/__init__.py",
    "lvrgd_common/py.typed",
    "lvrgd_common/testing/__init__.py",
    "lvrgd_common/testing/plugin.py",
)
SDIST_FILES = ("pyproject.toml", "README.md", "src/lvrgd_common/py.typed")
NOT_SHIPPED = frozenset({"tests", "integration-tests", "examples", "tools"})


def source_version() -> str:
    """``__version__`` as written in the source tree."""
    text = (ROOT / "src" / "lvrgd_common" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        sys.exit("no __version__ in src/lvrgd_common/__init__.py")
    return match.group(1)


def only(dist: Path, pattern: str) -> Path:
    """The single file in ``dist`` matching ``pattern``."""
    found = sorted(dist.glob(pattern))
    if len(found) != 1:
        sys.exit(f"expected one {pattern} in {dist}, found {[path.name for path in found]}")
    return found[0]


def check_wheel(wheel: Path, version: str) -> list[str]:
    """What is wrong with the wheel: files, version, dependencies, extras, classifiers."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata_names = [name for name in names if name.endswith(".dist-info/METADATA")]
        if len(metadata_names) != 1:
            return ["wheel has no single METADATA"]
        metadata = Parser().parsestr(archive.read(metadata_names[0]).decode())
        entry_points_name = metadata_names[0].replace("METADATA", "entry_points.txt")
        entry_points = (
            archive.read(entry_points_name).decode() if entry_points_name in names else ""
        )
    problems = [f"wheel lacks {required}" for required in WHEEL_FILES if required not in names]
    stray = sorted(name for name in names if name.split("/")[0] in NOT_SHIPPED)
    if stray:
        problems.append(f"wheel carries {stray[:3]}")
    if metadata["Version"] != version:
        problems.append(f"wheel version {metadata['Version']} != __version__ {version}")
    requires = " ".join(metadata.get_all("Requires-Dist") or [])
    problems += [
        f"wheel does not require {dependency}"
        for dependency in ("aioboto3", "pydantic")
        if dependency not in requires
    ]
    extras = set(metadata.get_all("Provides-Extra") or [])
    if not {"dotenv", "examples", "dev"} <= extras:
        problems.append(f"wheel extras are {sorted(extras)}")
    # The pytest plugin of the [testing] extra and the local server's console script.
    for entry_point in (
        "lvrgd_common = lvrgd_common.testing.plugin",
        "lvrgd-dynamodb-local = lvrgd_common.testing.local:main",
    ):
        if entry_point not in entry_points:
            problems.append(f"wheel lacks the entry point {entry_point!r}")
    if "Typing :: Typed" not in (metadata.get_all("Classifier") or []):
        problems.append("wheel lacks the 'Typing :: Typed' classifier")
    return problems


def check_sdist(sdist: Path) -> list[str]:
    """What is missing from the sdist, or there by mistake."""
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    problems = [f"sdist lacks {required}" for required in SDIST_FILES if required not in names]
    stray = sorted(name for name in names if name.split("/")[0] in NOT_SHIPPED)
    if stray:
        problems.append(f"sdist carries {stray[:3]}")
    return problems


def main() -> None:
    """Exit non-zero naming every problem; print one line when all is well."""
    dist = Path(sys.argv[1])
    version = source_version()
    wheel = only(dist, "lvrgd_common-*.whl")
    sdist = only(dist, "lvrgd_common-*.tar.gz")
    problems = check_wheel(wheel, version) + check_sdist(sdist)
    if problems:
        sys.exit("\n".join(problems))
    print(f"dist ok: {sdist.name}, {wheel.name} (version {version}, py.typed in both)")


if __name__ == "__main__":
    main()

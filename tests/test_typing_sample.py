"""docs/typing.md's program passes ``mypy --strict`` with the page's own configuration.

It is type-checked as a user's project would be: the page's ``[tool.mypy]`` table as the
project's pyproject.toml, the program as its one file, and lvrgd-common as installed. Its
``assert_type`` calls hold the result types of unions (through a ``TypeAdapter``); its
updates dict passes both ``update()`` and ``TransactionWriteItem``; its boto3 ``Attr``
conditions pass where ``ConditionBase`` is expected. (integration-tests/test_docs_code.py
runs the same program against moto.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "typing.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [code for lang, code in FENCE.findall(PAGE.read_text()) if lang == language]


def test_the_pages_program_passes_mypy_strict(tmp_path: Path) -> None:
    (config,) = blocks("toml")
    (program,) = blocks("python")
    assert "strict = true" in config
    assert "assert_type(page, PaginationResult[Profile | Order])" in program
    assert "updates=changes" in program
    assert "update(" in program
    (tmp_path / "pyproject.toml").write_text(config)
    (tmp_path / "sample.py").write_text(program)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "sample.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 1 source file" in result.stdout

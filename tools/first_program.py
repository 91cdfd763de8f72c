"""Run the README's first program as pasted, in a process of its own, on the embedded moto.

The README tells the reader to start a server with a ``notes`` table and to export five
variables; this does the same (moto on a free port, the table created), writes the first
```python block to ``first.py`` in an empty directory and runs it with the given
interpreter, whose environment holds nothing but those variables. What it prints must be
the ```text block that follows it in the README.

Usage: python tools/first_program.py [PYTHON]   (default: this interpreter; `make
package-check` passes the clean venv's, where only the wheel is installed)
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from lvrgd_common import DynamoDBConfig
from lvrgd_common.testing import create_table, moto_server

README = Path(__file__).resolve().parent.parent / "README.md"
PROGRAM = re.compile(
    r"^```python\n(.*?)^```\n\nIt prints:\n\n```text\n(.*?)^```", re.MULTILINE | re.DOTALL
)
TABLE, REGION = "notes", "us-east-1"


def first_program(readme: Path = README) -> tuple[str, str]:
    """The README's first python block and the output it says the block prints."""
    text = readme.read_text(encoding="utf-8")
    match = PROGRAM.search(text)
    first = text.index("```python\n")
    if match is None or match.start() != first:
        sys.exit("README.md: the first python block is not followed by 'It prints:' and its output")
    return match.group(1), match.group(2)


def run(python: str) -> str:
    """Run the first program with ``python``; what it printed (it must exit with 0)."""
    code, _expected = first_program()
    with moto_server() as server, tempfile.TemporaryDirectory() as workdir:
        config = DynamoDBConfig(
            table_name=TABLE,
            region=REGION,
            endpoint_url=server.endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the local server takes any
        )
        asyncio.run(create_table(config))
        script = Path(workdir) / "first.py"
        script.write_text(code, encoding="utf-8")
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "DYNAMODB_ENDPOINT_URL": server.endpoint_url,
            "DYNAMODB_TABLE_NAME": TABLE,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "HOME": workdir,  # no ~/.aws of the machine's
        }
        result = subprocess.run(  # noqa: S603 - the interpreter asked for, the README's code
            [os.path.abspath(python), script.name],  # noqa: PTH100 - keep the venv symlink
            cwd=workdir,
            env=environ,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    if result.returncode != 0:
        sys.exit(f"the README's first program failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def main() -> None:
    """Run it and compare what it printed with the README's ``It prints:`` block."""
    python = sys.argv[1] if len(sys.argv) > 1 else sys.executable
    printed = run(python)
    _code, expected = first_program()
    if printed != expected:
        sys.exit(f"the README's first program printed:\n{printed}\nnot:\n{expected}")
    print(f"README's first program ran as pasted with {python}")


if __name__ == "__main__":
    main()

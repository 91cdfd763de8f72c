"""The FastAPI example's own tests (examples/fastapi_app/test_app.py) pass, as a user runs them.

They use only the pytest plugin's fixtures. They run in a pytest of their own, from the
repository root, so nothing of this suite's conftest reaches them; on the env backend they
get its ``DYNAMODB_ENDPOINT_URL`` as a user's CI would, otherwise the plugin's embedded moto.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_examples_tests_pass_on_the_plugin(backend: str) -> None:
    environ = dict(os.environ)
    if backend != "env":
        environ.pop("DYNAMODB_ENDPOINT_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "examples/fastapi_app", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout, result.stdout

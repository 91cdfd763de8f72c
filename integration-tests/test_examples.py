"""The quickstart (what ``make demo`` runs) works end to end against the session's server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lvrgd_common import DynamoDBConfig

QUICKSTART = Path(__file__).parent.parent / "examples" / "quickstart.py"


@pytest.mark.needs("transactions")
def test_quickstart_runs_every_operation(base_config: DynamoDBConfig) -> None:
    assert base_config.endpoint_url is not None
    secret = base_config.aws_secret_access_key
    env = {
        **os.environ,
        "DYNAMODB_ENDPOINT_URL": base_config.endpoint_url,
        "AWS_REGION": base_config.region,
        "AWS_ACCESS_KEY_ID": base_config.aws_access_key_id or "",
        "AWS_SECRET_ACCESS_KEY": secret.get_secret_value() if secret else "",
    }
    result = subprocess.run(  # noqa: S603 - the project's own example
        [sys.executable, str(QUICKSTART)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "table is ACTIVE: True" in out
    assert "page 3: 60 orders" in out
    assert "count(USER#7): 300" in out
    assert "committed: balances [70, 30]" in out
    assert "operation 1: ConditionalCheckFailed" in out
    assert "after the cancelled one: balances [70, 30]" in out
    assert out.rstrip().endswith("done")

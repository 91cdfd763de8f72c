"""The bulk-import worker as a subprocess: 20,000 rows, a SIGTERM in the middle, a retry run.

The input is a named pipe the test writes: half the rows, then (once the worker has
reported a written batch) the SIGTERM, then the other half. So the signal always lands
in the middle of the import, whatever the machine's speed, and no timing is asserted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from examples.fastapi_app.schemas import Account, account_pk, account_sk
from lvrgd_common import LoggingService
from lvrgd_common.sync import DynamoDBService

if TYPE_CHECKING:
    from lvrgd_common import DynamoDBConfig

ROOT = Path(__file__).resolve().parent.parent
ROWS = 20_000


def worker_env(config: DynamoDBConfig) -> dict[str, str]:
    secret = config.aws_secret_access_key
    env = {
        **os.environ,
        "DYNAMODB_TABLE_NAME": config.table_name,
        "AWS_REGION": config.region,
        "AWS_ACCESS_KEY_ID": config.aws_access_key_id or "",
        "AWS_SECRET_ACCESS_KEY": "" if secret is None else secret.get_secret_value(),
        "PYTHONPATH": str(ROOT),
        # Generous: a busy machine may slow the server down, never fail the import.
        "DYNAMODB_READ_TIMEOUT": "60",
    }
    if config.endpoint_url:
        env["DYNAMODB_ENDPOINT_URL"] = config.endpoint_url
    return env


def start(config: DynamoDBConfig, source: Path, failed: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and example
        [
            sys.executable,
            "-m",
            "examples.worker.bulk_import",
            str(source),
            "--failed",
            str(failed),
            "--batch-size",
            "500",
            "--json-progress",
        ],
        cwd=ROOT,
        env=worker_env(config),
        stdout=subprocess.PIPE,
        text=True,
    )


def read_event(worker: subprocess.Popen[str]) -> dict[str, Any]:
    assert worker.stdout is not None
    line = worker.stdout.readline()
    assert line, f"the worker ended early (status {worker.wait()})"
    event: dict[str, Any] = json.loads(line)
    return event


def patient(config: DynamoDBConfig) -> DynamoDBConfig:
    return config.model_copy(update={"read_timeout": 60.0})


def owner_of(base: str, index: int) -> str:
    """Rows spread over 40 owners: partitions stay small (moto reads a partition whole)."""
    return f"{base}{index % 40}"


def stored_ids(config: DynamoDBConfig, base: str, count: int) -> list[str]:
    """Which of the first ``count`` rows' accounts the table holds, in row order."""
    keys = [
        (account_pk(owner_of(base, index)), account_sk(f"a{index:05d}")) for index in range(count)
    ]
    with DynamoDBService(LoggingService(), patient(config)) as service:
        return [account.account_id for account in service.batch_get(keys, Account)]


def row(base: str, index: int) -> str:
    data = {
        "owner": owner_of(base, index),
        "account_id": f"a{index:05d}",
        "name": f"n{index}",
        "balance": index,
    }
    return json.dumps(data) + "\n"


@pytest.mark.slow
def test_sigterm_mid_import_loses_no_row_and_the_retry_run_finishes(
    config: DynamoDBConfig, tmp_path: Path
) -> None:
    owner = f"w{uuid.uuid4().hex[:12]}"
    source, failed = tmp_path / "accounts.jsonl", tmp_path / "failed.jsonl"
    os.mkfifo(source)
    worker = start(config, source, failed)
    with source.open("w", encoding="utf-8") as pipe:
        pipe.writelines(row(owner, index) for index in range(ROWS // 2))
        pipe.flush()
        first = read_event(worker)
        assert first["event"] == "progress"
        assert first["done"] > 0
        worker.send_signal(signal.SIGTERM)
        pipe.writelines(row(owner, index) for index in range(ROWS // 2, ROWS))
    events = [read_event(worker)]
    while events[-1]["event"] != "summary":
        events.append(read_event(worker))
    assert worker.wait() == 3  # rows left to retry

    summary = events[-1]
    assert summary["stopped"] is True
    assert summary["rejected"] == 0
    assert summary["done"] + summary["failed"] == ROWS
    assert summary["failed"] >= ROWS // 2 - 500  # at most one batch begun after the signal
    left = [json.loads(line)["account_id"] for line in failed.read_text().splitlines()]
    stored = stored_ids(config, owner, ROWS)
    assert len(left) == summary["failed"]
    assert len(stored) == summary["done"]
    assert sorted(stored + left) == [f"a{index:05d}" for index in range(ROWS)]

    retry = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "examples.worker.bulk_import", str(failed)],
        cwd=ROOT,
        env=worker_env(config),
        capture_output=True,
        text=True,
        check=False,
    )
    assert retry.returncode == 0, retry.stderr
    final = json.loads(retry.stdout.splitlines()[-1])
    assert (final["done"], final["failed"], final["stopped"]) == (len(left), 0, False)
    with DynamoDBService(LoggingService(), patient(config)) as service:
        counts = [service.count(account_pk(owner_of(owner, index))) for index in range(40)]
    assert sum(counts) == ROWS


def test_lines_that_are_not_accounts_go_to_the_rejected_file(
    config: DynamoDBConfig, tmp_path: Path
) -> None:
    owner = f"w{uuid.uuid4().hex[:12]}"
    source = tmp_path / "in.jsonl"
    source.write_text(row(owner, 1) + "not json\n" + '{"owner": "x"}\n' + row(owner, 2))
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "examples.worker.bulk_import", str(source)],
        cwd=ROOT,
        env=worker_env(config),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert (summary["done"], summary["failed"], summary["rejected"]) == (2, 0, 2)
    rejected = Path(f"{summary['failed_file']}.rejected").read_text().splitlines()
    assert rejected == ["not json", '{"owner": "x"}']
    assert stored_ids(config, owner, 3) == ["a00001", "a00002"]

"""Bulk import of accounts from a JSON-lines file: a progress bar, SIGTERM-safe, retryable.

    python -m examples.worker.bulk_import accounts.jsonl [--failed failed.jsonl]

Each input line is an account of the FastAPI example's domain::

    {"owner": "ada", "account_id": "main", "name": "Main", "balance": 0}

Settings come from the environment (``DYNAMODB_TABLE_NAME``, ``AWS_REGION``,
``DYNAMODB_ENDPOINT_URL``...; see `DynamoDBConfig.from_env`). Rows are read in batches
and written with `DynamoDBService.batch_write`, whose ``on_progress`` moves a tqdm bar.

Nothing is lost:

- ``SIGTERM`` (or Ctrl-C) lets the batch in flight finish, then copies every row not yet
  written to the failed file and closes the service;
- rows DynamoDB still refused after the library's retries (``failed_items`` of
  `DynamoDBBatchOperationError`) go to the failed file too;
- run the worker again with the failed file as input to finish the job.

Lines that are not valid accounts go to ``<failed>.rejected`` (retrying cannot help them).
The last line on stdout is a JSON summary; the exit status is 0 when every row was
written, 3 when the failed file holds rows to retry.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

from pydantic import ConfigDict, ValidationError
from tqdm import tqdm

from examples.fastapi_app.schemas import AccountIn, Identifier, ImportedAccount
from lvrgd_common import (
    DynamoDBBatchOperationError,
    DynamoDBConfig,
    DynamoDBService,
    LoggingService,
)

if TYPE_CHECKING:
    from collections.abc import Callable

BATCH_SIZE: Final = 1000
EXIT_RETRY: Final = 3


class Row(AccountIn):
    """One input line: an account and its owner."""

    model_config = ConfigDict(extra="forbid")

    owner: Identifier

    def account(self) -> ImportedAccount:
        """The account as stored."""
        return ImportedAccount.new(self.owner, self)

    @classmethod
    def of(cls, account: ImportedAccount) -> Row:
        """The input line for a stored account (for the retry file)."""
        return cls(
            owner=account.owner,
            account_id=account.account_id,
            name=account.name,
            balance=account.balance,
        )


@dataclass
class Summary:
    """What one run did; ``done + failed`` is every valid row read."""

    done: int = 0
    failed: int = 0
    rejected: int = 0
    stopped: bool = False


class Import:
    """One run: reads batches, writes them, keeps the files of what is left to do."""

    def __init__(
        self,
        service: DynamoDBService,
        failed: TextIO,
        rejected: TextIO,
        report: Callable[[Summary], None],
    ) -> None:
        self.service = service
        self.failed = failed
        self.rejected = rejected
        self.report = report
        self.summary = Summary()
        self.stop = asyncio.Event()

    async def run(
        self, source: TextIO, advance: Callable[[int], object], batch_size: int
    ) -> Summary:
        """Import every line of ``source``, or until `stop` is set."""
        while lines := await asyncio.to_thread(_read_lines, source, batch_size):
            if self.stop.is_set():
                self._keep_for_retry(lines)
                continue  # read on: every remaining row goes to the failed file
            await self._write(self._accounts(lines), advance)
            self.report(self.summary)
        self.summary.stopped = self.stop.is_set()
        return self.summary

    def _accounts(self, lines: list[str]) -> list[ImportedAccount]:
        accounts = []
        for line in lines:
            try:
                accounts.append(Row.model_validate_json(line).account())
            except ValidationError:
                self.summary.rejected += 1
                self.rejected.write(line if line.endswith("\n") else f"{line}\n")
        return accounts

    async def _write(
        self, accounts: list[ImportedAccount], advance: Callable[[int], object]
    ) -> None:
        written = 0

        def on_progress(done: int, _total: int) -> None:
            nonlocal written
            advance(done - written)
            written = done

        try:
            await self.service.batch_write(accounts, on_progress=on_progress)
        except DynamoDBBatchOperationError as exc:
            for account in exc.failed_items:
                self.failed.write(Row.of(account).model_dump_json() + "\n")
            self.summary.failed += len(exc.failed_items)
        self.summary.done += written

    def _keep_for_retry(self, lines: list[str]) -> None:
        for line in lines:
            if line.strip():
                self.failed.write(line if line.endswith("\n") else f"{line}\n")
                self.summary.failed += 1


def _read_lines(source: TextIO, count: int) -> list[str]:
    lines: list[str] = []
    while len(lines) < count and (line := source.readline()):
        if line.strip():
            lines.append(line)
    return lines


def _count_lines(path: Path) -> int | None:
    """Non-blank lines of a regular file (for the bar's total); None for a pipe."""
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def import_file(
    config: DynamoDBConfig,
    source: Path,
    failed: Path,
    *,
    batch_size: int = BATCH_SIZE,
    report: Callable[[Summary], None] = lambda _summary: None,
) -> Summary:
    """Import ``source``; rows left to do go to ``failed``, bad lines to ``failed.rejected``."""
    total = _count_lines(source)
    with (
        source.open(encoding="utf-8") as source_file,
        failed.open("w", encoding="utf-8") as failed_file,
        Path(f"{failed}.rejected").open("w", encoding="utf-8") as rejected_file,
        tqdm(total=total, unit="row", disable=None, file=sys.stderr) as bar,
    ):

        async def run() -> Summary:
            async with DynamoDBService(LoggingService("examples.worker"), config) as service:
                job = Import(service, failed_file, rejected_file, report)
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, job.stop.set)
                return await job.run(source_file, bar.update, batch_size)
            # Leaving `async with` closes the service and releases its connections.

        return asyncio.run(run())


def main() -> int:
    """Parse the arguments, run the import, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("source", type=Path, help="a JSON-lines file (or a pipe)")
    parser.add_argument("--failed", type=Path, help="default: <source>.failed.jsonl")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument(
        "--json-progress", action="store_true", help="a JSON line on stdout after each batch"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    failed: Path = args.failed or args.source.with_name(f"{args.source.name}.failed.jsonl")

    def report(summary: Summary) -> None:
        if args.json_progress:
            print(json.dumps({"event": "progress", **asdict(summary)}), flush=True)

    summary = import_file(
        DynamoDBConfig.from_env(), args.source, failed, batch_size=args.batch_size, report=report
    )
    print(json.dumps({"event": "summary", **asdict(summary), "failed_file": str(failed)}))
    return EXIT_RETRY if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())

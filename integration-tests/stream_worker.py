"""A worker in a process of its own, for the tests that kill one with SIGKILL.

``python stream_worker.py changes ENDPOINT TABLE LEASE_TABLE WORKER_ID``: prints the
sequence number of each change it reads, one a line, flushed, until killed.
``python stream_worker.py lock ENDPOINT TABLE LEASE_TABLE NAME``: takes the lock, prints
its fencing token, and holds it until killed.
"""

from __future__ import annotations

import asyncio
import sys

from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from stream_models import Note

LEASE_SECONDS = 2.0


def say(value: object) -> None:
    """One line to the test reading stdout, at once."""
    sys.stdout.write(f"{value}\n")
    sys.stdout.flush()


async def main(mode: str, endpoint: str, table: str, lease_table: str, name: str) -> None:
    config = DynamoDBConfig(
        table_name=table,
        region="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
    )
    async with DynamoDBService(LoggingService("stream_worker"), config) as service:
        if mode == "lock":
            async with service.lock(
                name, lease_table=lease_table, lease_seconds=LEASE_SECONDS
            ) as lease:
                say(lease.fencing_token)
                await asyncio.Event().wait()
        events = service.changes(
            Note,
            lease_table=lease_table,
            worker_id=name,
            lease_seconds=LEASE_SECONDS,
            poll_interval=0.2,
        )
        async for change in events:
            say(change.sequence_number)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))

"""The sync facade's `changes` (a plain iterator) and `lock` (a plain context manager)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import TYPE_CHECKING

import pytest

from lvrgd_common import DynamoDBLockError, LoggingService
from lvrgd_common.sync import DynamoDBService
from stream_models import Note
from test_locks import _steal
from test_streams import create_stream_table, drop_stream_table, leases_of

if TYPE_CHECKING:
    from lvrgd_common import DynamoDBConfig


@pytest.mark.needs("streams")
def test_changes_is_a_plain_iterator(base_config: DynamoDBConfig) -> None:
    config = asyncio.run(create_stream_table(base_config))
    try:
        with DynamoDBService(LoggingService("lvrgd_common.tests.sync"), config) as service:
            for n in range(3):
                service.save(Note(pk="s#1", sk=str(n), n=n))
            got = []
            for change in service.changes(Note, lease_table=leases_of(config), lease_seconds=2):
                got.append(change.new)
                if len(got) == 3:
                    break
            # Left early: the lease was handed back, so a second loop goes on at once.
            service.save(Note(pk="s#1", sk="3", n=3))
            again = []
            for change in service.changes(Note, lease_table=leases_of(config), lease_seconds=2):
                again.append(change.new)
                if change.new is not None and change.new.n == 3:
                    break
    finally:
        asyncio.run(drop_stream_table(config))
    assert [note.n for note in got if note is not None] == [0, 1, 2]
    assert [note.n for note in again if note is not None] in ([2, 3], [3])


def test_lock_is_a_plain_context_manager(config: DynamoDBConfig) -> None:
    lease_table = f"lvrgd-locks-{uuid.uuid4().hex[:12]}"
    inside = 0
    most = 0
    tokens: list[int] = []
    guard = threading.Lock()
    with DynamoDBService(LoggingService("lvrgd_common.tests.sync"), config) as service:

        def contend() -> None:
            nonlocal inside, most
            with service.lock("sync", lease_table=lease_table, lease_seconds=1) as lease:
                with guard:
                    inside += 1
                    most = max(most, inside)
                    tokens.append(lease.fencing_token)
                threading.Event().wait(0.05)
                with guard:
                    inside -= 1

        threads = [threading.Thread(target=contend) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        def hold_while_stolen() -> None:
            with service.lock("sync", lease_table=lease_table, lease_seconds=1) as lease:
                asyncio.run(_steal(config, lease_table, "lock#sync"))
                while True:  # not interrupted: the body looks for itself
                    lease.check()
                    threading.Event().wait(0.05)

        with pytest.raises(DynamoDBLockError):
            hold_while_stolen()
    assert most == 1
    assert tokens == sorted(set(tokens))

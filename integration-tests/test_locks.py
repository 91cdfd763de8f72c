"""`DynamoDBService.lock` on the session's server (moto and dynalite alike)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from helpers import raw_client
from lvrgd_common import DynamoDBLockError, DynamoDBServiceError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from lvrgd_common import DynamoDBConfig, DynamoDBService
    from lvrgd_common.streams import Lease

WORKER = Path(__file__).resolve().parent / "stream_worker.py"
LEASE = 1.0  # seconds: short, so that expiry comes soon (no test bounds a duration)
GUARD = 300.0


@pytest.fixture
async def lease_table(config: DynamoDBConfig) -> AsyncIterator[str]:
    """A lease table name of the test's own (created by the first lock), deleted after."""
    name = f"lvrgd-locks-{uuid.uuid4().hex[:12]}"
    yield name
    async with raw_client(config) as client:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            await client.delete_table(TableName=name)


async def test_six_tasks_one_inside_at_a_time_with_growing_fencing_tokens(
    service: DynamoDBService, lease_table: str
) -> None:
    inside = 0
    most_inside = 0
    tokens: list[int] = []

    async def contend() -> None:
        nonlocal inside, most_inside
        async with service.lock("six", lease_table=lease_table, lease_seconds=LEASE) as lease:
            inside += 1
            most_inside = max(most_inside, inside)
            tokens.append(lease.fencing_token)
            await asyncio.sleep(0.05)
            inside -= 1

    async with asyncio.timeout(GUARD):
        await asyncio.gather(*(contend() for _ in range(6)))
    assert most_inside == 1
    assert len(tokens) == 6
    assert tokens == sorted(set(tokens))  # strictly increasing in the order they got in


async def test_the_lease_is_released_on_exit(service: DynamoDBService, lease_table: str) -> None:
    async with service.lock("free", lease_table=lease_table, lease_seconds=LEASE) as first:
        pass
    assert first.is_lost  # released: it protects nothing any more
    async with service.lock("free", lease_table=lease_table, wait=0) as second:
        assert second.fencing_token == first.fencing_token + 1


async def test_wait_exceeded_raises_lock_error(service: DynamoDBService, lease_table: str) -> None:
    async with service.lock("busy", lease_table=lease_table, lease_seconds=LEASE) as held:
        started = time.monotonic()
        with pytest.raises(DynamoDBLockError, match="busy") as raised:
            async with service.lock("busy", lease_table=lease_table, wait=0.3):
                pytest.fail("two holders at once")
        assert time.monotonic() - started >= 0.3
        assert not held.is_lost
    assert isinstance(raised.value, DynamoDBServiceError)
    assert raised.value.name == "busy"


async def test_the_lease_outlives_several_renewals(
    service: DynamoDBService, lease_table: str
) -> None:
    async with service.lock("long", lease_table=lease_table, lease_seconds=LEASE) as held:
        await asyncio.sleep(LEASE * 2.5)  # renewed meanwhile, or another could take it
        with pytest.raises(DynamoDBLockError):
            async with service.lock("long", lease_table=lease_table, wait=0):
                pass
        held.check()


async def test_a_dead_holder_is_taken_over_after_its_lease(
    config: DynamoDBConfig, service: DynamoDBService, lease_table: str
) -> None:
    name = f"dead-{uuid.uuid4().hex[:6]}"
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        "lock",
        str(config.endpoint_url),
        config.table_name,
        lease_table,
        name,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        dead_token = int(await holder.stdout.readline())
    finally:
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
    async with asyncio.timeout(GUARD):
        async with service.lock(name, lease_table=lease_table, lease_seconds=LEASE) as lease:
            assert lease.fencing_token == dead_token + 1


async def test_a_lost_lease_cancels_the_body_and_raises_lock_error(
    config: DynamoDBConfig, service: DynamoDBService, lease_table: str
) -> None:
    reached_the_end = False
    held: list[Lease] = []

    async def hold_while_stolen() -> None:
        nonlocal reached_the_end
        async with service.lock("stolen", lease_table=lease_table, lease_seconds=LEASE) as lease:
            held.append(lease)
            await _steal(config, lease_table, "lock#stolen")
            await asyncio.sleep(GUARD)  # cancelled at the next renewal
            reached_the_end = True

    with pytest.raises(DynamoDBLockError, match="lost") as raised:
        await hold_while_stolen()
    (lease,) = held
    assert not reached_the_end
    assert lease.is_lost
    assert not isinstance(raised.value.__cause__, DynamoDBLockError)
    with pytest.raises(DynamoDBLockError):
        lease.check()


async def test_a_body_can_await_the_loss_instead(
    config: DynamoDBConfig, service: DynamoDBService, lease_table: str
) -> None:
    watchers: list[asyncio.Task[None]] = []
    held: list[Lease] = []

    async def hold_while_stolen() -> None:
        async with service.lock("watched", lease_table=lease_table, lease_seconds=LEASE) as lease:
            held.append(lease)
            watchers.append(asyncio.create_task(lease.wait_lost()))
            await _steal(config, lease_table, "lock#watched")
            await asyncio.sleep(GUARD)

    with pytest.raises(DynamoDBLockError):
        await hold_while_stolen()
    (watcher,), (lease,) = watchers, held
    async with asyncio.timeout(GUARD):
        await watcher  # set when the loss was found
    assert lease.is_lost


async def test_a_cancellation_from_outside_stays_a_cancellation(
    service: DynamoDBService, lease_table: str
) -> None:
    entered = asyncio.Event()

    async def hold() -> None:
        async with service.lock("cancelled", lease_table=lease_table, lease_seconds=LEASE):
            entered.set()
            await asyncio.sleep(GUARD)

    task = asyncio.create_task(hold())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # And the lock was released on the way out.
    async with service.lock("cancelled", lease_table=lease_table, wait=0):
        pass


async def _steal(config: DynamoDBConfig, lease_table: str, pk: str) -> None:
    """What another holder does once a lease has expired: write itself in."""
    async with raw_client(config) as client:
        await client.update_item(
            TableName=lease_table,
            Key={"pk": {"S": pk}, "sk": {"S": "lock"}},
            UpdateExpression="SET #o = :o, #t = :t, #e = :e ADD #f :one",
            ExpressionAttributeNames={
                "#o": "owner",
                "#t": "token",
                "#e": "expires_at",
                "#f": "fence",
            },
            ExpressionAttributeValues={
                ":o": {"S": "thief"},
                ":t": {"S": "thief"},
                ":e": {"N": str(time.time() + 60)},
                ":one": {"N": "1"},
            },
        )

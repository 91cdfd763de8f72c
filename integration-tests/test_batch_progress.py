"""``on_progress(done, total)`` on batch_write and batch_delete, against a real server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from faultproxy import Action, Exchange, FaultProxy, Forward, Reply
from helpers import through
from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBBatchOperationError,
    DynamoDBService,
    DynamoDBValidationError,
    LoggingService,
    sync,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from lvrgd_common import DynamoDBConfig


class Row(DynamoDBBaseModel):
    n: int


def rows(pk: str, count: int) -> list[Row]:
    return [Row(pk=pk, sk=f"{index:05d}", n=index) for index in range(count)]


def check_steps(calls: list[tuple[int, int]], total: int) -> None:
    """Each call adds at most one request's worth of items; the total never changes."""
    assert calls, "on_progress was never called"
    assert {seen for _, seen in calls} == {total}
    done = [count for count, _ in calls]
    assert all(0 < later - earlier <= 25 for earlier, later in zip([0, *done], done, strict=False))


async def test_batch_write_reports_every_item_once(service: DynamoDBService, pk: str) -> None:
    items = rows(pk, 120) + rows(pk, 10)  # ten keys twice: 120 distinct items
    calls: list[tuple[int, int]] = []
    await service.batch_write(items, on_progress=lambda done, total: calls.append((done, total)))
    check_steps(calls, 120)
    assert calls[-1] == (120, 120)
    assert len(calls) == 5  # one per request: 25, 25, 25, 25, 20
    assert await service.count(pk) == 120


async def test_batch_delete_reports_progress_too(service: DynamoDBService, pk: str) -> None:
    await service.batch_write(rows(pk, 60))
    calls: list[tuple[int, int]] = []
    keys = [(pk, f"{index:05d}") for index in range(60)]
    await service.batch_delete(keys, on_progress=lambda done, total: calls.append((done, total)))
    check_steps(calls, 60)
    assert calls[-1] == (60, 60)
    assert await service.count(pk) == 0


def withhold_odd(table: str) -> Callable[[Exchange], Action]:
    """BatchWriteItem: items with an odd ``n`` always come back unprocessed."""

    def rule(exchange: Exchange) -> Action:
        if exchange.target != "BatchWriteItem":
            return Forward()
        requests = exchange.body["RequestItems"][table]
        back = [r for r in requests if int(r["PutRequest"]["Item"]["n"]["N"]) % 2]
        keep = [r for r in requests if r not in back]
        if not keep:
            return Reply(200, {"UnprocessedItems": {table: back}})
        return Forward(
            body={"RequestItems": {table: keep}},
            rewrite=lambda reply: {**reply, "UnprocessedItems": {table: back}},
        )

    return rule


async def test_done_counts_only_what_was_written(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    proxy.rule = withhold_odd(config.table_name)
    settings = through(config, proxy, batch_max_attempts=2, batch_backoff_base=0.001)
    calls: list[tuple[int, int]] = []
    async with DynamoDBService(LoggingService(), settings) as service:
        with pytest.raises(DynamoDBBatchOperationError) as caught:
            await service.batch_write(
                rows(pk, 100), on_progress=lambda done, total: calls.append((done, total))
            )
    assert calls[-1] == (50, 100)
    assert len(caught.value.failed_items) == 50
    assert caught.value.successful_count == calls[-1][0]


async def test_an_exception_in_on_progress_stops_the_batch(
    service: DynamoDBService, pk: str
) -> None:
    def refuse(done: int, total: int) -> None:
        msg = f"stop at {done}/{total}"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="stop at"):
        await service.batch_write(rows(pk, 30), on_progress=refuse)


async def test_a_non_callable_on_progress_is_refused_before_sending(
    service: DynamoDBService, pk: str
) -> None:
    with pytest.raises(DynamoDBValidationError, match="on_progress") as caught:
        await service.batch_write(rows(pk, 3), on_progress=42)  # type: ignore[arg-type]
    assert caught.value.operation == "batch_write"
    assert await service.count(pk) == 0


def test_the_sync_facade_passes_on_progress(config: DynamoDBConfig, pk: str) -> None:
    calls: list[tuple[int, int]] = []
    with sync.DynamoDBService(LoggingService(), config) as service:
        service.batch_write(rows(pk, 40), on_progress=lambda d, t: calls.append((d, t)))
        assert service.count(pk) == 40
    check_steps(calls, 40)
    assert calls[-1] == (40, 40)

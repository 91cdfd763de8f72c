"""Scans on a real server: whole tables, parallel segments, filters, indexes, stopping early.

The module scans a table of its own (2,000 items: enough for several pages per segment,
small enough for a 2-core machine), so "every item exactly once" is exact.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from contextlib import aclosing
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import Field

from faultproxy import Exchange, Forward, Hang
from helpers import through
from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBDecodeError,
    DynamoDBService,
    LoggingService,
)
from lvrgd_common.testing import create_table, delete_table

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    from faultproxy import Action, FaultProxy

ITEMS = 2000


class Row(DynamoDBBaseModel):
    kind: Literal["row"] = "row"
    n: int
    gsi1pk: str | None = None
    gsi1sk: str | None = None


class Odd(DynamoDBBaseModel):
    kind: Literal["odd"] = "odd"
    n: int


AnyRow = Annotated[Row | Odd, Field(discriminator="kind")]


def _stored(n: int) -> Row | Odd:
    if n % 2:
        return Odd(pk=f"P#{n % 37}", sk=f"{n:05d}", n=n)
    indexed = n % 10 == 0
    return Row(
        pk=f"P#{n % 37}",
        sk=f"{n:05d}",
        n=n,
        gsi1pk="G" if indexed else None,
        gsi1sk=f"{n:05d}" if indexed else None,
    )


@pytest.fixture(scope="module")
async def table(
    own_table: Callable[[], AbstractAsyncContextManager[DynamoDBConfig]],
) -> AsyncIterator[DynamoDBConfig]:
    async with own_table() as created:
        # A server scanning thousands of items on a busy 2-core machine may take a while
        # to answer one page: a generous read timeout keeps the tests off the clock.
        settings = created.model_copy(update={"read_timeout": 60.0})
        async with DynamoDBService(LoggingService(), settings) as service:
            await service.batch_write([_stored(n) for n in range(ITEMS)])
        yield settings


@pytest.fixture
async def scanner(table: DynamoDBConfig) -> AsyncIterator[DynamoDBService]:
    async with DynamoDBService(LoggingService("lvrgd_common.tests"), table) as opened:
        yield opened


def _ns(items: list[Row | Odd]) -> Counter[int]:
    return Counter(item.n for item in items)


async def test_a_scan_yields_every_item_once_as_its_member(scanner: DynamoDBService) -> None:
    items: list[Row | Odd] = [item async for item in scanner.scan(AnyRow, page_size=500)]
    assert _ns(items) == Counter(range(ITEMS))
    assert all(item == _stored(item.n) for item in items)


async def test_a_parallel_scan_reads_segments_concurrently_each_item_once(
    table: DynamoDBConfig, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    in_flight: list[int] = []

    def count_pending(exchange: Exchange) -> Action:
        if exchange.target == "Scan":
            in_flight.append(sum(1 for seen in proxy.of("Scan") if seen.outcome == "pending") - 1)
        return Forward()

    proxy.rule = count_pending
    settings = through(table, proxy, batch_concurrency=3)
    with caplog.at_level(logging.INFO, logger="lvrgd_common"):
        async with DynamoDBService(LoggingService(), settings) as service:
            items = [item async for item in service.scan(AnyRow, segments=8, page_size=200)]
    assert _ns(items) == Counter(range(ITEMS))
    scans = proxy.of("Scan")
    assert {exchange.body["Segment"] for exchange in scans} == set(range(8))
    assert {exchange.body["TotalSegments"] for exchange in scans} == {8}
    assert max(in_flight) < 3  # at most batch_concurrency requests in flight
    records = [record for record in caplog.records if "operation='scan'" in record.getMessage()]
    assert len(records) == 1  # one record for the whole scan, however many requests
    assert records[0].levelno == logging.INFO


async def test_one_segment_at_a_time_splits_the_table(scanner: DynamoDBService) -> None:
    seen: list[Row | Odd] = []
    for segment in range(3):
        seen += [item async for item in scanner.scan(AnyRow, segment=segment, total_segments=3)]
    assert _ns(seen) == Counter(range(ITEMS))


async def test_a_filter_keeps_only_matching_items(scanner: DynamoDBService) -> None:
    wanted = (Attr("n").lt(100) & ~Attr("kind").eq("odd")) | Attr("n").between(1990, 1992)
    items = [item async for item in scanner.scan(AnyRow, filter_condition=wanted, segments=2)]
    expected = [n for n in range(ITEMS) if (n < 100 and n % 2 == 0) or 1990 <= n <= 1992]
    assert _ns(items) == Counter(expected)


async def test_an_index_scan_reads_the_sparse_index(scanner: DynamoDBService) -> None:
    items = [item async for item in scanner.scan(Row, index_name="gsi1", page_size=7)]
    assert sorted(item.n for item in items) == list(range(0, ITEMS, 10))


async def test_an_item_that_fits_no_model_stops_the_scan_with_an_error(
    scanner: DynamoDBService,
) -> None:
    before = asyncio.all_tasks()
    with pytest.raises(DynamoDBDecodeError, match="Input should be 'row'"):
        _ = [item async for item in scanner.scan(Row, segments=4)]
    assert _library_tasks(asyncio.all_tasks() - before) == set()


async def test_leaving_early_stops_every_segment(scanner: DynamoDBService) -> None:
    before = asyncio.all_tasks()
    async with aclosing(scanner.scan(AnyRow, segments=6, page_size=10)) as rows:
        async for _ in rows:
            break
    assert _library_tasks(asyncio.all_tasks() - before) == set()


async def test_cancelling_the_consumer_cancels_every_segment(
    table: DynamoDBConfig, proxy: FaultProxy
) -> None:
    # Segment 3 never answers: the scan can only end by being cancelled.
    proxy.rule = lambda exchange: (
        Hang() if exchange.target == "Scan" and exchange.body.get("Segment") == 3 else Forward()
    )
    got_items = asyncio.Event()

    async def consume(service: DynamoDBService) -> None:
        async for _ in service.scan(AnyRow, segments=4):
            got_items.set()

    async with DynamoDBService(LoggingService(), through(table, proxy)) as service:
        before = asyncio.all_tasks()
        consumer = asyncio.create_task(consume(service))
        waiting = asyncio.create_task(got_items.wait())
        await asyncio.wait([waiting, consumer], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        assert not consumer.done(), consumer  # a failed scan shows its error here
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert consumer.cancelled()
        assert _library_tasks(asyncio.all_tasks() - before) == set()
        # The hung request was sent, so the scan was cancelled while reading every segment.
        assert {exchange.body["Segment"] for exchange in proxy.of("Scan")} == set(range(4))


def _library_tasks(tasks: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """The tasks running the library's code (not the proxy's, not pytest's)."""
    found = set()
    for task in tasks:
        code = getattr(task.get_coro(), "cr_code", None)
        if code is not None and "lvrgd_common" in code.co_filename:
            found.add(task)
    return found


class Blob(DynamoDBBaseModel):
    sk: bytes  # type: ignore[assignment]


@pytest.mark.parametrize("fast_path", [True, False], ids=["lean", "botocore"])
async def test_a_table_with_a_binary_sort_key_scans_page_by_page(
    base_config: DynamoDBConfig,
    fast_path: bool,  # noqa: FBT001 - the parameter of the test
) -> None:
    """Each page's LastEvaluatedKey goes back as the bytes it stands for, on either path."""
    settings = base_config.model_copy(
        update={"table_name": f"{base_config.table_name}-blob", "fast_path": fast_path}
    )
    await create_table(settings, sort_key_type="B")
    try:
        blobs = [Blob(pk=f"B#{n % 3}", sk=bytes([n, 255 - n])) for n in range(25)]
        async with DynamoDBService(LoggingService(), settings) as service:
            await service.batch_write(blobs)
            found = [blob async for blob in service.scan(Blob, page_size=4)]
    finally:
        await delete_table(settings)
    assert sorted(found, key=lambda b: (b.pk, b.sk)) == sorted(blobs, key=lambda b: (b.pk, b.sk))

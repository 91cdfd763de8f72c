"""Scans: the requests of one scan, and reading its segments concurrently.

Each segment is walked page by page (``ExclusiveStartKey``) by a task of its own; at most
``concurrency`` segments are read at once, the rest wait their turn. Pages reach the
consumer through a small queue, so a slow consumer holds the segments back instead of
piling pages up. When the consumer stops (break, error, cancellation) every task is
cancelled and awaited before the iterator returns: none is left behind.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from lvrgd_common.services._dynamodb.codec import InvalidInputError
from lvrgd_common.services._dynamodb.errors import check_progress
from lvrgd_common.services._dynamodb.expressions import (
    ExpressionBuilder,
    check_filter,
    condition_attributes,
)
from lvrgd_common.services._dynamodb.keys import sendable_key

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping

    from lvrgd_common.services._dynamodb.codec import Item
    from lvrgd_common.services._dynamodb.keys import TableKeys

__all__ = [
    "MAX_TOTAL_SEGMENTS",
    "ScanSegments",
    "read_segments",
    "scan_request",
    "scan_segments",
]

MAX_TOTAL_SEGMENTS: Final = 1_000_000
"""DynamoDB's largest ``TotalSegments``."""


@dataclass(frozen=True, slots=True)
class ScanSegments:
    """Which segments of ``total`` one call reads."""

    numbers: tuple[int, ...]
    total: int


def _count(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        msg = f"{name} must be an integer from {low} to {high}, got {value!r}"
        raise InvalidInputError(msg)
    return value


def scan_segments(segments: object, segment: object, total_segments: object) -> ScanSegments:
    """The segments to read: all of ``segments``, or the one ``segment`` of ``total_segments``.

    Raises:
        InvalidInputError: Counts out of range, or both forms given, or half of the second.
    """
    if segment is None and total_segments is None:
        count = _count(segments, "segments", 1, MAX_TOTAL_SEGMENTS)
        return ScanSegments(tuple(range(count)), count)
    if segment is None or total_segments is None:
        msg = "segment and total_segments go together (one segment of a parallel scan)"
        raise InvalidInputError(msg)
    if segments != 1:
        msg = "give segments (read them all here) or segment/total_segments (read one), not both"
        raise InvalidInputError(msg)
    total = _count(total_segments, "total_segments", 1, MAX_TOTAL_SEGMENTS)
    number = _count(segment, "segment", 0, total - 1)
    return ScanSegments((number,), total)


def scan_request(
    table: str,
    index_name: str | None,
    *,
    table_keys: TableKeys,
    is_global: bool,
    consistent_read: bool,
    filter_condition: object,
    page_size: int | None,
    model_class: object = None,
) -> dict[str, Any]:
    """The Scan request every segment and page of one scan shares.

    Filter values are sent in ``model_class``'s stored form (not for a union).

    Raises:
        InvalidInputError: A bad filter, or a consistent read of a global secondary index.
    """
    request: dict[str, Any] = {"TableName": table}
    if index_name is not None:
        request["IndexName"] = index_name
    if consistent_read:
        if is_global:
            msg = f"consistent reads are not supported on global secondary index {index_name!r}"
            raise InvalidInputError(msg)
        request["ConsistentRead"] = True
    if page_size is not None:
        request["Limit"] = page_size
    if filter_condition is not None:
        builder = ExpressionBuilder(model_class if isinstance(model_class, type) else None)
        checked = check_filter(filter_condition)
        table_keys.check_stored_names(condition_attributes(checked), "a scan's filter_condition")
        request["FilterExpression"] = builder.condition(checked)
        builder.apply(request)
    return request


_DONE: Final = object()


def read_segments(
    send: Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]],
    request: Mapping[str, Any],
    segments: ScanSegments,
    concurrency: int,
) -> AsyncGenerator[list[Item]]:
    """Each page's items as the segments deliver them; every item exactly once.

    Close it (``contextlib.aclosing``) to stop the segments when the consumer stops early.
    """
    if segments.total == 1:
        return _walk(send, dict(request))
    requests = [
        {**request, "Segment": number, "TotalSegments": segments.total}
        for number in segments.numbers
    ]
    return _concurrently(send, requests, concurrency)


async def _concurrently(
    send: Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]],
    requests: list[dict[str, Any]],
    concurrency: int,
) -> AsyncGenerator[list[Item]]:
    pending = iter(requests)
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)

    async def worker() -> None:
        try:
            for segment_request in pending:
                async for items in _walk(send, segment_request):
                    await queue.put(items)
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, raised there
            await queue.put(exc)
        else:
            await queue.put(_DONE)

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(requests)))]
    try:
        running = len(workers)
        while running:
            entry = await queue.get()
            if entry is _DONE:
                running -= 1
            elif isinstance(entry, Exception):
                raise entry
            else:
                yield entry
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _walk(
    send: Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]], request: dict[str, Any]
) -> AsyncGenerator[list[Item]]:
    while True:
        response = await send(request)
        yield response.get("Items", [])
        start = sendable_key(response.get("LastEvaluatedKey"))
        if start is None:
            return
        check_progress(request.get("ExclusiveStartKey"), start)
        request = {**request, "ExclusiveStartKey": start}

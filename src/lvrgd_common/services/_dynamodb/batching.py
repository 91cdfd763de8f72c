"""Chunking, bounded concurrency and retrying of unprocessed batch entries."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from lvrgd_common.exceptions.dynamodb_exceptions import DynamoDBServiceError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

__all__ = [
    "MAX_BATCH_GET",
    "MAX_BATCH_WRITE",
    "Backoff",
    "ChunkOutcome",
    "chunked",
    "drain",
    "run_bounded",
]

T = TypeVar("T")
K = TypeVar("K")
R = TypeVar("R")

MAX_BATCH_WRITE: Final = 25
MAX_BATCH_GET: Final = 100


def chunked(entries: Sequence[T], size: int) -> list[Sequence[T]]:
    """Consecutive slices of at most ``size`` entries."""
    return [entries[start : start + size] for start in range(0, len(entries), size)]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**retry))``."""

    attempts: int
    base: float
    cap: float

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        return random.uniform(0, min(self.cap, self.base * 2**retry))  # noqa: S311 - jitter


@dataclass(slots=True)
class ChunkOutcome(Generic[K]):
    """What one chunk left undone, and the error that stopped it, if any."""

    pending: list[K] = field(default_factory=list)
    error: DynamoDBServiceError | None = None


async def drain(
    send: Callable[[list[K]], Awaitable[list[K]]],
    entries: list[K],
    backoff: Backoff,
    on_retry: Callable[[int, int, float], None],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ChunkOutcome[K]:
    """Send ``entries`` until DynamoDB reports none unprocessed or attempts run out.

    ``send`` sends the pending entries once and returns those DynamoDB left unprocessed;
    ``sleep`` waits out the backoff before each retry. A request that fails outright stops
    the chunk: its pending entries are returned with the error, never dropped.
    """
    pending = entries
    for attempt in range(backoff.attempts):
        if attempt:
            delay = backoff.delay(attempt - 1)
            on_retry(attempt, len(pending), delay)
            await sleep(delay)
        try:
            pending = await send(pending)
        except DynamoDBServiceError as exc:
            return ChunkOutcome(pending, exc)
        if not pending:
            return ChunkOutcome()
    return ChunkOutcome(pending)


async def run_bounded(jobs: Sequence[Callable[[], Awaitable[R]]], concurrency: int) -> list[R]:
    """Run ``jobs`` with at most ``concurrency`` in flight; results in job order.

    When the caller is cancelled, or a job raises, every job still running is cancelled
    and awaited before this returns: no task is left behind.
    """
    if len(jobs) == 1:
        return [await jobs[0]()]
    results: list[Any] = [None] * len(jobs)
    queue = iter(enumerate(jobs))

    async def worker() -> None:
        for index, job in queue:
            results[index] = await job()

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(jobs)))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return results

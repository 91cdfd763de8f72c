"""`DynamoDBService.changes`: a long-running, shared, checkpointed reader of a table's stream.

One `StreamWorker` per ``changes()`` call. Its state lives in the lease table, under
``pk="stream#<stream ARN>"``:

- ``sk="shard#<id>"``: the lease of one shard (who reads it), its checkpoint (the last
  sequence number the consumer moved past) and whether it was read to its end;
- ``sk="worker#<id>"``: each live worker's own lease, so that workers can count each other
  and share the shards fairly.

The worker reads shards in order (a child after its parent is finished), takes shards
whose lease is free or expired up to its fair share, hands one back when it holds more
than its share while another worker holds less, and checkpoints with each renewal of its
leases (every ``lease_seconds / 3``) and when it lets a shard go. A restarted worker goes
on from the checkpoints: at-least-once, at most the events after the last checkpoint
written come again.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from lvrgd_common.exceptions.dynamodb_exceptions import (
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
)
from lvrgd_common.services._dynamodb.keys import TableKeys
from lvrgd_common.streams._events import ChangeEvent, decode_record
from lvrgd_common.streams._leases import LeaseState, LeaseTable, Renewer, is_live
from lvrgd_common.streams._shards import Shard, parse_shards, ready_shards

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from lvrgd_common.services._dynamodb.reading import ItemReader
    from lvrgd_common.streams._port import Port

__all__ = ["StartPosition", "StreamWorker"]

StartPosition = Literal["trim_horizon", "latest"]
MAX_RECORDS_PER_READ: Final = 1000
# An empty shard is polled again after FIRST_POLL s, doubling up to poll_interval.
FIRST_POLL: Final = 0.05
# Sleeps are cut into slices this long, so that a closed service is noticed promptly.
_SLICE: Final = 0.25
_THROTTLED: Final = frozenset(
    {
        "LimitExceededException",
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    }
)


def default_worker_id() -> str:
    """``host:pid:random``: unique per ``changes()`` call."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class _ShardReader:
    shard: Shard
    lease: LeaseState
    position: str | None
    """The last sequence number read from the stream (or the checkpoint to go on from)."""
    start: str
    """The iterator type without a position: ``TRIM_HORIZON`` or ``LATEST``."""
    done: str | None = None
    """The last sequence number the consumer moved past: what the next checkpoint stores."""
    iterator: str | None = None
    buffer: deque[dict[str, Any]] = field(default_factory=deque)
    at_end: bool = False
    next_poll: float = 0.0
    idle: float = FIRST_POLL


class StreamWorker:
    """Reads one table's stream as one of the workers sharing ``lease_table``."""

    def __init__(
        self,
        port: Port,
        reader: ItemReader,
        *,
        lease_table: str,
        worker_id: str | None,
        start: StartPosition,
        lease_seconds: float,
        poll_interval: float,
    ) -> None:
        if start not in ("trim_horizon", "latest"):
            raise DynamoDBValidationError(
                operation="changes",
                reason=f"start must be 'trim_horizon' or 'latest', got {start!r}",
            )
        if lease_seconds <= 0 or poll_interval <= 0:
            reason = (
                f"lease_seconds and poll_interval must be > 0, got {lease_seconds}, {poll_interval}"
            )
            raise DynamoDBValidationError(operation="changes", reason=reason)
        self._port = port
        self._reader = reader
        self._keys = TableKeys.configured(port.config)
        self._leases = LeaseTable(port, lease_table)
        self.worker_id = worker_id or default_worker_id()
        self._start = start
        self._lease_seconds = lease_seconds
        self._poll_interval = poll_interval
        self._discover_every = min(lease_seconds / 2, 10.0)
        self._next_discovery = 0.0
        self._stream_arn = ""
        self._readers: dict[str, _ShardReader] = {}
        self._latest_for: set[str] | None = None
        self._renewer = Renewer(self._leases, lease_seconds, self._lost, self._checkpoint_of)
        self._me: LeaseState | None = None

    @property
    def _scope(self) -> str:
        return f"stream#{self._stream_arn}"

    async def events(self) -> AsyncGenerator[ChangeEvent[Any], None]:
        """The change events, shard by shard, until the service is closed or the loop left."""
        try:
            await self._begin()
            while not self._port.is_closed():
                if time.monotonic() >= self._next_discovery:
                    await self._discover()
                reader = next((r for r in self._readers.values() if r.buffer), None)
                if reader is not None:
                    record = reader.buffer.popleft()
                    event = decode_record(
                        record, self._reader, self._keys, "changes", reader.shard.shard_id
                    )
                    yield event
                    reader.done = event.sequence_number  # the consumer moved past it
                    if reader.at_end and not reader.buffer:
                        await self._let_go(reader, finished=True)
                    continue
                if not await self._poll_due():
                    await self._idle()
        except DynamoDBServiceError:
            if self._port.is_closed():
                return  # the service was closed under us: the iterator ends
            raise
        finally:
            await self._end()

    # --- setting up -----------------------------------------------------------------------

    async def _begin(self) -> None:
        with self._port.operation("changes", worker=self.worker_id) as op:
            response = await self._port.send(op, "describe_table", {"TableName": self._port.table})
            table = response["Table"]
            arn = table.get("LatestStreamArn")
            enabled = (table.get("StreamSpecification") or {}).get("StreamEnabled", bool(arn))
            if not arn or not enabled:
                reason = (
                    f"table {self._port.table!r} has no stream; enable one "
                    "(StreamSpecification, e.g. NEW_AND_OLD_IMAGES) to read its changes"
                )
                raise DynamoDBTableNotFoundError(operation="changes", reason=reason)
            self._stream_arn = arn
            op.fields["stream"] = arn
        await self._leases.ensure()
        me = await self._leases.acquire(
            self._scope, f"worker#{self.worker_id}", self.worker_id, self._lease_seconds
        )
        if me is not None:
            self._me = me
            self._renewer.hold(me)

    async def _describe_stream(self) -> list[Shard]:
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": self._stream_arn}
        with self._port.operation("describe_stream", stream=self._stream_arn) as op:
            while True:
                answer = await self._port.call_streams(op, "describe_stream", request)
                description = answer["StreamDescription"]
                shards.extend(description.get("Shards", []))
                last = description.get("LastEvaluatedShardId")
                if not last:
                    break
                request = {**request, "ExclusiveStartShardId": last}
            op.fields["shards"] = len(shards)
        return parse_shards(shards)

    # --- sharing the shards ---------------------------------------------------------------

    async def _discover(self) -> None:
        self._next_discovery = time.monotonic() + self._discover_every
        if self._me is None or self._me.lost:
            await self._rejoin()
        shards = await self._describe_stream()
        items = {item["sk"]: item for item in await self._leases.query(self._scope)}
        now = time.time()
        finished = {sk.removeprefix("shard#") for sk, item in items.items() if item.get("finished")}
        if self._latest_for is None:
            self._latest_for = (
                {s.shard_id for s in shards if f"shard#{s.shard_id}" not in items}
                if self._start == "latest"
                else set()
            )
        ready = ready_shards(shards, finished)
        workers = [
            item for sk, item in items.items() if sk.startswith("worker#") and is_live(item, now)
        ]
        target = math.ceil(len(ready) / max(1, len(workers)))
        for shard in ready:
            if len(self._readers) >= target:
                break
            item = items.get(f"shard#{shard.shard_id}")
            if shard.shard_id in self._readers:
                continue
            if item is not None and is_live(item, now) and item.get("owner") != self.worker_id:
                continue
            await self._take(shard)
        await self._shed(items, workers, target, now)

    async def _rejoin(self) -> None:
        me = await self._leases.acquire(
            self._scope, f"worker#{self.worker_id}", self.worker_id, self._lease_seconds
        )
        if me is not None:
            self._me = me
            self._renewer.hold(me)

    async def _take(self, shard: Shard) -> None:
        lease = await self._leases.acquire(
            self._scope, f"shard#{shard.shard_id}", self.worker_id, self._lease_seconds
        )
        if lease is None:
            return
        if lease.finished:  # finished by another worker since the query
            await self._leases.release(lease)
            return
        start = "TRIM_HORIZON"
        if lease.checkpoint is None and shard.shard_id in (self._latest_for or ()):
            if shard.closed:  # "latest": a shard closed before the worker started is skipped
                await self._leases.release(lease, finished=True)
                self._next_discovery = 0.0
                return
            start = "LATEST"
        reader = _ShardReader(shard, lease, lease.checkpoint, start, done=lease.checkpoint)
        self._readers[shard.shard_id] = reader
        self._renewer.hold(lease)

    async def _shed(
        self, items: dict[str, Any], workers: list[dict[str, Any]], target: int, now: float
    ) -> None:
        """Hand one shard back when holding more than the fair share while another holds less."""
        if len(self._readers) <= target:
            return
        held: dict[str, int] = {str(item.get("owner")): 0 for item in workers}
        for sk, item in items.items():
            if sk.startswith("shard#") and is_live(item, now):
                owner = str(item.get("owner"))
                held[owner] = held.get(owner, 0) + 1
        if any(count < target for owner, count in held.items() if owner != self.worker_id):
            reader = next(iter(self._readers.values()))
            await self._let_go(reader, finished=False)

    def _lost(self, lease: LeaseState) -> None:
        for shard_id, reader in list(self._readers.items()):
            if reader.lease is lease:
                del self._readers[shard_id]  # another worker took it: stop reading it
        self._port.logger.warning(
            "lease lost", operation="changes", table=self._port.table, lease=lease.sk
        )

    def _checkpoint_of(self, lease: LeaseState) -> str | None:
        for reader in self._readers.values():
            if reader.lease is lease and reader.done != lease.checkpoint:
                return reader.done
        return None

    async def _let_go(self, reader: _ShardReader, *, finished: bool) -> None:
        self._readers.pop(reader.shard.shard_id, None)
        self._renewer.drop(reader.lease)
        await self._leases.release(reader.lease, reader.done, finished=finished)
        if finished:
            self._next_discovery = 0.0  # its children are ready now

    # --- reading --------------------------------------------------------------------------

    async def _poll_due(self) -> bool:
        """Read every shard whose poll is due; whether any was read."""
        now = time.monotonic()
        due = [reader for reader in self._readers.values() if reader.next_poll <= now]
        for reader in due:
            await self._read(reader)
        return bool(due)

    async def _read(self, reader: _ShardReader) -> None:
        shard_id = reader.shard.shard_id
        with self._port.operation("get_records", shard=shard_id, worker=self.worker_id) as op:
            try:
                if reader.iterator is None:
                    reader.iterator = await self._iterator(op, reader)
                answer = await self._port.call_streams(
                    op,
                    "get_records",
                    {"ShardIterator": reader.iterator, "Limit": MAX_RECORDS_PER_READ},
                )
            except DynamoDBServiceError as exc:
                if self._recover(reader, exc):
                    op.fields["recovered"] = exc.error_code
                    return
                raise
            records = answer.get("Records", [])
            op.fields["records"] = len(records)
        reader.buffer.extend(records)
        if records:
            reader.position = str(records[-1]["dynamodb"]["SequenceNumber"])
        reader.iterator = answer.get("NextShardIterator")
        if reader.iterator is None:
            reader.at_end = True
            if not reader.buffer:
                await self._let_go(reader, finished=True)
            return
        reader.idle = FIRST_POLL if records else min(reader.idle * 2, self._poll_interval)
        reader.next_poll = time.monotonic() + (0.0 if records else reader.idle)

    async def _iterator(self, op: Any, reader: _ShardReader) -> str:  # noqa: ANN401 - OperationLog
        request: dict[str, Any] = {"StreamArn": self._stream_arn, "ShardId": reader.shard.shard_id}
        if reader.position is not None:
            request.update(
                ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=reader.position
            )
        else:
            request["ShardIteratorType"] = reader.start
        answer = await self._port.call_streams(op, "get_shard_iterator", request)
        iterator: str = answer["ShardIterator"]
        return iterator

    def _recover(self, reader: _ShardReader, exc: DynamoDBServiceError) -> bool:
        """Handle what a shard's reader meets in ordinary operation; False: not ours to handle."""
        code = exc.error_code
        if code == "ExpiredIteratorException":
            reader.iterator = None  # a new one from the last position, at once
            return True
        if code == "TrimmedDataAccessException":
            reader.iterator, reader.position = None, None  # aged out: the oldest still kept
            reader.start = "TRIM_HORIZON"
            return True
        if code in _THROTTLED or isinstance(exc, DynamoDBUnavailableError):
            reader.idle = min(max(reader.idle * 2, FIRST_POLL * 4), self._poll_interval * 4)
            reader.next_poll = time.monotonic() + reader.idle
            self._port.logger.warning(
                "stream read backing off",
                operation="changes",
                table=self._port.table,
                shard=reader.shard.shard_id,
                error_code=code,
                delay_ms=round(reader.idle * 1000, 1),
            )
            return True
        if isinstance(exc, DynamoDBTableNotFoundError):  # the shard is gone from the stream
            reader.at_end, reader.iterator = True, None
            return True
        return False

    async def _idle(self) -> None:
        now = time.monotonic()
        wake = min([r.next_poll for r in self._readers.values()] + [self._next_discovery])
        deadline = max(wake, now)
        while not self._port.is_closed():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, _SLICE))

    # --- ending ---------------------------------------------------------------------------

    async def _end(self) -> None:
        await self._renewer.stop()
        if self._port.is_closed():
            return  # nothing can be written; the leases expire on their own
        with contextlib.suppress(DynamoDBServiceError):
            for reader in list(self._readers.values()):
                await self._let_go(reader, finished=False)
            if self._me is not None:
                await self._leases.release(self._me)

"""A stream worker follows shard splits: parents before children, new shards picked up.

moto never splits a shard, so the Streams side is a stub of DescribeStream,
GetShardIterator and GetRecords (at the one door the worker reads Streams through); the
lease table, its checkpoints and the table's description are the real server's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from lvrgd_common.services._dynamodb.errors import translate_error
from lvrgd_common.streams._port import Port
from stream_models import Note
from test_streams import GUARD, leases_of, service_on, stream_table

if TYPE_CHECKING:
    from collections.abc import Callable

    from lvrgd_common import DynamoDBConfig, DynamoDBService
    from lvrgd_common.services._dynamodb.operation import OperationLog

pytestmark = pytest.mark.needs("streams")  # the table's description must name a stream


@dataclass
class FakeShard:
    shard_id: str
    parent: str | None
    first: int
    records: list[int]
    closed: bool


@dataclass
class FakeStream:
    """A stream whose shards were split: what DynamoDB Streams would answer."""

    shards: list[FakeShard] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    iterator_requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """AWS error codes the next GetRecords calls fail with, one each."""

    def describe(self) -> dict[str, Any]:
        described = []
        for shard in self.shards:
            numbers = {"StartingSequenceNumber": str(shard.first)}
            if shard.closed:
                numbers["EndingSequenceNumber"] = str(shard.first + 99)
            entry: dict[str, Any] = {"ShardId": shard.shard_id, "SequenceNumberRange": numbers}
            if shard.parent:
                entry["ParentShardId"] = shard.parent
            described.append(entry)
        # Listed newest first, as a page of DescribeStream may: the worker must order them.
        return {"StreamDescription": {"Shards": described[::-1]}}

    def shard(self, shard_id: str) -> FakeShard:
        return next(shard for shard in self.shards if shard.shard_id == shard_id)

    async def call(self, _op: OperationLog, api: str, request: dict[str, Any]) -> Any:
        self.calls.append(api)
        if api == "describe_stream":
            return self.describe()
        if api == "get_shard_iterator":
            self.iterator_requests.append(request)
            shard = self.shard(request["ShardId"])
            kind = request["ShardIteratorType"]
            after = int(request["SequenceNumber"]) if kind == "AFTER_SEQUENCE_NUMBER" else -1
            return {"ShardIterator": f"{shard.shard_id}|{after}"}
        if api == "get_records" and self.failures:
            code = self.failures.pop(0)
            error = ClientError({"Error": {"Code": code, "Message": code}}, "GetRecords")
            raise translate_error(error, _op.name) from error
        if api == "get_records":
            shard_id, after = request["ShardIterator"].split("|")
            shard = self.shard(shard_id)
            fresh = [seq for seq in shard.records if seq > int(after)]
            records = [_record(seq) for seq in fresh]
            last = fresh[-1] if fresh else int(after)
            answer: dict[str, Any] = {"Records": records}
            if not (shard.closed and not fresh):
                answer["NextShardIterator"] = f"{shard_id}|{last}"
            return answer
        raise AssertionError(api)


def _record(seq: int) -> dict[str, Any]:
    image = {"pk": {"S": "split"}, "sk": {"S": str(seq)}, "n": {"N": str(seq)}}
    return {
        "eventID": str(seq),
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "NewImage": image,
            "SequenceNumber": str(seq),
            "ApproximateCreationDateTime": dt.datetime.now(dt.UTC),
        },
    }


@pytest.fixture
def streamed(base_config: DynamoDBConfig) -> Callable[..., Any]:
    return lambda: stream_table(base_config)


@pytest.fixture
def fake_stream(monkeypatch: pytest.MonkeyPatch) -> FakeStream:
    stream = FakeStream()
    monkeypatch.setattr(
        Port, "call_streams", lambda _port, op, api, request: stream.call(op, api, request)
    )
    return stream


async def test_children_after_their_parent_and_new_shards_picked_up(
    streamed: Callable[..., Any], fake_stream: FakeStream
) -> None:
    # root (closed) split into left (closed) and right (open); left split into leaf (open).
    fake_stream.shards = [
        FakeShard("shard-root", None, 100, [100, 101, 102], closed=True),
        FakeShard("shard-left", "shard-root", 200, [200, 201], closed=True),
        FakeShard("shard-right", "shard-root", 300, [300], closed=False),
        FakeShard("shard-leaf", "shard-left", 400, [400, 401], closed=False),
    ]
    order: list[int] = []
    async with streamed() as config, service_on(config) as service:
        events = service.changes(
            Note, lease_table=leases_of(config), lease_seconds=2.0, poll_interval=0.1
        )
        async with aclosing(events), asyncio.timeout(GUARD):
            async for change in events:
                assert change.new is not None
                order.append(change.new.n)
                if len(order) == 8:
                    # right is split now: its child must be found and read after it.
                    fake_stream.shard("shard-right").closed = True
                    fake_stream.shards.append(
                        FakeShard("shard-late", "shard-right", 500, [500], closed=False)
                    )
                if change.new.n == 500:
                    break
    assert sorted(order) == [100, 101, 102, 200, 201, 300, 400, 401, 500]
    position = {seq: index for index, seq in enumerate(order)}
    assert max(position[s] for s in (100, 101, 102)) < min(position[s] for s in (200, 300))
    assert max(position[s] for s in (200, 201)) < position[400]
    assert position[300] < position[500]


async def test_a_finished_shard_is_not_read_again_after_a_restart(
    streamed: Callable[..., Any], fake_stream: FakeStream
) -> None:
    fake_stream.shards = [
        FakeShard("shard-root", None, 100, [100, 101], closed=True),
        FakeShard("shard-child", "shard-root", 200, [200, 201], closed=False),
    ]
    async with streamed() as config:
        for expected in ([100, 101, 200], [200, 201]):
            got: list[int] = []
            async with service_on(config) as service:
                events = service.changes(Note, lease_table=leases_of(config), lease_seconds=2.0)
                async with aclosing(events), asyncio.timeout(GUARD):
                    async for change in events:
                        assert change.new is not None
                        got.append(change.new.n)
                        if len(got) == len(expected):
                            break
            # The second worker starts at the child's checkpoint (200 again: it was the
            # last event given out, never moved past), not at the finished root.
            assert got == expected


async def test_expired_iterators_throttling_and_trimmed_data_are_ridden_out(
    streamed: Callable[..., Any], fake_stream: FakeStream
) -> None:
    fake_stream.shards = [FakeShard("shard-only", None, 100, [100, 101, 102], closed=False)]
    got: list[int] = []
    async with streamed() as config, service_on(config) as service:
        events = service.changes(
            Note, lease_table=leases_of(config), lease_seconds=2.0, poll_interval=0.1
        )
        async with aclosing(events), asyncio.timeout(GUARD):
            async for change in events:
                assert change.new is not None
                got.append(change.new.n)
                if change.new.n == 100:
                    fake_stream.shard("shard-only").records.append(103)
                    fake_stream.failures.extend(
                        ["ExpiredIteratorException", "LimitExceededException"]
                    )
                if change.new.n == 103:
                    break
    assert got == [100, 101, 102, 103]
    # After the expired iterator a new one was asked for, after the last record read.
    assert fake_stream.iterator_requests[-1]["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER"
    assert fake_stream.iterator_requests[-1]["SequenceNumber"] == "102"


async def test_an_empty_shard_is_polled_with_backoff(
    streamed: Callable[..., Any], fake_stream: FakeStream
) -> None:
    fake_stream.shards = [FakeShard("shard-quiet", None, 100, [100], closed=False)]
    async with streamed() as config, service_on(config) as service:
        events = service.changes(
            Note, lease_table=leases_of(config), lease_seconds=2.0, poll_interval=0.2
        )
        async with aclosing(events), asyncio.timeout(GUARD):
            await anext(events)
            waiting = asyncio.create_task(anext(events))  # the loop waits for the next
            before = fake_stream.calls.count("get_records")
            await asyncio.sleep(1.0)  # nothing new for a second: polls back off
            quiet = fake_stream.calls.count("get_records") - before
            fake_stream.shard("shard-quiet").records.append(101)
            second = await waiting
    assert second.new is not None
    assert second.new.n == 101
    # Without backoff a quiet second is hundreds of polls; with it, a handful (a slower
    # machine only makes fewer).
    assert quiet <= 15


async def test_a_second_worker_gets_its_share_of_the_shards_and_no_event_twice(
    streamed: Callable[..., Any], fake_stream: FakeStream
) -> None:
    fake_stream.shards = [
        FakeShard(f"shard-{index}", None, index * 1000, [index * 1000], closed=False)
        for index in range(1, 5)
    ]
    seen: dict[str, list[int]] = {"one": [], "two": []}
    changed = asyncio.Condition()

    async def until_seen(one: int = 0, two: int = 0, total: int = 0) -> None:
        def enough() -> bool:
            both = len(seen["one"]) + len(seen["two"])
            return len(seen["one"]) >= one and len(seen["two"]) >= two and both >= total

        async with changed:
            await changed.wait_for(enough)

    async with streamed() as config, service_on(config) as one, service_on(config) as two:

        async def work(name: str, service: DynamoDBService) -> None:
            events = service.changes(
                Note,
                lease_table=leases_of(config),
                worker_id=name,
                lease_seconds=2.0,
                poll_interval=0.1,
            )
            async with aclosing(events):
                async for change in events:
                    assert change.new is not None
                    seen[name].append(change.new.n)
                    async with changed:
                        changed.notify_all()

        workers = [asyncio.create_task(work("one", one))]
        async with asyncio.timeout(GUARD):
            await until_seen(one=4)  # the only worker reads all four shards
            workers.append(asyncio.create_task(work("two", two)))
            written = 0
            while len(seen["two"]) < 4:  # new records go on arriving on every shard
                written += 1
                for shard in fake_stream.shards:
                    shard.records.append(shard.first + written)
                await asyncio.sleep(0.2)
            expected = 4 * (written + 1)
            await until_seen(total=expected)
        await asyncio.sleep(1.0)  # time for a duplicate to show up, if any
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    assert sorted(seen["one"] + seen["two"]) == sorted(
        shard.first + k for shard in fake_stream.shards for k in range(written + 1)
    )
    # The second worker was handed shards (the first held more than its share).
    assert seen["two"]

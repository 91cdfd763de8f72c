"""`DynamoDBService.changes` on moto's DynamoDB Streams (server mode).

dynalite has no Streams API, so these tests are skipped there (``needs("streams")``);
the tests of shard splits, which stub DescribeStream/GetRecords (moto never splits a shard)
and use the server only for the lease table, run on both.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import signal
import sys
import uuid
from contextlib import aclosing, asynccontextmanager, suppress
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import aioboto3
import pytest

from helpers import raw_client
from lvrgd_common import DynamoDBDecodeError, DynamoDBService, LoggingService
from lvrgd_common.streams import ChangeEvent, decode_lambda_event
from stream_models import Cat, Dog, Note, Pet

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from lvrgd_common import DynamoDBConfig

WORKER = Path(__file__).resolve().parent / "stream_worker.py"
LEASE = 2.0  # seconds; short, so that takeovers come soon (no test bounds a duration)
POLL = 0.2
GUARD = 300.0  # only so that a broken worker fails the test instead of hanging it

needs_streams = pytest.mark.needs("streams")


ViewType = Literal["KEYS_ONLY", "NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE"]


async def create_stream_table(
    base: DynamoDBConfig, view_type: ViewType = "NEW_AND_OLD_IMAGES"
) -> DynamoDBConfig:
    """A fresh table with a stream (its lease table is `leases_of` it)."""
    config = base.model_copy(update={"table_name": f"lvrgd-st-{uuid.uuid4().hex[:12]}"})
    async with raw_client(config) as client:
        await client.create_table(
            TableName=config.table_name,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
        )
    return config


async def drop_stream_table(config: DynamoDBConfig) -> None:
    """Delete the table and its lease table."""
    async with raw_client(config) as client:
        for name in (config.table_name, leases_of(config)):
            with suppress(client.exceptions.ResourceNotFoundException):
                await client.delete_table(TableName=name)


@asynccontextmanager
async def stream_table(
    base: DynamoDBConfig, view_type: ViewType = "NEW_AND_OLD_IMAGES"
) -> AsyncIterator[DynamoDBConfig]:
    """A fresh table with a stream, and a lease table name; both deleted at the end."""
    config = await create_stream_table(base, view_type)
    try:
        yield config
    finally:
        await drop_stream_table(config)


def leases_of(config: DynamoDBConfig) -> str:
    return f"{config.table_name}-leases"


@pytest.fixture
def streamed(
    base_config: DynamoDBConfig,
) -> Callable[..., Any]:
    return lambda view_type="NEW_AND_OLD_IMAGES": stream_table(base_config, view_type)


def service_on(config: DynamoDBConfig) -> DynamoDBService:
    return DynamoDBService(LoggingService("lvrgd_common.tests.streams"), config)


async def take(events: AsyncIterator[ChangeEvent[Any]], count: int) -> list[ChangeEvent[Any]]:
    """The next ``count`` events (the iterator is left open)."""
    taken: list[ChangeEvent[Any]] = []
    async with asyncio.timeout(GUARD):
        while len(taken) < count:
            taken.append(await anext(events))
    return taken


async def read_records(config: DynamoDBConfig) -> list[dict[str, Any]]:
    """Every record of the table's stream, as botocore parses GetRecords (for Lambda tests)."""
    async with raw_client(config) as client:
        table = (await client.describe_table(TableName=config.table_name))["Table"]
    secret = config.aws_secret_access_key
    session = aioboto3.Session(
        aws_access_key_id=config.aws_access_key_id,
        aws_secret_access_key=None if secret is None else secret.get_secret_value(),
        region_name=config.region,
    )
    async with session.client("dynamodbstreams", endpoint_url=config.endpoint_url) as streams:
        arn = table["LatestStreamArn"]
        shards = (await streams.describe_stream(StreamArn=arn))["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            iterator = (
                await streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )
            )["ShardIterator"]
            answer = await streams.get_records(ShardIterator=iterator)
            records.extend(answer["Records"])
    return [dict(record) for record in records]


def as_lambda_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    """GetRecords' records as AWS Lambda delivers them: JSON, base64 binaries, epoch times."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        if isinstance(value, dt.datetime):
            return value.timestamp()
        return value

    converted = []
    for record in records:
        entry = plain(record)
        entry["eventSourceARN"] = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x"
        converted.append(entry)
    return {"Records": converted}


# --- what an event holds ----------------------------------------------------------------


@needs_streams
async def test_insert_modify_remove_come_with_both_images_decoded(
    streamed: Callable[..., Any],
) -> None:
    async with streamed() as config, service_on(config) as service:
        first = Note(
            pk="n#1",
            sk="a",
            t="hello",
            n=1,
            tags={"x"},
            blob=b"\x00\xff",
            price=Decimal("1.25"),
            expires=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        )
        second = first.model_copy(update={"n": 2, "tags": {"x", "y"}})
        await service.save(first)
        await service.save(second)
        await service.delete("n#1", "a")
        async with aclosing(
            service.changes(Note, lease_table=leases_of(config), lease_seconds=LEASE)
        ) as events:
            insert, modify, remove = await take(events, 3)
    assert [insert.event_name, modify.event_name, remove.event_name] == [
        "INSERT",
        "MODIFY",
        "REMOVE",
    ]
    assert (insert.new, insert.old) == (first, None)
    assert (modify.new, modify.old) == (second, first)
    assert (remove.new, remove.old) == (None, second)
    assert insert.keys == {"pk": "n#1", "sk": "a"}
    assert int(insert.sequence_number) < int(modify.sequence_number) < int(remove.sequence_number)
    assert insert.approximate_creation_time.tzinfo is not None
    assert not remove.expired
    assert insert.shard_id is not None


@needs_streams
async def test_a_union_decodes_each_image_as_its_member(streamed: Callable[..., Any]) -> None:
    async with streamed() as config, service_on(config) as service:
        await service.save(Cat(pk="pet#1", sk="a", lives=7))
        await service.save(Dog(pk="pet#2", sk="a", good=False))
        async with aclosing(
            service.changes(Pet, lease_table=leases_of(config), lease_seconds=LEASE)
        ) as events:
            cat, dog = await take(events, 2)
    assert cat.new == Cat(pk="pet#1", sk="a", lives=7)
    assert dog.new == Dog(pk="pet#2", sk="a", good=False)


@needs_streams
@pytest.mark.parametrize(
    ("view_type", "has_new", "has_old"),
    [("KEYS_ONLY", False, False), ("NEW_IMAGE", True, False), ("OLD_IMAGE", False, True)],
)
async def test_a_view_without_an_image_gives_none(
    streamed: Callable[..., Any], view_type: str, *, has_new: bool, has_old: bool
) -> None:
    async with streamed(view_type) as config, service_on(config) as service:
        await service.save(Note(pk="v#1", sk="a", n=1))
        await service.save(Note(pk="v#1", sk="a", n=2))
        async with aclosing(
            service.changes(Note, lease_table=leases_of(config), lease_seconds=LEASE)
        ) as events:
            _, modify = await take(events, 2)
    assert modify.event_name == "MODIFY"
    assert modify.keys == {"pk": "v#1", "sk": "a"}
    assert modify.new == (Note(pk="v#1", sk="a", n=2) if has_new else None)
    assert modify.old == (Note(pk="v#1", sk="a", n=1) if has_old else None)


@needs_streams
async def test_an_image_that_fits_no_model_names_its_sequence_number(
    streamed: Callable[..., Any],
) -> None:
    async with streamed() as config, service_on(config) as service:
        await service.save(Cat(pk="odd#1", sk="a"))  # fits Note too (its fields have defaults)
        await service.update("odd#1", "a", {"n": "not a number"})  # Note.n is an int
        records = await read_records(config)
        modify = records[1]["dynamodb"]["SequenceNumber"]
        async with aclosing(
            service.changes(Note, lease_table=leases_of(config), lease_seconds=LEASE)
        ) as events:
            await take(events, 1)
            with pytest.raises(DynamoDBDecodeError, match=modify) as raised:
                await anext(events)
    assert (raised.value.pk, raised.value.sk) == ("odd#1", "a")


# --- checkpoints, restarts, several workers -----------------------------------------------


@needs_streams
async def test_a_restarted_worker_goes_on_from_its_checkpoint(
    streamed: Callable[..., Any],
) -> None:
    async with streamed() as config:
        async with service_on(config) as service:
            for n in range(5):
                await service.save(Note(pk="r#1", sk=str(n), n=n))
            async with aclosing(
                service.changes(Note, lease_table=leases_of(config), lease_seconds=LEASE)
            ) as events:
                before = await take(events, 3)
            for n in range(5, 7):
                await service.save(Note(pk="r#1", sk=str(n), n=n))
        # A new process, say: a new service, another worker id, the same lease table.
        after: list[ChangeEvent[Any]] = []
        async with (
            service_on(config) as service,
            aclosing(
                service.changes(Note, lease_table=leases_of(config), lease_seconds=LEASE)
            ) as events,
        ):
            async with asyncio.timeout(GUARD):
                async for change in events:
                    after.append(change)
                    if change.new is not None and change.new.n == 6:
                        break
    assert [event.new.n for event in before if event.new is not None] == [0, 1, 2]
    numbers = [event.new.n for event in after if event.new is not None]
    # The last event the first worker gave out was never moved past: it comes again
    # (at-least-once), and nothing before it does.
    assert numbers[0] == 2
    assert numbers == list(range(numbers[0], 7))


@needs_streams
async def test_two_workers_on_one_lease_table_read_no_event_twice(
    streamed: Callable[..., Any],
) -> None:
    total = 20
    async with streamed() as config, service_on(config) as one, service_on(config) as two:
        seen: dict[str, list[str]] = {"one": [], "two": []}
        counts = {"first": asyncio.Event(), "all": asyncio.Event()}

        async def work(name: str, service: DynamoDBService) -> None:
            events = service.changes(
                Note,
                lease_table=leases_of(config),
                worker_id=name,
                lease_seconds=LEASE,
                poll_interval=POLL,
            )
            async with aclosing(events):
                async for change in events:
                    seen[name].append(change.sequence_number)
                    read = len(seen["one"]) + len(seen["two"])
                    if read >= total // 4:
                        counts["first"].set()
                    if read >= total:
                        counts["all"].set()

        # One worker is reading when the second joins: the second must not take its shard.
        workers = [asyncio.create_task(work("one", one))]
        for n in range(total // 4):
            await one.save(Note(pk="w#1", sk=f"{n:02}", n=n))
        async with asyncio.timeout(GUARD):
            await counts["first"].wait()
        workers.append(asyncio.create_task(work("two", two)))
        await asyncio.sleep(LEASE)  # the second has looked at the leases meanwhile
        for n in range(total // 4, total):
            await one.save(Note(pk="w#1", sk=f"{n:02}", n=n))
        async with asyncio.timeout(GUARD):
            await counts["all"].wait()
        await asyncio.sleep(LEASE)  # time for a duplicate to show up, if any
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    assert not set(seen["one"]) & set(seen["two"])
    assert len(seen["one"]) + len(seen["two"]) == total


@needs_streams
async def test_a_killed_workers_lease_is_taken_over(streamed: Callable[..., Any]) -> None:
    async with streamed() as config, service_on(config) as service:
        for n in range(3):
            await service.save(Note(pk="k#1", sk=str(n), n=n))
        victim = await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            "changes",
            str(config.endpoint_url),
            config.table_name,
            leases_of(config),
            "victim",
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert victim.stdout is not None
            printed = [(await victim.stdout.readline()).decode() for _ in range(3)]
        finally:
            victim.send_signal(signal.SIGKILL)
            await victim.wait()
        victim_seen = [line.strip() for line in printed]
        for n in range(3, 5):
            await service.save(Note(pk="k#1", sk=str(n), n=n))
        async with aclosing(
            service.changes(
                Note,
                lease_table=leases_of(config),
                worker_id="heir",
                lease_seconds=LEASE,
                poll_interval=POLL,
            )
        ) as events:
            heir = []
            async with asyncio.timeout(GUARD):
                async for change in events:
                    heir.append(change)
                    if change.new is not None and change.new.n == 4:
                        break
    # The heir got the shard (the killed worker's lease expired) and missed nothing.
    numbers = [event.new.n for event in heir if event.new is not None]
    assert numbers[-2:] == [3, 4]
    assert victim_seen == [event.sequence_number for event in heir][: len(victim_seen)] or (
        numbers[0] > 0  # the victim's checkpoint was written before it died
    )
    assert numbers == list(range(numbers[0], 5))
    assert numbers[0] <= 3


@needs_streams
async def test_closing_the_service_ends_the_loop(streamed: Callable[..., Any]) -> None:
    async with streamed() as config:
        service = service_on(config)
        await service.open()
        got = asyncio.Event()

        async def work() -> None:
            async for _change in service.changes(
                Note, lease_table=leases_of(config), lease_seconds=LEASE, poll_interval=POLL
            ):
                got.set()

        task = asyncio.create_task(work())
        await service.save(Note(pk="c#1", sk="a"))
        async with asyncio.timeout(GUARD):
            await got.wait()
        await service.close()
        async with asyncio.timeout(GUARD):
            await task  # ends without an error
    assert task.done()
    assert not task.cancelled()


# --- Lambda -------------------------------------------------------------------------------


@needs_streams
async def test_decode_lambda_event_reads_records_recorded_from_moto(
    streamed: Callable[..., Any],
) -> None:
    async with streamed() as config, service_on(config) as service:
        note = Note(pk="l#1", sk="a", t="x", blob=b"\x01\x02", tags={"a", "b"})
        await service.save(note)
        await service.delete("l#1", "a")
        event = as_lambda_event(await read_records(config))
    insert, remove = decode_lambda_event(event, Note)
    assert (insert.event_name, insert.new, insert.old) == ("INSERT", note, None)
    assert (remove.event_name, remove.new, remove.old) == ("REMOVE", None, note)
    assert insert.approximate_creation_time.tzinfo is dt.UTC


# --- the docs' Lambda handler -------------------------------------------------------------


def _docs_handler() -> dict[str, Any]:
    page = Path(__file__).resolve().parent.parent / "docs" / "change-streams.md"
    text = page.read_text(encoding="utf-8")
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {"__name__": "lambda_function"}
    exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 - the project's own docs
    return namespace


@needs_streams
async def test_the_docs_lambda_handler_on_events_recorded_from_moto(
    streamed: Callable[..., Any],
) -> None:
    handler = _docs_handler()
    order = handler["Order"]
    async with streamed() as config, service_on(config) as service:
        await service.save(order(pk="o#1", sk="ORDER", status="paid", total_cents=500))
        await service.save(order(pk="o#2", sk="ORDER", status="paid", total_cents=250))
        await service.save(order(pk="o#1", sk="ORDER", status="refunded", total_cents=500))
        event = as_lambda_event(await read_records(config))
    assert handler["handler"](event, None) == {"batchItemFailures": []}
    assert handler["REVENUE"] == {"o#1": 0, "o#2": 250}
    # Delivered again (at-least-once): the handler's idempotency keeps the totals.
    assert handler["handler"](event, None) == {"batchItemFailures": []}
    assert handler["REVENUE"] == {"o#1": 0, "o#2": 250}


@needs_streams
async def test_the_docs_lambda_handler_reports_the_record_it_failed(
    streamed: Callable[..., Any],
) -> None:
    handler = _docs_handler()
    order = handler["Order"]
    async with streamed() as config, service_on(config) as service:
        await service.save(order(pk="o#1", sk="ORDER", status="paid", total_cents=500))
        await service.save(order(pk="o#3", sk="ORDER", status="paid", total_cents=-1))
        await service.save(order(pk="o#4", sk="ORDER", status="paid", total_cents=100))
        records = await read_records(config)
    answer = handler["handler"](as_lambda_event(records), None)
    failed = records[1]["dynamodb"]["SequenceNumber"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": failed}]}
    assert handler["REVENUE"] == {"o#1": 500}


# --- logs ---------------------------------------------------------------------------------


class Recorder:
    """A logger that keeps what it is given."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def debug(self, event: str, **fields: Any) -> None:
        self.records.append(("debug", event, fields))

    def info(self, event: str, **fields: Any) -> None:
        self.records.append(("info", event, fields))

    def warning(self, event: str, **fields: Any) -> None:
        self.records.append(("warning", event, fields))

    def error(self, event: str, **fields: Any) -> None:
        self.records.append(("error", event, fields))


@needs_streams
async def test_every_stream_and_lease_request_is_logged_as_an_operation(
    streamed: Callable[..., Any],
) -> None:
    recorder = Recorder()
    async with streamed() as config, DynamoDBService(recorder, config) as service:
        await service.save(Note(pk="log#1", sk="a"))
        async with aclosing(
            service.changes(Note, lease_table=leases_of(config), lease_seconds=LEASE)
        ) as events:
            await take(events, 1)
    operations = {fields["operation"] for _, _, fields in recorder.records}
    assert {"describe_stream", "get_records", "acquire_lease", "release_lease"} <= operations
    for _level, _message, fields in recorder.records:
        assert "elapsed_ms" in fields
        assert fields["table"] == config.table_name


@needs_streams
async def test_start_latest_skips_what_was_written_before(streamed: Callable[..., Any]) -> None:
    async with streamed() as config, service_on(config) as service:
        await service.save(Note(pk="late#1", sk="old", n=0))
        events = service.changes(
            Note,
            lease_table=leases_of(config),
            start="latest",
            lease_seconds=LEASE,
            poll_interval=POLL,
        )
        async with aclosing(events):
            first = asyncio.create_task(anext(events))
            n = 0
            async with asyncio.timeout(GUARD):
                while not first.done():  # written until the worker, reading from now, sees one
                    n += 1
                    await service.save(Note(pk="late#1", sk=f"new{n}", n=n))
                    await asyncio.wait({first}, timeout=0.2)
            change = await first
    assert change.new is not None
    assert change.new.n >= 1

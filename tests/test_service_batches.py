import asyncio
import logging
from typing import Any

import pytest

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBBatchOperationError,
    DynamoDBService,
    DynamoDBValidationError,
)
from tests.fakes import FakeDynamoDB, client_error

TABLE = "unit-table"


class Row(DynamoDBBaseModel):
    n: int


def rows(count: int, pk: str = "P") -> list[Row]:
    return [Row(pk=pk, sk=f"{i:05d}", n=i) for i in range(count)]


def written(fake: FakeDynamoDB) -> list[tuple[str, str]]:
    keys = []
    for request in fake.requests("batch_write_item"):
        for entry in request["RequestItems"][TABLE]:
            item = entry["PutRequest"]["Item"]
            keys.append((item["pk"]["S"], item["sk"]["S"]))
    return keys


def unprocessed_for(calls: int, predicate: Any = lambda _: True) -> Any:
    """A batch_write_item handler leaving matching entries unprocessed for ``calls`` calls."""
    state = {"calls": 0}

    def handler(request: dict[str, Any]) -> dict[str, Any]:
        state["calls"] += 1
        entries = request["RequestItems"][TABLE]
        if state["calls"] > calls:
            return {"UnprocessedItems": {}}
        left = [entry for entry in entries if predicate(entry)]
        return {"UnprocessedItems": {TABLE: left} if left else {}}

    return handler


async def test_chunks_of_25_and_duplicates_collapse_to_the_last(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    items = [*rows(60), Row(pk="P", sk="00003", n=999)]
    await service.batch_write(items)
    sizes = [len(r["RequestItems"][TABLE]) for r in fake.requests("batch_write_item")]
    assert sorted(sizes) == [10, 25, 25]
    assert sorted(written(fake)) == sorted({(r.pk, r.sk) for r in items})
    sent = [
        entry["PutRequest"]["Item"]
        for request in fake.requests("batch_write_item")
        for entry in request["RequestItems"][TABLE]
    ]
    assert next(item for item in sent if item["sk"]["S"] == "00003")["n"] == {"N": "999"}


async def test_empty_batches_send_nothing(service: DynamoDBService, fake: FakeDynamoDB) -> None:
    await service.batch_write([])
    assert await service.batch_get([], Row) == []
    await service.batch_delete([])
    assert fake.calls == []


async def test_unprocessed_items_are_retried_with_bounded_backoff(
    service: DynamoDBService, fake: FakeDynamoDB, caplog: pytest.LogCaptureFixture
) -> None:
    fake.on("batch_write_item", unprocessed_for(2))
    with caplog.at_level(logging.WARNING, logger="lvrgd_common.unit"):
        await service.batch_write(rows(10))
    assert len(fake.requests("batch_write_item")) == 3
    retries = [r.fields for r in caplog.records if "retrying" in r.getMessage()]  # type: ignore[attr-defined]
    assert [fields["attempt"] for fields in retries] == [1, 2]
    # Full jitter: retry k waits at most min(cap, base * 2**k) (base 1 ms, cap 4 ms here).
    for fields in retries:
        assert 0 <= fields["delay_ms"] <= min(4.0, 1.0 * 2 ** (fields["attempt"] - 1))


async def test_items_still_unprocessed_after_the_last_attempt_are_named_exactly(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    def odd(entry: dict[str, Any]) -> bool:
        return int(entry["PutRequest"]["Item"]["n"]["N"]) % 2 == 1

    fake.on("batch_write_item", unprocessed_for(1000, odd))
    items = rows(60)
    with pytest.raises(DynamoDBBatchOperationError) as caught:
        await service.batch_write(items)
    error = caught.value
    assert sorted(error.failed_items, key=lambda r: r.n) == [r for r in items if r.n % 2]
    assert error.successful_count == 30
    assert len(error.failed_items) + error.successful_count == len(items)
    assert error.operation == "batch_write"
    # 3 chunks, each tried batch_max_attempts (4) times.
    assert len(fake.requests("batch_write_item")) == 3 * 4


async def test_a_failing_chunk_does_not_lose_the_others(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    def handler(request: dict[str, Any]) -> dict[str, Any]:
        skeys = [e["PutRequest"]["Item"]["sk"]["S"] for e in request["RequestItems"][TABLE]]
        if "00030" in skeys:
            raise client_error("InternalServerError", "server exploded")
        return {}

    fake.on("batch_write_item", handler)
    items = rows(100)
    with pytest.raises(DynamoDBBatchOperationError) as caught:
        await service.batch_write(items)
    error = caught.value
    assert error.failed_items == items[25:50]
    assert error.failed_keys == [(r.pk, r.sk) for r in items[25:50]]
    assert error.successful_count == 75
    assert error.error_code == "InternalServerError"
    assert error.__cause__ is not None


async def test_chunks_run_concurrently_up_to_the_bound(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    fake.delay = 0.02
    await service.batch_write(rows(250))
    assert len(fake.requests("batch_write_item")) == 10
    assert fake.peak_in_flight == service.config.batch_concurrency == 4


async def test_cancelling_the_caller_cancels_every_chunk(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    fake.delay = 5
    before = asyncio.all_tasks()
    task = asyncio.create_task(service.batch_write(rows(250)))
    await fake.wait_in_flight(4)
    assert fake.in_flight == 4
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.in_flight == 0
    assert asyncio.all_tasks() == before
    fake.delay = 0
    await service.save(Row(pk="P", sk="after", n=1))


async def test_one_bad_item_stops_the_batch_before_sending(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    bad = Row.model_construct(pk="P", sk="", n=1)
    with pytest.raises(DynamoDBValidationError) as caught:
        await service.batch_write([*rows(30), bad])
    assert caught.value.operation == "batch_write"
    assert fake.calls == []


def stored_items(count: int) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        ("P", f"{i:05d}"): {"pk": {"S": "P"}, "sk": {"S": f"{i:05d}"}, "n": {"N": str(i)}}
        for i in range(count)
    }


async def test_batch_get_dedupes_orders_and_omits_absent_keys(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    store = stored_items(150)

    def handler(request: dict[str, Any]) -> dict[str, Any]:
        keys = request["RequestItems"][TABLE]["Keys"]
        assert len(keys) <= 100
        found = [
            store[k["pk"]["S"], k["sk"]["S"]] for k in keys if (k["pk"]["S"], k["sk"]["S"]) in store
        ]
        # Answer in reverse to prove the service restores the request order.
        return {"Responses": {TABLE: found[::-1]}}

    fake.on("batch_get_item", handler)
    wanted = [("P", f"{i:05d}") for i in (149, 3, 200, 3, 7, *range(100, 140))]
    result = await service.batch_get(wanted, Row)
    expected = list(dict.fromkeys((149, 3, 7, *range(100, 140))))
    assert [row.n for row in result] == expected
    requested = sum(len(r["RequestItems"][TABLE]["Keys"]) for r in fake.requests("batch_get_item"))
    assert requested == len(dict.fromkeys(wanted))


async def test_batch_get_retries_unprocessed_keys_and_names_those_left(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    store = stored_items(10)

    def handler(request: dict[str, Any]) -> dict[str, Any]:
        keys = request["RequestItems"][TABLE]["Keys"]
        served = [k for k in keys if k["sk"]["S"] != "00005"]
        left = [k for k in keys if k["sk"]["S"] == "00005"]
        return {
            "Responses": {TABLE: [store[k["pk"]["S"], k["sk"]["S"]] for k in served]},
            "UnprocessedKeys": {TABLE: {"Keys": left}} if left else {},
        }

    fake.on("batch_get_item", handler)
    with pytest.raises(DynamoDBBatchOperationError) as caught:
        await service.batch_get(list(store), Row)
    assert caught.value.failed_items == [("P", "00005")]
    assert caught.value.successful_count == 9
    assert len(fake.requests("batch_get_item")) == 4


async def test_batch_delete_sends_delete_requests(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    await service.batch_delete([("P", "a"), ("P", "b"), ("P", "a")])
    [request] = fake.requests("batch_write_item")
    assert request["RequestItems"][TABLE] == [
        {"DeleteRequest": {"Key": {"pk": {"S": "P"}, "sk": {"S": "a"}}}},
        {"DeleteRequest": {"Key": {"pk": {"S": "P"}, "sk": {"S": "b"}}}},
    ]

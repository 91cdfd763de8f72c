"""What goes out on retries and pages: each test kills a plausible breakage of src/.

Retries send only what DynamoDB left unprocessed; a failed chunk reports only what was not
written; a duplicate key reports the model that was sent; retries wait; pages fetch one
item beyond the page, no more; consistent reads stay consistent.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBBatchOperationError,
    DynamoDBService,
    SortKeyCondition,
)
from lvrgd_common.services._dynamodb.batching import Backoff, drain
from tests.fakes import FakeDynamoDB, client_error

TABLE = "unit-table"


class Row(DynamoDBBaseModel):
    n: int


def rows(count: int) -> list[Row]:
    return [Row(pk="P", sk=f"{i:05d}", n=i) for i in range(count)]


def sent_sort_keys(request: dict[str, Any]) -> list[str]:
    return [entry["PutRequest"]["Item"]["sk"]["S"] for entry in request["RequestItems"][TABLE]]


async def test_a_retry_sends_only_the_unprocessed_entries(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    calls = 0

    def handler(request: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls > 1:
            return {}
        left = [
            e
            for e in request["RequestItems"][TABLE]
            if int(e["PutRequest"]["Item"]["n"]["N"]) % 3 == 0
        ]
        return {"UnprocessedItems": {TABLE: left}}

    fake.on("batch_write_item", handler)
    await service.batch_write(rows(20))
    first, retry = fake.requests("batch_write_item")
    assert len(sent_sort_keys(first)) == 20
    assert sent_sort_keys(retry) == [f"{i:05d}" for i in range(0, 20, 3)]


async def test_a_chunk_failing_after_a_partial_write_reports_only_what_was_not_written(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    calls = 0

    def handler(request: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise client_error("InternalServerError", "server exploded")
        entries = request["RequestItems"][TABLE]
        return {"UnprocessedItems": {TABLE: entries[15:]}}

    fake.on("batch_write_item", handler)
    items = rows(20)
    with pytest.raises(DynamoDBBatchOperationError) as caught:
        await service.batch_write(items)
    assert caught.value.failed_items == items[15:]
    assert caught.value.successful_count == 15
    assert caught.value.error_code == "InternalServerError"


async def test_a_failed_duplicate_key_names_the_model_that_was_sent(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    fake.on("batch_write_item", lambda r: {"UnprocessedItems": r["RequestItems"]})
    first, last = Row(pk="P", sk="same", n=1), Row(pk="P", sk="same", n=2)
    with pytest.raises(DynamoDBBatchOperationError) as caught:
        await service.batch_write([first, last])
    [failed] = caught.value.failed_items
    assert failed is last
    assert {
        e["PutRequest"]["Item"]["n"]["N"]
        for r in fake.requests("batch_write_item")
        for e in r["RequestItems"][TABLE]
    } == {"2"}


def test_backoff_delays_are_jittered_within_the_growing_ceiling() -> None:
    backoff = Backoff(attempts=8, base=0.05, cap=2.0)
    random.seed(11)
    for retry in range(7):
        ceiling = min(2.0, 0.05 * 2**retry)
        delays = [backoff.delay(retry) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        # Full jitter: spread over the whole range, so neither all zero nor all tiny.
        assert max(delays) > ceiling / 2


async def test_drain_waits_the_backoff_before_each_retry() -> None:
    slept: list[float] = []
    sends: list[list[int]] = []

    async def send(entries: list[int]) -> list[int]:
        sends.append(entries)
        return entries[1:]

    async def sleep(delay: float) -> None:
        slept.append(delay)

    random.seed(5)
    outcome = await drain(send, [1, 2, 3], Backoff(5, 1.0, 1.0), lambda *_: None, sleep)
    assert outcome.pending == []
    assert sends == [[1, 2, 3], [2, 3], [3]]
    assert len(slept) == 2
    assert all(delay > 0 for delay in slept)


@pytest.mark.parametrize("limit", [1, 5, 40])
async def test_a_page_asks_for_one_item_beyond_the_page_and_no_more(
    service: DynamoDBService, fake: FakeDynamoDB, limit: int
) -> None:
    fake.on("query", lambda _: {"Items": [], "Count": 0})
    await service.query_by_pk("P", Row, limit=limit)
    await service.query_by_pk_and_sk(
        "P", SortKeyCondition(operator="ge", value="a"), Row, limit=limit
    )
    assert [request["Limit"] for request in fake.requests("query")] == [limit + 1] * 2


async def test_consistent_reads_are_asked_for_wherever_they_are_wanted(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    fake.on("query", lambda _: {"Items": [], "Count": 0})
    condition = SortKeyCondition(operator="ge", value="a")
    await service.query_by_pk("P", Row, consistent_read=True)
    await service.query_by_pk_and_sk("P", condition, Row, limit=3, consistent_read=True)
    [_ async for _ in service.iter_query("P", Row, consistent_read=True)]
    await service.get_one("P", "a", Row, consistent_read=True)
    await service.batch_get([("P", "a")], Row, consistent_read=True)
    assert [r.get("ConsistentRead") for r in fake.requests("query")] == [True] * 3
    assert fake.requests("get_item")[0]["ConsistentRead"] is True
    assert fake.requests("batch_get_item")[0]["RequestItems"][TABLE]["ConsistentRead"] is True
    await service.query_by_pk("P", Row)
    assert "ConsistentRead" not in fake.requests("query")[-1]


async def test_batch_get_retries_the_unprocessed_keys_as_dynamodb_names_them(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    calls: list[list[dict[str, Any]]] = []

    def handler(request: dict[str, Any]) -> dict[str, Any]:
        keys = request["RequestItems"][TABLE]["Keys"]
        calls.append(keys)
        if len(calls) == 1:  # one key left over, in a form of the server's own
            return {"UnprocessedKeys": {TABLE: {"Keys": [{"pk": {"S": "P"}, "sk": {"S": "x"}}]}}}
        return {"Responses": {TABLE: [{**key, "n": {"N": "1"}} for key in keys]}}

    fake.on("batch_get_item", handler)
    found = await service.batch_get([("P", "a"), ("P", "b")], Row)
    assert calls[1] == [{"pk": {"S": "P"}, "sk": {"S": "x"}}]
    assert found == []  # neither key asked for came back

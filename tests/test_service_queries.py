from typing import Any

import pytest

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBValidationError,
    SortKeyCondition,
)
from tests.fakes import FakeDynamoDB

SORT_KEYS = [f"{i:03d}" for i in range(30)]


class Row(DynamoDBBaseModel):
    pass


def serve_partition(fake: FakeDynamoDB, page_cap: int = 7) -> None:
    """Answer queries on one partition like DynamoDB: Limit, ranges, 'pages' of page_cap."""

    def query(request: dict[str, Any]) -> dict[str, Any]:
        expression = request["KeyConditionExpression"]
        values = request["ExpressionAttributeValues"]
        keys = list(SORT_KEYS)
        if " < " in expression:
            keys = [k for k in keys if k < values[":v1"]["S"]]
        if " > " in expression:
            keys = [k for k in keys if k > values[":v1"]["S"]]
        if request.get("ScanIndexForward") is False:
            keys.reverse()
        start = request.get("ExclusiveStartKey")
        if start is not None:
            keys = keys[keys.index(start["sk"]["S"]) + 1 :]
        limit = min(request.get("Limit", page_cap), page_cap)
        page = keys[:limit]
        response: dict[str, Any] = {"Count": len(page)}
        if request.get("Select") != "COUNT":
            response["Items"] = [{"pk": {"S": "P"}, "sk": {"S": k}} for k in page]
        if page and len(page) == limit:
            # Like DynamoDB, a full page carries a key even when nothing follows it.
            response["LastEvaluatedKey"] = {"pk": {"S": "P"}, "sk": {"S": page[-1]}}
        return response

    fake.on("query", query)


async def walk_pages(
    service: DynamoDBService, limit: int, condition: SortKeyCondition | None = None
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        if condition is None:
            page = await service.query_by_pk("P", Row, limit=limit, last_evaluated_key=cursor)
        else:
            page = await service.query_by_pk_and_sk(
                "P", condition, Row, limit=limit, last_evaluated_key=cursor
            )
        pages.append([row.sk for row in page.items])
        assert page.count == len(page.items)
        cursor = page.last_evaluated_key
        if cursor is None:
            return pages


@pytest.mark.parametrize("limit", [1, 5, 10, 29, 30, 31])
async def test_pages_are_exact_with_no_empty_tail(
    service: DynamoDBService, fake: FakeDynamoDB, limit: int
) -> None:
    serve_partition(fake)
    pages = await walk_pages(service, limit)
    assert [sk for page in pages for sk in page] == SORT_KEYS
    assert all(len(page) == limit for page in pages[:-1])
    assert 0 < len(pages[-1]) <= limit


@pytest.mark.parametrize("limit", [1, 4, 14, 15, 28, 29, 40])
async def test_ne_pages_continue_across_both_ranges(
    service: DynamoDBService, fake: FakeDynamoDB, limit: int
) -> None:
    serve_partition(fake)
    pages = await walk_pages(service, limit, SortKeyCondition(operator="ne", value="014"))
    assert [sk for page in pages for sk in page] == [k for k in SORT_KEYS if k != "014"]
    assert all(len(page) == limit for page in pages[:-1])
    assert pages[-1]
    for request in fake.requests("query"):
        assert "FilterExpression" not in request


async def test_descending_ne(service: DynamoDBService, fake: FakeDynamoDB) -> None:
    serve_partition(fake)
    page = await service.query_by_pk_and_sk(
        "P", SortKeyCondition(operator="ne", value="014"), Row, scan_forward=False
    )
    assert [row.sk for row in page.items] == [k for k in reversed(SORT_KEYS) if k != "014"]
    assert page.last_evaluated_key is None


async def test_without_limit_every_page_is_read(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    serve_partition(fake)
    page = await service.query_by_pk("P", Row)
    assert [row.sk for row in page.items] == SORT_KEYS
    assert page.last_evaluated_key is None
    assert len(fake.requests("query")) >= 5


async def test_count_sums_every_page(service: DynamoDBService, fake: FakeDynamoDB) -> None:
    serve_partition(fake)
    assert await service.count("P") == 30
    assert await service.count("P", SortKeyCondition(operator="ne", value="000")) == 29
    assert all(r["Select"] == "COUNT" for r in fake.requests("query"))


async def test_iter_query_yields_every_item(service: DynamoDBService, fake: FakeDynamoDB) -> None:
    serve_partition(fake)
    seen = [row.sk async for row in service.iter_query("P", Row, page_size=4)]
    assert seen == SORT_KEYS
    assert all(r["Limit"] == 4 for r in fake.requests("query"))


@pytest.mark.parametrize("limit", [0, -1, True, 2.5])
async def test_bad_limits_are_refused(
    service: DynamoDBService, fake: FakeDynamoDB, limit: Any
) -> None:
    with pytest.raises(DynamoDBValidationError, match="limit"):
        await service.query_by_pk("P", Row, limit=limit)
    assert fake.calls == []


async def test_a_cursor_from_another_partition_is_refused(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    with pytest.raises(DynamoDBValidationError, match="another partition") as caught:
        await service.query_by_pk("P", Row, last_evaluated_key={"pk": "Q", "sk": "001"})
    assert caught.value.operation == "query_by_pk"
    assert fake.calls == []


async def test_index_keys_are_read_once_and_unknown_indexes_listed(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    description = {
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
            }
        ],
    }
    fake.on("describe_table", lambda _: {"Table": description})
    fake.on("query", lambda _: {"Items": [], "Count": 0})
    await service.query_by_pk("G", Row, index_name="gsi1")
    await service.query_by_pk("G", Row, index_name="gsi1")
    assert len(fake.requests("describe_table")) == 1
    [first, _] = fake.requests("query")
    assert first["IndexName"] == "gsi1"
    assert first["ExpressionAttributeNames"] == {"#n0": "gsi1pk"}
    with pytest.raises(DynamoDBValidationError, match="gsi1"):
        await service.query_by_pk("G", Row, index_name="nope")
    with pytest.raises(DynamoDBValidationError, match="consistent reads"):
        await service.query_by_pk("G", Row, index_name="gsi1", consistent_read=True)


async def test_a_server_repeating_its_start_key_stops_the_walk(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    """A LastEvaluatedKey equal to the ExclusiveStartKey sent would loop forever."""
    stuck = {"pk": {"S": "P"}, "sk": {"S": "007"}}
    answered = 0

    def answer(_request: dict[str, Any]) -> dict[str, Any]:
        nonlocal answered
        answered += 1
        assert answered < 10, "the walk did not stop"
        return {"Items": [], "Count": 0, "ScannedCount": 0, "LastEvaluatedKey": stuck}

    fake.on("query", answer)
    fake.on("scan", answer)
    with pytest.raises(DynamoDBServiceError, match="same page forever"):
        _ = [row async for row in service.iter_query("P", Row)]
    assert len(fake.requests("query")) == 2  # the first page, then the same key once
    with pytest.raises(DynamoDBServiceError, match="same page forever"):
        _ = [row async for row in service.scan(Row)]
    assert len(fake.requests("scan")) == 2
    with pytest.raises(DynamoDBServiceError, match="same page forever"):
        await service.count("P")

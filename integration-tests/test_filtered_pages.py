"""A filtered page reads a sparse partition in a few requests, and stays exact.

DynamoDB applies ``Limit`` before the filter: a page that sent ``Limit = limit + 1`` read a
partition with one match in 200 a handful of items per request, some 500 requests for
one page of 3. Each request now reads up to DynamoDB's 1 MB, so a page costs about one
request per megabyte of the partition it reads.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from lvrgd_common import DynamoDBBaseModel, DynamoDBConfig, DynamoDBService, PaginationResult

ITEMS = 2_000
EVERY = 200  # one match in 200: 10 matches
LIMIT = 3
HIT = Attr("hit").eq(True)  # noqa: FBT003 - a boolean operand of a condition


class Row(DynamoDBBaseModel):
    n: int
    hit: bool


class Records:
    """A logger that keeps each operation record's fields."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def debug(self, event: str, **fields: Any) -> None:
        self.records.append({"event": event, **fields})

    info = warning = error = debug


async def test_filtered_pages_are_exact_and_take_few_requests(
    config: DynamoDBConfig, pk: str
) -> None:
    records = Records()
    async with DynamoDBService(records, config) as service:
        await service.batch_write(
            [Row(pk=pk, sk=f"{n:05}", n=n, hit=n % EVERY == 0) for n in range(ITEMS)]
        )
        records.records.clear()
        pages: list[list[int]] = []
        cursor: str | None = None
        while True:
            page: PaginationResult[Row] = await service.query_by_pk(
                pk, Row, limit=LIMIT, cursor=cursor, filter_condition=HIT
            )
            pages.append([row.n for row in page.items])
            cursor = page.next_cursor
            if cursor is None:
                break
    matches = list(range(0, ITEMS, EVERY))
    assert pages == [matches[i : i + LIMIT] for i in range(0, len(matches), LIMIT)]
    queries = [r for r in records.records if r.get("operation") == "query_by_pk"]
    assert len(queries) == len(pages)
    requests = [r.get("requests", 1) for r in queries]
    # 2,000 small items are well under 1 MB: one request a page reads all it needs.
    assert sum(requests) == len(pages), requests

"""Filters on a real server: boto3 conditions, values through the codec, exact pages."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import TYPE_CHECKING

import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import BaseModel

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    LoggingService,
    SortKeyCondition,
)

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

COUNT = 60
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Place(BaseModel):
    city: str


class Thing(DynamoDBBaseModel):
    n: int
    color: Color
    status: str  # a reserved word in DynamoDB's expressions
    ratio: float
    when: dt.datetime
    place: Place
    gsi1pk: str | None = None
    gsi1sk: str | None = None


def _thing(pk: str, n: int) -> Thing:
    return Thing(
        pk=pk,
        sk=f"I#{n:03d}",
        n=n,
        color=Color.RED if n % 7 == 0 else Color.BLUE,
        status="open" if n % 2 else "closed",
        ratio=0.1 if n % 5 == 0 else 0.25,
        when=START + dt.timedelta(hours=n),
        place=Place(city="Paris" if n >= COUNT - 4 else "Lyon"),
        gsi1pk=f"{pk}#g",
        gsi1sk=f"{n:03d}",
    )


@pytest.fixture(scope="module")
async def seeded(config: DynamoDBConfig) -> list[Thing]:
    """One partition for the module (written once: the cases only read)."""
    pk = f"it#{uuid.uuid4().hex}"
    stored = [_thing(pk, n) for n in range(COUNT)]
    async with DynamoDBService(LoggingService(), config) as service:
        await service.batch_write(stored)
    return stored


@pytest.fixture
def things(seeded: list[Thing]) -> list[Thing]:
    return seeded


@pytest.fixture
def pk(seeded: list[Thing]) -> str:
    return seeded[0].pk


FILTERS: list[tuple[str, ConditionBase, object]] = [
    ("enum value", Attr("color").eq(Color.RED), lambda t: t.color is Color.RED),
    ("float from its repr", Attr("ratio").eq(0.1), lambda t: t.n % 5 == 0),
    ("reserved word", Attr("status").eq("open"), lambda t: t.status == "open"),
    (
        "datetime as stored",
        Attr("when").gte(START + dt.timedelta(hours=50)),
        lambda t: t.n >= 50,
    ),
    ("nested path, sparse at the end", Attr("place.city").eq("Paris"), lambda t: t.n >= 56),
    (
        "and, or, not",
        (Attr("n").lt(10) & ~Attr("status").eq("open")) | Attr("n").is_in([33, 34]),
        lambda t: (t.n < 10 and t.status != "open") or t.n in {33, 34},
    ),
    ("nothing matches", Attr("n").gt(1000), lambda _: False),
]


@pytest.mark.parametrize("limit", [2, 9])
@pytest.mark.parametrize(("name", "condition", "keep"), FILTERS, ids=[f[0] for f in FILTERS])
async def test_pages_are_exact_under_a_filter(
    service: DynamoDBService,
    things: list[Thing],
    pk: str,
    limit: int,
    name: str,
    condition: ConditionBase,
    keep: object,
) -> None:
    assert callable(keep), name
    expected = [thing for thing in things if keep(thing)]
    pages = []
    cursor = None
    while True:
        page = await service.query_by_pk(
            pk, Thing, limit=limit, last_evaluated_key=cursor, filter_condition=condition
        )
        pages.append(page.items)
        cursor = page.last_evaluated_key
        if cursor is None:
            break
        assert len(pages) <= COUNT, "the cursor does not move"
    assert [item for items in pages for item in items] == expected
    # Every page but the last holds exactly `limit`; the last is never empty unless all are.
    assert all(len(items) == limit for items in pages[:-1])
    assert 0 < len(pages[-1]) <= limit or expected == []
    assert len(pages) == max(1, -(-len(expected) // limit))
    whole = await service.query_by_pk(pk, Thing, filter_condition=condition)
    assert whole.items == expected
    assert await service.count(pk, filter_condition=condition) == len(expected)
    streamed = [
        t async for t in service.iter_query(pk, Thing, page_size=7, filter_condition=condition)
    ]
    assert streamed == expected


async def test_a_filter_combines_with_a_sort_key_condition_and_descending_order(
    service: DynamoDBService, things: list[Thing], pk: str
) -> None:
    not_ten = SortKeyCondition(operator="ne", value="I#010")
    red = Attr("color").eq(Color.RED)
    expected = [t for t in reversed(things) if t.sk != "I#010" and t.color is Color.RED]
    first = await service.query_by_pk_and_sk(
        pk, not_ten, Thing, limit=3, filter_condition=red, scan_forward=False
    )
    rest = await service.query_by_pk_and_sk(
        pk,
        not_ten,
        Thing,
        last_evaluated_key=first.last_evaluated_key,
        filter_condition=red,
        scan_forward=False,
    )
    assert [*first.items, *rest.items] == expected
    assert rest.last_evaluated_key is None


async def test_an_index_query_filters_on_the_table_key(
    service: DynamoDBService, things: list[Thing], pk: str
) -> None:
    # The table's own sort key is an ordinary attribute in the GSI: a filter may name it.
    page = await service.query_by_pk(
        f"{pk}#g", Thing, limit=2, index_name="gsi1", filter_condition=Attr("sk").eq("I#042")
    )
    assert page.items == [things[42]]
    assert page.last_evaluated_key is None

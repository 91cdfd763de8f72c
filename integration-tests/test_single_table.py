"""Single-table reads on a real server: one partition, several models, one request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBDecodeError,
    DynamoDBService,
    SortKeyCondition,
)


class User(DynamoDBBaseModel):
    kind: Literal["user"] = "user"
    name: str


class Order(DynamoDBBaseModel):
    kind: Literal["order"] = "order"
    total: int
    # Stored empty, an empty set is omitted: it must read back through the union too.
    tags: set[str]


class Stranger(DynamoDBBaseModel):
    """Something else stored in the partition: fits no member of the union."""

    kind: str = "refund"


class Untagged(DynamoDBBaseModel):
    note: str = "no kind at all"


AnyItem = Annotated[User | Order, Field(discriminator="kind")]


def _profile_and_orders(pk: str) -> list[DynamoDBBaseModel]:
    return [
        User(pk=pk, sk="A#PROFILE", name="Ada"),
        Order(pk=pk, sk="ORDER#1", total=10, tags={"gift"}),
        Order(pk=pk, sk="ORDER#2", total=25, tags=set()),
    ]


@pytest.fixture
async def partition(service: DynamoDBService, pk: str) -> list[DynamoDBBaseModel]:
    items = _profile_and_orders(pk)
    await service.batch_write(items)
    return items


async def test_query_by_pk_returns_each_item_as_its_member(
    service: DynamoDBService, partition: list[DynamoDBBaseModel], pk: str
) -> None:
    page = await service.query_by_pk(pk, AnyItem)
    assert page.items == partition
    assert [type(item) for item in page.items] == [User, Order, Order]


async def test_query_by_pk_and_sk_pages_a_union(
    service: DynamoDBService, partition: list[DynamoDBBaseModel], pk: str
) -> None:
    orders = SortKeyCondition(operator="begins_with", value="ORDER#")
    first = await service.query_by_pk_and_sk(pk, orders, AnyItem, limit=1)
    rest = await service.query_by_pk_and_sk(
        pk, orders, AnyItem, limit=1, last_evaluated_key=first.last_evaluated_key
    )
    assert [*first.items, *rest.items] == partition[1:]
    assert rest.last_evaluated_key is None


async def test_iter_query_yields_members(
    service: DynamoDBService, partition: list[DynamoDBBaseModel], pk: str
) -> None:
    seen = [item async for item in service.iter_query(pk, AnyItem, page_size=1)]
    assert seen == partition


async def test_get_one_and_batch_get_return_members(
    service: DynamoDBService, partition: list[DynamoDBBaseModel], pk: str
) -> None:
    assert await service.get_one(pk, "ORDER#2", AnyItem) == partition[2]
    assert await service.get_one(pk, "nothing", AnyItem) is None
    keys = [(pk, "ORDER#1"), (pk, "A#PROFILE"), (pk, "absent")]
    assert await service.batch_get(keys, AnyItem) == [partition[1], partition[0]]


@pytest.mark.needs("transactions")
async def test_transact_get_returns_members(
    service: DynamoDBService, partition: list[DynamoDBBaseModel], pk: str
) -> None:
    keys = [(pk, "ORDER#2"), (pk, "A#PROFILE")]
    assert await service.transact_get(keys, AnyItem) == [partition[2], partition[0]]


async def test_a_plain_union_is_validated_by_pydantic(
    service: DynamoDBService, partition: list[DynamoDBBaseModel], pk: str
) -> None:
    page = await service.query_by_pk(pk, User | Order, limit=2)
    assert page.items == partition[:2]


@pytest.mark.parametrize(
    ("stranger", "says"),
    [
        (Stranger, "'kind' is none of 'user', 'order'"),
        (Untagged, "has no 'kind'"),
    ],
)
@pytest.mark.usefixtures("partition")
async def test_an_item_that_fits_no_member_raises_never_skipped(
    service: DynamoDBService,
    pk: str,
    stranger: type[DynamoDBBaseModel],
    says: str,
) -> None:
    await service.save(stranger(pk=pk, sk="B#ODD"))
    calls: list[Any] = [
        service.query_by_pk(pk, AnyItem),
        service.get_one(pk, "B#ODD", AnyItem),
        service.batch_get([(pk, "A#PROFILE"), (pk, "B#ODD")], AnyItem),
    ]
    for call in calls:
        with pytest.raises(DynamoDBDecodeError, match=says) as caught:
            await call
        assert (caught.value.pk, caught.value.sk) == (pk, "B#ODD")
        assert "refund" not in str(caught.value)  # no stored value in a decode error
    with pytest.raises(DynamoDBDecodeError, match=says):
        _ = [item async for item in service.iter_query(pk, AnyItem)]
    # A member that no longer validates is named, as with a single class.
    await service.save(Stranger(pk=pk, sk="B#ODD", kind="order"))
    with pytest.raises(DynamoDBDecodeError, match="total"):
        await service.get_one(pk, "B#ODD", AnyItem)

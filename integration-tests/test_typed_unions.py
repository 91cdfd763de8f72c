"""A TypeAdapter of a union reads as the union itself, on every reading method."""

from __future__ import annotations

from typing import Annotated, Literal, assert_type

import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import Field, TypeAdapter

from lvrgd_common import DynamoDBBaseModel, DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.sync import DynamoDBService as SyncDynamoDBService


class Cat(DynamoDBBaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(DynamoDBBaseModel):
    kind: Literal["dog"] = "dog"
    good: bool = True


PETS: TypeAdapter[Cat | Dog] = TypeAdapter(Annotated[Cat | Dog, Field(discriminator="kind")])
PLAIN: TypeAdapter[Cat | Dog] = TypeAdapter(Cat | Dog)


async def test_every_reading_method_takes_a_type_adapter(service: DynamoDBService, pk: str) -> None:
    cat, dog = Cat(pk=pk, sk="1"), Dog(pk=pk, sk="2")
    await service.batch_write([cat, dog])
    for adapter in (PETS, PLAIN):
        page = await service.query_by_pk(pk, adapter)
        assert page.items == [cat, dog]
        assert [type(item) for item in page.items] == [Cat, Dog]
        one = await service.get_one(pk, "2", adapter)
        assert_type(one, Cat | Dog | None)
        assert one == dog
        assert await service.batch_get([(pk, "1"), (pk, "2")], adapter) == [cat, dog]
        assert [item async for item in service.iter_query(pk, adapter)] == [cat, dog]
        # The session's table holds other tests' items too: scan this test's partition only.
        mine = Attr("pk").eq(pk)
        scanned = [item async for item in service.scan(adapter, filter_condition=mine)]
        assert sorted(scanned, key=lambda item: item.sk) == [cat, dog]
    await service.batch_delete([(pk, "1"), (pk, "2")])  # nothing of ours for later scans


@pytest.mark.needs("transactions")
async def test_transact_get_takes_a_type_adapter(service: DynamoDBService, pk: str) -> None:
    cat, dog = Cat(pk=pk, sk="1"), Dog(pk=pk, sk="2")
    await service.batch_write([cat, dog])
    assert await service.transact_get([(pk, "2"), (pk, "1")], PETS) == [dog, cat]
    await service.batch_delete([(pk, "1"), (pk, "2")])


def test_the_sync_facade_takes_one_too(config: DynamoDBConfig, pk: str) -> None:
    with SyncDynamoDBService(LoggingService("lvrgd_common.tests"), config) as service:
        service.save(Cat(pk=pk, sk="1", lives=3))
        page = service.query_by_pk(pk, PETS)
        assert_type(page.items, list[Cat | Dog])
        assert page.items == [Cat(pk=pk, sk="1", lives=3)]
        service.delete(pk, "1")

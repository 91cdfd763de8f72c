"""boto3 conditions on save, update, delete and transactions, evaluated by a real server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import BaseModel

from lvrgd_common import (
    AttributeCondition,
    DynamoDBBaseModel,
    DynamoDBConditionalCheckError,
    DynamoDBService,
    DynamoDBTransactionError,
    DynamoDBValidationError,
    TransactionWriteItem,
)

NOON = dt.datetime(2024, 1, 2, 12, tzinfo=dt.UTC)


class Address(BaseModel):
    city: str


class Ticket(DynamoDBBaseModel):
    status: str = "open"
    retries: int = 0
    ratio: float = 0.1
    tags: set[str] = set()
    notes: list[str] = []
    address: Address = Address(city="Paris")
    opened: dt.datetime = NOON


def ticket(pk: str, **fields: Any) -> Ticket:
    return Ticket(pk=pk, sk="t", tags={"red", "blue"}, notes=["a", "b", "c"], **fields)


HOLDS = [
    Attr("status").eq("open") | Attr("retries").lt(0),
    Attr("status").eq("closed") | Attr("retries").lt(3),
    ~Attr("status").eq("closed"),
    Attr("status").ne("closed") & Attr("retries").gte(0),
    Attr("tags").contains("red"),
    Attr("notes").size().eq(3),
    Attr("status").is_in(["open", "pending"]),
    Attr("retries").between(0, 2),
    Attr("tags").attribute_type("SS"),
    Attr("status").begins_with("op"),
    Attr("status").exists() & Attr("closed_at").not_exists(),
    Attr("ratio").eq(0.1),
    Attr("opened").eq(NOON),
    Attr("address.city").eq("Paris"),
    Attr("notes[1]").eq("b"),
]
FAILS = [
    Attr("status").eq("closed") | Attr("retries").gt(0),
    ~Attr("status").eq("open"),
    Attr("tags").contains("green"),
    Attr("notes").size().gt(3),
    Attr("status").is_in(["closed", "pending"]),
    Attr("retries").between(1, 2),
    Attr("tags").attribute_type("L"),
    Attr("status").begins_with("cl"),
    Attr("closed_at").exists(),
    Attr("ratio").eq(0.2),
    Attr("opened").lt(NOON),
    Attr("address.city").eq("Rome"),
    Attr("notes[1]").eq("a"),
]


@pytest.mark.parametrize("condition", HOLDS)
async def test_a_condition_that_holds_lets_each_write_through(
    service: DynamoDBService, pk: str, condition: Any
) -> None:
    await service.save(ticket(pk))
    await service.save(ticket(pk, retries=0), conditions=condition)
    await service.update(pk, "t", {"status": "open"}, conditions=condition)
    await service.delete(pk, "t", conditions=condition)
    assert await service.get_one(pk, "t", Ticket) is None


@pytest.mark.parametrize("condition", FAILS)
async def test_a_condition_that_fails_stops_each_write(
    service: DynamoDBService, pk: str, condition: Any
) -> None:
    stored = ticket(pk)
    await service.save(stored)
    with pytest.raises(DynamoDBConditionalCheckError) as caught:
        await service.save(ticket(pk, status="closed"), conditions=condition)
    assert (caught.value.operation, caught.value.pk, caught.value.sk) == ("save", pk, "t")
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.update(pk, "t", {"status": "closed"}, conditions=condition)
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.delete(pk, "t", conditions=condition)
    assert await service.get_one(pk, "t", Ticket) == stored


async def test_a_boto3_condition_mixes_with_attribute_conditions(
    service: DynamoDBService, pk: str
) -> None:
    await service.save(ticket(pk))
    exists = AttributeCondition(attribute="pk", operator="exists")
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.update(pk, "t", {"retries": 5}, conditions=[exists, Attr("retries").gt(0)])
    await service.update(pk, "t", {"retries": 5}, conditions=[exists, Attr("retries").eq(0)])
    assert (await service.get_one(pk, "t", Ticket) or ticket(pk)).retries == 5


async def test_a_create_only_save_with_a_boto3_condition(service: DynamoDBService, pk: str) -> None:
    await service.save(ticket(pk), conditions=Attr("pk").not_exists())
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.save(ticket(pk, status="second"), conditions=Attr("pk").not_exists())
    assert await service.get_one(pk, "t", Ticket) == ticket(pk)


async def test_a_bad_condition_is_refused_before_sending(service: DynamoDBService, pk: str) -> None:
    await service.save(ticket(pk))
    with pytest.raises(DynamoDBValidationError, match="ratio") as caught:
        await service.update(pk, "t", {"status": "x"}, conditions=Attr("ratio").eq(float("nan")))
    assert (caught.value.operation, caught.value.pk, caught.value.sk) == ("update", pk, "t")
    with pytest.raises(DynamoDBValidationError, match="conditions must be"):
        await service.delete(pk, "t", conditions="status = 'open'")
    assert await service.get_one(pk, "t", Ticket) == ticket(pk)


@pytest.mark.needs("transactions")
async def test_boto3_conditions_in_a_transaction(service: DynamoDBService, pk: str) -> None:
    await service.save(ticket(pk))
    open_or_retried = Attr("status").eq("open") | Attr("retries").gt(2)
    await service.transact_write(
        [
            TransactionWriteItem(
                operation="update",
                pk=pk,
                sk="t",
                updates={"retries": 1},
                conditions=open_or_retried,
            ),
            TransactionWriteItem(
                operation="put",
                item=Ticket(pk=pk, sk="u"),
                conditions=(Attr("pk").not_exists(),),
            ),
        ]
    )
    with pytest.raises(DynamoDBTransactionError) as caught:
        await service.transact_write(
            [
                TransactionWriteItem(
                    operation="condition_check", pk=pk, sk="t", conditions=Attr("retries").gt(1)
                ),
                TransactionWriteItem(operation="delete", pk=pk, sk="u"),
            ]
        )
    assert [r.code for r in caught.value.cancellation_reasons] == ["ConditionalCheckFailed", None]
    assert (await service.get_one(pk, "t", Ticket) or ticket(pk)).retries == 1
    assert await service.get_one(pk, "u", Ticket) == Ticket(pk=pk, sk="u")

"""Expressive writes on a real server: update actions, updates checked against a model,
optimistic locking with VersionedModel, and EpochSeconds for TTL."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import BaseModel, Field

from helpers import raw_client
from lvrgd_common import (
    AddToSet,
    Append,
    DynamoDBBaseModel,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBItemNotFoundError,
    DynamoDBService,
    DynamoDBTransactionError,
    DynamoDBValidationError,
    EpochSeconds,
    IfNotExists,
    Increment,
    Prepend,
    RemoveFromSet,
    TransactionWriteItem,
    VersionedModel,
)
from lvrgd_common.testing import create_table, delete_table


class Stage(Enum):
    NEW = "new"
    PAID = "paid"


class Address(BaseModel):
    city: str
    zip_code: str = Field(default="", alias="zipCode")


class Order(DynamoDBBaseModel):
    status: Stage = Stage.NEW
    item_count: int = Field(default=0, alias="itemCount")
    total: Decimal = Decimal(0)
    paid_at: dt.datetime | None = None
    note: str | None = None
    lines: list[str] = []
    labels: set[str] = set()
    address: Address = Address(city="Paris")
    stats: dict[str, int] = {}


class Account(VersionedModel):
    balance: int = 0
    owner: str = "ada"


class Session(DynamoDBBaseModel):
    user: str
    expires_at: EpochSeconds


async def raw_item(config: DynamoDBConfig, pk: str, sk: str) -> dict[str, Any]:
    async with raw_client(config) as client:
        response = await client.get_item(
            TableName=config.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
    return dict(response.get("Item", {}))


# --- update actions -----------------------------------------------------------------------


async def test_increment_counts_an_absent_attribute_as_zero(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    await service.save(Order(pk=pk, sk="o"))
    await service.update(pk, "o", {"visits": Increment(1)})
    await service.update(pk, "o", {"visits": Increment(5), "refunds": Increment(-2)})
    await service.update(pk, "o", {("stats", "views"): Increment(Decimal("2.5"))})
    stored = await raw_item(config, pk, "o")
    assert stored["visits"] == {"N": "6"}
    assert stored["refunds"] == {"N": "-2"}
    assert stored["stats"] == {"M": {"views": {"N": "2.5"}}}


async def test_list_and_set_actions_and_tuple_paths(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    await service.save(Order(pk=pk, sk="o", lines=["b"], labels={"x", "y"}))
    await service.update(
        pk,
        "o",
        {
            "lines": Append(["c", "d"]),
            "history": Prepend(["created"]),
            "labels": AddToSet({"z"}),
            "scores": AddToSet({1, 2}),
            ("address", "city"): "Lyon",
            "first_seen": IfNotExists("monday"),
        },
    )
    await service.update(
        pk,
        "o",
        {
            "lines": Prepend(["a"]),
            "labels": RemoveFromSet({"x", "absent"}),
            "first_seen": IfNotExists("tuesday"),
            "note": None,
        },
    )
    await service.update(pk, "o", {("lines", 0): "A", ("address", "zipCode"): "69001"})
    stored = await raw_item(config, pk, "o")
    assert stored["lines"] == {"L": [{"S": "A"}, {"S": "b"}, {"S": "c"}, {"S": "d"}]}
    assert stored["history"] == {"L": [{"S": "created"}]}
    assert sorted(stored["labels"]["SS"]) == ["y", "z"]
    assert sorted(stored["scores"]["NS"]) == ["1", "2"]
    assert stored["first_seen"] == {"S": "monday"}
    assert stored["address"]["M"]["city"] == {"S": "Lyon"}
    assert stored["address"]["M"]["zipCode"] == {"S": "69001"}
    assert "note" not in stored


async def test_one_update_combines_set_remove_add_and_delete(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    await service.save(Order(pk=pk, sk="o", note="x", labels={"a", "b"}))
    await service.update(
        pk,
        "o",
        {
            "status": "paid",
            "note": None,
            "labels": RemoveFromSet({"a"}),
            "tags": AddToSet({"new"}),
            "name": "reserved word",
        },
    )
    stored = await raw_item(config, pk, "o")
    assert stored["status"] == {"S": "paid"}
    assert "note" not in stored
    assert stored["labels"] == {"SS": ["b"]}
    assert stored["tags"] == {"SS": ["new"]}
    assert stored["name"] == {"S": "reserved word"}


@pytest.mark.needs("atomic_writes")
async def test_100_concurrent_increments_all_count(service: DynamoDBService, pk: str) -> None:
    await service.save(Order(pk=pk, sk="counter"))
    await asyncio.gather(
        *(service.update(pk, "counter", {"itemCount": Increment(1)}) for _ in range(100))
    )
    stored = await service.get_one(pk, "counter", Order, consistent_read=True)
    assert stored is not None
    assert stored.item_count == 100


async def test_an_action_on_an_absent_item_creates_nothing(
    service: DynamoDBService, pk: str
) -> None:
    with pytest.raises(DynamoDBItemNotFoundError):
        await service.update(pk, "absent", {"visits": Increment(1)})
    assert await service.get_one(pk, "absent", Order) is None


# --- updates checked against the model ----------------------------------------------------


async def test_a_model_update_is_stored_as_save_stores_it(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    paid_at = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    expected = Order(
        pk=pk,
        sk="saved",
        status=Stage.PAID,
        itemCount=3,
        total=Decimal("12.50"),
        paid_at=paid_at,
        labels={"gift"},
        address=Address(city="Nice", zipCode="06000"),
    )
    await service.save(expected)
    await service.save(Order(pk=pk, sk="updated", note="remove me", labels={"old"}))
    updated = await service.update(
        pk,
        "updated",
        {
            "status": Stage.PAID,
            "item_count": 3,
            "total": "12.50",
            "paid_at": paid_at,
            "note": None,
            "labels": {"gift"},
            "address": {"city": "Nice", "zipCode": "06000"},
        },
        model_class=Order,
    )
    assert updated == expected.model_copy(update={"sk": "updated"})
    saved_raw = await raw_item(config, pk, "saved")
    updated_raw = await raw_item(config, pk, "updated")
    assert updated_raw == {**saved_raw, "sk": {"S": "updated"}}
    assert "itemCount" in updated_raw
    assert "item_count" not in updated_raw


class Retrying(DynamoDBBaseModel):
    retries: int | None = 3
    roles: set[str] = {"viewer"}
    tags: set[str] | None = None


@pytest.mark.parametrize(
    "updates",
    [{"retries": None}, {"roles": set()}, {"tags": set()}, {"tags": None}],
)
async def test_a_model_update_of_none_or_an_empty_set_reads_back_as_save_would(
    service: DynamoDBService, pk: str, updates: dict[str, Any]
) -> None:
    before = Retrying(pk=pk, sk="r", retries=5, roles={"admin"}, tags={"x"})
    await service.save(before)
    updated = await service.update(pk, "r", updates, model_class=Retrying)
    want = before.model_copy(update=updates)
    assert updated == want
    assert await service.get_one(pk, "r", Retrying) == want


async def test_a_model_update_with_actions_returns_the_item_after_it(
    service: DynamoDBService, pk: str
) -> None:
    await service.save(Order(pk=pk, sk="o", lines=["a"]))
    updated = await service.update(
        pk,
        "o",
        {"item_count": Increment(2), "lines": Append(["b"]), ("address", "city"): "Lyon"},
        conditions=Attr("status").eq("new"),
        model_class=Order,
    )
    assert updated.item_count == 2
    assert updated.lines == ["a", "b"]
    assert updated.address.city == "Lyon"
    assert await service.get_one(pk, "o", Order) == updated


@pytest.mark.parametrize(
    ("updates", "says"),
    [
        ({"total": "twelve"}, "total"),
        ({"item_count": "many"}, "itemCount"),
        ({"item_count": 1.5}, "itemCount"),
        ({"unknown": 1}, "Order has no field 'unknown'"),
        ({"itemCount": 1}, "Order has no field 'itemCount'"),
        ({"status": "lost"}, "status"),
        ({"item_count": None}, "None would remove a value the field requires"),
        ({"note": Increment(1)}, "'note': Increment needs a number field"),
        ({"paid_at": Increment(1)}, "Increment needs a number field"),
        ({"lines": AddToSet({"x"})}, "'lines'"),
        ({("address", "town"): "x"}, "Address has no field 'town'"),
        ({"labels": Append(["x"])}, "labels"),
        ({"pk": "other"}, "key attribute 'pk'"),
    ],
)
async def test_a_model_update_refuses_what_the_model_would_not_take(
    service: DynamoDBService, pk: str, updates: dict[Any, Any], says: str
) -> None:
    original = Order(pk=pk, sk="o", lines=["a"])
    await service.save(original)
    with pytest.raises(DynamoDBValidationError, match=says) as caught:
        await service.update(pk, "o", updates, model_class=Order)
    assert (caught.value.operation, caught.value.pk, caught.value.sk) == ("update", pk, "o")
    assert await service.get_one(pk, "o", Order) == original


# --- optimistic locking -------------------------------------------------------------------


async def test_a_versioned_save_advances_the_version_and_refuses_a_stale_one(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    first = await service.save(Account(pk=pk, sk="a", balance=10))
    assert first.version == 1
    assert (await raw_item(config, pk, "a"))["version"] == {"N": "1"}
    second = await service.save(first.model_copy(update={"balance": 20}))
    assert second == Account(pk=pk, sk="a", balance=20, version=2)
    with pytest.raises(DynamoDBConditionalCheckError) as caught:
        await service.save(first.model_copy(update={"balance": 99}))
    assert (caught.value.operation, caught.value.pk, caught.value.sk) == ("save", pk, "a")
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.save(Account(pk=pk, sk="a", balance=0))  # version 0: must be new
    assert await service.get_one(pk, "a", Account) == second


async def test_a_versioned_save_composes_with_conditions(service: DynamoDBService, pk: str) -> None:
    saved = await service.save(Account(pk=pk, sk="a", balance=10))
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.save(saved, conditions=Attr("balance").gt(100))
    again = await service.save(saved, conditions=Attr("balance").eq(10))
    assert again.version == 2


@pytest.mark.needs("atomic_writes")
async def test_20_concurrent_saves_of_one_version_have_one_winner(
    service: DynamoDBService, pk: str
) -> None:
    base = await service.save(Account(pk=pk, sk="a"))
    writers = [base.model_copy(update={"balance": n}) for n in range(20)]
    results = await asyncio.gather(*(service.save(w) for w in writers), return_exceptions=True)
    winners = [r for r in results if isinstance(r, Account)]
    losers = [r for r in results if isinstance(r, DynamoDBConditionalCheckError)]
    assert len(winners) == 1
    assert len(losers) == 19
    stored = await service.get_one(pk, "a", Account, consistent_read=True)
    assert stored == winners[0]
    assert stored.version == 2


async def test_a_model_update_of_a_versioned_item_advances_and_checks_the_version(
    service: DynamoDBService, pk: str
) -> None:
    saved = await service.save(Account(pk=pk, sk="a", balance=10))
    bumped = await service.update(pk, "a", {"balance": Increment(5)}, model_class=Account)
    assert (bumped.balance, bumped.version) == (15, 2)
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.update(pk, "a", {"balance": 0, "version": 1}, model_class=Account)
    checked = await service.update(pk, "a", {"balance": 0, "version": 2}, model_class=Account)
    assert (checked.balance, checked.version) == (0, 3)
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.save(saved)  # read before both updates: stale
    with pytest.raises(DynamoDBValidationError, match="version"):
        await service.update(pk, "a", {"version": "3"}, model_class=Account)


async def test_batch_write_refuses_versioned_items(service: DynamoDBService, pk: str) -> None:
    with pytest.raises(DynamoDBValidationError, match="cannot check the version"):
        await service.batch_write([Order(pk=pk, sk="o"), Account(pk=pk, sk="a")])
    assert await service.count(pk) == 0


@pytest.mark.needs("transactions")
async def test_versioned_puts_and_updates_in_a_transaction(
    service: DynamoDBService, pk: str
) -> None:
    a = await service.save(Account(pk=pk, sk="a", balance=10))
    b = await service.save(Account(pk=pk, sk="b", balance=0))
    await service.transact_write(
        [
            TransactionWriteItem(operation="put", item=a.model_copy(update={"balance": 5})),
            TransactionWriteItem(
                operation="update",
                pk=pk,
                sk="b",
                updates={"balance": Increment(5), "version": b.version},
                model_class=Account,
            ),
        ]
    )
    stored_a = await service.get_one(pk, "a", Account)
    stored_b = await service.get_one(pk, "b", Account)
    assert stored_a == Account(pk=pk, sk="a", balance=5, version=2)
    assert stored_b == Account(pk=pk, sk="b", balance=5, version=2)
    with pytest.raises(DynamoDBTransactionError) as caught:
        await service.transact_write(
            [
                TransactionWriteItem(operation="put", item=Order(pk=pk, sk="o")),
                TransactionWriteItem(operation="put", item=a.model_copy(update={"balance": 0})),
                TransactionWriteItem(
                    operation="update", pk=pk, sk="b", updates={"balance": 1}, model_class=Account
                ),
            ]
        )
    codes = [reason.code for reason in caught.value.cancellation_reasons]
    assert codes == [None, "ConditionalCheckFailed", None]
    assert await service.get_one(pk, "a", Account) == stored_a
    assert await service.get_one(pk, "b", Account) == stored_b
    assert await service.get_one(pk, "o", Order) is None


# --- EpochSeconds -------------------------------------------------------------------------


async def test_epoch_seconds_are_stored_as_a_number_and_read_back_in_utc(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    moment = dt.datetime(2030, 1, 1, 1, 0, 0, 750_000, tzinfo=paris)
    session = Session(pk=pk, sk="s", user="ada", expires_at=moment)
    assert session.expires_at == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    await service.save(session)
    assert (await raw_item(config, pk, "s"))["expires_at"] == {"N": "1893456000"}
    stored = await service.get_one(pk, "s", Session)
    assert stored == session
    assert stored is not None
    assert stored.expires_at.tzinfo == dt.UTC
    later = dt.datetime(2030, 1, 2, tzinfo=dt.UTC)
    updated = await service.update(pk, "s", {"expires_at": later}, model_class=Session)
    assert updated.expires_at == later
    assert (await raw_item(config, pk, "s"))["expires_at"] == {"N": "1893542400"}
    with pytest.raises(DynamoDBValidationError, match="timezone-aware"):
        await service.update(
            pk,
            "s",
            {"expires_at": dt.datetime(2030, 1, 3)},  # noqa: DTZ001 - naive on purpose
            model_class=Session,
        )


@pytest.mark.needs("time_to_live")
async def test_create_table_enables_time_to_live_on_an_attribute(
    base_config: DynamoDBConfig,
) -> None:
    settings = base_config.model_copy(update={"table_name": f"lvrgd-it-ttl-{uuid.uuid4().hex[:8]}"})
    await create_table(settings, ttl_attribute="expires_at")
    try:
        async with raw_client(settings) as client:
            described = await client.describe_time_to_live(TableName=settings.table_name)
    finally:
        await delete_table(settings)
    description = described["TimeToLiveDescription"]
    assert description.get("AttributeName") == "expires_at"
    assert description.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}

"""One stored form per field, on a real server: every write path stores a field's value as
``save`` does, conditions and filters compare against that form, and what would not read
back equal is refused before sending.

Each test here failed before the codec's one field encoder (round 3, issue 20).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer, field_validator
from pydantic.alias_generators import to_pascal

from helpers import raw_client
from lvrgd_common import (
    Append,
    AttributeCondition,
    DynamoDBBaseModel,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBItemNotFoundError,
    DynamoDBService,
    DynamoDBTransactionError,
    DynamoDBValidationError,
    EpochSeconds,
    Increment,
    LoggingService,
    RemoveFromSet,
    SortKeyCondition,
    TransactionWriteItem,
    VersionedModel,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Profile(DynamoDBBaseModel):
    """Validators, a serializer, an excluded field and a constrained counter."""

    handle: str = "anon"
    tags: list[str] = []
    password: str = Field(default="", exclude=True)
    logins: int = Field(default=0, exclude=True)
    stock: int = Field(default=0, ge=0)

    @field_validator("handle")
    @classmethod
    def _lower_and_no_spaces(cls, value: str) -> str:
        if " " in value:
            msg = "no spaces in a handle"
            raise ValueError(msg)
        return value.lower()

    @field_serializer("tags")
    def _joined(self, tags: list[str]) -> str:
        return ",".join(tags)

    @field_validator("tags", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return value.split(",") if value else []
        return value


class Address(BaseModel):
    city: str = "Paris"
    note: str | None = "none yet"


class Holder(DynamoDBBaseModel):
    badges: set[str] = {"starter"}
    flags: set[str] = Field(default_factory=set)
    address: Address = Address()


class Session(DynamoDBBaseModel):
    expires_at: EpochSeconds
    created_at: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class Aliased(VersionedModel):
    version: int = Field(default=0, ge=0, alias="ver")
    body: str = ""


class Generated(VersionedModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True)
    body: str = ""


async def _raw(settings: DynamoDBConfig, key: dict[str, Any]) -> dict[str, Any]:
    async with raw_client(settings) as client:
        response = await client.get_item(
            TableName=settings.table_name, Key=key, ConsistentRead=True
        )
    item: dict[str, Any] = response.get("Item", {})
    return item


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


KeyKind = Literal["S", "N", "B"]


@asynccontextmanager
async def _table(
    base: DynamoDBConfig, partition: tuple[str, KeyKind], sort: tuple[str, KeyKind] | None
) -> AsyncIterator[DynamoDBConfig]:
    """A fresh table keyed ``(name, type)`` pairs, and settings naming its keys; deleted after."""
    name = f"lvrgd-form-{uuid.uuid4().hex[:8]}"
    keys: list[tuple[tuple[str, KeyKind], Literal["HASH", "RANGE"]]] = [(partition, "HASH")]
    if sort is not None:
        keys.append((sort, "RANGE"))
    async with raw_client(base) as client:
        await client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key, "KeyType": role} for (key, _), role in keys],
            AttributeDefinitions=[
                {"AttributeName": key, "AttributeType": kind} for (key, kind), _ in keys
            ],
        )
        await client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        try:
            yield base.model_copy(
                update={
                    "table_name": name,
                    "partition_key_name": partition[0],
                    "sort_key_name": None if sort is None else sort[0],
                }
            )
        finally:
            await client.delete_table(TableName=name)


# --- update(model_class=) stores what save stores ------------------------------------------


async def test_update_with_model_class_runs_the_models_validators_and_serializers(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    await service.save(Profile(pk=pk, sk="saved", handle="Ann", tags=["a", "b"]))
    await service.save(Profile(pk=pk, sk="updated"))
    updated = await service.update(
        pk, "updated", {"handle": "Ann", "tags": ["a", "b"]}, model_class=Profile
    )
    assert updated.handle == "ann"
    assert updated.tags == ["a", "b"]
    saved = await _raw(config, _key(pk, "saved"))
    stored = await _raw(config, _key(pk, "updated"))
    assert stored["handle"] == saved["handle"] == {"S": "ann"}
    assert stored["tags"] == saved["tags"] == {"S": "a,b"}
    assert await service.get_one(pk, "updated", Profile) == updated


async def test_update_with_model_class_refuses_what_the_models_validator_refuses(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    await service.save(Profile(pk=pk, sk="s", handle="ann"))
    with pytest.raises(DynamoDBValidationError, match="no spaces in a handle"):
        await service.update(pk, "s", {"handle": "a b"}, model_class=Profile)
    assert (await _raw(config, _key(pk, "s")))["handle"] == {"S": "ann"}
    assert await service.get_one(pk, "s", Profile) is not None  # still readable


async def test_update_refuses_a_field_save_never_stores(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    await service.save(Profile(pk=pk, sk="s", password="secret"))
    assert "password" not in await _raw(config, _key(pk, "s"))
    with pytest.raises(DynamoDBValidationError, match="exclude=True"):
        await service.update(pk, "s", {"password": "hunter2"}, model_class=Profile)
    with pytest.raises(DynamoDBValidationError, match="exclude=True"):
        await service.update(pk, "s", {"logins": Increment(1)}, model_class=Profile)
    stored = await _raw(config, _key(pk, "s"))
    assert "password" not in stored
    assert "logins" not in stored


async def test_an_increment_is_checked_as_the_value_the_field_will_hold(
    service: DynamoDBService, pk: str
) -> None:
    await service.save(Profile(pk=pk, sk="s", stock=1))
    updated = await service.update(pk, "s", {"stock": Increment(-1)}, model_class=Profile)
    assert updated.stock == 0
    # Below Field(ge=0) the item could never be read again: the server refuses it.
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.update(pk, "s", {"stock": Increment(-1)}, model_class=Profile)
    read = await service.get_one(pk, "s", Profile)
    assert read is not None
    assert read.stock == 0
    with pytest.raises(DynamoDBValidationError, match="Increment needs a number"):
        await service.update(pk, "s", {"handle": Increment(1)}, model_class=Profile)


async def test_removing_a_sets_last_member_reads_back_as_an_empty_set_or_is_refused(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    await service.save(Holder(pk=pk, sk="s", badges={"gold"}, flags={"new"}))
    # flags reads back empty when absent: the last member may go.
    updated = await service.update(pk, "s", {"flags": RemoveFromSet({"new"})}, model_class=Holder)
    assert updated.flags == set()
    # badges would read back as its default, {"starter"}: refused, nothing sent.
    with pytest.raises(DynamoDBValidationError, match="RemoveFromSet"):
        await service.update(pk, "s", {"badges": RemoveFromSet({"gold"})}, model_class=Holder)
    assert (await _raw(config, _key(pk, "s")))["badges"] == {"SS": ["gold"]}


async def test_none_on_a_nested_field_reads_back_as_none(service: DynamoDBService, pk: str) -> None:
    await service.save(Holder(pk=pk, sk="s"))
    updated = await service.update(pk, "s", {("address", "note"): None}, model_class=Holder)
    assert updated.address.note is None
    read = await service.get_one(pk, "s", Holder)
    assert read is not None
    assert read.address.note is None


# --- EpochSeconds and datetimes -------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(3000, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1000, 6, 1, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    ],
)
async def test_epoch_seconds_read_back_in_any_year(
    service: DynamoDBService, config: DynamoDBConfig, pk: str, when: dt.datetime
) -> None:
    await service.save(Session(pk=pk, sk="saved", expires_at=when))
    read = await service.get_one(pk, "saved", Session)
    assert read is not None
    assert read.expires_at == when
    await service.save(Session(pk=pk, sk="updated", expires_at=dt.datetime.now(dt.UTC)))
    updated = await service.update(pk, "updated", {"expires_at": when}, model_class=Session)
    assert updated.expires_at == when
    stored = await _raw(config, _key(pk, "updated"))
    seconds = (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(seconds=1)
    assert stored["expires_at"] == {"N": str(seconds)}


async def test_a_datetime_compared_with_epoch_seconds_is_sent_as_a_number(
    service: DynamoDBService, pk: str
) -> None:
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    future = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
    await service.save(Session(pk=pk, sk="old", expires_at=past))
    await service.save(Session(pk=pk, sk="new", expires_at=future))
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    live = await service.query_by_pk(pk, Session, filter_condition=Attr("expires_at").gt(now))
    assert [item.sk for item in live.items] == ["new"]
    rows = [
        row.sk
        async for row in service.scan(
            Session, filter_condition=Attr("expires_at").lt(now) & Attr("pk").eq(pk)
        )
    ]
    assert rows == ["old"]
    # A condition on a save compares the same way.
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.save(
            Session(pk=pk, sk="new", expires_at=past),
            conditions=Attr("expires_at").lt(now),
        )


async def test_aware_datetimes_compare_in_time_order_whatever_their_offset(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    plus_five = dt.timezone(dt.timedelta(hours=5))
    early = dt.datetime(2024, 1, 1, 10, tzinfo=plus_five)  # 05:00Z
    late = dt.datetime(2024, 1, 1, 7, tzinfo=dt.UTC)
    await service.save(Session(pk=pk, sk="early", expires_at=late, created_at=early))
    await service.save(Session(pk=pk, sk="late", expires_at=late, created_at=late))
    cutoff = dt.datetime(2024, 1, 1, 6, tzinfo=dt.UTC)
    page = await service.query_by_pk(pk, Session, filter_condition=Attr("created_at").lt(cutoff))
    assert [item.sk for item in page.items] == ["early"]
    read = await service.get_one(pk, "early", Session)
    assert read is not None
    assert read.created_at == early
    assert (await _raw(config, _key(pk, "early")))["created_at"] == {
        "S": "2024-01-01T05:00:00+00:00"
    }


async def test_items_stored_with_an_offset_by_earlier_versions_still_read_back(
    service: DynamoDBService, config: DynamoDBConfig, pk: str
) -> None:
    async with raw_client(config) as client:
        await client.put_item(
            TableName=config.table_name,
            Item={
                **_key(pk, "old"),
                "expires_at": {"N": "1700000000"},
                "created_at": {"S": "2024-01-01T10:00:00+05:00"},
            },
        )
    read = await service.get_one(pk, "old", Session)
    assert read is not None
    assert read.created_at == dt.datetime(2024, 1, 1, 5, tzinfo=dt.UTC)


# --- versions under any stored name ---------------------------------------------------------


@pytest.mark.parametrize("model", [Aliased, Generated], ids=["alias", "alias_generator"])
async def test_a_version_under_another_name_still_locks(
    service: DynamoDBService, config: DynamoDBConfig, pk: str, model: type[VersionedModel]
) -> None:
    first = await service.save(model(pk=pk, sk="s", body="first"))
    assert first.version == 1
    # A fresh copy (version 0) must not overwrite the stored item.
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.save(model(pk=pk, sk="s", body="fresh"))
    second = await service.save(first.model_copy(update={"body": "second"}))
    assert second.version == 2
    # The copy read at version 1 is stale now.
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.save(first.model_copy(update={"body": "stale"}))
    updated = await service.update(pk, "s", {"body": "third"}, model_class=model)
    assert updated.version == 3
    stored = await _raw(config, _key(pk, "s"))
    version_name = "ver" if model is Aliased else "Version"
    assert stored[version_name] == {"N": "3"}
    assert "version" not in stored
    read = await service.get_one(pk, "s", model)
    assert read is not None
    assert read.version == 3


@pytest.mark.needs("transactions")
async def test_a_transaction_checks_an_aliased_version(service: DynamoDBService, pk: str) -> None:
    saved = await service.save(Aliased(pk=pk, sk="s"))
    stale = Aliased(pk=pk, sk="s", body="stale")  # version 0, the item exists
    with pytest.raises(DynamoDBTransactionError):
        await service.transact_write([TransactionWriteItem(operation="put", item=stale)])
    await service.transact_write([TransactionWriteItem(operation="put", item=saved)])
    read = await service.get_one(pk, "s", Aliased)
    assert read is not None
    assert read.version == 2


# --- keys stored once -----------------------------------------------------------------------


class Pascal(DynamoDBBaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True)
    display_name: str = ""


@pytest.fixture
async def upper_table(base_config: DynamoDBConfig) -> AsyncIterator[DynamoDBConfig]:
    async with _table(base_config, ("PK", "S"), ("SK", "S")) as settings:
        yield settings


@pytest.mark.parametrize("table", ["default", "upper"])
async def test_an_alias_generator_does_not_store_the_key_twice(
    table: str, config: DynamoDBConfig, upper_table: DynamoDBConfig, pk: str
) -> None:
    settings = config if table == "default" else upper_table
    names = ("pk", "sk") if table == "default" else ("PK", "SK")
    async with DynamoDBService(LoggingService(), settings) as service:
        item = Pascal(pk=pk, sk="s", display_name="Ann")
        await service.save(item)
        await service.batch_write([Pascal(pk=pk, sk="b")])
        stored = await _raw(settings, {names[0]: {"S": pk}, names[1]: {"S": "s"}})
        assert set(stored) == {*names, "DisplayName"}
        batched = await _raw(settings, {names[0]: {"S": pk}, names[1]: {"S": "b"}})
        assert set(batched) == {*names, "DisplayName"}
        assert await service.get_one(pk, "s", Pascal) == item
        assert [i.sk for i in (await service.query_by_pk(pk, Pascal)).items] == ["b", "s"]


# --- refusals that name the item ------------------------------------------------------------


class Small(DynamoDBBaseModel):
    size: float = 0.0


async def test_a_refused_batch_item_is_named_by_index_and_key(
    service: DynamoDBService, pk: str
) -> None:
    items = [Small(pk=pk, sk=f"{i:05}") for i in range(2_000)]
    items[1_234] = Small(pk=pk, sk="bad", size=float("nan"))
    with pytest.raises(DynamoDBValidationError) as caught:
        await service.batch_write(items)
    error = caught.value
    assert error.item_index == 1_234
    assert (error.pk, error.sk) == (pk, "bad")
    assert "1234" in str(error)
    assert "'bad'" in str(error)
    assert await service.count(pk) == 0  # checked before the first request


async def test_a_refused_transaction_item_is_named_by_index_and_key(
    service: DynamoDBService, pk: str
) -> None:
    operations = [
        TransactionWriteItem(operation="put", item=Small(pk=pk, sk="ok")),
        TransactionWriteItem(operation="put", item=Small(pk=pk, sk="bad", size=float("inf"))),
    ]
    with pytest.raises(DynamoDBValidationError) as caught:
        await service.transact_write(operations)
    assert caught.value.item_index == 1
    assert (caught.value.pk, caught.value.sk) == (pk, "bad")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "e30",  # {}
        "W10",  # []
        "bnVsbA",  # null
        "eyJwayI6IHsiUyI6IDF9fQ",  # {"pk": {"S": 1}}
        "\udcff",
        "A" * 10_000,
        "WwoKWwoKWwoK" * 500,  # too long
        base64.urlsafe_b64encode(b"[" * 3000).decode().rstrip("="),  # deeply nested
        "eyJwayI6IDF9",  # {"pk": 1}
        "é.é",
        "abc.\u00e9",
    ],
)
@pytest.mark.parametrize("signed", [False, True], ids=["plain", "signed"])
async def test_every_malformed_cursor_is_a_validation_error(
    config: DynamoDBConfig, pk: str, cursor: str, *, signed: bool
) -> None:
    settings = (
        config.model_copy(update={"cursor_secret": SecretStr("s" * 32)}) if signed else config
    )
    async with DynamoDBService(LoggingService(), settings) as service:
        with pytest.raises(DynamoDBValidationError):
            await service.query_by_pk(pk, Small, cursor=cursor)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
async def test_any_bytes_like_key_works_in_every_operation(
    kind: type[Any], base_config: DynamoDBConfig
) -> None:

    class Blob(DynamoDBBaseModel):
        pk: bytes  # type: ignore[assignment]
        sk: bytes  # type: ignore[assignment]
        body: str = ""

    async with (
        _table(base_config, ("pk", "B"), ("sk", "B")) as settings,
        DynamoDBService(LoggingService(), settings) as service,
    ):
        await service.save(Blob(pk=b"p", sk=b"s", body="x"))
        key = (kind(b"p"), kind(b"s"))
        assert await service.get_one(*key, Blob) is not None
        assert len(await service.batch_get([key], Blob)) == 1
        await service.batch_delete([key])
        assert await service.get_one(b"p", b"s", Blob) is None


async def test_a_sort_key_condition_on_a_table_without_one_names_the_schema(
    base_config: DynamoDBConfig,
) -> None:

    class Thing(DynamoDBBaseModel):
        sk: None = None  # type: ignore[assignment]

    async with (
        _table(base_config, ("id", "S"), None) as settings,
        DynamoDBService(LoggingService(), settings) as service,
    ):
        with pytest.raises(DynamoDBValidationError) as caught:
            await service.query_by_pk_and_sk("p", SortKeyCondition(operator="eq", value="x"), Thing)
    message = str(caught.value)
    assert "None" not in message
    assert "partition key 'id'" in message


async def test_conditions_of_the_librarys_own_kind_compare_stored_forms(
    service: DynamoDBService, pk: str
) -> None:
    when = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    await service.save(Session(pk=pk, sk="s", expires_at=when))
    later = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
    await service.save(
        Session(pk=pk, sk="s", expires_at=later),
        conditions=[AttributeCondition(attribute="expires_at", operator="eq", value=when)],
    )
    read = await service.get_one(pk, "s", Session)
    assert read is not None
    assert read.expires_at == later


class Cat(DynamoDBBaseModel):
    kind: Literal["cat"] = "cat"
    name: str = ""
    lives: int = 9


class Dog(DynamoDBBaseModel):
    kind: Literal["dog"] = "dog"
    name: str = ""
    tricks: list[str] = []


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]


async def test_update_takes_a_discriminated_union_as_model_class(
    service: DynamoDBService, pk: str
) -> None:
    await service.save(Cat(pk=pk, sk="c", name="Tom"))
    await service.save(Dog(pk=pk, sk="d", name="Rex"))
    cat = await service.update(pk, "c", {"name": "Felix"}, model_class=Pet)
    assert cat == Cat(pk=pk, sk="c", name="Felix")
    dog = await service.update(pk, "d", {"tricks": Append(["sit"])}, model_class=Pet)
    assert dog == Dog(pk=pk, sk="d", name="Rex", tricks=["sit"])
    with pytest.raises(DynamoDBValidationError, match="no field"):
        await service.update(pk, "c", {"wings": 2}, model_class=Pet)


class Counted(VersionedModel):
    visits: int = 0


@pytest.mark.parametrize("model", [Counted, Aliased, Generated], ids=["version", "alias", "pascal"])
async def test_a_plain_update_cannot_leave_a_version_behind(
    service: DynamoDBService, pk: str, model: type[VersionedModel]
) -> None:
    read = await service.save(model(pk=pk, sk="s"))
    # Without model_class the version would not advance, and the stale copy `read` would
    # then overwrite the change: the plain update is refused instead.
    with pytest.raises(DynamoDBConditionalCheckError, match="versioned"):
        await service.update(pk, "s", {"note": "changed"})
    stored = await service.get_one(pk, "s", model)
    assert stored == read
    # With model_class the version advances, and the stale copy loses.
    changed = await service.update(pk, "s", {"version": read.version}, model_class=model)
    assert changed.version == read.version + 1
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.save(read)


async def test_a_plain_update_of_an_unversioned_item_still_works(
    service: DynamoDBService, pk: str
) -> None:
    await service.save(Small(pk=pk, sk="s"))
    await service.update(pk, "s", {"size": 2.5})
    read = await service.get_one(pk, "s", Small)
    assert read is not None
    assert read.size == 2.5
    with pytest.raises(DynamoDBItemNotFoundError):
        await service.update(pk, "absent", {"size": 1.0})


@pytest.mark.needs("transactions")
async def test_a_transaction_update_without_model_class_cannot_leave_a_version_behind(
    service: DynamoDBService, pk: str
) -> None:
    read = await service.save(Aliased(pk=pk, sk="s"))
    with pytest.raises(DynamoDBTransactionError):
        await service.transact_write(
            [TransactionWriteItem(operation="update", pk=pk, sk="s", updates={"note": "x"})]
        )
    assert await service.get_one(pk, "s", Aliased) == read


async def test_a_plain_update_that_sets_the_version_itself_is_not_refused(
    service: DynamoDBService, pk: str
) -> None:
    read = await service.save(Counted(pk=pk, sk="s"))
    # The caller manages the version by hand: checked by its condition, advanced by the SET.
    await service.update(
        pk,
        "s",
        {"visits": 5, "version": read.version + 1},
        conditions=Attr("version").eq(read.version),
    )
    stored = await service.get_one(pk, "s", Counted)
    assert stored is not None
    assert (stored.visits, stored.version) == (5, read.version + 1)

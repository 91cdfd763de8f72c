"""Tables of other key schemas, created with plain aioboto3 calls as their owners made them.

- ``PK``/``SK`` strings (a single-table design);
- ``user_id`` (S) and ``order_id`` (N): a numeric sort key;
- ``id`` (S) alone: no sort key;
- ``pk``/``sk`` strings with a GSI on a binary sort key and a GSI on a numeric one.

Every operation runs on each: CRUD, queries and their cursors, count, iter_query,
batches and (where the server has them) transactions. A key of the wrong name or type is
refused with the table's key schema named, and nothing is stored.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import ValidationError

from helpers import raw_client
from lvrgd_common import (
    AttributeCondition,
    DynamoDBBaseModel,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBValidationError,
    LoggingService,
    SortKeyCondition,
    TransactionWriteItem,
)
from lvrgd_common.testing import IndexSpec, create_table, delete_table

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from lvrgd_common import PaginationResult


class Note(DynamoDBBaseModel):
    text: str = ""


class Order(DynamoDBBaseModel):
    sk: int  # type: ignore[assignment]
    total: Decimal = Decimal(0)


class LooseOrder(DynamoDBBaseModel):
    """Declares the numeric sort key as a string: it does not fit the S+N table."""

    total: Decimal = Decimal(0)


class Profile(DynamoDBBaseModel):
    sk: None = None  # type: ignore[assignment]
    name: str = ""


class Ranked(DynamoDBBaseModel):
    gpk: str | None = None
    blob: bytes | None = None
    rank: int | None = None


def _definitions(**types: str) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": kind} for name, kind in types.items()]


def _schema(hash_key: str, range_key: str | None = None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key is not None:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def _gsi(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": _schema(hash_key, range_key),
        "Projection": {"ProjectionType": "ALL"},
    }


SHAPES: dict[str, dict[str, Any]] = {
    "upper": {
        "KeySchema": _schema("PK", "SK"),
        "AttributeDefinitions": _definitions(PK="S", SK="S"),
    },
    "numeric": {
        "KeySchema": _schema("user_id", "order_id"),
        "AttributeDefinitions": _definitions(user_id="S", order_id="N"),
    },
    "hash_only": {
        "KeySchema": _schema("id"),
        "AttributeDefinitions": _definitions(id="S"),
    },
    "indexed": {
        "KeySchema": _schema("pk", "sk"),
        "AttributeDefinitions": _definitions(pk="S", sk="S", gpk="S", blob="B", rank="N"),
        "GlobalSecondaryIndexes": [
            _gsi("by_blob", "gpk", "blob"),
            _gsi("by_rank", "gpk", "rank"),
        ],
    },
}
NAMES: dict[str, tuple[str, str | None]] = {
    "upper": ("PK", "SK"),
    "numeric": ("user_id", "order_id"),
    "hash_only": ("id", None),
    "indexed": ("pk", "sk"),
}


@pytest.fixture(scope="module")
async def tables(base_config: DynamoDBConfig) -> AsyncIterator[dict[str, DynamoDBConfig]]:
    """One table of each shape, made with CreateTable as is; configs naming their keys."""
    configs: dict[str, DynamoDBConfig] = {}
    async with raw_client(base_config) as client:
        for shape, definition in SHAPES.items():
            name = f"lvrgd-keys-{shape.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
            await client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **definition)
            await client.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
            partition, sort = NAMES[shape]
            configs[shape] = base_config.model_copy(
                update={
                    "table_name": name,
                    "partition_key_name": partition,
                    "sort_key_name": sort,
                }
            )
        try:
            yield configs
        finally:
            for settings in configs.values():
                await client.delete_table(TableName=settings.table_name)


@pytest.fixture
async def upper(tables: dict[str, DynamoDBConfig]) -> AsyncIterator[DynamoDBService]:
    async with DynamoDBService(LoggingService(), tables["upper"]) as service:
        yield service


@pytest.fixture
async def numeric(tables: dict[str, DynamoDBConfig]) -> AsyncIterator[DynamoDBService]:
    async with DynamoDBService(LoggingService(), tables["numeric"]) as service:
        yield service


@pytest.fixture
async def hash_only(tables: dict[str, DynamoDBConfig]) -> AsyncIterator[DynamoDBService]:
    async with DynamoDBService(LoggingService(), tables["hash_only"]) as service:
        yield service


@pytest.fixture
async def indexed(tables: dict[str, DynamoDBConfig]) -> AsyncIterator[DynamoDBService]:
    async with DynamoDBService(LoggingService(), tables["indexed"]) as service:
        yield service


async def _raw_item(settings: DynamoDBConfig, key: dict[str, Any]) -> dict[str, Any] | None:
    async with raw_client(settings) as client:
        response = await client.get_item(
            TableName=settings.table_name, Key=key, ConsistentRead=True
        )
    item: dict[str, Any] | None = response.get("Item")
    return item


async def _all_pages(
    fetch: Any,
) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """Every page's sort keys, following cursors that went through JSON and back."""
    pages: list[list[Any]] = []
    cursors: list[dict[str, Any]] = []
    cursor: dict[str, Any] | None = None
    while True:
        page: PaginationResult[Any] = await fetch(cursor)
        pages.append([item.sk for item in page.items])
        if page.last_evaluated_key is None:
            return pages, cursors
        cursor = json.loads(json.dumps(page.last_evaluated_key))
        cursors.append(cursor)


# --- PK/SK -------------------------------------------------------------------------------


async def test_pk_sk_items_are_stored_under_the_tables_names(
    upper: DynamoDBService, tables: dict[str, DynamoDBConfig], pk: str
) -> None:
    await upper.save(Note(pk=pk, sk="a", text="one"))
    raw = await _raw_item(tables["upper"], {"PK": {"S": pk}, "SK": {"S": "a"}})
    assert raw == {"PK": {"S": pk}, "SK": {"S": "a"}, "text": {"S": "one"}}
    assert await upper.get_one(pk, "a", Note) == Note(pk=pk, sk="a", text="one")
    await upper.update(pk, "a", {"text": "two"})
    assert await upper.get_one(pk, "a", Note) == Note(pk=pk, sk="a", text="two")
    await upper.delete(pk, "a")
    assert await upper.get_one(pk, "a", Note) is None


async def test_pk_sk_queries_batches_and_counts(upper: DynamoDBService, pk: str) -> None:
    notes = [Note(pk=pk, sk=f"n{index:02}") for index in range(7)]
    await upper.batch_write(notes)
    pages, _ = await _all_pages(lambda cursor: upper.query_by_pk(pk, Note, 3, cursor))
    assert pages == [["n00", "n01", "n02"], ["n03", "n04", "n05"], ["n06"]]
    condition = SortKeyCondition(operator="ge", value="n04")
    assert await upper.count(pk, condition) == 3
    assert [note.sk async for note in upper.iter_query(pk, Note, condition, page_size=2)] == [
        "n04",
        "n05",
        "n06",
    ]
    keys = [(pk, "n06"), (pk, "absent"), (pk, "n00"), (pk, "n06")]
    assert [note.sk for note in await upper.batch_get(keys, Note)] == ["n06", "n00"]
    await upper.batch_delete([(note.pk, note.sk) for note in notes])
    assert await upper.count(pk) == 0


async def test_a_service_left_on_pk_sk_is_told_the_tables_key_schema(
    tables: dict[str, DynamoDBConfig], pk: str
) -> None:
    """The default names are sent unchecked; the server refuses, and the error says why."""
    settings = tables["upper"].model_copy(
        update={"partition_key_name": "pk", "sort_key_name": "sk"}
    )
    async with DynamoDBService(LoggingService(), settings) as service:
        with pytest.raises(DynamoDBValidationError) as caught:
            await service.save(Note(pk=pk, sk="a"))
        assert "partition key 'PK' (S), sort key 'SK' (S)" in str(caught.value)
        assert "partition_key_name" in str(caught.value)
        with pytest.raises(DynamoDBValidationError, match="'PK' \\(S\\)"):
            await service.get_one(pk, "a", Note)
        # Now that the schema is known, the next key is refused before sending.
        with pytest.raises(DynamoDBValidationError, match="'PK' \\(S\\)"):
            await service.delete(pk, "a")
    assert await _raw_item(tables["upper"], {"PK": {"S": pk}, "SK": {"S": "a"}}) is None


async def test_wrong_names_in_the_config_are_refused_before_writing(
    tables: dict[str, DynamoDBConfig], pk: str
) -> None:
    settings = tables["upper"].model_copy(update={"partition_key_name": "user_id"})
    async with DynamoDBService(LoggingService(), settings) as service:
        with pytest.raises(DynamoDBValidationError) as caught:
            await service.save(Note(pk=pk, sk="a"))
    message = str(caught.value)
    assert "'user_id'/'SK'" in message
    assert "partition key 'PK' (S), sort key 'SK' (S)" in message
    assert await _raw_item(tables["upper"], {"PK": {"S": pk}, "SK": {"S": "a"}}) is None


async def test_conditions_and_filters_naming_pk_or_sk_on_a_pk_sk_table_are_refused(
    upper: DynamoDBService, tables: dict[str, DynamoDBConfig], pk: str
) -> None:
    """``pk`` is never stored on this table: a create-only check on it would always hold."""
    await upper.save(Note(pk=pk, sk="a", text="first"))
    create_only_by_field = AttributeCondition(attribute="pk", operator="not_exists")
    with pytest.raises(DynamoDBValidationError, match="stores as 'PK'"):
        await upper.save(Note(pk=pk, sk="a", text="overwritten"), conditions=[create_only_by_field])
    with pytest.raises(DynamoDBValidationError, match="stores as 'SK'"):
        await upper.delete(pk, "a", conditions=Attr("sk").eq("a"))
    with pytest.raises(DynamoDBValidationError, match="stores as 'PK'"):
        await upper.update(pk, "a", {"text": "x"}, conditions=Attr("pk").exists())
    with pytest.raises(DynamoDBValidationError, match="stores as 'SK'"):
        await upper.query_by_pk(pk, Note, filter_condition=Attr("sk").begins_with("a"))
    with pytest.raises(DynamoDBValidationError, match="stores as 'PK'"):
        await anext(upper.scan(Note, filter_condition=Attr("pk").eq(pk)))
    raw = await _raw_item(tables["upper"], {"PK": {"S": pk}, "SK": {"S": "a"}})
    assert raw is not None
    assert raw["text"] == {"S": "first"}
    # The stored names work as they should.
    create_only = AttributeCondition(attribute="PK", operator="not_exists")
    with pytest.raises(DynamoDBConditionalCheckError):
        await upper.save(Note(pk=pk, sk="a", text="overwritten"), conditions=[create_only])


async def test_a_condition_on_sk_on_a_table_without_a_sort_key_is_refused(
    hash_only: DynamoDBService, pk: str
) -> None:
    await hash_only.save(Profile(pk=pk, name="Ada"))
    with pytest.raises(DynamoDBValidationError, match="no sort key"):
        await hash_only.delete(pk, None, conditions=Attr("sk").not_exists())
    assert await hash_only.get_one(pk, None, Profile) == Profile(pk=pk, name="Ada")


@pytest.mark.needs("transactions")
async def test_pk_sk_transactions(upper: DynamoDBService, pk: str) -> None:
    await upper.transact_write(
        [
            TransactionWriteItem(operation="put", item=Note(pk=pk, sk="a", text="a")),
            TransactionWriteItem(operation="put", item=Note(pk=pk, sk="b", text="b")),
        ]
    )
    await upper.transact_write(
        [
            TransactionWriteItem(operation="update", pk=pk, sk="a", updates={"text": "A"}),
            TransactionWriteItem(operation="delete", pk=pk, sk="b"),
        ]
    )
    found = await upper.transact_get([(pk, "a"), (pk, "b")], Note)
    assert found == [Note(pk=pk, sk="a", text="A")]


# --- S + N -------------------------------------------------------------------------------

SEQUENCE = [1, 2, 9, 10, 11, 100, -5]


async def _orders(service: DynamoDBService, pk: str) -> None:
    await service.batch_write([Order(pk=pk, sk=sk, total=Decimal(sk)) for sk in SEQUENCE])


async def test_numeric_sort_keys_are_stored_as_numbers_and_read_back(
    numeric: DynamoDBService, tables: dict[str, DynamoDBConfig], pk: str
) -> None:
    await numeric.save(Order(pk=pk, sk=10, total=Decimal("9.99")))
    raw = await _raw_item(tables["numeric"], {"user_id": {"S": pk}, "order_id": {"N": "10"}})
    assert raw is not None
    assert raw["order_id"] == {"N": "10"}
    assert "pk" not in raw
    assert "sk" not in raw
    assert await numeric.get_one(pk, 10, Order) == Order(pk=pk, sk=10, total=Decimal("9.99"))
    assert await numeric.get_one(pk, Decimal("10.0"), Order) is not None
    await numeric.update(pk, 10, {"total": Decimal(1)})
    order = await numeric.get_one(pk, 10, Order)
    assert order is not None
    assert order.total == 1
    await numeric.delete(pk, Decimal(10))
    assert await numeric.get_one(pk, 10, Order) is None


async def test_numeric_sort_keys_come_in_numeric_order(numeric: DynamoDBService, pk: str) -> None:
    await _orders(numeric, pk)
    page = await numeric.query_by_pk(pk, Order)
    assert [order.sk for order in page.items] == sorted(SEQUENCE)
    nine_to_ten = SortKeyCondition(operator="between", value=9, value2=10)
    page = await numeric.query_by_pk_and_sk(pk, nine_to_ten, Order)
    assert [order.sk for order in page.items] == [9, 10]
    assert await numeric.count(pk, SortKeyCondition(operator="gt", value=Decimal("9.5"))) == 3
    descending = numeric.iter_query(
        pk, Order, SortKeyCondition(operator="ne", value=10), page_size=2, scan_forward=False
    )
    assert [order.sk async for order in descending] == [100, 11, 9, 2, 1, -5]


@pytest.mark.parametrize("limit", [1, 2, 4])
async def test_numeric_pages_follow_json_cursors(
    numeric: DynamoDBService, pk: str, limit: int
) -> None:
    await _orders(numeric, pk)
    condition = SortKeyCondition(operator="ne", value=9)
    pages, cursors = await _all_pages(
        lambda cursor: numeric.query_by_pk_and_sk(pk, condition, Order, limit, cursor)
    )
    assert [sk for page in pages for sk in page] == [-5, 1, 2, 10, 11, 100]
    assert all(len(page) == limit for page in pages[:-1])
    assert all(isinstance(cursor["order_id"], int) for cursor in cursors)


async def test_numeric_keys_in_batches(numeric: DynamoDBService, pk: str) -> None:
    await _orders(numeric, pk)
    keys: Sequence[tuple[Any, Any]] = [(pk, 100), (pk, Decimal("100.0")), (pk, 7), (pk, -5)]
    found = await numeric.batch_get(keys, Order)
    assert [order.sk for order in found] == [100, -5]
    await numeric.batch_delete([(pk, sk) for sk in SEQUENCE])
    assert await numeric.count(pk) == 0


@pytest.mark.needs("transactions")
async def test_numeric_keys_in_transactions(numeric: DynamoDBService, pk: str) -> None:
    await numeric.transact_write(
        [
            TransactionWriteItem(operation="put", item=Order(pk=pk, sk=1)),
            TransactionWriteItem(operation="put", item=Order(pk=pk, sk=2)),
        ]
    )
    await numeric.transact_write(
        [
            TransactionWriteItem(operation="update", pk=pk, sk=1, updates={"total": 5}),
            TransactionWriteItem(operation="delete", pk=pk, sk=Decimal(2)),
        ]
    )
    assert await numeric.transact_get([(pk, 1), (pk, 2)], Order) == [
        Order(pk=pk, sk=1, total=Decimal(5))
    ]


async def test_a_key_of_the_wrong_type_names_the_key_schema(
    numeric: DynamoDBService, tables: dict[str, DynamoDBConfig], pk: str
) -> None:
    schema = "partition key 'user_id' (S), sort key 'order_id' (N)"
    with pytest.raises(DynamoDBValidationError) as caught:
        await numeric.save(LooseOrder(pk=pk, sk="10"))
    assert schema in str(caught.value)
    for call in (
        numeric.get_one(pk, "10", Order),
        numeric.delete(pk, b"\x01"),
        numeric.batch_get([(pk, 1), (pk, "x")], Order),
        numeric.query_by_pk(7, Order),
    ):
        with pytest.raises(
            DynamoDBValidationError, match=schema.replace("(", r"\(").replace(")", r"\)")
        ):
            await call
    raw = await _raw_item(tables["numeric"], {"user_id": {"S": pk}, "order_id": {"N": "10"}})
    assert raw is None


async def test_between_is_checked_in_numeric_order() -> None:
    with pytest.raises(ValidationError, match="value <= value2"):
        SortKeyCondition(operator="between", value=10, value2=9)
    with pytest.raises(ValidationError, match="one type"):
        SortKeyCondition(operator="between", value=9, value2="10")
    assert SortKeyCondition(operator="between", value=9, value2=Decimal(10)).value2 == 10


# --- no sort key ---------------------------------------------------------------------------


async def test_a_table_without_a_sort_key(
    hash_only: DynamoDBService, tables: dict[str, DynamoDBConfig], pk: str
) -> None:
    await hash_only.save(Profile(pk=pk, name="Ada"))
    assert await _raw_item(tables["hash_only"], {"id": {"S": pk}}) == {
        "id": {"S": pk},
        "name": {"S": "Ada"},
    }
    assert await hash_only.get_one(pk, None, Profile) == Profile(pk=pk, name="Ada")
    await hash_only.update(pk, None, {"name": "Grace"})
    page = await hash_only.query_by_pk(pk, Profile)
    assert page.items == [Profile(pk=pk, name="Grace")]
    assert page.last_evaluated_key is None
    assert await hash_only.count(pk) == 1
    assert [p.name async for p in hash_only.iter_query(pk, Profile)] == ["Grace"]
    other = f"{pk}-2"
    await hash_only.batch_write([Profile(pk=other, name="B")])
    found = await hash_only.batch_get([(other, None), (pk, None), ("absent", None)], Profile)
    assert [profile.pk for profile in found] == [other, pk]
    await hash_only.batch_delete([(other, None)])
    await hash_only.delete(pk, None)
    assert await hash_only.batch_get([(other, None), (pk, None)], Profile) == []


async def test_a_sort_key_on_a_table_without_one_is_refused(
    hash_only: DynamoDBService, tables: dict[str, DynamoDBConfig], pk: str
) -> None:
    with pytest.raises(DynamoDBValidationError, match="no sort key"):
        await hash_only.save(Note(pk=pk, sk="a"))
    with pytest.raises(DynamoDBValidationError, match="no sort key"):
        await hash_only.get_one(pk, "a", Profile)
    with pytest.raises(DynamoDBValidationError, match="no sort key to put a condition on"):
        await hash_only.query_by_pk_and_sk(pk, SortKeyCondition(operator="eq", value="a"), Profile)
    assert await _raw_item(tables["hash_only"], {"id": {"S": pk}}) is None


@pytest.mark.needs("transactions")
async def test_transactions_without_a_sort_key(hash_only: DynamoDBService, pk: str) -> None:
    await hash_only.transact_write(
        [TransactionWriteItem(operation="put", item=Profile(pk=pk, name="a"))]
    )
    await hash_only.transact_write(
        [TransactionWriteItem(operation="update", pk=pk, sk=None, updates={"name": "b"})]
    )
    assert await hash_only.transact_get([(pk, None)], Profile) == [Profile(pk=pk, name="b")]
    await hash_only.transact_write([TransactionWriteItem(operation="delete", pk=pk, sk=None)])
    assert await hash_only.get_one(pk, None, Profile) is None


# --- GSIs with binary and numeric sort keys -------------------------------------------------

BLOBS = [b"\x00", b"\x01\xff", b"\x7f", b"\x80", b"\xff", b"\xff\x00"]


async def _ranked(service: DynamoDBService, pk: str) -> str:
    group = f"{pk}-g"
    await service.batch_write(
        [
            Ranked(pk=pk, sk=f"r{index}", gpk=group, blob=blob, rank=rank)
            for index, (blob, rank) in enumerate(zip(BLOBS, [10, 9, 100, -1, 2, 11], strict=True))
        ]
    )
    return group


@pytest.mark.parametrize("limit", [1, 2, 4])
async def test_a_gsi_with_a_binary_sort_key_pages_with_cursors(
    indexed: DynamoDBService, pk: str, limit: int
) -> None:
    group = await _ranked(indexed, pk)
    pages, cursors = await _all_pages(
        lambda cursor: indexed.query_by_pk(group, Ranked, limit, cursor, "by_blob")
    )
    items = [sk for page in pages for sk in page]
    assert items == [f"r{index}" for index in range(len(BLOBS))]  # unsigned byte order
    assert all(len(page) == limit for page in pages[:-1])
    assert all(isinstance(cursor["blob"], str) for cursor in cursors)


async def test_binary_sort_key_conditions_compare_unsigned_bytes(
    indexed: DynamoDBService, pk: str
) -> None:
    group = await _ranked(indexed, pk)
    high = SortKeyCondition(operator="between", value=b"\x7f", value2=b"\xff")
    page = await indexed.query_by_pk_and_sk(group, high, Ranked, index_name="by_blob")
    assert [item.blob for item in page.items] == [b"\x7f", b"\x80", b"\xff"]
    prefix = SortKeyCondition(operator="begins_with", value=b"\xff")
    found = indexed.iter_query(group, Ranked, prefix, index_name="by_blob", page_size=1)
    assert [item.blob async for item in found] == [b"\xff", b"\xff\x00"]
    with pytest.raises(ValidationError, match="value <= value2"):
        SortKeyCondition(operator="between", value=b"\xff", value2=b"\x01")


@pytest.mark.parametrize("limit", [1, 2, 5])
async def test_a_gsi_with_a_numeric_sort_key_pages_with_cursors(
    indexed: DynamoDBService, pk: str, limit: int
) -> None:
    group = await _ranked(indexed, pk)
    condition = SortKeyCondition(operator="between", value=0, value2=99)
    pages, cursors = await _all_pages(
        lambda cursor: indexed.query_by_pk_and_sk(
            group, condition, Ranked, limit, cursor, "by_rank"
        )
    )
    ranks = {"r0": 10, "r1": 9, "r4": 2, "r5": 11}
    assert [sk for page in pages for sk in page] == sorted(ranks, key=ranks.__getitem__)
    assert all(len(page) == limit for page in pages[:-1])
    assert all(isinstance(cursor["rank"], int) for cursor in cursors)
    assert await indexed.count(group, condition, "by_rank") == len(ranks)


async def test_index_key_values_of_the_wrong_type_are_refused(
    indexed: DynamoDBService, pk: str
) -> None:
    with pytest.raises(DynamoDBValidationError, match="index 'by_rank' key schema"):
        await indexed.query_by_pk_and_sk(
            pk, SortKeyCondition(operator="eq", value=b"\x01"), Ranked, index_name="by_rank"
        )
    with pytest.raises(DynamoDBValidationError, match="index 'by_blob' key schema"):
        await indexed.query_by_pk_and_sk(
            pk, SortKeyCondition(operator="eq", value=1), Ranked, index_name="by_blob"
        )


# --- the testing helper --------------------------------------------------------------------


async def test_create_table_makes_any_key_schema(base_config: DynamoDBConfig) -> None:
    readings = base_config.model_copy(
        update={
            "table_name": f"lvrgd-keys-helper-{uuid.uuid4().hex[:8]}",
            "partition_key_name": "device",
            "sort_key_name": "at",
        }
    )
    profiles = base_config.model_copy(
        update={
            "table_name": f"lvrgd-keys-helper-{uuid.uuid4().hex[:8]}",
            "partition_key_name": "id",
            "sort_key_name": None,
        }
    )
    await create_table(
        readings,
        partition_key_type="B",
        sort_key_type="N",
        global_indexes=[
            IndexSpec(name="by_rank", hash_key="kind", range_key="rank", range_type="N")
        ],
        local_indexes=[
            IndexSpec(name="by_tag", hash_key="device", range_key="tag", range_type="B")
        ],
    )
    await create_table(profiles)
    try:
        async with raw_client(base_config) as client:
            table = (await client.describe_table(TableName=readings.table_name))["Table"]
            plain = (await client.describe_table(TableName=profiles.table_name))["Table"]
        assert table["KeySchema"] == [
            {"AttributeName": "device", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ]
        types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
        assert types == {"device": "B", "at": "N", "kind": "S", "rank": "N", "tag": "B"}
        assert plain["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        async with DynamoDBService(LoggingService(), readings) as service:
            await service.save(Reading(pk=b"\x01", sk=5, kind="k", rank=2, tag=b"t"))
            found = await service.query_by_pk("k", Reading, index_name="by_rank")
            assert found.items == [Reading(pk=b"\x01", sk=5, kind="k", rank=2, tag=b"t")]
            tagged = SortKeyCondition(operator="begins_with", value=b"t")
            assert await service.count(b"\x01", tagged, "by_tag") == 1
    finally:
        await delete_table(readings)
        await delete_table(profiles)


class Reading(DynamoDBBaseModel):
    pk: bytes  # type: ignore[assignment]
    sk: int  # type: ignore[assignment]
    kind: str
    rank: int
    tag: bytes

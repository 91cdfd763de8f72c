"""The table's key schema: names, types, checks, and the JSON form of keys in cursors."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBValidationError,
    LoggingService,
    SortKeyCondition,
)
from lvrgd_common.services._dynamodb.keys import (
    KeySchemaError,
    TableKeys,
    comparable,
    key_value_from_json,
    key_value_to_json,
    sendable_key,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.fakes import FakeDynamoDB, FakeSessionFactory


def _config(**fields: Any) -> DynamoDBConfig:
    return DynamoDBConfig(table_name="unit-table", region="eu-west-1", **fields)


def _description(
    hash_key: tuple[str, str], range_key: tuple[str, str] | None = None
) -> dict[str, Any]:
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    definitions = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    if range_key is not None:
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
        definitions.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
    return {
        "Table": {
            "TableName": "unit-table",
            "TableStatus": "ACTIVE",
            "KeySchema": schema,
            "AttributeDefinitions": definitions,
        }
    }


NUMERIC = TableKeys.of_table(
    _config(partition_key_name="user_id", sort_key_name="order_id"),
    _description(("user_id", "S"), ("order_id", "N"))["Table"]["KeySchema"],
    {"user_id": "S", "order_id": "N"},
)


class Order(DynamoDBBaseModel):
    sk: int  # type: ignore[assignment]
    total: int = 0


class Profile(DynamoDBBaseModel):
    sk: None = None  # type: ignore[assignment]
    name: str = ""


# --- the configuration --------------------------------------------------------------------


def test_the_default_names_are_pk_and_sk() -> None:
    config = _config()
    assert (config.partition_key_name, config.sort_key_name) == ("pk", "sk")


@pytest.mark.parametrize(
    "fields",
    [
        {"partition_key_name": ""},
        {"sort_key_name": ""},
        {"partition_key_name": "id", "sort_key_name": "id"},
    ],
)
def test_key_names_are_checked(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _config(**fields)


def test_key_names_come_from_the_environment() -> None:
    config = DynamoDBConfig.from_env(
        environ={
            "DYNAMODB_TABLE_NAME": "orders",
            "AWS_REGION": "eu-west-1",
            "DYNAMODB_PARTITION_KEY_NAME": "PK",
            "DYNAMODB_SORT_KEY_NAME": "SK",
        }
    )
    assert (config.partition_key_name, config.sort_key_name) == ("PK", "SK")


# --- checks against the schema ------------------------------------------------------------


def test_keys_are_encoded_in_the_tables_types() -> None:
    assert NUMERIC.encode("u", 10) == {"user_id": {"S": "u"}, "order_id": {"N": "10"}}
    assert NUMERIC.encode("u", Decimal("2.5")) == {"user_id": {"S": "u"}, "order_id": {"N": "2.5"}}
    blobs = TableKeys("pk", "sk", "B", "B", known=True)
    assert blobs.encode(b"\x00", bytearray(b"\xff")) == {"pk": {"B": b"\x00"}, "sk": {"B": b"\xff"}}


@pytest.mark.parametrize(
    ("pk", "sk", "says"),
    [
        ("u", "10", "sk must be a number"),
        ("u", True, "sk must be a number"),
        ("u", 1.5, "sk must be a number"),
        ("u", b"\x01", "sk must be a number"),
        (7, 1, "pk must be a string"),
        ("", 1, "non-empty"),
        ("u", None, "sk is required"),
        ("u", Decimal("NaN"), "cannot be stored"),
        ("u", 10**38 + 1, "38 significant digits"),
    ],
)
def test_a_key_of_the_wrong_type_names_the_schema(pk: object, sk: object, says: str) -> None:
    with pytest.raises(KeySchemaError) as caught:
        NUMERIC.encode(pk, sk)
    assert says in str(caught.value)
    assert "partition key 'user_id' (S), sort key 'order_id' (N)" in str(caught.value)


def test_a_table_without_a_sort_key_takes_none() -> None:
    keys = TableKeys("id", None, "S", None, known=True)
    assert keys.encode("a", None) == {"id": {"S": "a"}}
    with pytest.raises(KeySchemaError, match="no sort key"):
        keys.encode("a", "b")


def test_names_that_contradict_the_table_refuse_every_key() -> None:
    keys = TableKeys.of_table(_config(), [{"AttributeName": "PK", "KeyType": "HASH"}], {"PK": "S"})
    with pytest.raises(KeySchemaError) as caught:
        keys.encode("a", "b")
    assert "'pk'/'sk'" in str(caught.value)
    assert "partition key 'PK' (S), no sort key" in str(caught.value)


def test_only_the_default_layout_with_strings_goes_unread() -> None:
    default = TableKeys("pk", "sk")
    assert not default.needs_schema("a", "b", None)
    assert default.needs_schema("a", 1)
    assert default.needs_schema(b"a", "b")
    assert default.needs_schema("a", Decimal(1))
    assert TableKeys("PK", "SK").needs_schema("a", "b")
    assert TableKeys("id", None).needs_schema("a")
    assert not NUMERIC.needs_schema("a", 1)


def test_stored_items_use_the_tables_names_and_read_back_as_pk_and_sk() -> None:
    stored = NUMERIC.with_key(
        {"pk": {"S": "u"}, "sk": {"N": "3"}, "total": {"N": "1"}}, NUMERIC.encode("u", 3)
    )
    assert stored == {"user_id": {"S": "u"}, "order_id": {"N": "3"}, "total": {"N": "1"}}
    assert NUMERIC.loaded(stored) == {"pk": {"S": "u"}, "sk": {"N": "3"}, "total": {"N": "1"}}


def test_a_keys_identity_is_its_value() -> None:
    """Unprocessed keys come back as DynamoDB wrote them; they still match the key given."""
    given = ("u", 5)
    back = NUMERIC.key_of({"user_id": {"S": "u"}, "order_id": {"N": "5.0"}})
    assert back == given
    assert hash(back) == hash(given)
    blobs = TableKeys("pk", "sk", "S", "B", known=True)
    assert blobs.key_of({"pk": {"S": "p"}, "sk": {"B": "AP8="}}) == ("p", b"\x00\xff")


# --- cursors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "json_form"),
    [
        ({"S": "a"}, "S", "a"),
        ({"N": "10"}, "N", 10),
        ({"N": "-2.50"}, "N", "-2.50"),
        ({"N": "1E+3"}, "N", 1000),
        ({"B": b"\x00\xff"}, "B", "AP8="),
        ({"B": "AP8="}, "B", "AP8="),
    ],
)
def test_key_values_have_a_json_form_that_reads_back(
    value: dict[str, Any], kind: str, json_form: object
) -> None:
    plain = key_value_to_json(value)
    assert plain == json_form
    back = key_value_from_json(json.loads(json.dumps(plain)), kind, "cursor")
    assert set(back) == {kind}
    assert comparable(back) == comparable(value)


@pytest.mark.parametrize(
    ("value", "kind"),
    [("x", "N"), ("not base64!", "B"), (1, "S"), (["a"], "S"), (True, "N"), (None, "S")],
)
def test_a_malformed_json_key_value_is_refused(value: object, kind: str) -> None:
    with pytest.raises(ValueError, match="cursor"):
        key_value_from_json(value, kind, "cursor")


def test_binary_start_keys_are_sent_back_as_bytes() -> None:
    assert sendable_key({"pk": {"S": "p"}, "sk": {"B": "AP8="}}) == {
        "pk": {"S": "p"},
        "sk": {"B": b"\x00\xff"},
    }
    assert sendable_key(None) is None


# --- sort key conditions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (9, 10),
        (Decimal("-1.5"), 0),
        (b"\x7f", b"\x80"),  # unsigned: 0x80 sorts after 0x7f
        (b"\xff", b"\xff\x00"),
        ("9", "a"),
    ],
)
def test_between_follows_dynamodbs_order_for_the_type(low: Any, high: Any) -> None:
    assert SortKeyCondition(operator="between", value=low, value2=high).value2 == high
    with pytest.raises(ValidationError, match="value <= value2"):
        SortKeyCondition(operator="between", value=high, value2=low)


@pytest.mark.parametrize(
    "fields",
    [
        {"operator": "between", "value": 1, "value2": "2"},
        {"operator": "between", "value": b"a", "value2": "b"},
        {"operator": "begins_with", "value": 1},
        {"operator": "eq", "value": True},
        {"operator": "eq", "value": Decimal("NaN")},
        {"operator": "eq", "value": None},
    ],
)
def test_conditions_of_mixed_or_unusable_values_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SortKeyCondition.model_validate(fields)


# --- the service: when DescribeTable is read ----------------------------------------------


@pytest.fixture
async def numeric_service(
    fake: FakeDynamoDB, sessions: FakeSessionFactory
) -> AsyncIterator[DynamoDBService]:
    fake.on("describe_table", lambda _: _description(("user_id", "S"), ("order_id", "N")))
    settings = _config(
        partition_key_name="user_id",
        sort_key_name="order_id",
        aws_access_key_id="AKIDUNIT",
        aws_secret_access_key="unit-secret-value",
        endpoint_url="http://127.0.0.1:9",
        batch_backoff_base=0.001,
        batch_backoff_max=0.002,
        fast_path=False,  # the stub stands in for the aioboto3 client
    )
    async with DynamoDBService(LoggingService("lvrgd_common.unit"), settings) as opened:
        assert sessions.made
        yield opened


async def test_the_default_layout_sends_no_describe_table(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    await service.save(DynamoDBBaseModel(pk="a", sk="b"))
    await service.get_one("a", "b", DynamoDBBaseModel)
    assert fake.requests("describe_table") == []


async def test_the_schema_is_read_once_and_checked_before_sending(
    numeric_service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    await numeric_service.save(Order(pk="u", sk=1))
    await numeric_service.get_one("u", 1, Order)
    with pytest.raises(DynamoDBValidationError, match="sort key 'order_id' \\(N\\)"):
        await numeric_service.get_one("u", "1", Order)
    assert len(fake.requests("describe_table")) == 1
    [put] = fake.requests("put_item")
    assert put["Item"] == {"user_id": {"S": "u"}, "order_id": {"N": "1"}, "total": {"N": "0"}}
    assert len(fake.requests("get_item")) == 1


async def test_unprocessed_numeric_keys_are_matched_to_the_keys_given(
    numeric_service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    """DynamoDB writes numbers its own way (5.0 comes back as 5): the retry still matches."""
    answers = iter(
        [
            {
                "Responses": {"unit-table": []},
                "UnprocessedKeys": {
                    "unit-table": {"Keys": [{"user_id": {"S": "u"}, "order_id": {"N": "5"}}]}
                },
            },
            {"Responses": {"unit-table": [{"user_id": {"S": "u"}, "order_id": {"N": "5"}}]}},
        ]
    )
    fake.on("batch_get_item", lambda _: next(answers))
    found = await numeric_service.batch_get([("u", Decimal("5.0")), ("u", 5)], Order)
    assert found == [Order(pk="u", sk=5)]
    first, retry = fake.requests("batch_get_item")
    assert first["RequestItems"]["unit-table"]["Keys"] == [
        {"user_id": {"S": "u"}, "order_id": {"N": "5.0"}}
    ]
    [again] = retry["RequestItems"]["unit-table"]["Keys"]
    assert Decimal(again["order_id"]["N"]) == 5


@pytest.mark.parametrize("name", ["pk", "sk", "user_id", "order_id"])
async def test_an_update_may_not_change_a_key_under_either_name(
    numeric_service: DynamoDBService, fake: FakeDynamoDB, name: str
) -> None:
    with pytest.raises(DynamoDBValidationError, match="key attribute"):
        await numeric_service.update("u", 1, {name: "x"})
    assert fake.requests("update_item") == []


async def test_an_update_requires_the_item_under_the_tables_partition_key(
    numeric_service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    await numeric_service.update("u", 1, {"total": 2})
    [request] = fake.requests("update_item")
    assert request["Key"] == {"user_id": {"S": "u"}, "order_id": {"N": "1"}}
    assert "user_id" in request["ExpressionAttributeNames"].values()


_STRING_LAYOUTS = [
    TableKeys("pk", "sk"),  # before DescribeTable
    TableKeys("pk", "sk", "S", "S", known=True),
    TableKeys("PK", "SK", "S", "S", known=True),
]


@pytest.mark.parametrize("keys", _STRING_LAYOUTS, ids=["configured", "read", "renamed"])
@pytest.mark.parametrize(
    ("pk", "sk"),
    [("p", "s"), ("p" * 2048, "s" * 1024), ("é" * 512, "s"), ("p", "ü" * 256), ("USER#1", "A#B")],
)
def test_plain_string_keys_encode_as_the_checked_path_does(
    keys: TableKeys, pk: str, sk: str
) -> None:
    # The short path for two ASCII strings and the checked one give the same stored key.
    assert keys.encode(pk, sk) == dict(zip(keys.names, keys.encoded_values(pk, sk), strict=True))
    assert keys.encode(pk, sk) == {keys.partition_name: {"S": pk}, keys.sort_name: {"S": sk}}


@pytest.mark.parametrize(
    ("keys", "pk", "sk"),
    [
        (TableKeys("pk", "sk"), "", "s"),
        (TableKeys("pk", "sk"), "p", ""),
        (TableKeys("pk", "sk"), "p" * 2049, "s"),
        (TableKeys("pk", "sk"), "p", "s" * 1025),
        (TableKeys("pk", "sk", "S", "N", known=True), "p", "1"),
        (TableKeys("pk", "sk", "B", "S", known=True), "p", "s"),
        (TableKeys("pk", None, "S", None, known=True), "p", "s"),
        (TableKeys("pk", "sk", problem="the table is keyed otherwise"), "p", "s"),
    ],
    ids=[
        "empty-pk",
        "empty-sk",
        "long-pk",
        "long-sk",
        "numeric-sk",
        "binary-pk",
        "no-sk",
        "problem",
    ],
)
def test_string_keys_the_table_cannot_take_are_refused(keys: TableKeys, pk: str, sk: str) -> None:
    with pytest.raises(KeySchemaError):
        keys.encode(pk, sk)

"""The item-mapping rules of the contract, model by model, on the codec alone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretBytes,
    SecretStr,
    computed_field,
)
from pydantic.alias_generators import to_camel

from lvrgd_common import DynamoDBBaseModel
from lvrgd_common.services._dynamodb.codec import (
    CodecError,
    ItemDecodeError,
    decode_model,
    encode_field,
    encode_item,
)


class Camel(DynamoDBBaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    retry_count: int = 0
    display_name: str


class Aliased(DynamoDBBaseModel):
    dumped: int = Field(0, serialization_alias="dumpedAs")
    read: int = Field(0, validation_alias="readAs")
    choices: int = Field(0, validation_alias=AliasChoices("first", "second"))
    both: int = Field(0, alias="bothAs")


class Address(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel)

    street_name: str
    house_number: int = 0


class Nested(DynamoDBBaseModel):
    home: Address
    others: list[Address] = []
    by_name: dict[str, Address] = {}
    maybe: Address | None = None


class Defaults(DynamoDBBaseModel):
    retries: int | None = 3
    note: str | None = None
    listed: list[int] | None = Field(default_factory=lambda: [1])
    roles: set[str] = {"viewer"}
    tags: set[str] | None = None
    empty: set[str] = set()
    made: frozenset[int] = Field(default_factory=frozenset)
    anything: Any


class Secrets(DynamoDBBaseModel):
    password: SecretStr
    key: SecretBytes


class Times(DynamoDBBaseModel):
    when: dt.datetime


class Excluded(DynamoDBBaseModel):
    kept: int = 0
    hidden: int = Field(0, exclude=True)


class Forbidding(DynamoDBBaseModel):
    model_config = ConfigDict(extra="forbid")

    price: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def doubled(self) -> int:
        return self.price * 2


class Loose(DynamoDBBaseModel):
    anything: Any = None
    number: Decimal | float = 0.0
    payload: dict[str, Any] = {}
    moment: dt.datetime | str = ""


class Strict(DynamoDBBaseModel):
    model_config = ConfigDict(strict=True)

    labels: set[str] = Field(default_factory=lambda: {"x"})


def round_trip(model: BaseModel) -> BaseModel:
    back = decode_model(type(model), encode_item(model))
    assert back == model
    return back


def test_an_alias_generator_stores_camel_case_and_reads_it_back() -> None:
    model = Camel(pk="P", sk="S", retry_count=3, display_name="Ada")
    assert set(encode_item(model)) == {"pk", "sk", "retryCount", "displayName"}
    assert round_trip(model) == model


def test_every_kind_of_alias_round_trips() -> None:
    model = Aliased.model_validate(
        {"pk": "P", "sk": "S", "dumped": 1, "readAs": 2, "second": 3, "bothAs": 4}
    )
    assert set(encode_item(model)) == {"pk", "sk", "dumpedAs", "read", "choices", "bothAs"}
    assert round_trip(model) == model


def test_nested_models_with_aliases_round_trip_wherever_they_are() -> None:
    home = Address(streetName="Main", houseNumber=3)
    model = Nested(pk="P", sk="S", home=home, others=[home], by_name={"a": home}, maybe=home)
    assert encode_item(model)["home"] == {
        "M": {"streetName": {"S": "Main"}, "houseNumber": {"N": "3"}}
    }
    assert round_trip(model) == model


def test_none_is_left_out_only_where_the_default_is_none() -> None:
    model = Defaults(pk="P", sk="S", retries=None, note=None, listed=None, anything=None)
    item = encode_item(model)
    assert "note" not in item  # a sparse index keeps working
    assert item["retries"] == {"NULL": True}
    assert item["listed"] == {"NULL": True}
    assert item["anything"] == {"NULL": True}
    assert round_trip(model) == model


def test_empty_sets_read_back_empty_whatever_the_default() -> None:
    model = Defaults(pk="P", sk="S", roles=set(), tags=set(), empty=set(), anything=1)
    item = encode_item(model)
    assert item["roles"] == {"L": []}
    assert item["tags"] == {"L": []}
    assert "empty" not in item  # the default reads back empty: left out
    assert "made" not in item
    assert round_trip(model) == model


def test_empty_sets_read_back_on_strict_models() -> None:
    assert round_trip(Strict(pk="P", sk="S", labels=set()))


def test_secrets_are_stored_not_their_mask() -> None:
    model = Secrets(pk="P", sk="S", password=SecretStr("hunter2"), key=SecretBytes(b"\x00k"))
    item = encode_item(model)
    assert item["password"] == {"S": "hunter2"}
    assert item["key"] == {"B": b"\x00k"}
    assert round_trip(model) == model


@pytest.mark.parametrize(
    "offset",
    [
        dt.timedelta(0),
        dt.timedelta(hours=5, minutes=30),
        dt.timedelta(hours=-23, minutes=-59),
        dt.timedelta(seconds=30),
        dt.timedelta(minutes=9, seconds=21),  # Paris before 1911
        dt.timedelta(hours=-3, seconds=-1, microseconds=-5),
    ],
)
def test_aware_datetimes_with_any_offset_round_trip(offset: dt.timedelta) -> None:
    when = dt.datetime(1890, 6, 1, 12, 30, 15, 123456, tzinfo=dt.timezone(offset))
    assert round_trip(Times(pk="P", sk="S", when=when))


def test_an_aware_datetime_is_stored_in_utc_so_string_order_is_time_order() -> None:
    when = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert encode_item(Times(pk="P", sk="S", when=when))["when"] == {
        "S": "2023-12-31T22:00:00+00:00"
    }
    later = dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=5)))  # 05:00Z
    earlier = dt.datetime(2024, 1, 1, 6, tzinfo=dt.UTC)
    assert later < earlier
    stored = [encode_item(Times(pk="P", sk="S", when=w))["when"]["S"] for w in (later, earlier)]
    assert stored[0] < stored[1]


def test_a_datetime_stored_with_an_offset_by_earlier_versions_still_reads_back() -> None:
    item = {"pk": {"S": "P"}, "sk": {"S": "S"}, "when": {"S": "2024-01-01T00:00:00+02:00"}}
    read = decode_model(Times, item)
    assert read.when == dt.datetime(2023, 12, 31, 22, tzinfo=dt.UTC)


def test_a_datetime_out_of_range_in_utc_is_refused() -> None:
    when = dt.datetime.max.replace(tzinfo=dt.timezone(-dt.timedelta(seconds=30)))
    with pytest.raises(CodecError, match="when"):
        encode_item(Times(pk="P", sk="S", when=when))


def test_excluded_fields_are_not_stored() -> None:
    model = Excluded(pk="P", sk="S", kept=1, hidden=2)
    assert "hidden" not in encode_item(model)
    assert decode_model(Excluded, encode_item(model)) == Excluded(pk="P", sk="S", kept=1)


def test_computed_fields_are_stored_and_ignored_on_read() -> None:
    model = Forbidding(pk="P", sk="S", price=2)
    item = encode_item(model)
    assert item["doubled"] == {"N": "4"}
    item["written_by_another_tool"] = {"S": "x"}
    assert decode_model(Forbidding, item) == model


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("anything", Decimal("0.1")),
        ("anything", (1, 2)),
        ("anything", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        ("anything", set()),
        # DynamoDB returns it as 33925126181927930, an int that is not this float.
        ("anything", 3.392512618192793e16),
        ("number", Decimal("0.1")),
        ("payload", {"inner": Decimal("0.3")}),
        ("moment", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    ],
)
def test_values_the_declared_type_cannot_read_back_are_refused(field: str, value: Any) -> None:
    model = Loose(pk="P", sk="S", **{field: value})
    with pytest.raises(CodecError, match=field) as caught:
        encode_item(model)
    assert repr(value) not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("anything", 0.1),
        ("anything", 3),
        ("anything", Decimal("1.5")),  # reads back as the float 1.5, which is equal
        ("anything", Decimal("0.1000000000000000000001")),  # reads back as a Decimal
        ("anything", [1, "two", None, {"k": [True]}]),
        ("anything", {"a", "b"}),
        ("number", 0.1),
        ("number", Decimal("0.123456789012345678901234567890")),
        ("payload", {"inner": 0.3, "list": [1, 2.5]}),
        ("moment", "2024-01-01"),
    ],
)
def test_loose_fields_round_trip_what_reads_back_equal(field: str, value: Any) -> None:
    assert round_trip(Loose(pk="P", sk="S", **{field: value}))


@pytest.mark.parametrize(
    "value",
    [Decimal("1E+1000000"), 10**5000, Decimal("-1E-1000000")],
    ids=["1E+1000000", "10**5000", "-1E-1000000"],
)
def test_numbers_far_out_of_range_are_refused_cleanly(value: Any) -> None:
    with pytest.raises(CodecError, match=r"anything.*range"):
        encode_item(Loose(pk="P", sk="S", anything=value))


@pytest.mark.parametrize(
    "item",
    [
        {"pk": {"S": "P"}, "sk": {"S": "S"}, "anything": {"M": "not a map"}},
        {"pk": {"S": "P"}, "sk": {"S": "S"}, "anything": {"N": "1", "BOOL": True}},
        {"pk": {"S": "P"}, "sk": {"S": "S"}, "anything": {"XX": "1"}},
        {"pk": {"S": "P"}, "sk": {"S": "S"}, "anything": {"N": "one"}},
        {"pk": {"S": "P"}, "sk": {"S": "S"}, "anything": {"B": "not base64!"}},
        {"pk": {"S": "P"}, "sk": {"S": "S"}, "anything": "bare"},
    ],
)
def test_items_the_decoder_cannot_walk_are_decode_errors(item: dict[str, Any]) -> None:
    with pytest.raises(ItemDecodeError, match="attribute-value form"):
        decode_model(Loose, item)


def test_decode_errors_name_the_attribute_and_type_but_never_the_value() -> None:
    item = {"pk": {"S": "P"}, "sk": {"S": "S"}, "retryCount": {"S": "secret-4711"}}
    with pytest.raises(ItemDecodeError) as caught:
        decode_model(Camel, item)
    message = str(caught.value)
    assert "retryCount" in message
    assert "integer" in message
    assert "displayName" in message  # missing
    assert "secret-4711" not in message
    assert caught.value.__cause__ is None  # pydantic's error quotes the input


class Audited(DynamoDBBaseModel):
    """A class with its own model_validate, which reads must keep calling."""

    seen: int = 0

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Audited:
        validated = super().model_validate(obj, **kwargs)
        validated.seen += 1
        return validated


def test_a_class_with_its_own_model_validate_reads_through_it() -> None:
    item = {"pk": {"S": "P"}, "sk": {"S": "S"}, "seen": {"N": "1"}}
    assert decode_model(Audited, item).seen == 2  # stored 1, counted once
    assert decode_model(Camel, {"pk": {"S": "P"}, "sk": {"S": "S"}, "displayName": {"S": "x"}})


def test_encode_field_encodes_one_value_as_save_does() -> None:
    assert encode_field(Camel, "retry_count", "3") == ("retryCount", {"N": "3"})
    assert encode_field(Defaults, "note", None) == ("note", None)  # REMOVE
    assert encode_field(Defaults, "retries", None) == ("retries", {"NULL": True})
    assert encode_field(Defaults, "roles", set()) == ("roles", {"L": []})
    assert encode_field(Defaults, "empty", set()) == ("empty", None)
    assert encode_field(Secrets, "password", "pw") == ("password", {"S": "pw"})
    with pytest.raises(CodecError, match="retryCount"):
        encode_field(Camel, "retry_count", "many")
    with pytest.raises(CodecError, match="number"):
        encode_field(Loose, "number", Decimal("0.1"))
    with pytest.raises(CodecError, match="nothing"):
        encode_field(Loose, "nothing", 1)


def test_an_empty_map_key_is_refused() -> None:
    # DynamoDB refuses empty attribute names at any depth; moto stores them wrong.
    with pytest.raises(CodecError, match=r"payload.*empty"):
        encode_item(Loose(pk="P", sk="S", payload={"": 1}))

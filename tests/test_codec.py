import datetime as dt
import math
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Any, Final, TypeVar
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from lvrgd_common import DynamoDBBaseModel
from lvrgd_common.services._dynamodb.codec import (
    MAX_ITEM_BYTES,
    CodecError,
    InvalidInputError,
    decode_item,
    decode_model,
    encode_item,
    encode_sized_item,
    encode_value,
    item_size,
)
from lvrgd_common.services._dynamodb.keys import TableKeys


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Level(IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    street: str
    number: int | None = None


class Everything(DynamoDBBaseModel):
    text: str = "x"
    count: int = 0
    flag: bool = False
    ratio: float = 0.0
    amount: Decimal = Decimal(0)
    missing: str | None = None
    items: list[Any] = []
    pair: tuple[int, str] = (0, "")
    mapping: dict[str, Any] = {}
    address: Address | None = None
    words: set[str] = set()
    numbers: set[int] = set()
    blob: bytes = b""
    when: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    day: dt.date = dt.date(2000, 1, 1)
    color: Color = Color.RED
    level: Level = Level.LOW
    ident: UUID = UUID(int=0)


M = TypeVar("M", bound=BaseModel)


def round_trip(model: M) -> M:
    return decode_model(type(model), encode_item(model))


def test_every_type_of_the_table_round_trips() -> None:
    model = Everything(
        pk="P",
        sk="S",
        text="héllo",
        count=-42,
        flag=True,
        ratio=0.1,
        amount=Decimal("12.345"),
        items=[1, "two", None, [3.5], {"k": "v"}],
        pair=(7, "seven"),
        mapping={"a": 1, "b": {"c": [True, None]}},
        address=Address(street="Main"),
        words={"a", "b"},
        numbers={1, 2, 3},
        blob=b"\x00\xff",
        when=dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
        day=dt.date(2024, 5, 6),
        color=Color.BLUE,
        level=Level.HIGH,
        ident=uuid4(),
    )
    assert round_trip(model) == model


def test_encoding_uses_dynamodb_types() -> None:
    item = encode_item(Everything(pk="P", sk="S", words={"w"}, numbers={5}, blob=b"b"))
    assert item["text"] == {"S": "x"}
    assert item["count"] == {"N": "0"}
    assert item["flag"] == {"BOOL": False}
    assert item["words"] == {"SS": ["w"]}
    assert item["numbers"] == {"NS": ["5"]}
    assert item["blob"] == {"B": b"b"}
    assert item["when"] == {"S": "2000-01-01T00:00:00+00:00"}
    assert item["color"] == {"S": "red"}
    assert item["level"] == {"N": "1"}
    assert item["pair"] == {"L": [{"N": "0"}, {"S": ""}]}


def test_none_and_empty_sets_are_omitted_and_read_back_as_defaults() -> None:
    item = encode_item(Everything(pk="P", sk="S"))
    assert "missing" not in item
    assert "address" not in item
    assert "words" not in item
    assert "numbers" not in item
    assert round_trip(Everything(pk="P", sk="S")) == Everything(pk="P", sk="S")


@pytest.mark.parametrize(
    ("value", "stored"),
    [(0.1, "0.1"), (1 / 3, "0.3333333333333333"), (1e16, "1e+16"), (-2.5, "-2.5"), (3.0, "3.0")],
)
def test_floats_are_stored_from_their_shortest_repr(value: float, stored: str) -> None:
    assert encode_value(value) == {"N": stored}
    assert decode_item({"v": {"N": stored}})["v"] == value


def test_numbers_normalised_by_dynamodb_still_compare_equal() -> None:
    # DynamoDB answers "3" for a stored "3.0" and "0.00000015" for "1.5e-07".
    assert decode_item({"v": {"N": "3"}})["v"] == 3.0
    assert decode_item({"v": {"N": "0.00000015"}})["v"] == 1.5e-07


def test_decimals_keep_their_precision() -> None:
    precise = Decimal("1.234567890123456789012345")
    assert encode_value(precise) == {"N": "1.234567890123456789012345"}
    assert decode_item({"v": {"N": str(precise)}})["v"] == precise


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+200"),
        Decimal("1E-200"),
        1e-300,
        10**40 + 1,
        Decimal("1.0000000000000000000000000000000000000001"),
    ],
)
def test_numbers_dynamodb_cannot_store_are_rejected(value: Any) -> None:
    with pytest.raises(CodecError):
        encode_value(value)


def test_the_rejected_attribute_is_named() -> None:
    with pytest.raises(CodecError, match=r"ratio"):
        encode_item(Everything(pk="P", sk="S", ratio=math.nan))
    with pytest.raises(CodecError, match=r"mapping\.inner\[1\]"):
        encode_item(Everything(pk="P", sk="S", mapping={"inner": [1, math.inf]}))


def test_mixed_sets_are_rejected() -> None:
    with pytest.raises(CodecError, match="set"):
        encode_value({"a", 1})


@pytest.mark.parametrize(
    "members",
    [{0.1, Decimal("0.1")}, {1e-07, Decimal("1E-7")}],
    ids=["0.1", "1e-07"],
)
def test_set_members_equal_once_encoded_are_rejected(members: set[Any]) -> None:
    # Python keeps both (a float and a Decimal differ); DynamoDB sees a duplicate.
    with pytest.raises(CodecError, match="more than once"):
        encode_value(members)


def test_sets_of_enums_and_uuids_are_string_sets() -> None:
    ident = uuid4()
    assert sorted(encode_value({Color.RED, Color.BLUE})["SS"]) == ["blue", "red"]  # type: ignore[index]
    assert encode_value({ident}) == {"SS": [str(ident)]}
    assert sorted(encode_value({Level.LOW, 2.5})["NS"]) == ["1", "2.5"]  # type: ignore[index]


@pytest.mark.parametrize(
    "value",
    ["x\udfff", ["ok", "\ud800"], {"key\ud800": 1}, {"fine": {"a\udc00b"}}],
    ids=["string", "in a list", "map key", "in a set"],
)
def test_lone_surrogates_are_rejected(value: Any) -> None:
    # Python strings may hold them, UTF-8 cannot: nothing could be sent.
    with pytest.raises(CodecError, match="lone surrogate"):
        encode_value(value)


def test_unknown_types_fall_back_to_their_json_form() -> None:
    assert encode_value(dt.timedelta(seconds=90)) == {"S": "PT1M30S"}
    with pytest.raises(CodecError):
        encode_value(object())


def test_item_size_counts_names_and_values() -> None:
    item: dict[str, dict[str, Any]] = {"pk": {"S": "ab"}, "n": {"N": "12345"}, "b": {"BOOL": True}}
    assert item_size(item) == (2 + 2) + (1 + 4) + (1 + 1)
    big = encode_item(Everything(pk="P", sk="S", text="x" * MAX_ITEM_BYTES))
    assert item_size(big) > MAX_ITEM_BYTES


@pytest.mark.parametrize(
    ("number", "size"),
    [
        ("0", 1),
        ("7", 2),
        ("12", 2),
        ("123", 3),
        ("1.2", 3),  # 01.20: two base-100 pairs
        ("0.012", 3),
        ("0.12", 2),
        ("100", 2),
        ("-1", 3),  # a negative number takes one byte more
        ("-1.5", 4),
        ("1234.5", 4),
        ("9" * 38, 20),
    ],
)
def test_numbers_are_sized_in_base_100_pairs(number: str, size: int) -> None:
    # The sizes dynalite computes, which mirror DynamoDB's accounting; an item the library
    # finds under 400 KB must not be refused by the server.
    assert item_size({"n": {"N": number}}) == 1 + size


# Numbers of up to 38 digits over DynamoDB's range, written as the encoders write them.
storable_numbers = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=38),
    st.integers(-140, 90),
)


@settings(max_examples=300, deadline=None)
@given(storable_numbers)
def test_numbers_are_sized_alike_in_plain_and_exponent_notation(number: Decimal) -> None:
    # Plain notation is sized from the text, exponent notation through Decimal: both
    # must count the same bytes for the same number.
    plain, exponent = format(number, "f"), format(number, "E")
    assert item_size({"n": {"N": plain}}) == item_size({"n": {"N": exponent}})


loose_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | storable_numbers
    | st.text(max_size=6)
    | st.binary(max_size=4)
    | st.sets(st.integers(-1000, 1000), max_size=3)
    | st.frozensets(st.text(max_size=3), max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(min_size=1, max_size=4) | st.integers(0, 3), inner, max_size=3)
    ),
    max_leaves=8,
)


class Loose(DynamoDBBaseModel):
    value: Any = None
    values: dict[str, Any] = {}
    extra: str = Field("é", alias="ëxtra")


@settings(max_examples=300, deadline=None)
@given(loose_values, st.dictionaries(st.text(min_size=1, max_size=3), loose_values, max_size=3))
def test_the_size_measured_while_encoding_is_the_item_size(value: Any, values: Any) -> None:
    model = Loose(pk="p", sk="s", value=value, values=values)
    try:
        item, size = encode_sized_item(model)
    except CodecError:
        return  # not storable (or not read back equal under Any): nothing to measure
    assert item == encode_item(model)
    assert size == item_size(item)


# Keys are checked in one place, against the table's schema (here: two strings).
STRING_KEYS: Final = TableKeys("pk", "sk", "S", "S", known=True)


@pytest.mark.parametrize(
    ("pk", "sk"),
    [("", "s"), ("p", ""), ("p" * 2049, "s"), ("p", "s" * 1025), ("é" * 1025, "s"), (1, "s")],
)
def test_bad_keys_are_refused(pk: Any, sk: Any) -> None:
    with pytest.raises(InvalidInputError):
        STRING_KEYS.encode(pk, sk)


@pytest.mark.parametrize(("pk", "sk"), [("a\ud800", "b"), ("a", "\udfff" * 600)])
def test_keys_with_lone_surrogates_are_refused(pk: str, sk: str) -> None:
    with pytest.raises(InvalidInputError, match="lone surrogate"):
        STRING_KEYS.encode(pk, sk)


def test_keys_at_the_limits_are_fine() -> None:
    assert STRING_KEYS.encode("p" * 2048, "s" * 1024) == {
        "pk": {"S": "p" * 2048},
        "sk": {"S": "s" * 1024},
    }


class Inner(BaseModel):
    labels: set[str]
    note: str | None


class Required(DynamoDBBaseModel):
    labels: set[str]
    frozen: frozenset[int]
    note: str | None
    inner: Inner


def test_omitted_attributes_of_required_fields_read_back() -> None:
    model = Required(
        pk="P",
        sk="S",
        labels=set(),
        frozen=frozenset(),
        note=None,
        inner=Inner(labels=set(), note=None),
    )
    item = encode_item(model)
    # Empty sets of required fields are left out; None is stored (its default is not None).
    assert set(item) == {"pk", "sk", "note", "inner"}
    assert round_trip(model) == model
    # Items written before None was stored lack the attribute: they still read back.
    del item["note"]
    assert decode_model(Required, item) == model


class Random(DynamoDBBaseModel):
    text: str
    number: int
    ratio: float
    flag: bool
    tags: set[str]
    scores: list[float]
    nested: dict[str, int]
    maybe: str | None
    blob: bytes
    inner: Inner


@settings(max_examples=150, deadline=None)
@given(
    st.builds(
        Random,
        pk=st.text(min_size=1, max_size=20),
        sk=st.text(min_size=1, max_size=20),
        text=st.text(max_size=30),
        number=st.integers(min_value=-(10**37), max_value=10**37),
        ratio=st.floats(
            allow_nan=False, allow_infinity=False, min_value=-1e100, max_value=1e100
        ).filter(lambda f: f == 0 or abs(f) > 1e-100),
        flag=st.booleans(),
        tags=st.sets(st.text(max_size=5), max_size=4),
        scores=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=4),
        nested=st.dictionaries(
            st.text(min_size=1, max_size=5), st.integers(-(10**30), 10**30), max_size=3
        ),
        maybe=st.none() | st.text(max_size=5),
        blob=st.binary(max_size=10),
        inner=st.builds(
            Inner, labels=st.sets(st.text(max_size=3), max_size=2), note=st.none() | st.text()
        ),
    )
)
def test_random_models_round_trip(model: Random) -> None:
    assert round_trip(model) == model


@pytest.mark.parametrize(
    "model",
    [
        Everything(pk="P", sk="S", text="top\ud800"),
        Everything(pk="P", sk="S", items=["nested\udfff"]),
        Everything(pk="P", sk="S", mapping={"key\ud800": 1}),
    ],
)
def test_lone_surrogates_are_refused_wherever_they_are(model: Everything) -> None:
    with pytest.raises(CodecError, match="lone surrogate"):
        encode_item(model)

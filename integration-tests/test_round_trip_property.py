"""Property: any model save accepts, get_one reads back equal; the rest is refused at save.

Hypothesis builds model classes over a wide space (the types of the mapping table, nested
models, optionals with non-None defaults, default factories, every kind of alias, secrets,
aware datetimes with odd offsets, sets (empty too), bytes, Decimals at DynamoDB's limits,
Enums, UUIDs, ``Any``, ``Decimal | float``) and an instance of each, and saves it on the
session's server. Either ``get_one`` returns an equal model, or ``save`` raised
`DynamoDBValidationError` and nothing was written.

``make test`` runs a bounded number of examples with a fixed seed; ``make fuzz`` sets
``LVRGD_FUZZ_EXAMPLES`` for a long run with a fresh seed.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from decimal import Decimal
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any, Final, cast

from hypothesis import HealthCheck, event, given, note, reject, settings
from hypothesis import strategies as st
from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    SecretBytes,
    SecretStr,
    ValidationError,
    create_model,
)
from pydantic.alias_generators import to_camel

from lvrgd_common import DynamoDBBaseModel, DynamoDBService, DynamoDBValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

FUZZ_EXAMPLES: Final = os.environ.get("LVRGD_FUZZ_EXAMPLES")
EXAMPLES: Final = int(FUZZ_EXAMPLES) if FUZZ_EXAMPLES else 60


class Color(Enum):
    RED = "red"
    GREEN = "green"


class Level(IntEnum):
    LOW = 1
    HIGH = 2


class Inner(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    street_name: str = ""
    house_number: int | None = 7
    labels: set[str] = Field(default_factory=set)


# --- values -----------------------------------------------------------------------------

texts = st.text(max_size=8)
# Decimals around DynamoDB's limits: up to 40 digits, exponents past -130 and +125.
decimals = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=40),
    st.one_of(st.integers(-170, -120), st.integers(-10, 10), st.integers(85, 130)),
)
floats = st.floats(width=64) | st.sampled_from([0.1, 1e-130, 1e125, 1.5e126, 5e-324])
ints = st.integers(-(10**39), 10**39) | st.integers(-1000, 1000)
offsets = st.timedeltas(
    min_value=dt.timedelta(hours=-23, minutes=-59, seconds=-59),
    max_value=dt.timedelta(hours=23, minutes=59, seconds=59),
)
aware = st.datetimes(timezones=st.builds(dt.timezone, offsets) | st.timezones())
moments = aware | st.datetimes()
# What an ``Any`` field may hold: plain values, and some it cannot read back (tuples...).
loose = st.recursive(
    st.none() | st.booleans() | ints | floats | decimals | texts | st.binary(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(texts, inner, max_size=3)
        | st.tuples(inner, inner)
        | st.sets(texts, max_size=2)
    ),
    max_leaves=6,
)
inners = st.builds(
    Inner,
    street_name=texts,
    house_number=st.none() | st.integers(-5, 5),
    labels=st.sets(texts, max_size=2),
)

# (annotation, strategy of its values)
KINDS: Final[list[tuple[str, Any, st.SearchStrategy[Any]]]] = [
    ("str", str, texts),
    ("int", int, ints),
    ("float", float, floats),
    ("bool", bool, st.booleans()),
    ("decimal", Decimal, decimals),
    ("bytes", bytes, st.binary(max_size=8)),
    ("datetime", dt.datetime, moments),
    ("date", dt.date, st.dates()),
    ("uuid", uuid.UUID, st.uuids()),
    ("color", Color, st.sampled_from(Color)),
    ("level", Level, st.sampled_from(Level)),
    ("secret", SecretStr, texts.map(SecretStr)),
    ("secret_bytes", SecretBytes, st.binary(max_size=6).map(SecretBytes)),
    ("str_set", set[str], st.sets(texts, max_size=3)),
    ("int_set", set[int], st.sets(st.integers(-(10**5), 10**5), max_size=3)),
    ("bytes_set", frozenset[bytes], st.frozensets(st.binary(min_size=1, max_size=3), max_size=3)),
    ("int_list", list[int], st.lists(ints, max_size=3)),
    ("pair", tuple[int, str], st.tuples(st.integers(-9, 9), texts)),
    ("mapping", dict[str, float], st.dictionaries(texts, floats, max_size=3)),
    ("inner", Inner, inners),
    ("inner_list", list[Inner], st.lists(inners, max_size=2)),
    ("any", Any, loose),
    ("decimal_or_float", Decimal | float, decimals | floats),
]

# How a field is named on the wire.
ALIASES: Final = ["none", "alias", "serialization_alias", "validation_alias", "choices"]
# What its default is.
DEFAULTS: Final = ["required", "value", "none", "factory"]


def _alias(kind: str, index: int, name: str) -> dict[str, Any]:
    if kind == "alias":
        return {"alias": f"a{index}Alias"}
    if kind == "serialization_alias":
        return {"serialization_alias": f"s{index}Wire"}
    if kind == "validation_alias":
        return {"validation_alias": f"v{index}In"}
    if kind == "choices":
        return {"validation_alias": AliasChoices(f"c{index}First", name)}
    return {}


def _field(draw: st.DrawFn, index: int) -> tuple[str, Any, Any, Any]:
    """A field's name, annotation, FieldInfo and the value the instance gets."""
    kind, annotation, values_of = draw(st.sampled_from(KINDS))
    name = f"field_{index}_{kind}"
    extra = _alias(draw(st.sampled_from(ALIASES)), index, name)
    default = draw(st.sampled_from(DEFAULTS))
    value = draw(values_of)
    if default == "none":
        annotation = annotation | None
        return name, annotation, Field(None, **extra), draw(st.sampled_from([None, value]))
    if default == "value":
        # A non-None default of an optional field; the instance may hold None instead.
        info = Field(draw(values_of), **extra)
        return name, annotation | None, info, draw(st.sampled_from([None, value]))
    if default == "factory":
        return name, annotation, Field(default_factory=_factory(draw(values_of)), **extra), value
    return name, annotation, Field(..., **extra), value


@st.composite
def models(draw: st.DrawFn) -> DynamoDBBaseModel:
    """A model class of a few random fields, and an instance of it."""
    fields: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 5))):
        name, annotation, info, value = _field(draw, index)
        fields[name] = (annotation, info)
        values[name] = value
    generator = draw(st.sampled_from(["none", "to_camel", "serialize_camel"]))
    config = ConfigDict(populate_by_name=draw(st.booleans()))
    if generator == "to_camel":
        config["alias_generator"] = to_camel
    elif generator == "serialize_camel":
        config["alias_generator"] = AliasGenerator(serialization_alias=to_camel)
    model_class: type[DynamoDBBaseModel] = create_model(
        f"Generated{uuid.uuid4().hex[:8]}",
        __base__=_base(config),
        **fields,
    )
    note(f"fields: { {name: repr(spec[0]) for name, spec in fields.items()} }")
    data = {"pk": f"prop#{uuid.uuid4().hex}", "sk": "s", **values}
    try:
        model = cast(
            "DynamoDBBaseModel", model_class.model_validate(data, by_alias=False, by_name=True)
        )
    except ValidationError:
        # A drawn value its own field refuses (pydantic's rules): not a model to store.
        reject()
    return model


def _factory(made: Any) -> Callable[[], Any]:
    return lambda: made


def _base(config: ConfigDict) -> type[DynamoDBBaseModel]:
    class Base(DynamoDBBaseModel):
        model_config = config

    return Base


@settings(
    max_examples=EXAMPLES,
    derandomize=FUZZ_EXAMPLES is None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
@given(model=models())
async def test_saved_models_read_back_equal_or_are_refused(
    service: DynamoDBService, model: DynamoDBBaseModel
) -> None:
    note(f"model: {model!r}")
    try:
        await service.save(model)
    except DynamoDBValidationError as refused:
        note(f"refused: {refused}")
        event("refused at save")
        assert await service.get_one(model.pk, model.sk, type(model)) is None
        return
    event("round-tripped")
    assert await service.get_one(model.pk, model.sk, type(model)) == model

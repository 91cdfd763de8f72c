"""Properties that keep every write path on the one stored form, on a real server.

- (a) For any model class and field value, ``update(model_class=)`` stores the same
  AttributeValue that ``save`` stores.
- (b) A filter or a condition on a field holds exactly when the same comparison holds in
  Python on the saved values.
- (c) For any sequence of update actions, the item reads back equal to applying the same
  actions to the model in Python, or the update is refused (before sending, or by the
  server keeping a field's bounds) and nothing changes.

Random models use aliases, alias generators, validators, serializers, ``exclude``,
nested models, sets, `EpochSeconds`, datetimes with offsets, Decimal, float, ``Any`` and
`VersionedModel`. ``make test`` runs a bounded number of examples with a fixed seed;
``make fuzz`` runs them at length.
"""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, cast

import pytest
from boto3.dynamodb.conditions import Attr
from hypothesis import HealthCheck, event, given, note, reject, settings
from hypothesis import strategies as st
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_serializer,
    field_validator,
)
from pydantic.alias_generators import to_camel, to_pascal

from helpers import raw_client
from lvrgd_common import (
    AddToSet,
    Append,
    DynamoDBBaseModel,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBValidationError,
    EpochSeconds,
    IfNotExists,
    Increment,
    Prepend,
    RemoveFromSet,
    VersionedModel,
)
from test_round_trip_property import EXAMPLES, FUZZ_EXAMPLES, KINDS, aware, decimals, texts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from types_aiobotocore_dynamodb import DynamoDBClient

PROPERTY: Final = settings(
    max_examples=max(EXAMPLES // 2, 20),
    derandomize=FUZZ_EXAMPLES is None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)

# Aware datetimes whose UTC form stays within years 1..9999 (EpochSeconds, comparisons).
utc_moments = st.datetimes(
    min_value=dt.datetime(1, 1, 2),  # noqa: DTZ001 - bounds of a naive strategy
    max_value=dt.datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)
whole_seconds = utc_moments.map(lambda moment: moment.replace(microsecond=0))

EXTRA_KINDS: Final[list[tuple[str, Any, st.SearchStrategy[Any]]]] = [
    ("epoch", EpochSeconds, whole_seconds),
    ("epoch_optional", EpochSeconds | None, st.none() | whole_seconds),
]


@pytest.fixture(scope="session")
async def raw(config: DynamoDBConfig) -> AsyncIterator[DynamoDBClient]:
    """One plain client on the session's table, for reading items as stored."""
    async with raw_client(config) as client:
        yield client


async def _raw(client: DynamoDBClient, table: str, pk: str, sk: str) -> dict[str, Any] | None:
    response = await client.get_item(
        TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    )
    item: dict[str, Any] | None = response.get("Item")
    return item


# --- (a) update(model_class=) stores what save stores ---------------------------------------


def _lowered(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _doubled(value: object) -> object:
    return value * 2 if isinstance(value, int) and not isinstance(value, bool) else value


@st.composite
def model_pairs(draw: st.DrawFn) -> tuple[DynamoDBBaseModel, DynamoDBBaseModel]:
    """A random model class and two instances of it."""
    fields: dict[str, Any] = {}
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 4))):
        kind, annotation, values = draw(st.sampled_from(KINDS + EXTRA_KINDS))
        name = f"f{index}_{kind}"
        extra: dict[str, Any] = {}
        alias = draw(st.sampled_from(["none", "alias", "serialization_alias"]))
        if alias == "alias":
            extra["alias"] = f"a{index}Alias"
        elif alias == "serialization_alias":
            extra["serialization_alias"] = f"s{index}Wire"
        if draw(st.integers(0, 9)) == 0:
            extra["exclude"] = True
        default = draw(values)
        fields[name] = (annotation, Field(default, **extra))
        first[name], second[name] = draw(values), draw(values)
        hook = draw(st.sampled_from(["none", "none", "validator", "serializer"]))
        if hook == "validator" and kind == "str":
            validators[f"_check_{name}"] = field_validator(name)(classmethod(_lowered_hook))
        elif hook == "serializer" and kind == "int":
            validators[f"_dump_{name}"] = field_serializer(name)(_doubled_hook)
    generator = draw(st.sampled_from([None, to_camel, to_pascal]))
    config = ConfigDict(populate_by_name=True)
    if generator is not None:
        config["alias_generator"] = generator
    base: type[DynamoDBBaseModel] = VersionedModel if draw(st.booleans()) else DynamoDBBaseModel
    model_class = create_model(
        f"Drawn{uuid.uuid4().hex[:8]}",
        __base__=_based_on(base, config),
        __validators__=validators,
        **fields,
    )
    pk = f"prop#{uuid.uuid4().hex}"
    try:
        one = model_class.model_validate({"pk": pk, "sk": "saved", **first}, by_name=True)
        two = model_class.model_validate({"pk": pk, "sk": "updated", **second}, by_name=True)
    except ValidationError:
        reject()
    note(f"fields: { {name: repr(spec[0]) for name, spec in fields.items()} }")
    return cast("DynamoDBBaseModel", one), cast("DynamoDBBaseModel", two)


def _lowered_hook(_cls: type[BaseModel], value: object) -> object:
    return _lowered(value)


def _doubled_hook(_self: BaseModel, value: object) -> object:
    return _doubled(value)


def _based_on(base: type[DynamoDBBaseModel], config: ConfigDict) -> type[DynamoDBBaseModel]:
    class Base(base):  # type: ignore[valid-type, misc]
        model_config = config

    return Base


def _without(item: dict[str, Any], *names: str) -> dict[str, Any]:
    """The item less ``names``, its sets' members in order (a set has none of its own)."""
    return {name: _ordered(value) for name, value in item.items() if name not in names}


def _ordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            tag: sorted(inner, key=repr) if tag in {"SS", "NS", "BS"} else _ordered(inner)
            for tag, inner in value.items()
        }
    if isinstance(value, list):
        return [_ordered(element) for element in value]
    return value


@PROPERTY
@given(pair=model_pairs())
async def test_update_with_model_class_stores_what_save_stores(
    service: DynamoDBService,
    config: DynamoDBConfig,
    raw: DynamoDBClient,
    pair: tuple[DynamoDBBaseModel, DynamoDBBaseModel],
) -> None:
    saved, other = pair
    model_class = type(saved)
    note(f"saved: {saved!r}")
    try:
        await service.save(saved)
        await service.save(other)
    except DynamoDBValidationError:
        event("refused at save")
        return
    fields = [
        name
        for name, info in model_class.model_fields.items()
        if name not in {"pk", "sk", "version"} and info.exclude is not True
    ]
    if not fields:
        event("every field excluded")
        return
    updates = {name: getattr(saved, name) for name in fields}
    await service.update(saved.pk, "updated", updates, model_class=model_class)
    stored_saved = await _raw(raw, config.table_name, saved.pk, "saved")
    stored_updated = await _raw(raw, config.table_name, saved.pk, "updated")
    assert stored_saved is not None
    assert stored_updated is not None
    version = model_class.model_fields.get("version")
    version_name = "version" if version is None else (version.alias or "version")
    assert _without(stored_updated, "sk", version_name) == _without(
        stored_saved, "sk", version_name
    )
    event("same stored form")


# --- (b) conditions and filters compare what is stored ---------------------------------------

COMPARABLE: Final[list[tuple[str, Any, st.SearchStrategy[Any]]]] = [
    ("int", int, st.integers(-(10**12), 10**12)),
    (
        "float",
        float,
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e100, max_value=1e100),
    ),
    ("decimal", Decimal, decimals),
    ("str", str, texts),
    (
        "aware",
        dt.datetime,
        aware.filter(
            lambda m: (
                dt.datetime(1, 1, 2, tzinfo=dt.UTC) < m < dt.datetime(9999, 12, 30, tzinfo=dt.UTC)
            )
        ),
    ),
    ("date", dt.date, st.dates()),
    ("epoch", EpochSeconds, whole_seconds),
]
OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


@st.composite
def comparisons(draw: st.DrawFn) -> tuple[DynamoDBBaseModel, str, str, Any]:
    kind, annotation, values = draw(st.sampled_from(COMPARABLE))
    alias = draw(st.sampled_from([None, "wireName"]))
    model_class = create_model(
        f"Compared{uuid.uuid4().hex[:8]}",
        __base__=DynamoDBBaseModel,
        value=(annotation, Field(..., serialization_alias=alias)),
    )
    pk = f"cmp#{uuid.uuid4().hex}"
    try:
        model = model_class(pk=pk, sk="s", value=draw(values))
        # The operand as the field holds it (an EpochSeconds is whole seconds in UTC).
        operand = model_class(pk=pk, sk="s", value=draw(values)).value  # type: ignore[attr-defined]
    except ValidationError:
        reject()
    note(f"{kind}: {model!r} vs {operand!r}")
    return (
        cast("DynamoDBBaseModel", model),
        alias or "value",
        draw(st.sampled_from(list(OPERATORS))),
        operand,
    )


@PROPERTY
@given(case=comparisons())
async def test_a_condition_holds_exactly_when_python_says_so(
    service: DynamoDBService, case: tuple[DynamoDBBaseModel, str, str, Any]
) -> None:
    model, stored_name, name, operand = case
    expected = OPERATORS[name](model.value, operand)  # type: ignore[attr-defined]
    condition = getattr(Attr(stored_name), name)(operand)
    try:
        await service.save(model)
        page = await service.query_by_pk(model.pk, type(model), filter_condition=condition)
    except DynamoDBValidationError:
        event("refused")
        return
    assert (page.count == 1) == expected
    try:
        await service.save(model, conditions=condition)
    except DynamoDBConditionalCheckError:
        assert not expected
    else:
        assert expected
    event(f"held: {expected}")


# --- (c) update actions read back as Python applies them -------------------------------------


class Place(BaseModel):
    city: str = "Paris"
    zip_code: str | None = Field(default="75001", alias="zipCode")


class Doc(DynamoDBBaseModel):
    model_config = ConfigDict(populate_by_name=True)

    count: int = Field(default=0, ge=0)
    score: Decimal = Decimal(0)
    tags: set[str] = Field(default_factory=set)
    badges: set[str] = {"starter"}
    lines: list[str] = []
    note: str | None = None
    title: str = Field(default="t", alias="Title")
    expires: EpochSeconds | None = None
    place: Place = Place()


small_texts = st.text(alphabet="abcxyz", min_size=1, max_size=3)
ACTIONS: Final[dict[Any, st.SearchStrategy[Any]]] = {
    "count": st.builds(Increment, st.integers(-3, 3)),
    "score": st.builds(Increment, st.integers(-5, 5)) | st.decimals(-10, 10, places=2),
    "tags": st.builds(AddToSet, st.sets(small_texts, min_size=1, max_size=2))
    | st.builds(RemoveFromSet, st.sets(small_texts, min_size=1, max_size=2)),
    "badges": st.builds(AddToSet, st.sets(small_texts, min_size=1, max_size=2))
    | st.builds(RemoveFromSet, st.sets(small_texts, min_size=1, max_size=2)),
    "lines": st.builds(Append, st.lists(small_texts, min_size=1, max_size=2))
    | st.builds(Prepend, st.lists(small_texts, min_size=1, max_size=2)),
    "note": st.none() | small_texts | st.builds(IfNotExists, small_texts),
    "title": small_texts | st.builds(IfNotExists, small_texts) | st.none(),
    "expires": st.none() | whole_seconds,
    ("place", "city"): small_texts,
    ("place", "zip_code"): st.none() | small_texts,
}


def _apply(data: dict[str, Any], path: Any, action: Any) -> None:
    """What the library promises ``action`` does to the model's data."""
    if isinstance(path, tuple):
        data[path[0]][path[1]] = action
        return
    current = data[path]
    if isinstance(action, Increment):
        data[path] = current + action.n
    elif isinstance(action, Append):
        data[path] = [*current, *action.values]
    elif isinstance(action, Prepend):
        data[path] = [*action.values, *current]
    elif isinstance(action, AddToSet):
        data[path] = current | action.values
    elif isinstance(action, RemoveFromSet):
        data[path] = current - action.values
    elif isinstance(action, IfNotExists):
        # Absent where save left it out: None on a field whose default is None.
        if current is None:
            data[path] = action.value
    else:
        data[path] = action


@PROPERTY
@given(
    steps=st.lists(
        st.dictionaries(st.sampled_from(list(ACTIONS)), st.none(), min_size=1, max_size=3).flatmap(
            lambda chosen: st.fixed_dictionaries({path: ACTIONS[path] for path in chosen})
        ),
        min_size=1,
        max_size=3,
    )
)
async def test_update_actions_read_back_as_python_applies_them(
    service: DynamoDBService, steps: list[dict[Any, Any]]
) -> None:
    pk = f"act#{uuid.uuid4().hex}"
    expected = Doc(pk=pk, sk="s", count=2, tags={"a"}, lines=["a"], note="n")
    await service.save(expected)
    for updates in steps:
        note(f"updates: {updates!r}")
        data = expected.model_dump()
        for path, action in updates.items():
            _apply(data, path, action)
        try:
            after: Doc | None = Doc.model_validate(data, by_name=True)
        except ValidationError:
            after = None
        try:
            updated = await service.update(pk, "s", updates, model_class=Doc)
        except DynamoDBValidationError:
            event("refused before sending")
        except DynamoDBConditionalCheckError:
            event("refused by the server (a bound)")
            assert after is None
        else:
            assert after is not None, "stored a value the model refuses"
            assert updated == after
            expected = after
        assert await service.get_one(pk, "s", Doc) == expected

"""Models and single field values -> AttributeValues: the one place that decides a stored form.

Plain functions over plain data: no I/O, no logging. Encoding rejects what DynamoDB would
reject (NaN, infinity, numbers beyond 38 digits or outside 1E-130..1E+126, mixed sets), and
what would not read back equal, with `CodecError`, which the service turns into a
validation error before sending anything. Decoding raises `ItemDecodeError`, whose message
names attributes and expected types but never a stored value.

The rules (README's type-mapping table says the same):

- attributes are stored under the name ``model_dump(by_alias=True)`` gives them and read
  back by field name, so every kind of alias round-trips;
- None is left out when the field's default is None (sparse indexes keep working) and
  stored as NULL otherwise; an empty set is left out when the field's default (or, for a
  required field, an item written without it) reads back as an empty set, and stored as
  an empty list otherwise;
- ``SecretStr``/``SecretBytes`` store their secret;
- an aware datetime is stored in UTC (ISO-8601 with ``+00:00``), the same instant, so
  that string order is time order; it reads back as an aware UTC datetime, equal to the
  one saved (items stored with another offset by earlier versions read back with it);
- numbers: a stored number reads back as an int when written without fraction or
  exponent, else as a float when the float's shortest form is the same number, else as a
  Decimal; a declared int, float or Decimal then converts it. Where the declared type does
  not settle it (``Any``, ``Decimal | float``), save refuses a value this rule would read
  back unequal (``Decimal("0.1")`` would come back as the float 0.1).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, TypeAlias
from uuid import UUID

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from lvrgd_common.services._dynamodb.codec.decode import decode_value, describe_errors
from lvrgd_common.services._dynamodb.codec.form import (
    DECIMAL_CONTEXT,
    EMPTY_SET,
    LIST_OR_MAP_OVERHEAD,
    MAX_NUMBER_DIGITS,
    MAX_NUMBER_EXPONENT,
    MIN_NUMBER_EXPONENT,
    NULL,
    AttributeValue,
    CodecError,
    Item,
    is_utf8,
)
from lvrgd_common.services._dynamodb.codec.shape import reads_back_equal, shape_of
from lvrgd_common.services._dynamodb.codec.size import map_size, number_size, text_size

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "NEVER_STORED",
    "encode_field",
    "encode_item",
    "encode_sized_item",
    "encode_value",
]

# Integers strictly inside this bound have at most 38 digits and are always valid.
_SAFE_INT: Final = 10**MAX_NUMBER_DIGITS


def encode_item(model: BaseModel) -> Item:
    """Encode a model as a DynamoDB item, under the names ``model_dump(by_alias=True)`` uses.

    Raises:
        CodecError: A value DynamoDB cannot store, or one that would not read back equal.
    """
    return encode_sized_item(model)[0]


def encode_sized_item(model: BaseModel) -> tuple[Item, int]:
    """`encode_item`, and the item's size as `item_size` counts it, in the same pass.

    Raises:
        CodecError: A value DynamoDB cannot store, or one that would not read back equal.
    """
    shape = shape_of(type(model))
    omit_none, omit_empty_set, name_bytes = shape.omit_none, shape.omit_empty_set, shape.name_bytes
    item: Item = {}
    size = 0
    for name, value in model.model_dump(by_alias=True).items():
        if type(value) is str and value.isascii():  # the most common attribute: no dispatch
            item[name] = {"S": value}
            value_size = len(value)
        else:
            encoded, value_size = _stored_attribute(name, value, omit_none, omit_empty_set)
            if encoded is None:
                continue
            item[name] = encoded
        known = name_bytes.get(name)
        size += (text_size(name) if known is None else known) + value_size
    if shape.checks:
        _check_loose_fields(model, item)
    return item, size


def _stored_attribute(
    name: str,
    value: Any,  # noqa: ANN401 - a dumped field value
    omit_none: frozenset[str],
    omit_empty_set: frozenset[str],
) -> _Sized:
    """One dumped top-level field as it is stored; None where the write leaves it out.

    The one place that decides a field's stored form: `encode_sized_item` (every save,
    batch write and transaction put) and `encode_field` (updates, conditions, filters)
    both call it.
    """
    if value is None:
        if name in omit_none:
            return None, 0
        return NULL, 1
    encoder = _ENCODERS.get(type(value), _encode_other)
    try:
        encoded, size = encoder(value)
    except CodecError as exc:
        raise exc.under(name) from exc.__cause__
    if encoded is None:
        if name in omit_empty_set:
            return None, 0
        return EMPTY_SET, LIST_OR_MAP_OVERHEAD
    return encoded, size


def _check_loose_fields(model: BaseModel, item: Item) -> None:
    """Refuse values of loose fields (``Any``...) that would not read back equal."""
    shape = shape_of(type(model))
    for stored, field, adapter in shape.checks:
        encoded = item.get(stored)
        if encoded is None:
            continue
        original = getattr(model, field)
        stored_value = decode_value(_as_returned(encoded))
        if not reads_back_equal(adapter, shape.readers.get(field), stored_value, original):
            raise CodecError(stored, _AMBIGUOUS)


def _as_returned(value: AttributeValue) -> AttributeValue:
    """A value as DynamoDB returns it: numbers in plain notation, without trailing zeros.

    (The float 3.392512618192793e+16 comes back as 33925126181927930, an int that is not
    the float: under ``Any`` it cannot read back equal.)
    """
    ((tag, raw),) = value.items()
    if tag == "N":
        return {"N": _returned_number(raw)}
    if tag == "NS":
        return {"NS": [_returned_number(text) for text in raw]}
    if tag == "L":
        return {"L": [_as_returned(element) for element in raw]}
    if tag == "M":
        return {"M": {name: _as_returned(element) for name, element in raw.items()}}
    return value


def _returned_number(text: str) -> str:
    return format(Decimal(text).normalize(DECIMAL_CONTEXT), "f")


_AMBIGUOUS: Final = (
    "the value would not read back equal under the field's declared type (e.g. a tuple"
    " reads back as a list, a datetime held in Any as a string, a Decimal in"
    " Decimal | float as a float); declare a type that says what it is"
)


def encode_field(
    model_class: type[BaseModel],
    field: str,
    value: Any,  # noqa: ANN401 - any value of the field
    *,
    validate: bool = True,
    nested: bool = False,
) -> tuple[str, AttributeValue | None]:
    """One field's value stored exactly as `encode_item` stores it in a whole model.

    The value goes through the model's own machinery: its validators (with
    ``validate``; a condition's operand is compared as given, so it is only
    serialized), its serializers and ``exclude``, then `_stored_attribute`. Returns the
    stored attribute name and the AttributeValue, or None where a save would leave the
    attribute out (None on a field whose default is None, an empty set where absence
    reads back empty), i.e. REMOVE it. ``nested``: the field belongs to a model held
    inside another, where a save stores None as NULL and an empty set as an empty list.

    Raises:
        CodecError: Not a field of the model, a field that is never stored, a value the
            model refuses, or one DynamoDB cannot store or that would not read back equal.
    """
    shape = shape_of(model_class)
    stored = shape.stored.get(field)
    if stored is None:
        raise CodecError(field, f"{model_class.__name__} has no field of that name")
    instance = model_class.model_construct()
    if validate:
        _assign(instance, field, stored, value, shape.stored)
    else:
        instance.__dict__[field] = value
    try:
        dumped = instance.model_dump(include={field}, by_alias=True, warnings=False)
    except (PydanticSerializationError, TypeError, ValueError, AttributeError) as exc:
        raise CodecError(stored, f"the field's serializer failed ({type(exc).__name__})") from None
    if not dumped:
        raise CodecError(stored, NEVER_STORED)
    ((name, plain),) = dumped.items()
    if nested:
        encoded = NULL if plain is None else _encode(plain, _HERE)
        return name, EMPTY_SET if encoded is None else encoded
    encoded, _ = _stored_attribute(name, plain, shape.omit_none, shape.omit_empty_set)
    if encoded is not None and shape.checks and validate:
        _check_loose_fields(instance, {name: encoded})
    return name, encoded


NEVER_STORED: Final = (
    "the field is marked exclude=True: save never stores it, so it cannot be written or compared"
)


def _assign(
    instance: BaseModel, field: str, stored: str, value: object, names: Mapping[str, str]
) -> None:
    """Validate ``value`` as ``field`` of ``instance``'s class, with its own validators."""
    try:
        type(instance).__pydantic_validator__.validate_assignment(instance, field, value)
    except ValidationError as exc:
        problems = describe_errors(exc, names, of_input=True)
        raise CodecError(stored, f"not a valid value: {problems}") from None
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        # A model-level validator that reads other fields cannot judge one field alone.
        reason = (
            f"the model's validators cannot check this field alone ({type(exc).__name__}); "
            "save the whole item, or update without model_class"
        )
        raise CodecError(stored, reason) from None


def encode_value(value: Any, path: str = "value") -> AttributeValue | None:  # noqa: ANN401 - any storable value
    """Encode one value; None when it is an empty set, which DynamoDB cannot store.

    Raises:
        CodecError: A value DynamoDB cannot store.
    """
    if value is None:
        return NULL
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    return _encode(value, path)


def _encode(value: Any, path: str) -> AttributeValue | None:  # noqa: ANN401
    try:
        return _sized(value)[0]
    except CodecError as exc:
        raise exc.under(path) from exc.__cause__


# Each encoder returns the AttributeValue (None for an empty set, which DynamoDB cannot
# store) and its size as `item_size` counts it, so that a write measures while encoding.
_Sized: TypeAlias = tuple[AttributeValue | None, int]
# The path of a failure at the value being encoded; containers and callers prefix theirs.
_HERE: Final = ""


def _sized(value: Any) -> _Sized:  # noqa: ANN401
    encoder = _ENCODERS.get(type(value))
    if encoder is not None:
        return encoder(value)
    return _encode_other(value)


def _encode_str(value: str) -> _Sized:
    if value.isascii():
        return {"S": value}, len(value)
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        raise CodecError(_HERE, _NOT_UTF8) from None
    return {"S": value}, size


_NOT_UTF8: Final = "not valid Unicode (a lone surrogate has no UTF-8 form)"


def _encode_bool(value: bool) -> _Sized:  # noqa: FBT001
    return {"BOOL": value}, 1


def _encode_int(value: int) -> _Sized:
    if not -_SAFE_INT < value < _SAFE_INT:
        # Checked as a Decimal: str() of an int over 4,300 digits raises ValueError.
        text = _checked_number(Decimal(value))
        return {"N": text}, number_size(text)
    text = str(value)
    if value % 10:
        # No trailing zero: every digit counts, and the first pair never straddles.
        negative = value < 0
        return {"N": text}, 1 + (len(text) - negative + 1) // 2 + negative
    return {"N": text}, number_size(text)


def _encode_float(value: float) -> _Sized:
    if not math.isfinite(value):
        raise CodecError(_HERE, _not_finite(value))
    # repr is the shortest string that reads back as the same float: 0.1 stays "0.1".
    text = repr(value)
    if not (value == 0 or 1e-120 < abs(value) < 1e120):  # noqa: PLR2004 - well inside DynamoDB's range
        text = _checked_number(Decimal(text))
    return {"N": text}, number_size(text)


def _encode_decimal(value: Decimal) -> _Sized:
    text = _checked_number(value)
    return {"N": text}, number_size(text)


def _not_finite(value: float | Decimal) -> str:
    # The repr of NaN or infinity says which it was and carries no data.
    return f"{value!r} cannot be stored in DynamoDB"


_OUT_OF_RANGE: Final = "the number is outside DynamoDB's range 1E-130 .. 1E+126"
_TOO_PRECISE: Final = f"the number has more than {MAX_NUMBER_DIGITS} significant digits"


def _checked_number(value: Decimal) -> str:
    if not value.is_finite():
        raise CodecError(_HERE, _not_finite(value))
    if value.is_zero():
        return "0"
    # The range first: adjusted() needs no context, while normalize() would overflow
    # the default one on an exponent like 1E+1000000.
    if not MIN_NUMBER_EXPONENT <= value.adjusted() <= MAX_NUMBER_EXPONENT:
        raise CodecError(_HERE, _OUT_OF_RANGE)
    if value.normalize(DECIMAL_CONTEXT) != value:
        raise CodecError(_HERE, _TOO_PRECISE)
    return str(value)


def _encode_bytes(value: bytes | bytearray | memoryview) -> _Sized:
    blob = bytes(value)
    return {"B": blob}, len(blob)


def _encode_list(value: list[Any] | tuple[Any, ...]) -> _Sized:
    encoded: list[AttributeValue] = []
    size = LIST_OR_MAP_OVERHEAD + len(value)
    for index, element in enumerate(value):
        if type(element) is str and element.isascii():
            encoded.append({"S": element})
            size += len(element)
            continue
        if element is None:
            encoded.append(NULL)
            size += 1
            continue
        try:
            av, element_size = _sized(element)
        except CodecError as exc:
            step = f"[{index}]"
            raise exc.under(step) from exc.__cause__
        if av is None:
            av, element_size = EMPTY_SET, LIST_OR_MAP_OVERHEAD
        encoded.append(av)
        size += element_size
    return {"L": encoded}, size


def _encode_dict(value: Mapping[Any, Any]) -> _Sized:
    encoded: Item = {}
    size = LIST_OR_MAP_OVERHEAD + len(value)
    for key, element in value.items():
        if type(key) is str and key and key.isascii():  # the common key: no checks left
            name = key
            size += len(key)
        else:
            name = _map_key(key)
            size += text_size(name)
        if type(element) is str and element.isascii():
            encoded[name] = {"S": element}
            size += len(element)
            continue
        if element is None:
            encoded[name] = NULL
            size += 1
            continue
        try:
            av, element_size = _sized(element)
        except CodecError as exc:
            step = f".{name}"
            raise exc.under(step) from exc.__cause__
        if av is None:
            av, element_size = EMPTY_SET, LIST_OR_MAP_OVERHEAD
        encoded[name] = av
        size += element_size
    # Two keys may name the same attribute (1 and "1"): the last one is stored.
    if len(encoded) != len(value):
        return {"M": encoded}, map_size(encoded)
    return {"M": encoded}, size


def _map_key(key: object) -> str:
    if isinstance(key, str):
        name = key.value if isinstance(key, Enum) else key
        if not name:
            # DynamoDB refuses an empty attribute name at any depth (moto stores it wrong).
            raise CodecError(_HERE, "a map key cannot be empty in DynamoDB")
        if not is_utf8(name):
            raise CodecError(_HERE, f"map key {_NOT_UTF8}")
        return name
    if isinstance(key, Enum):
        return str(key.value)
    if isinstance(key, (int, UUID)) and not isinstance(key, bool):
        return str(key)
    raise CodecError(_HERE, f"map keys must be strings, got {type(key).__name__}")


def _encode_set(value: set[Any] | frozenset[Any]) -> _Sized:
    if not value:
        return None, 0
    # Members are encoded like any value (an Enum as its value, a UUID as a string...),
    # then must all be strings, all numbers or all binary. A set's size is its members'.
    encoded: list[AttributeValue | None] = []
    size = 0
    for element in value:
        member, member_size = _sized(element)
        encoded.append(member)
        size += member_size
    tags = {tag for member in encoded if member is not None for tag in member}
    tag = tags.pop() if len(tags) == 1 else None
    if tag not in _SET_TAGS or any(member is None for member in encoded):
        raise CodecError(_HERE, "a set must hold only strings, only numbers or only bytes")
    members = [member[tag] for member in encoded if member is not None]
    _check_distinct(members, tag)
    return {_SET_TAGS[tag]: members}, size


_SET_TAGS: Final = {"S": "SS", "N": "NS", "B": "BS"}


def _check_distinct(members: list[Any], tag: str) -> None:
    """Refuse members equal once encoded (0.1 and Decimal("0.1")), as DynamoDB does."""
    seen: set[Any] = set()
    for member in members:
        identity = Decimal(member) if tag == "N" else member
        if identity in seen:
            raise CodecError(_HERE, "the set holds the same member more than once after encoding")
        seen.add(identity)


def _encode_uuid(value: UUID) -> _Sized:
    return {"S": str(value)}, 36


def _encode_datetime(value: dt.datetime) -> _Sized:
    tzinfo = value.tzinfo
    if tzinfo is not None and tzinfo is not dt.UTC:
        offset = value.utcoffset()
        if offset is not None:
            # Aware datetimes are stored in UTC, so that DynamoDB's string order is time
            # order (conditions, filters and sort keys compare the strings).
            try:
                value = (value - offset).replace(tzinfo=dt.UTC)
            except OverflowError:
                raise CodecError(_HERE, "the datetime is out of range once in UTC") from None
    text = value.isoformat()
    return {"S": text}, len(text)


_MINUTE: Final = dt.timedelta(minutes=1)


def _encode_date(value: dt.date) -> _Sized:
    text = value.isoformat()
    return {"S": text}, len(text)


def _encode_time(value: dt.time) -> _Sized:
    offset = value.utcoffset()
    if offset is not None and offset % _MINUTE:
        raise CodecError(_HERE, "a time whose UTC offset has seconds cannot be read back")
    text = value.isoformat()
    return {"S": text}, len(text)


def _encode_secret_str(value: SecretStr) -> _Sized:
    return _encode_str(value.get_secret_value())


def _encode_secret_bytes(value: SecretBytes) -> _Sized:
    return _encode_bytes(value.get_secret_value())


def _encode_other(value: Any) -> _Sized:  # noqa: ANN401
    if isinstance(value, Enum):
        return _sized(value.value)
    for kind, encoder in _ENCODERS.items():
        if isinstance(value, kind):
            return encoder(value)
    if isinstance(value, BaseModel):
        return _sized(value.model_dump(by_alias=True))
    try:
        plain = to_jsonable_python(value)
    except PydanticSerializationError as exc:
        raise CodecError(_HERE, f"{type(value).__name__} cannot be stored") from exc
    if type(plain) is type(value):
        raise CodecError(_HERE, f"{type(value).__name__} cannot be stored")
    return _sized(plain)


_ENCODERS: Final[dict[type, Callable[[Any], _Sized]]] = {
    str: _encode_str,
    bool: _encode_bool,
    int: _encode_int,
    float: _encode_float,
    Decimal: _encode_decimal,
    dict: _encode_dict,
    list: _encode_list,
    tuple: _encode_list,
    set: _encode_set,
    frozenset: _encode_set,
    bytes: _encode_bytes,
    bytearray: _encode_bytes,
    memoryview: _encode_bytes,
    UUID: _encode_uuid,
    dt.datetime: _encode_datetime,
    dt.date: _encode_date,
    dt.time: _encode_time,
    SecretStr: _encode_secret_str,
    SecretBytes: _encode_secret_bytes,
}

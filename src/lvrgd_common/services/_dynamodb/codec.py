"""Pydantic models <-> DynamoDB's low-level AttributeValue format.

Plain functions over plain data: no I/O, no logging. Encoding rejects what DynamoDB would
reject (NaN, infinity, numbers beyond 38 digits or outside 1E-130..1E+126, mixed sets) with
`CodecError`, which the service turns into a validation error before sending anything.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import types
import typing
from copy import copy
from decimal import Context, Decimal
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "MAX_ITEM_BYTES",
    "MAX_PARTITION_KEY_BYTES",
    "MAX_SORT_KEY_BYTES",
    "AttributeValue",
    "CodecError",
    "InvalidInputError",
    "Item",
    "check_key",
    "check_partition_value",
    "decode_item",
    "decode_model",
    "decode_value",
    "encode_item",
    "encode_key",
    "encode_value",
    "is_utf8",
    "item_size",
    "plain_key_value",
]

MAX_ITEM_BYTES: Final = 400 * 1024
MAX_PARTITION_KEY_BYTES: Final = 2048
MAX_SORT_KEY_BYTES: Final = 1024
MAX_NUMBER_DIGITS: Final = 38
MIN_NUMBER_EXPONENT: Final = -130
MAX_NUMBER_EXPONENT: Final = 125
_LIST_OR_MAP_OVERHEAD: Final = 3

AttributeValue: TypeAlias = dict[str, Any]
Item: TypeAlias = dict[str, AttributeValue]

M = TypeVar("M", bound=BaseModel)

_UNIONS: Final = (typing.Union, types.UnionType)
_SETS: Final = (set, frozenset)
_NULL: Final[AttributeValue] = {"NULL": True}
# DynamoDB cannot store an empty set. At the top level it is omitted (and filled in again
# when read); nested in a list or map it is stored as an empty list, which reads back into
# a set-typed field as an empty set.
_EMPTY_SET: Final[AttributeValue] = {"L": []}
_DECIMAL_CONTEXT: Final = Context(prec=MAX_NUMBER_DIGITS)
# Integers strictly inside this bound have at most 38 digits and are always valid.
_SAFE_INT: Final = 10**MAX_NUMBER_DIGITS


class InvalidInputError(ValueError):
    """Input the service must refuse before sending; it becomes a validation error."""


class CodecError(InvalidInputError):
    """A value that DynamoDB cannot store; ``path`` names the attribute."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"attribute {path!r}: {reason}")


# --- encoding ---------------------------------------------------------------------------


def encode_item(model: BaseModel) -> Item:
    """Encode a model as a DynamoDB item; None fields and empty sets are left out.

    Raises:
        CodecError: A value DynamoDB cannot store.
    """
    item: Item = {}
    for name, value in model.model_dump(by_alias=True).items():
        if type(value) is str:  # the most common attribute: no dispatch
            if not is_utf8(value):
                raise CodecError(name, _NOT_UTF8)
            item[name] = {"S": value}
            continue
        if value is None:
            continue
        encoded = _encode(value, name)
        if encoded is not None:
            item[name] = encoded
    return item


def encode_value(value: Any, path: str = "value") -> AttributeValue | None:  # noqa: ANN401 - any storable value
    """Encode one value; None when it is an empty set, which DynamoDB cannot store.

    Raises:
        CodecError: A value DynamoDB cannot store.
    """
    if value is None:
        return _NULL
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    return _encode(value, path)


def encode_key(pk: str, sk: str) -> Item:
    """The primary key of an item in the table."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def check_partition_value(pk: object) -> str:
    """``pk`` when usable as a partition key value.

    Raises:
        InvalidInputError: Not a string, empty, or longer than DynamoDB allows.
    """
    return _checked_key_part("pk", pk, MAX_PARTITION_KEY_BYTES)


def check_key(pk: object, sk: object) -> tuple[str, str]:
    """``(pk, sk)`` when usable as a table key.

    Raises:
        InvalidInputError: Not strings, empty, or longer than DynamoDB allows.
    """
    return check_partition_value(pk), _checked_key_part("sk", sk, MAX_SORT_KEY_BYTES)


def _checked_key_part(name: str, value: object, max_bytes: int) -> str:
    if not isinstance(value, str) or not value:
        msg = f"{name} must be a non-empty string"
        raise InvalidInputError(msg)
    if not is_utf8(value):
        msg = f"{name} must be valid Unicode (a lone surrogate has no UTF-8 form)"
        raise InvalidInputError(msg)
    # Cheap length test first: a string of n characters has at most 4n UTF-8 bytes.
    if len(value) * 4 > max_bytes and len(value.encode()) > max_bytes:
        msg = f"{name} is longer than {max_bytes} bytes"
        raise InvalidInputError(msg)
    return value


def is_utf8(text: str) -> bool:
    """False when ``text`` holds a lone surrogate: it has no UTF-8 form to send."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _encode(value: Any, path: str) -> AttributeValue | None:  # noqa: ANN401
    encoder = _ENCODERS.get(type(value))
    if encoder is not None:
        return encoder(value, path)
    return _encode_other(value, path)


def _encode_str(value: str, path: str) -> AttributeValue:
    if not is_utf8(value):
        raise CodecError(path, _NOT_UTF8)
    return {"S": value}


_NOT_UTF8: Final = "not valid Unicode (a lone surrogate has no UTF-8 form)"


def _encode_bool(value: bool, _path: str) -> AttributeValue:  # noqa: FBT001
    return {"BOOL": value}


def _encode_int(value: int, path: str) -> AttributeValue:
    text = str(value)
    if -_SAFE_INT < value < _SAFE_INT:
        return {"N": text}
    return {"N": _checked_number(Decimal(value), path)}


def _encode_float(value: float, path: str) -> AttributeValue:
    if not math.isfinite(value):
        raise CodecError(path, f"{value!r} cannot be stored in DynamoDB")
    # repr is the shortest string that reads back as the same float: 0.1 stays "0.1".
    text = repr(value)
    if value == 0 or 1e-120 < abs(value) < 1e120:  # noqa: PLR2004 - well inside DynamoDB's range
        return {"N": text}
    return {"N": _checked_number(Decimal(text), path)}


def _encode_decimal(value: Decimal, path: str) -> AttributeValue:
    return {"N": _checked_number(value, path)}


def _checked_number(value: Decimal, path: str) -> str:
    if not value.is_finite():
        raise CodecError(path, f"{value!r} cannot be stored in DynamoDB")
    if value.is_zero():
        return "0"
    normal = value.normalize(_DECIMAL_CONTEXT)
    if normal != value:
        raise CodecError(path, f"{value} has more than {MAX_NUMBER_DIGITS} significant digits")
    exponent = normal.adjusted()
    if not MIN_NUMBER_EXPONENT <= exponent <= MAX_NUMBER_EXPONENT:
        raise CodecError(path, f"{value} is outside DynamoDB's range 1E-130 .. 1E+126")
    return str(value)


def _encode_bytes(value: bytes | bytearray | memoryview, _path: str) -> AttributeValue:
    return {"B": bytes(value)}


def _encode_list(value: list[Any] | tuple[Any, ...], path: str) -> AttributeValue:
    encoded: list[AttributeValue] = []
    for index, element in enumerate(value):
        element_path = f"{path}[{index}]"
        av = _NULL if element is None else _encode(element, element_path)
        encoded.append(_EMPTY_SET if av is None else av)
    return {"L": encoded}


def _encode_dict(value: Mapping[Any, Any], path: str) -> AttributeValue:
    encoded: Item = {}
    for key, element in value.items():
        name = _map_key(key, path)
        element_path = f"{path}.{name}"
        av = _NULL if element is None else _encode(element, element_path)
        encoded[name] = _EMPTY_SET if av is None else av
    return {"M": encoded}


def _map_key(key: object, path: str) -> str:
    if isinstance(key, str):
        name = key.value if isinstance(key, Enum) else key
        if not is_utf8(name):
            raise CodecError(path, f"map key {_NOT_UTF8}")
        return name
    if isinstance(key, Enum):
        return str(key.value)
    if isinstance(key, (int, UUID)) and not isinstance(key, bool):
        return str(key)
    raise CodecError(path, f"map keys must be strings, got {type(key).__name__}")


def _encode_set(value: set[Any] | frozenset[Any], path: str) -> AttributeValue | None:
    if not value:
        return None
    # Members are encoded like any value (an Enum as its value, a UUID as a string...),
    # then must all be strings, all numbers or all binary.
    encoded = [_encode(element, path) for element in value]
    tags = {tag for member in encoded if member is not None for tag in member}
    tag = tags.pop() if len(tags) == 1 else None
    if tag not in _SET_TAGS or any(member is None for member in encoded):
        raise CodecError(path, "a set must hold only strings, only numbers or only bytes")
    members = [member[tag] for member in encoded if member is not None]
    _check_distinct(members, tag, path)
    return {_SET_TAGS[tag]: members}


_SET_TAGS: Final = {"S": "SS", "N": "NS", "B": "BS"}


def _check_distinct(members: list[Any], tag: str, path: str) -> None:
    """Refuse members equal once encoded (0.1 and Decimal("0.1")), as DynamoDB does."""
    seen: set[Any] = set()
    for member in members:
        identity = Decimal(member) if tag == "N" else member
        if identity in seen:
            raise CodecError(path, f"the set holds {member!r} more than once after encoding")
        seen.add(identity)


def _encode_uuid(value: UUID, _path: str) -> AttributeValue:
    return {"S": str(value)}


def _encode_temporal(value: dt.datetime | dt.date | dt.time, _path: str) -> AttributeValue:
    return {"S": value.isoformat()}


def _encode_other(value: Any, path: str) -> AttributeValue | None:  # noqa: ANN401
    if isinstance(value, Enum):
        return _encode(value.value, path)
    for kind, encoder in _ENCODERS.items():
        if isinstance(value, kind):
            return encoder(value, path)
    if isinstance(value, BaseModel):
        return _encode(value.model_dump(by_alias=True), path)
    try:
        plain = to_jsonable_python(value)
    except PydanticSerializationError as exc:
        raise CodecError(path, f"{type(value).__name__} cannot be stored") from exc
    if type(plain) is type(value):
        raise CodecError(path, f"{type(value).__name__} cannot be stored")
    return _encode(plain, path)


_ENCODERS: Final[dict[type, Callable[[Any, str], AttributeValue | None]]] = {
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
    dt.datetime: _encode_temporal,
    dt.date: _encode_temporal,
    dt.time: _encode_temporal,
}


# --- decoding ---------------------------------------------------------------------------


def decode_model(model_class: type[M], item: Mapping[str, AttributeValue]) -> M:
    """Build ``model_class`` from a stored item.

    Attributes that were omitted when saved (None, empty sets) are filled in for required
    fields, so a model always reads back equal to the one saved.

    Raises:
        pydantic.ValidationError: The item does not fit the model.
    """
    data = decode_item(item)
    for name, value in _absent_values(model_class):
        if name not in data:
            data[name] = copy(value)
    return model_class.model_validate(data)


@cache
def _absent_values(model_class: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    filled: list[tuple[str, Any]] = []
    for name, info in model_class.model_fields.items():
        if not info.is_required():
            continue
        annotation = info.annotation
        options = get_args(annotation) if get_origin(annotation) in _UNIONS else (annotation,)
        if type(None) in options or None in options:
            filled.append((info.alias or name, None))
        elif any(option in _SETS or get_origin(option) in _SETS for option in options):
            filled.append((info.alias or name, set()))
    return tuple(filled)


def decode_item(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """Turn a DynamoDB item into plain Python values, ready for ``model_validate``."""
    # Strings, the most common attributes, skip the dispatch.
    return {
        name: value["S"] if "S" in value else decode_value(value) for name, value in item.items()
    }


def decode_value(value: AttributeValue) -> Any:  # noqa: ANN401 - any stored value
    """Turn one AttributeValue (a mapping with a single type tag) into a Python value."""
    ((tag, raw),) = value.items()
    return _DECODERS[tag](raw)


def _decode_number(text: str) -> int | float | Decimal:
    if "." not in text and "e" not in text and "E" not in text:
        return int(text)
    number = float(text)
    # A float that reads back as the same decimal is returned as a float; anything finer
    # (a Decimal with more digits than a float holds) stays a Decimal. Most stored floats
    # were written from their shortest repr, which settles it without building Decimals.
    if repr(number) == text or Decimal(repr(number)) == Decimal(text):
        return number
    return Decimal(text)


def _decode_map(raw: Mapping[str, AttributeValue]) -> dict[str, Any]:
    return {
        name: value["S"] if "S" in value else decode_value(value) for name, value in raw.items()
    }


def _decode_list(raw: list[AttributeValue]) -> list[Any]:
    return [value["S"] if "S" in value else decode_value(value) for value in raw]


def _decode_binary(raw: str | bytes) -> bytes:
    # botocore hands back bytes; the wire's own JSON form, passed through, is base64 text.
    if isinstance(raw, str):
        return base64.b64decode(raw, validate=True)
    return bytes(raw)


def _identity(raw: Any) -> Any:  # noqa: ANN401
    return raw


def _decode_null(_raw: object) -> None:
    return None


_DECODERS: Final[dict[str, Callable[[Any], Any]]] = {
    "S": _identity,
    "N": _decode_number,
    "BOOL": _identity,
    "NULL": _decode_null,
    "M": _decode_map,
    "L": _decode_list,
    "SS": set,
    "NS": lambda raw: {_decode_number(text) for text in raw},
    "B": _decode_binary,
    "BS": lambda raw: {_decode_binary(blob) for blob in raw},
}


def plain_key_value(value: AttributeValue) -> str | int | float:
    """A key attribute as a JSON value (for cursors): S as str, N as int or float-free str.

    Raises:
        CodecError: For binary key attributes, which have no JSON form here.
    """
    if "S" in value:
        text: str = value["S"]
        return text
    if "N" in value:
        number = value["N"]
        return int(number) if number.lstrip("-").isdigit() else str(number)
    attribute = "key"
    raise CodecError(attribute, "binary key attributes are not supported in cursors")


# --- size -------------------------------------------------------------------------------


def item_size(item: Mapping[str, AttributeValue]) -> int:
    """DynamoDB's size of an item in bytes: attribute names plus values."""
    size = 0
    for name, value in item.items():
        size += len(name) if name.isascii() else len(name.encode())
        if "S" in value:  # the most common attribute: no dispatch
            text = value["S"]
            size += len(text) if text.isascii() else len(text.encode())
        else:
            size += _value_size(value)
    return size


def _text_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def _number_size(text: str) -> int:
    """Bytes of a stored number, as DynamoDB counts them (1.2 takes 3 bytes, -1 takes 3).

    Digits are held in base-100 pairs, plus one byte of exponent and one more when the
    number is negative: the layout dynalite measured on DynamoDB.
    """
    number = Decimal(text)
    if number.is_zero():
        return 1
    digits = len(number.normalize(_DECIMAL_CONTEXT).as_tuple().digits)
    # An even count of digits that starts on an even power of ten straddles one extra pair.
    straddles = digits % 2 == 0 and number.adjusted() % 2 == 0
    return 1 + (digits + 1) // 2 + straddles + number.is_signed()


def _value_size(value: AttributeValue) -> int:
    ((tag, raw),) = value.items()
    return _SIZES[tag](raw)


def _map_size(raw: Mapping[str, AttributeValue]) -> int:
    return _LIST_OR_MAP_OVERHEAD + len(raw) + item_size(raw)


def _list_size(raw: list[AttributeValue]) -> int:
    size = _LIST_OR_MAP_OVERHEAD + len(raw)
    for element in raw:
        size += _text_size(element["S"]) if "S" in element else _value_size(element)
    return size


def _one_byte(_raw: object) -> int:
    return 1


_SIZES: Final[dict[str, Callable[[Any], int]]] = {
    "S": _text_size,
    "N": _number_size,
    "B": len,
    "BOOL": _one_byte,
    "NULL": _one_byte,
    "M": _map_size,
    "L": _list_size,
    "SS": lambda raw: sum(_text_size(element) for element in raw),
    "NS": lambda raw: sum(_number_size(element) for element in raw),
    "BS": lambda raw: sum(len(element) for element in raw),
}

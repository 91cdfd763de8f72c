"""Stored items -> models: one prepared decoder per model class.

Decoding raises `ItemDecodeError`, whose message names attributes and expected types
but never a stored value.
"""

from __future__ import annotations

import base64
import binascii
from copy import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core.core_schema import ErrorType

from lvrgd_common.services._dynamodb.codec.form import AttributeValue, ItemDecodeError
from lvrgd_common.services._dynamodb.codec.shape import shape_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from lvrgd_common.services._dynamodb.codec.shape import ModelShape

__all__ = ["decode_item", "decode_model", "decode_value", "describe_errors", "model_decoder"]

M = TypeVar("M", bound=BaseModel)


def decode_model(model_class: type[M], item: Mapping[str, AttributeValue]) -> M:
    """Build ``model_class`` from a stored item.

    Attributes left out when saved (None where the default is None, empty sets where the
    default is empty, and for items written by earlier versions, None and empty sets of
    required fields) read back as they were. Undeclared attributes are ignored.

    Raises:
        ItemDecodeError: The item is malformed or does not fit the model; the message
            names attributes and expected types, never a stored value.
    """
    return model_decoder(model_class)(item)


_MODEL_DECODERS: dict[type[BaseModel], Callable[[Mapping[str, AttributeValue]], Any]] = {}


def model_decoder(model_class: type[M]) -> Callable[[Mapping[str, AttributeValue]], M]:
    """`decode_model` for one class, prepared on first use and kept.

    What the class needs (renaming by field name, readers, fillers, pydantic's validator)
    is looked up once here instead of for every item.
    """
    decoder = _MODEL_DECODERS.get(model_class)
    if decoder is None:
        decoder = _MODEL_DECODERS[model_class] = _build_decoder(model_class)
    return decoder


def _build_decoder(model_class: type[M]) -> Callable[[Mapping[str, AttributeValue]], M]:
    shape = shape_of(model_class)
    read = _fields_reader(shape) if shape.needs_transform else decode_item
    fillers = shape.fillers
    stored = shape.stored
    # Straight to pydantic's validator, unless the class has its own model_validate.
    mro = model_class.__mro__
    own_validate = any("model_validate" in vars(cls) for cls in mro[: mro.index(BaseModel)])

    def decode(item: Mapping[str, AttributeValue]) -> M:
        try:
            data = read(item)
        except _MALFORMED as exc:
            reason = f"the item is not in DynamoDB's attribute-value form ({type(exc).__name__})"
            raise ItemDecodeError(model_class, reason) from None
        for name, value in fillers:
            if name not in data:
                data[name] = copy(value)
        try:
            if own_validate:
                return model_class.model_validate(data, by_alias=False, by_name=True)
            validated: M = model_class.__pydantic_validator__.validate_python(
                data, by_alias=False, by_name=True
            )
        except ValidationError as exc:
            raise ItemDecodeError(model_class, describe_errors(exc, stored)) from None
        return validated

    return decode


# What a malformed item raises while it is decoded (a missing tag, a bad number...).
_MALFORMED: Final = (KeyError, ValueError, TypeError, AttributeError, ArithmeticError)


def _fields_reader(shape: ModelShape) -> Callable[[Mapping[str, AttributeValue]], dict[str, Any]]:
    """Stored item -> model_validate input keyed by field name, in one pass.

    For classes whose stored names differ from their field names, that drop attributes
    (computed fields, ``extra="forbid"``) or whose types need a reader.
    """
    names, readers = shape.names, shape.readers
    keep_extra, dropped = shape.keep_extra, shape.dropped

    def read(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, value in item.items():
            decoded = value["S"] if "S" in value else decode_value(value)
            name = names.get(key)
            if name is None:
                if keep_extra and key not in dropped:
                    data[key] = decoded
                continue
            reader = readers.get(name)
            data[name] = decoded if reader is None else reader(decoded)
        return data

    return read


# Error types whose message may quote the input: described by their type alone.
_QUOTING_ERRORS: Final = frozenset({"value_error", "assertion_error", "union_tag_invalid"})
_KNOWN_ERRORS: Final = frozenset(get_args(ErrorType)) - _QUOTING_ERRORS


def describe_errors(
    exc: ValidationError, stored: Mapping[str, str] | None = None, *, of_input: bool = False
) -> str:
    """Where and what a validation error is, without the value: ``attr: expected``.

    ``of_input``: the error is about a value the caller passed (an update), not a stored
    one, so the model's own messages (``ValueError("no spaces")``) are kept; for stored
    values they are left out, as they may quote the value.
    """
    parts: list[str] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = [str(part) for part in error["loc"]]
        if loc and stored is not None:
            loc[0] = stored.get(loc[0], loc[0])
        where = ".".join(loc) or "the item"
        kind = error["type"]
        known = of_input or kind in _KNOWN_ERRORS
        expected = error["msg"] if known else f"fails validation ({kind})"
        parts.append(f"{where!r}: {expected}")
    return "; ".join(parts)


def decode_item(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """Turn a DynamoDB item into plain Python values, ready for ``model_validate``."""
    data: dict[str, Any] = {}
    for name, value in item.items():
        # Strings and numbers, the most common attributes, skip the dispatch.
        if "S" in value:
            data[name] = value["S"]
        elif "N" in value and len(value) == 1:
            data[name] = _decode_number(value["N"])
        else:
            data[name] = decode_value(value)
    return data


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
        try:
            return base64.b64decode(raw, validate=True)
        except binascii.Error as exc:
            msg = "binary attribute is not base64"
            raise ValueError(msg) from exc
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

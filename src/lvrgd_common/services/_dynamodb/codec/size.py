"""The 400 KB rule: an item's size as DynamoDB counts it (names and values, in bytes)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from lvrgd_common.services._dynamodb.codec.form import (
    DECIMAL_CONTEXT,
    LIST_OR_MAP_OVERHEAD,
    MAX_NUMBER_DIGITS,
    AttributeValue,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["item_size", "map_size", "number_size", "text_size"]


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


def text_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def number_size(text: str) -> int:
    """Bytes of a stored number, as DynamoDB counts them (1.2 takes 3 bytes, -1 takes 3).

    Digits are held in base-100 pairs, plus one byte of exponent and one more when the
    number is negative: the layout dynalite measured on DynamoDB. Read off the text in
    plain notation (what the encoders write); the rest goes through `Decimal`.
    """
    unsigned = text[1:] if text[:1] in "+-" else text
    if "e" in unsigned or "E" in unsigned:
        return _decimal_number_size(Decimal(text))
    whole, _, fraction = unsigned.partition(".")
    significant = (whole + fraction).strip("0")
    count = len(significant)
    if not count:
        return 1  # zero
    if count > MAX_NUMBER_DIGITS:
        return _decimal_number_size(Decimal(text))
    leading = whole.lstrip("0")
    # The power of ten of the first significant digit, as Decimal.adjusted() gives it.
    adjusted = len(leading) - 1 if leading else len(fraction.lstrip("0")) - len(fraction) - 1
    # An even count of digits that starts on an even power of ten straddles one extra pair.
    straddles = count % 2 == 0 and adjusted % 2 == 0
    return 1 + (count + 1) // 2 + straddles + (text[0] == "-")


def _decimal_number_size(number: Decimal) -> int:
    if number.is_zero():
        return 1
    digits = len(number.normalize(DECIMAL_CONTEXT).as_tuple().digits)
    straddles = digits % 2 == 0 and number.adjusted() % 2 == 0
    return 1 + (digits + 1) // 2 + straddles + number.is_signed()


def _value_size(value: AttributeValue) -> int:
    ((tag, raw),) = value.items()
    return _SIZES[tag](raw)


def map_size(raw: Mapping[str, AttributeValue]) -> int:
    return LIST_OR_MAP_OVERHEAD + len(raw) + item_size(raw)


def _list_size(raw: list[AttributeValue]) -> int:
    size = LIST_OR_MAP_OVERHEAD + len(raw)
    for element in raw:
        size += text_size(element["S"]) if "S" in element else _value_size(element)
    return size


def _one_byte(_raw: object) -> int:
    return 1


_SIZES: Final[dict[str, Callable[[Any], int]]] = {
    "S": text_size,
    "N": number_size,
    "B": len,
    "BOOL": _one_byte,
    "NULL": _one_byte,
    "M": map_size,
    "L": _list_size,
    "SS": lambda raw: sum(text_size(element) for element in raw),
    "NS": lambda raw: sum(number_size(element) for element in raw),
    "BS": lambda raw: sum(len(element) for element in raw),
}

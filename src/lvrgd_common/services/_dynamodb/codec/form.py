"""The AttributeValue form: its types, DynamoDB's limits, and the codec's errors.

Shared by `encode`, `decode` and `size`; plain data, no I/O.
"""

from __future__ import annotations

from decimal import Context
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from lvrgd_common.services._dynamodb.errors import InvalidInputError

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "DECIMAL_CONTEXT",
    "EMPTY_SET",
    "LIST_OR_MAP_OVERHEAD",
    "MAX_ITEM_BYTES",
    "MAX_NUMBER_DIGITS",
    "MAX_NUMBER_EXPONENT",
    "MAX_PARTITION_KEY_BYTES",
    "MAX_SORT_KEY_BYTES",
    "MIN_NUMBER_EXPONENT",
    "NULL",
    "AttributeValue",
    "CodecError",
    "InvalidInputError",
    "Item",
    "ItemDecodeError",
    "UnfitItemError",
    "is_utf8",
]

MAX_ITEM_BYTES: Final = 400 * 1024
MAX_PARTITION_KEY_BYTES: Final = 2048
MAX_SORT_KEY_BYTES: Final = 1024
MAX_NUMBER_DIGITS: Final = 38
MIN_NUMBER_EXPONENT: Final = -130
MAX_NUMBER_EXPONENT: Final = 125
LIST_OR_MAP_OVERHEAD: Final = 3

AttributeValue: TypeAlias = dict[str, Any]
Item: TypeAlias = dict[str, AttributeValue]

NULL: Final[AttributeValue] = {"NULL": True}
# DynamoDB cannot store an empty set: it is stored as an empty list, which reads back into
# a set-typed field as an empty set (or left out where the default reads back the same).
EMPTY_SET: Final[AttributeValue] = {"L": []}
DECIMAL_CONTEXT: Final = Context(prec=MAX_NUMBER_DIGITS)
# Integers strictly inside this bound have at most 38 digits and are always valid.
_SAFE_INT: Final = 10**MAX_NUMBER_DIGITS


class CodecError(InvalidInputError):
    """A value that DynamoDB cannot store; ``path`` names the attribute.

    Inside the encoders ``path`` is relative to the value being encoded (empty at the
    failing value), and each container adds its step on the way out: paths are only built
    for a value that fails, not for every list element and map entry.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"attribute {path!r}: {reason}")

    def under(self, step: str) -> CodecError:
        """The same failure seen from one level up: ``step`` is a name, ``[index]``, ``.key``."""
        return CodecError(step + self.path, self.reason)


class UnfitItemError(ValueError):
    """A stored item fits no member of the read's model class or union."""


class ItemDecodeError(UnfitItemError):
    """A stored item that cannot be read as the model class; names no stored value."""

    def __init__(self, model_class: type[BaseModel], reason: str) -> None:
        self.model_class = model_class
        self.reason = reason
        super().__init__(f"the stored item does not fit {model_class.__name__}: {reason}")


def is_utf8(text: str) -> bool:
    """False when ``text`` holds a lone surrogate: it has no UTF-8 form to send."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True

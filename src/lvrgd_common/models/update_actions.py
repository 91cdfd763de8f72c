"""Update actions: values of `DynamoDBService.update` that say how to change an attribute.

A plain value SETs the attribute and None REMOVEs it; these small frozen values do the
rest, each atomically on the server. Values are checked (and, with ``model_class``,
validated against the field) when the update is built, so a bad one is a
`DynamoDBValidationError` naming the operation, before sending.

Examples:
    >>> from lvrgd_common import AddToSet, Append, Increment
    >>> updates = {"count": Increment(1), "log": Append(["paid"]), "tags": AddToSet({"vip"})}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "AddToSet",
    "Append",
    "IfNotExists",
    "Increment",
    "Prepend",
    "RemoveFromSet",
    "UpdateAction",
    "UpdatePath",
]

UpdatePath = str | tuple[str | int, ...]
"""A key of ``updates``: an attribute (or field) name, or a path into nested values."""


@dataclass(frozen=True, slots=True)
class Increment:
    """Add ``n`` (negative to subtract) to a number; an absent attribute counts as 0."""

    n: int | float | Decimal = 1


@dataclass(frozen=True, slots=True)
class Append:
    """Add ``values`` at the end of a list; an absent attribute counts as an empty list."""

    values: list[Any] | tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Prepend:
    """Add ``values`` at the start of a list; an absent attribute counts as an empty list."""

    values: list[Any] | tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class IfNotExists:
    """SET the attribute to ``value`` only when it is absent."""

    value: Any


@dataclass(frozen=True, slots=True)
class AddToSet:
    """Add members to a string, number or binary set (DynamoDB's ``ADD``)."""

    values: set[Any] | frozenset[Any]


@dataclass(frozen=True, slots=True)
class RemoveFromSet:
    """Remove members from a set (DynamoDB's ``DELETE``); absent members are ignored."""

    values: set[Any] | frozenset[Any]


UpdateAction = Increment | Append | Prepend | IfNotExists | AddToSet | RemoveFromSet
"""Any of the update actions."""

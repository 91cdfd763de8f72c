"""Key condition, condition and update expressions, always through placeholders.

Every attribute name becomes ``#nK`` and every value ``:vK``, so reserved words (``name``,
``status``, ``count``...) and names with dots or dashes are taken literally.

boto3's condition objects (``Attr("status").eq("open") | Attr("retries").lt(3)``) are
rendered by boto3's own `ConditionExpressionBuilder`; their placeholders are then renamed
into the builder's, and their values encoded by the library's codec (not boto3's
``TypeSerializer``), so a float, a datetime or an Enum compares as ``save`` stores it.
As in boto3, the name of an ``Attr`` is a path: ``Attr("address.city")``,
``Attr("tags[0]")``. The same objects filter queries and scans (``filter_condition=``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from boto3.dynamodb.conditions import AttributeBase, ConditionBase, ConditionExpressionBuilder

from lvrgd_common.models.attribute_condition import AttributeCondition
from lvrgd_common.models.dynamodb_base_model import KEY_ATTRIBUTES
from lvrgd_common.services._dynamodb.codec import (
    AttributeValue,
    CodecError,
    InvalidInputError,
    encode_field,
    encode_value,
    is_utf8,
)
from lvrgd_common.services._dynamodb.codec.shape import shape_of
from lvrgd_common.services._dynamodb.updates import Change, Path, plan_updates

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from pydantic import BaseModel

__all__ = [
    "Conditions",
    "ExpressionBuilder",
    "KeyRange",
    "check_conditions",
    "check_filter",
    "condition_attributes",
    "named_attributes",
]

Conditions: TypeAlias = "ConditionBase | Iterable[AttributeCondition | ConditionBase]"
"""What ``conditions=`` takes: a boto3 condition, or conditions that must all hold."""

# The placeholders boto3's builder writes: ``#n0``, ``:v0``...
_BOTO3_PLACEHOLDER: Final = re.compile(r"#n\d+|:v\d+")
_PATH_STEP: Final = re.compile(r"[.\[]")
# An attribute path as boto3 reads it: ``name``, ``a.b``, ``tags[0]``, ``a.b[1].c``.
_PATH: Final = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[\d+\])*")

_COMPARISONS: Final = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


class ExpressionBuilder:
    """Collects placeholders for names and values while expressions are written.

    With ``model_class``, a value compared with one of the model's fields (``=``, ``<>``,
    ``<``..., ``BETWEEN``, ``IN``) is sent in the field's stored form, through the
    codec's `encode_field`: a datetime compared with an `EpochSeconds` field goes as N,
    a value of a field with a serializer as the serializer writes it. Other operands
    (``begins_with``, ``contains``, ``size``, nested paths, values the field's serializer
    cannot take) are encoded by their Python type.
    """

    __slots__ = ("_model", "_names", "_values")

    def __init__(self, model_class: type[BaseModel] | None = None) -> None:
        self._names: dict[str, str] = {}
        self._values: dict[str, AttributeValue] = {}
        self._model = model_class

    def name(self, attribute: str) -> str:
        """The placeholder for an attribute name (one per distinct name)."""
        placeholder = self._names.get(attribute)
        if placeholder is None:
            placeholder = f"#n{len(self._names)}"
            self._names[attribute] = placeholder
        return placeholder

    def value(self, value: AttributeValue) -> str:
        """The placeholder for an encoded value."""
        placeholder = f":v{len(self._values)}"
        self._values[placeholder] = value
        return placeholder

    def conditions(self, conditions: Conditions) -> list[str]:
        """One expression per condition, to be joined with AND.

        Raises:
            InvalidInputError: Not conditions, or a value DynamoDB cannot store.
        """
        clauses: list[str] = []
        for condition in check_conditions(conditions):
            if isinstance(condition, ConditionBase):
                clauses.append(self.condition(condition))
                continue
            name = self.name(condition.attribute)
            if condition.operator == "exists":
                clauses.append(f"attribute_exists({name})")
            elif condition.operator == "not_exists":
                clauses.append(f"attribute_not_exists({name})")
            elif condition.operator == "begins_with":
                value = self.value(_required(condition.value, condition.attribute))
                clauses.append(f"begins_with({name}, {value})")
            else:
                value = self.value(self._operand(condition.value, condition.attribute))
                clauses.append(f"{name} {_COMPARISONS[condition.operator]} {value}")
        return clauses

    def condition(self, condition: ConditionBase) -> str:
        """A boto3 condition as an expression over this builder's placeholders.

        Raises:
            InvalidInputError: Not a boto3 condition, an empty attribute name, or a value
                DynamoDB cannot store.
        """
        if not isinstance(condition, ConditionBase):
            msg = f"expected a boto3 condition (Attr(...).eq(...)), got {condition!r}"
            raise InvalidInputError(msg)
        _check_attribute_names(condition)
        built = ConditionExpressionBuilder().build_expression(condition)
        names: dict[str, str] = built.attribute_name_placeholders
        values: dict[str, Any] = built.attribute_value_placeholders
        expression = built.condition_expression
        compared = _compared_fields(expression) if self._model is not None else {}
        last_name = "value"

        def rename(match: re.Match[str]) -> str:
            nonlocal last_name
            token = match.group()
            if token.startswith("#"):
                last_name = names[token]
                return self.name(last_name)
            field = compared.get(token)
            if field is not None:
                return self.value(self._operand(values[token], names[field]))
            return self.value(_required(values[token], last_name))

        return _BOTO3_PLACEHOLDER.sub(rename, expression)

    def _operand(self, value: Any, attribute: str) -> AttributeValue:  # noqa: ANN401
        """A value compared with the top-level ``attribute``: as the model stores it."""
        model = self._model
        field = None if model is None else shape_of(model).names.get(attribute)
        if model is not None and field is not None and value is not None:
            try:
                _, encoded = encode_field(model, field, value, validate=False)
            except CodecError:
                encoded = None  # not a value of the field's type: compared as it is
            if encoded is not None:
                return encoded
        return _required(value, attribute)

    def update(
        self,
        updates: Mapping[Any, Any],
        key_attributes: Collection[str] = KEY_ATTRIBUTES,
        model_class: type[BaseModel] | None = None,
    ) -> str:
        """The UpdateExpression: SET, REMOVE, ADD and DELETE clauses for ``updates``.

        A plain value SETs the attribute; None or an empty set REMOVEs it; update actions
        (`Increment`, `Append`...) say how to change it.

        Raises:
            InvalidInputError: Bad updates (see `plan_updates`) or an unstorable value.
        """
        return self.changes(plan_updates(updates, key_attributes, model_class))

    def changes(self, changes: Iterable[Change]) -> str:
        """The UpdateExpression of planned changes."""
        clauses: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}
        for change in changes:
            path = self.path(change.path)
            value = "" if change.value is None else self.value(change.value)
            if change.kind == "set":
                clauses["SET"].append(f"{path} = {value}")
            elif change.kind == "remove":
                clauses["REMOVE"].append(path)
            elif change.kind == "increment":
                zero = self.value({"N": "0"})
                clauses["SET"].append(f"{path} = if_not_exists({path}, {zero}) + {value}")
            elif change.kind in {"append", "prepend"}:
                current = f"if_not_exists({path}, {self.value({'L': []})})"
                pair = (current, value) if change.kind == "append" else (value, current)
                clauses["SET"].append(f"{path} = list_append({pair[0]}, {pair[1]})")
            elif change.kind == "if_not_exists":
                clauses["SET"].append(f"{path} = if_not_exists({path}, {value})")
            else:
                clauses["ADD" if change.kind == "add" else "DELETE"].append(f"{path} {value}")
        return " ".join(
            f"{clause} {', '.join(parts)}" for clause, parts in clauses.items() if parts
        )

    def guards(self, changes: Iterable[Change]) -> list[str]:
        """The conditions that keep the changed fields within their bounds (see `Change`)."""
        clauses: list[str] = []
        for change in changes:
            for operator, value, absent_ok in change.guards:
                path = self.path(change.path)
                clause = f"{path} {operator} {self.value(value)}"
                clauses.append(
                    f"(attribute_not_exists({path}) OR {clause})" if absent_ok else clause
                )
        return clauses

    def path(self, path: Path) -> str:
        """A document path with a placeholder per name: ``#n0.#n1[0]``."""
        text = self.name(str(path[0]))
        for segment in path[1:]:
            text += f"[{segment}]" if isinstance(segment, int) else f".{self.name(segment)}"
        return text

    def apply(self, request: dict[str, Any]) -> dict[str, Any]:
        """Add the collected placeholders to a request and return it."""
        if self._names:
            request["ExpressionAttributeNames"] = {
                placeholder: name for name, placeholder in self._names.items()
            }
        if self._values:
            request["ExpressionAttributeValues"] = self._values
        return request


def check_conditions(conditions: object) -> list[AttributeCondition | ConditionBase]:
    """``conditions`` as a list of conditions that must all hold.

    Raises:
        InvalidInputError: Neither a boto3 condition nor an iterable of conditions.
    """
    if isinstance(conditions, (ConditionBase, AttributeCondition)):
        return [conditions]
    if isinstance(conditions, (str, bytes)) or not hasattr(conditions, "__iter__"):
        msg = (
            "conditions must be a boto3 condition or a sequence of AttributeCondition, "
            f"got {conditions!r}"
        )
        raise InvalidInputError(msg)
    checked: list[AttributeCondition | ConditionBase] = []
    for condition in conditions:
        if not isinstance(condition, (ConditionBase, AttributeCondition)):
            msg = (
                "each condition must be an AttributeCondition or a boto3 condition, "
                f"got {condition!r}"
            )
            raise InvalidInputError(msg)
        checked.append(condition)
    return checked


def named_attributes(conditions: Conditions) -> set[str]:
    """The top-level attributes the conditions name.

    Raises:
        InvalidInputError: Not conditions, or an ill-formed attribute path.
    """
    names: set[str] = set()
    for condition in check_conditions(conditions):
        if isinstance(condition, ConditionBase):
            names |= condition_attributes(condition)
        else:
            names.add(condition.attribute)
    return names


def check_filter(condition: object) -> ConditionBase:
    """``condition`` as a boto3 condition to filter by, its attribute paths checked.

    Raises:
        InvalidInputError: Not a boto3 condition (``Attr("status").eq("open")``), or a
            path with an empty step.
    """
    if not isinstance(condition, ConditionBase):
        msg = (
            "filter_condition must be a boto3 condition such as "
            f"Attr('status').eq('open'), got {condition!r}"
        )
        raise InvalidInputError(msg)
    condition_attributes(condition)
    return condition


def condition_attributes(condition: ConditionBase) -> set[str]:
    """The top-level attributes a boto3 condition names (``a`` for ``Attr("a.b[0]")``).

    Raises:
        InvalidInputError: An empty or ill-formed attribute path.
    """
    found: set[str] = set()
    for part in condition.get_expression()["values"]:
        if isinstance(part, ConditionBase):
            found |= condition_attributes(part)
        elif isinstance(part, AttributeBase):
            name = part.name
            if not isinstance(name, str) or not name:
                msg = f"a condition names an empty attribute: {name!r}"
                raise InvalidInputError(msg)
            if not is_utf8(name):
                msg = f"attribute name {name!r} is not valid Unicode (it holds a lone surrogate)"
                raise InvalidInputError(msg)
            if not _PATH.fullmatch(name):
                msg = f"attribute path {name!r} has an empty step (write 'a.b' or 'a[0]')"
                raise InvalidInputError(msg)
            found.add(_PATH_STEP.split(name, maxsplit=1)[0])
    return found


def _check_attribute_names(condition: ConditionBase) -> None:
    for part in condition.get_expression()["values"]:
        if isinstance(part, ConditionBase):
            _check_attribute_names(part)
        elif isinstance(part, AttributeBase):
            name = part.name
            if not isinstance(name, str) or not name:
                msg = f"a condition names an empty attribute: {condition!r}"
                raise InvalidInputError(msg)
            if not is_utf8(name):
                msg = f"attribute name {name!r} is not valid Unicode (it holds a lone surrogate)"
                raise InvalidInputError(msg)


# A whole top-level attribute compared with values: ``#n0 = :v0``, ``#n0 BETWEEN :v0 AND
# :v1``, ``#n0 IN (:v0, :v1)``; not a nested path (``#n0.#n1``, ``#n0[1]``) or a function.
_COMPARED: Final = re.compile(
    r"(?<![.\w\]])(#n\d+) (?:(?:=|<>|<=|<|>=|>) (:v\d+)|BETWEEN (:v\d+) AND (:v\d+)"
    r"|IN \(([^)]*)\))"
)
_VALUE_TOKEN: Final = re.compile(r":v\d+")


def _compared_fields(expression: str) -> dict[str, str]:
    """boto3 value placeholder -> the name placeholder it is compared with."""
    compared: dict[str, str] = {}
    for match in _COMPARED.finditer(expression):
        name = match.group(1)
        for group in match.groups()[1:]:
            if group:
                for token in _VALUE_TOKEN.findall(group):
                    compared[token] = name
    return compared


def _required(value: Any, attribute: str) -> AttributeValue:  # noqa: ANN401
    encoded = encode_value(value, attribute)
    if encoded is None:
        raise CodecError(attribute, "an empty set cannot be compared")
    return encoded


class KeyRange:
    """A key condition: partition key equality plus an optional sort key comparison.

    ``operator`` is one of ``eq lt le gt ge begins_with between`` (DynamoDB has no ``<>``
    key condition; the service serves ``ne`` as two ranges).
    """

    __slots__ = ("hash_name", "hash_value", "operator", "range_name", "values")

    def __init__(
        self,
        hash_name: str,
        hash_value: AttributeValue,
        range_name: str | None = None,
        operator: str | None = None,
        values: tuple[AttributeValue, ...] = (),
    ) -> None:
        self.hash_name = hash_name
        self.hash_value = hash_value
        self.range_name = range_name
        self.operator = operator
        self.values = values

    def expression(self, builder: ExpressionBuilder) -> str:
        """The KeyConditionExpression, with placeholders registered on ``builder``."""
        clause = f"{builder.name(self.hash_name)} = {builder.value(self.hash_value)}"
        if self.operator is None or self.range_name is None:
            return clause
        name = builder.name(self.range_name)
        placeholders = [builder.value(value) for value in self.values]
        if self.operator == "begins_with":
            return f"{clause} AND begins_with({name}, {placeholders[0]})"
        if self.operator == "between":
            return f"{clause} AND {name} BETWEEN {placeholders[0]} AND {placeholders[1]}"
        return f"{clause} AND {name} {_COMPARISONS[self.operator]} {placeholders[0]}"

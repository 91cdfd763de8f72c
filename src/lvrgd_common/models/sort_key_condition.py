"""A condition on the sort key of a query."""

from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, StrictBytes, StrictInt, StrictStr, model_validator

__all__ = ["SortKeyCondition", "SortKeyOperator", "sort_key_condition_problem"]

SortKeyOperator = Literal["eq", "ne", "lt", "le", "gt", "ge", "begins_with", "between"]


def _kind(value: object) -> str | None:
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return "number"
    if isinstance(value, bytes):
        return "bytes"
    return None


def sort_key_condition_problem(operator: str, value: object, value2: object) -> str | None:  # noqa: PLR0911
    """Say what is wrong with a condition, or None when it is valid.

    Values compare in DynamoDB's order for their type: strings by UTF-8 bytes (code point
    order), numbers by value, bytes as unsigned bytes.
    """
    kind = _kind(value)
    if kind is None:
        return f"value must be a string, a number (int or Decimal) or bytes, got {value!r}"
    if isinstance(value, Decimal) and not value.is_finite():
        return f"value must be a finite number, got {value!r}"
    if operator == "begins_with" and kind == "number":
        return "'begins_with' takes a string or bytes, not a number"
    if operator == "between":
        if value2 is None:
            return "operator 'between' needs value2"
        if _kind(value2) != kind:
            return f"'between' needs value and value2 of one type, got {value!r} and {value2!r}"
        if isinstance(value2, Decimal) and not value2.is_finite():
            return f"value2 must be a finite number, got {value2!r}"
        if value2 < value:  # type: ignore[operator]
            return f"'between' needs value <= value2, got {value!r} > {value2!r}"
    elif value2 is not None:
        return f"value2 is only used with 'between', not with {operator!r}"
    return None


class SortKeyCondition(BaseModel):
    """``sk <operator> value`` (or ``value <= sk <= value2`` for ``between``).

    Values are strings, numbers (``int`` or ``Decimal``) or bytes, of the sort key's type.

    Examples:
        >>> SortKeyCondition(operator="begins_with", value="ORDER#")
        SortKeyCondition(operator='begins_with', value='ORDER#', value2=None)
        >>> SortKeyCondition(operator="between", value=9, value2=10).value2
        10
    """

    model_config = ConfigDict(frozen=True)

    operator: SortKeyOperator
    value: StrictStr | StrictInt | Decimal | StrictBytes
    value2: StrictStr | StrictInt | Decimal | StrictBytes | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        problem = sort_key_condition_problem(self.operator, self.value, self.value2)
        if problem is not None:
            raise ValueError(problem)
        return self

"""A condition on the sort key of a query."""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["SortKeyCondition", "SortKeyOperator", "sort_key_condition_problem"]

SortKeyOperator = Literal["eq", "ne", "lt", "le", "gt", "ge", "begins_with", "between"]


def sort_key_condition_problem(operator: str, value: str, value2: str | None) -> str | None:
    """Say what is wrong with a condition, or None when it is valid."""
    if operator == "between":
        if value2 is None:
            return "operator 'between' needs value2"
        # DynamoDB orders strings by their UTF-8 bytes, which is code point order.
        if value2 < value:
            return f"'between' needs value <= value2, got {value!r} > {value2!r}"
    elif value2 is not None:
        return f"value2 is only used with 'between', not with {operator!r}"
    return None


class SortKeyCondition(BaseModel):
    """``sk <operator> value`` (or ``value <= sk <= value2`` for ``between``).

    Example:
        >>> SortKeyCondition(operator="begins_with", value="ORDER#")
        SortKeyCondition(operator='begins_with', value='ORDER#', value2=None)
    """

    model_config = ConfigDict(frozen=True)

    operator: SortKeyOperator
    value: str
    value2: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        problem = sort_key_condition_problem(self.operator, self.value, self.value2)
        if problem is not None:
            raise ValueError(problem)
        return self

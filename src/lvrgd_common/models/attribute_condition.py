"""A condition on one attribute of a stored item, for conditional writes."""

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["AttributeCondition", "ConditionOperator"]

ConditionOperator = Literal[
    "eq", "ne", "lt", "le", "gt", "ge", "begins_with", "exists", "not_exists"
]


class AttributeCondition(BaseModel):
    """``attribute <operator> value``, checked by DynamoDB before a write.

    ``exists`` and ``not_exists`` take no value. Conditions given together must all hold.

    Examples:
        >>> create_only = AttributeCondition(attribute="pk", operator="not_exists")
        >>> AttributeCondition(attribute="version", operator="eq", value=3).value
        3
    """

    model_config = ConfigDict(frozen=True)

    attribute: str = Field(min_length=1)
    operator: ConditionOperator
    value: Any = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        unary = self.operator in {"exists", "not_exists"}
        if unary and self.value is not None:
            msg = f"operator {self.operator!r} takes no value"
            raise ValueError(msg)
        if not unary and self.value is None:
            msg = f"operator {self.operator!r} needs a value"
            raise ValueError(msg)
        return self

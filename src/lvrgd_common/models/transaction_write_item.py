"""One write of a transaction."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, Self

from boto3.dynamodb.conditions import ConditionBase
from pydantic import (
    BaseModel,
    ConfigDict,
    InstanceOf,
    SerializeAsAny,
    StrictBytes,
    StrictInt,
    StrictStr,
    model_validator,
)

from lvrgd_common.models.attribute_condition import AttributeCondition
from lvrgd_common.models.dynamodb_base_model import KEY_ATTRIBUTES, DynamoDBBaseModel, KeyValue

__all__ = ["TransactionOperation", "TransactionWriteItem"]

TransactionOperation = Literal["put", "update", "delete", "condition_check"]

_KEYS = frozenset({"pk", "sk"})

# The fields each operation needs; any other of these given is a mistake.
_SHAPES: dict[str, frozenset[str]] = {
    "put": frozenset({"item"}),
    "update": frozenset({"pk", "sk", "updates"}),
    "delete": frozenset({"pk", "sk"}),
    "condition_check": frozenset({"pk", "sk"}),
}


class TransactionWriteItem(BaseModel):
    """A put, update, delete or condition check inside `DynamoDBService.transact_write`.

    - ``put``: ``item`` (the whole model, every field of its own subclass is written; a
      `VersionedModel` is written at ``version + 1`` only over its own version, as ``save``
      does, and a stale one cancels the transaction);
    - ``update``: ``pk``, ``sk``, ``updates`` (as `DynamoDBService.update`: the item must
      exist, a value None removes the attribute, update actions and tuple paths work) and
      optionally ``model_class`` (keys are then field names and values are checked against
      the fields, as in ``update(..., model_class=...)``);
    - ``delete``: ``pk``, ``sk``;
    - ``condition_check``: ``pk``, ``sk`` and at least one condition, nothing written.

    Keys are strings, numbers or bytes, as the table's key schema says; on a table without
    a sort key, ``sk=None`` is given explicitly.

    ``conditions`` may be added to any operation, as `AttributeCondition` values that must
    all hold or as a boto3 condition (``Attr("status").eq("open") | Attr("retries").lt(3)``);
    when one does not hold, the transaction is cancelled. A put that must not overwrite uses
    ``AttributeCondition(attribute="pk", operator="not_exists")``.

    Raises:
        pydantic.ValidationError: When an operation lacks what it needs or has what it
            does not use.
    """

    model_config = ConfigDict(frozen=True)

    operation: TransactionOperation
    item: SerializeAsAny[DynamoDBBaseModel] | None = None
    pk: StrictStr | StrictInt | Decimal | StrictBytes | None = None
    sk: StrictStr | StrictInt | Decimal | StrictBytes | None = None
    # What `DynamoDBService.update` takes, so one dict passes both under mypy (a
    # ``dict[str, int]`` is not a ``dict[UpdatePath, Any]``: dict keys are invariant); the
    # keys (`UpdatePath`) are checked when the transaction is built, as update() checks them.
    updates: Mapping[Any, Any] | None = None
    model_class: type[DynamoDBBaseModel] | None = None
    conditions: (
        InstanceOf[ConditionBase] | tuple[AttributeCondition | InstanceOf[ConditionBase], ...]
    ) = ()

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        problem = self._shape_problem()
        if problem is not None:
            raise ValueError(problem)
        return self

    def _shape_problem(self) -> str | None:
        given = {
            field
            for field in _SHAPES["put"] | _SHAPES["update"]
            if getattr(self, field) or (field in _KEYS and field in self.model_fields_set)
        }
        needed = _SHAPES[self.operation]
        if self.operation == "condition_check" and not self.conditions:
            return "condition_check needs at least one condition"
        if missing := needed - given:
            return f"{self.operation} needs {', '.join(sorted(missing))}"
        if unused := given - needed:
            return f"{self.operation} does not take {', '.join(sorted(unused))}"
        if self.model_class is not None and self.operation != "update":
            return f"{self.operation} does not take model_class (only update does)"
        if self.updates and KEY_ATTRIBUTES & self.updates.keys():
            return "update cannot change pk or sk"
        return None

    @property
    def key(self) -> tuple[KeyValue, KeyValue | None]:
        """The ``(pk, sk)`` of the item this operation touches."""
        if self.item is not None:
            return (self.item.pk, self.item.sk)
        return (self.pk if self.pk is not None else "", self.sk)

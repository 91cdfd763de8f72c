"""Base class of every model stored in the table."""

from decimal import Decimal
from typing import TypeAlias

from pydantic import BaseModel, Field

__all__ = ["KEY_ATTRIBUTES", "DynamoDBBaseModel", "KeyValue"]

KEY_ATTRIBUTES = frozenset({"pk", "sk"})
"""The model's key fields: they name an item and cannot be updated."""

KeyValue: TypeAlias = str | int | Decimal | bytes
"""A key value: a string (S), a number (N) or bytes (B), as the table's key schema says."""


class DynamoDBBaseModel(BaseModel):
    """A pure data model keyed by partition key ``pk`` and sort key ``sk``.

    Subclass it with the domain's fields; persistence lives in `DynamoDBService`. The
    fields are stored under the table's key names (``DynamoDBConfig.partition_key_name``,
    ``sort_key_name``). A numeric or binary key is declared on the subclass (``sk: int``,
    ``pk: bytes``); a table without a sort key takes ``sk: None = None``. (mypy sees such
    a narrowing as an incompatible override: add ``# type: ignore[assignment]``.)

    Examples:
        >>> class User(DynamoDBBaseModel):
        ...     name: str
        >>> User(pk="USER#1", sk="PROFILE", name="Ada").pk
        'USER#1'
    """

    pk: str = Field(min_length=1, description="Partition key")
    sk: str = Field(min_length=1, description="Sort key")

"""Base class of every model stored in the table."""

from pydantic import BaseModel, Field

__all__ = ["KEY_ATTRIBUTES", "DynamoDBBaseModel"]

KEY_ATTRIBUTES = frozenset({"pk", "sk"})
"""The table's key attributes: they name an item and cannot be updated."""


class DynamoDBBaseModel(BaseModel):
    """A pure data model keyed by partition key ``pk`` and sort key ``sk``.

    Subclass it with the domain's fields; persistence lives in `DynamoDBService`.

    Example:
        >>> class User(DynamoDBBaseModel):
        ...     name: str
        >>> User(pk="USER#1", sk="PROFILE", name="Ada").pk
        'USER#1'
    """

    pk: str = Field(min_length=1, description="Partition key")
    sk: str = Field(min_length=1, description="Sort key")

"""A model whose saves are checked against the version stored (optimistic locking)."""

from typing import Final

from pydantic import Field

from lvrgd_common.models.dynamodb_base_model import DynamoDBBaseModel

__all__ = ["VERSION_FIELD", "VersionedModel"]

VERSION_FIELD: Final = "version"
"""The field (and attribute) that holds an item's version."""


class VersionedModel(DynamoDBBaseModel):
    """An item saved only over the version it was read at.

    ``save`` (and a transaction's put) writes ``version + 1`` only if the stored version is
    ``version`` (or, for 0, the item has none: it is new) and returns the model as saved;
    otherwise `DynamoDBConditionalCheckError` (in a transaction: a cancellation reason on
    that operation). ``update(..., model_class=...)`` bumps the version too, and checks it
    when ``updates`` names the version it expects. ``batch_write`` cannot check a
    condition, so it refuses versioned items.

    Examples:
        >>> class Account(VersionedModel):
        ...     balance: int = 0
        >>> Account(pk="ACCOUNT#1", sk="BALANCE").version
        0
    """

    version: int = Field(default=0, ge=0, description="Stored version; 0 before the first save")

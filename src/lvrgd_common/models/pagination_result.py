"""One page of query results."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from lvrgd_common.models.dynamodb_base_model import DynamoDBBaseModel

__all__ = ["PaginationResult"]

T = TypeVar("T", bound=DynamoDBBaseModel)


class PaginationResult(BaseModel, Generic[T]):
    """A page of items and the cursor to the next page.

    ``last_evaluated_key`` holds plain JSON values, so it can be handed to a client as a
    cursor and passed back unchanged; it is None exactly on the last page. ``next_cursor``
    is the same position as an opaque, URL-safe token for the query methods' ``cursor=``
    (signed when `DynamoDBConfig.cursor_secret` is set); also None on the last page.
    """

    items: list[T]
    last_evaluated_key: dict[str, Any] | None = None
    count: int
    next_cursor: str | None = None

    @property
    def has_more(self) -> bool:
        """Whether another page follows."""
        return self.last_evaluated_key is not None

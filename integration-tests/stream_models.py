"""Models of the stream and lock tests (also imported by `stream_worker`, in its process)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from lvrgd_common import DynamoDBBaseModel, EpochSeconds


class Note(DynamoDBBaseModel):
    """A model using what the codec knows: an alias, a set, bytes, Decimal, EpochSeconds."""

    text: str = Field(default="", alias="t")
    n: int = 0
    tags: set[str] = set()
    blob: bytes = b""
    price: Decimal = Decimal(0)
    expires: EpochSeconds | None = None


class Cat(DynamoDBBaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(DynamoDBBaseModel):
    kind: Literal["dog"] = "dog"
    good: bool = True


Pet = Annotated[Cat | Dog, Field(discriminator="kind")]

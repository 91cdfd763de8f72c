"""Models the integration tests store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel

from lvrgd_common import DynamoDBBaseModel


class Color(Enum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    street: str
    city: str | None = None


class Everything(DynamoDBBaseModel):
    """One field of each type in API.md's mapping table."""

    text: str
    number: int
    flag: bool
    ratio: float
    amount: Decimal
    nothing: str | None = None
    values: list[Any]
    pair: tuple[int, str]
    mapping: dict[str, Any]
    address: Address
    tags: set[str]
    scores: set[int]
    empty_tags: set[str] = set()
    blob: bytes
    moment: dt.datetime
    day: dt.date
    color: Color
    ident: UUID


class Entry(DynamoDBBaseModel):
    """An item indexed by the session table's GSI (gsi1pk/gsi1sk) and LSI (lsi1sk)."""

    title: str = ""
    gsi1pk: str | None = None
    gsi1sk: str | None = None
    lsi1sk: str | None = None
    payload: str = ""


class Profile(DynamoDBBaseModel):
    name: str
    status: str = "new"
    count: int = 0
    nickname: str | None = None


def everything(pk: str) -> Everything:
    return Everything(
        pk=pk,
        sk="all-types",
        text="héllo wörld",
        number=-123456789012345,
        flag=True,
        ratio=0.1,
        amount=Decimal("1234.5678"),
        values=[1, "two", 3.5, None, [True], {"k": "v"}],
        pair=(7, "seven"),
        mapping={"nested": {"deep": [1, 2, {"x": None}]}, "n": 0.25},
        address=Address(street="1 Main St"),
        tags={"a", "b"},
        scores={1, 2, 3},
        blob=b"\x00\x01\xfe\xff",
        moment=dt.datetime(2024, 2, 29, 12, 30, 45, 123456, tzinfo=dt.UTC),
        day=dt.date(2024, 2, 29),
        color=Color.GREEN,
        ident=uuid4(),
    )

"""The benchmark's item: 11 attributes, about 1 KB, in the forms each competitor takes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from lvrgd_common import DynamoDBBaseModel

QUERY_PK = "bench#partition"
_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
_TEXT = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. "
)


class BenchItem(DynamoDBBaseModel):
    """A customer record: pk, sk and nine attributes of the common kinds."""

    name: str
    email: str
    age: int
    balance: float
    active: bool
    tags: list[str]
    address: dict[str, str]
    created_at: dt.datetime
    description: str


def sort_key(index: int) -> str:
    """The sort key of item ``index`` in a partition."""
    return f"item#{index:06d}"


def make_item(pk: str, index: int) -> BenchItem:
    """Item ``index`` of partition ``pk``; about 1 KB once stored."""
    return BenchItem(
        pk=pk,
        sk=sort_key(index),
        name=f"Customer {index}",
        email=f"customer{index}@example.com",
        age=20 + index % 60,
        balance=round(index * 1.37, 2),
        active=index % 3 != 0,
        tags=["bench", f"group-{index % 10}", "vip" if index % 7 == 0 else "regular"],
        address={"street": f"{index} Main Street", "city": "Springfield", "zip": "12345"},
        created_at=_EPOCH + dt.timedelta(seconds=index),
        description=(_TEXT * 4)[: 700 + index % 50],
    )


def resource_item(item: BenchItem) -> dict[str, Any]:
    """The item as the aioboto3 resource Table takes it (numbers as Decimal)."""
    plain = item.model_dump(mode="json")
    plain["balance"] = Decimal(str(item.balance))
    return plain


def client_item(item: BenchItem) -> dict[str, Any]:
    """The item in DynamoDB's AttributeValue form, as the low-level client takes it."""
    return {
        "pk": {"S": item.pk},
        "sk": {"S": item.sk},
        "name": {"S": item.name},
        "email": {"S": item.email},
        "age": {"N": str(item.age)},
        "balance": {"N": repr(item.balance)},
        "active": {"BOOL": item.active},
        "tags": {"L": [{"S": tag} for tag in item.tags]},
        "address": {"M": {key: {"S": value} for key, value in item.address.items()}},
        "created_at": {"S": item.created_at.isoformat()},
        "description": {"S": item.description},
    }

"""Planning updates against a model class: names, aliases, types, versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel, Field

from lvrgd_common import (
    AddToSet,
    Append,
    DynamoDBBaseModel,
    EpochSeconds,
    Increment,
    VersionedModel,
)
from lvrgd_common.models.dynamodb_base_model import KEY_ATTRIBUTES
from lvrgd_common.services._dynamodb.codec import InvalidInputError
from lvrgd_common.services._dynamodb.updates import Change, plan_updates, version_change


class Address(BaseModel):
    city: str
    zip_code: str = Field(default="", alias="zipCode")


class Order(DynamoDBBaseModel):
    item_count: int = Field(default=0, alias="itemCount", ge=0)
    note: str | None = None
    lines: list[str] = []
    labels: set[str] = set()
    address: Address = Address(city="Paris")
    stats: dict[str, int] = {}
    expires_at: EpochSeconds | None = None


class Account(VersionedModel):
    balance: int = 0


def plan(updates: dict[Any, Any], model_class: type[BaseModel] | None = Order) -> list[Change]:
    return plan_updates(updates, KEY_ATTRIBUTES, model_class)


def test_fields_are_stored_under_their_aliases_also_in_nested_models() -> None:
    assert plan({"item_count": 3, ("address", "zip_code"): "75001"}) == [
        Change("set", ("itemCount",), {"N": "3"}),
        Change("set", ("address", "zipCode"), {"S": "75001"}),
    ]


def test_values_are_encoded_as_save_encodes_them() -> None:
    moment = dt.datetime(2030, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert plan({"expires_at": moment, "address": Address(city="Nice")}) == [
        Change("set", ("expires_at",), {"N": "1893456000"}),
        Change("set", ("address",), {"M": {"city": {"S": "Nice"}, "zipCode": {"S": ""}}}),
    ]
    assert plan({"labels": set(), "note": None}) == [
        Change("remove", ("labels",)),
        Change("remove", ("note",)),
    ]


def test_actions_are_checked_against_the_field() -> None:
    assert plan({"item_count": Increment(2), "lines": Append(["a"])}) == [
        # item_count is Field(ge=0): the count before may be anything >= -2 (or absent).
        Change("increment", ("itemCount",), {"N": "2"}, ((">=", {"N": "-2"}, True),)),
        Change("append", ("lines",), {"L": [{"S": "a"}]}),
    ]
    # A decrement is not refused for its sign: the stored count must be >= 1 for it.
    assert plan({"item_count": Increment(-1)}) == [
        Change("increment", ("itemCount",), {"N": "-1"}, ((">=", {"N": "1"}, False),)),
    ]
    assert plan({("stats", "views"): Increment(1)}) == [
        Change("increment", ("stats", "views"), {"N": "1"})
    ]


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ({"item_count": -1}, "greater than or equal to 0"),
        ({"item_count": "x"}, "itemCount"),
        ({"itemCount": 1}, "Order has no field 'itemCount'"),
        ({("address", "zipCode"): "1"}, "Address has no field 'zipCode'"),
        ({("lines", "first"): "a"}, "no attribute at 'lines.first'"),
        ({("labels", 0): "a"}, r"no attribute at 'labels\[0\]'"),
        ({"labels": Increment(1)}, "labels"),
        ({"lines": AddToSet({"a"})}, "lines"),
        ({"address": None}, "None would remove a value the field requires"),
        ({"sk": "x"}, "key attribute 'sk'"),
    ],
)
def test_what_the_model_would_not_take_is_refused(updates: dict[Any, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        plan(updates)


def test_a_versioned_update_advances_the_version_and_may_expect_one() -> None:
    assert version_change({"balance": 1}, Account) == (
        {"balance": 1},
        Change("increment", ("version",), {"N": "1"}),
        None,
    )
    assert version_change({"balance": 1, "version": 4}, Account) == (
        {"balance": 1},
        Change("set", ("version",), {"N": "5"}),
        4,
    )
    assert version_change({"balance": 1}, Order) == ({"balance": 1}, None, None)
    with pytest.raises(InvalidInputError, match="whole number"):
        version_change({"version": True}, Account)

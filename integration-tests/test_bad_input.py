"""Bad input against the real servers: a clear error naming the operation, nothing written.

Every case runs on a fresh service whose requests pass through a counting proxy, against a
table of this module's own, so two things are exact:

- "nothing was written": a scan of the whole table after the case equals the scan before;
- "rejected before sending": the proxy saw no request at all from the case (or only the
  ones named, e.g. the DescribeTable that learns the index names).
"""

from __future__ import annotations

import asyncio
import math
import urllib.request
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import aioboto3
import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import SecretStr

from faultproxy import FaultProxy
from helpers import scan_table, through
from lvrgd_common import (
    AddToSet,
    Append,
    AttributeCondition,
    DynamoDBBaseModel,
    DynamoDBBatchOperationError,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBTransactionError,
    DynamoDBValidationError,
    IfNotExists,
    Increment,
    LoggingService,
    RemoveFromSet,
    SortKeyCondition,
    TransactionWriteItem,
    VersionedModel,
)
from lvrgd_common.exceptions.dynamodb_exceptions import (
    DynamoDBDecodeError,
    DynamoDBItemNotFoundError,
    DynamoDBTableNotFoundError,
)
from lvrgd_common.testing import create_table, moto_server

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from contextlib import AbstractAsyncContextManager

MAX_ITEM_BYTES = 400 * 1024


class Note(DynamoDBBaseModel):
    text: str = ""
    gsi1pk: str | None = None
    gsi1sk: str | None = None


class Loose(DynamoDBBaseModel):
    """Holds any value in ``data``: the way to hand the service values it must refuse."""

    data: Any = None


class Counter(VersionedModel):
    hits: int = 0


class Strict(DynamoDBBaseModel):
    """Needs a field the seeded notes do not have."""

    quantity: int


@dataclass
class World:
    """What a case works with: its service, its own key prefix and the seeded data."""

    service: DynamoDBService
    settings: DynamoDBConfig
    pk: str
    seeded: str
    other: str
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One bad input: the call, and the error it must raise."""

    name: str
    operation: str
    call: Callable[[World], Awaitable[object]]
    error: type[DynamoDBServiceError]
    says: str
    code: str | None = None
    sends: tuple[str, ...] = ()
    needs: str | None = None
    then: Callable[[DynamoDBServiceError, World], None] | None = None

    @property
    def before_sending(self) -> bool:
        return not self.sends


def sized(pk: str, total: int) -> Loose:
    """An item of exactly ``total`` bytes by DynamoDB's count (names plus UTF-8 values)."""
    sk = "big"
    fixed = len("pk") + len(pk.encode()) + len("sk") + len(sk) + len("data")
    return Loose(pk=pk, sk=sk, data="x" * (total - fixed))


def over_bytes(prefix: str, limit: int) -> str:
    """``prefix`` padded with 'é' (2 UTF-8 bytes) to just over ``limit`` bytes."""
    padded = prefix + "é" * ((limit + 1 - len(prefix) + 1) // 2)
    assert len(padded.encode()) > limit >= len(padded)
    return padded


def between(value: str, value2: str | None) -> SortKeyCondition:
    # model_construct skips the model's own validator, so the service's check is what is tested.
    return SortKeyCondition.model_construct(operator="between", value=value, value2=value2)


def put(pk: str, sk: str, data: Any = "ok") -> TransactionWriteItem:
    return TransactionWriteItem(operation="put", item=Loose(pk=pk, sk=sk, data=data))


async def drain(items: AsyncIterator[object]) -> list[object]:
    """Run an iterator (``scan``) to its end, or its first error."""
    return [item async for item in items]


async def use_closed(world: World) -> None:
    await world.service.close()
    await world.service.save(Note(pk=world.pk, sk="a"))


async def use_unopened(world: World) -> None:
    await DynamoDBService(LoggingService(), world.settings).get_one(world.pk, "a", Note)


async def save_to_missing_table(world: World) -> None:
    missing = world.settings.model_copy(update={"table_name": "lvrgd-it-no-such-table"})
    async with DynamoDBService(LoggingService(), missing) as service:
        await service.save(Note(pk=world.pk, sk="a"))


async def batch_to_missing_table(world: World) -> None:
    missing = world.settings.model_copy(update={"table_name": "lvrgd-it-no-such-table"})
    items = [Note(pk=world.pk, sk=f"{index:02d}") for index in range(30)]
    async with DynamoDBService(LoggingService(), missing) as service:
        await service.batch_write(items)


def every_item_failed(error: DynamoDBServiceError, world: World) -> None:
    """Nothing silently dropped: the error names all 30 items, none done."""
    assert isinstance(error, DynamoDBBatchOperationError)
    assert error.failed_keys == [(world.pk, f"{index:02d}") for index in range(30)]
    assert error.successful_count == 0


class Numbered(DynamoDBBaseModel):
    """Declares a numeric sort key, which this module's table (strings) does not have."""

    sk: int  # type: ignore[assignment]


async def save_with_names(world: World, partition: str, sort: str | None) -> None:
    renamed = world.settings.model_copy(
        update={"partition_key_name": partition, "sort_key_name": sort}
    )
    async with DynamoDBService(LoggingService(), renamed) as service:
        await service.save(Note(pk=world.pk, sk="a"))


def reversed_numbers() -> SortKeyCondition:
    return SortKeyCondition.model_construct(operator="between", value=10, value2=9)


def mixed_between() -> SortKeyCondition:
    return SortKeyCondition.model_construct(operator="between", value=9, value2="10")


def names_the_schema(error: DynamoDBServiceError, _world: World) -> None:
    assert "the table's key schema is partition key 'pk' (S), sort key 'sk' (S)" in str(error)


CASES: list[Case] = [
    # --- conditions (boto3 condition objects) ---------------------------------------------
    Case(
        "save: a boto3 condition comparing with NaN",
        "save",
        lambda w: w.service.save(Note(pk=w.pk, sk="a"), conditions=Attr("n").lt(math.nan)),
        DynamoDBValidationError,
        "attribute 'n': nan cannot be stored",
    ),
    Case(
        "delete: conditions given as an expression string",
        "delete",
        lambda w: w.service.delete(w.seeded, "a", conditions="attribute_exists(pk)"),
        DynamoDBValidationError,
        "conditions must be a boto3 condition or a sequence of AttributeCondition",
    ),
    Case(
        "update: a condition that is neither kind",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"text": "x"}, conditions=[{"text": "a"}]),
        DynamoDBValidationError,
        "each condition must be an AttributeCondition or a boto3 condition",
    ),
    Case(
        "update: a boto3 condition on an empty attribute name",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"text": "x"}, conditions=Attr("").exists()),
        DynamoDBValidationError,
        "empty attribute",
    ),
    Case(
        "transact_write: a boto3 condition comparing with an empty set",
        "transact_write",
        lambda w: w.service.transact_write(
            [
                put(w.pk, "a"),
                TransactionWriteItem(
                    operation="delete", pk=w.seeded, sk="a", conditions=Attr("tags").eq(set())
                ),
            ]
        ),
        DynamoDBValidationError,
        "empty set",
    ),
    # --- update actions, model updates, versions -----------------------------------------
    Case(
        "update: Increment of a string",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"n": Increment("1")}),  # type: ignore[arg-type]
        DynamoDBValidationError,
        "Increment needs a number",
    ),
    Case(
        "update: AddToSet of an empty set",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"tags": AddToSet(set())}),
        DynamoDBValidationError,
        "empty set",
    ),
    Case(
        "update: RemoveFromSet of a set mixing strings and numbers",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"tags": RemoveFromSet({"a", 1})}),
        DynamoDBValidationError,
        "only strings, only numbers",
    ),
    Case(
        "update: Append of a string",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"log": Append("abc")}),  # type: ignore[arg-type]
        DynamoDBValidationError,
        "Append needs a list or tuple",
    ),
    Case(
        "update: an action on a key attribute",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"sk": IfNotExists("b")}),
        DynamoDBValidationError,
        "key attribute 'sk'",
    ),
    Case(
        "update: overlapping paths",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"address": {}, ("address", "city"): "x"}),
        DynamoDBValidationError,
        "overlap",
    ),
    Case(
        "update: a path with a negative list index",
        "update",
        lambda w: w.service.update(w.seeded, "a", {("tags", -1): "x"}),
        DynamoDBValidationError,
        "list index >= 0",
    ),
    Case(
        "update: model_class that is not a model",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"text": "x"}, model_class=dict),
        DynamoDBValidationError,
        "model_class must be a DynamoDBBaseModel subclass",
    ),
    Case(
        "update: a value of the wrong type for the model",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"quantity": "twelve"}, model_class=Strict),
        DynamoDBValidationError,
        "'quantity': not a valid value",
    ),
    Case(
        "update: a field the model does not have",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"colour": "red"}, model_class=Note),
        DynamoDBValidationError,
        "Note has no field 'colour'",
    ),
    Case(
        "update: None for a field the model requires",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"quantity": None}, model_class=Strict),
        DynamoDBValidationError,
        "None would remove a value the field requires",
    ),
    Case(
        "update: a versioned update expecting version 'two'",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"version": "two"}, model_class=Counter),
        DynamoDBValidationError,
        "whole number >= 0",
    ),
    Case(
        "save: a versioned item whose version is not a number",
        "save",
        lambda w: w.service.save(Counter.model_construct(pk=w.pk, sk="a", version="1")),  # type: ignore[arg-type]
        DynamoDBValidationError,
        "version must be a whole number",
    ),
    Case(
        "batch_write: a versioned item among plain ones",
        "batch_write",
        lambda w: w.service.batch_write([Note(pk=w.pk, sk="a"), Counter(pk=w.pk, sk="b")]),
        DynamoDBValidationError,
        "cannot check the version of Counter items",
    ),
    Case(
        "transact_write: a model update with a value of the wrong type",
        "transact_write",
        lambda w: w.service.transact_write(
            [
                put(w.pk, "a"),
                TransactionWriteItem(
                    operation="update",
                    pk=w.seeded,
                    sk="a",
                    updates={"quantity": Increment(0.5)},
                    model_class=Strict,
                ),
            ]
        ),
        DynamoDBValidationError,
        "'quantity': Increment needs a number field",
    ),
    # --- keys -----------------------------------------------------------------------------
    Case(
        "save: empty pk",
        "save",
        lambda w: w.service.save(Note.model_construct(pk="", sk="a", text="")),
        DynamoDBValidationError,
        "pk must be a non-empty string",
    ),
    Case(
        "save: empty sk",
        "save",
        lambda w: w.service.save(Note.model_construct(pk=w.pk, sk="", text="")),
        DynamoDBValidationError,
        "sk must be a non-empty string",
    ),
    Case(
        "get_one: empty pk",
        "get_one",
        lambda w: w.service.get_one("", "a", Note),
        DynamoDBValidationError,
        "pk must be a non-empty string",
    ),
    Case(
        "delete: empty sk",
        "delete",
        lambda w: w.service.delete(w.pk, ""),
        DynamoDBValidationError,
        "sk must be a non-empty string",
    ),
    Case(
        "save: pk of 2,049 bytes in 1,042 characters",
        "save",
        lambda w: w.service.save(Note(pk=over_bytes(w.pk, 2048), sk="a")),
        DynamoDBValidationError,
        "2048 bytes",
    ),
    Case(
        "save: sk of 1,026 bytes (342 chars)",
        "save",
        lambda w: w.service.save(Note(pk=w.pk, sk="€" * 342)),
        DynamoDBValidationError,
        "1024 bytes",
    ),
    Case(
        "get_one: sk of 1,025 bytes",
        "get_one",
        lambda w: w.service.get_one(w.pk, "x" * 1025, Note),
        DynamoDBValidationError,
        "1024 bytes",
    ),
    Case(
        "batch_get: a key that is not a (pk, sk) pair",
        "batch_get",
        lambda w: w.service.batch_get([(w.pk, "a"), (w.pk,)], Note),  # type: ignore[list-item]
        DynamoDBValidationError,
        "(pk, sk) tuples",
    ),
    Case(
        "get_one: a lone surrogate in pk",
        "get_one",
        lambda w: w.service.get_one(w.pk + "\ud800", "a", Note),
        DynamoDBValidationError,
        "lone surrogate",
    ),
    # --- values ---------------------------------------------------------------------------
    Case(
        "save: item of 400 KB + 1 byte",
        "save",
        lambda w: w.service.save(sized(w.pk, MAX_ITEM_BYTES + 1)),
        DynamoDBValidationError,
        f"{MAX_ITEM_BYTES + 1} bytes",
    ),
    Case(
        "batch_write: one item over 400 KB among 60",
        "batch_write",
        lambda w: w.service.batch_write(
            [Note(pk=w.pk, sk=f"{i:02d}") for i in range(59)] + [sized(w.pk, MAX_ITEM_BYTES + 1)]
        ),
        DynamoDBValidationError,
        "bytes",
    ),
    Case(
        "save: NaN",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data=math.nan)),
        DynamoDBValidationError,
        "nan",
    ),
    Case(
        "save: infinity",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data=math.inf)),
        DynamoDBValidationError,
        "inf",
    ),
    Case(
        "save: -infinity deep in a list",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data={"xs": [1, -math.inf]})),
        DynamoDBValidationError,
        "data.xs[1]",
    ),
    Case(
        "save: Decimal('NaN')",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data=Decimal("NaN"))),
        DynamoDBValidationError,
        "NaN",
    ),
    Case(
        "save: 39 significant digits",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data=Decimal("1." + "1" * 38))),
        DynamoDBValidationError,
        "38 significant digits",
    ),
    Case(
        "save: 1E+126, beyond DynamoDB's range",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data=Decimal("1E+126"))),
        DynamoDBValidationError,
        "range",
    ),
    Case(
        "save: a set mixing strings and numbers",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data={"a", 1})),
        DynamoDBValidationError,
        "only strings, only numbers",
    ),
    Case(
        "save: a number set holding 0.1 twice (float and Decimal)",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data={0.1, Decimal("0.1")})),
        DynamoDBValidationError,
        "more than once",
    ),
    Case(
        "save: a lone surrogate in a top-level string attribute",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data="x\ud800")),
        DynamoDBValidationError,
        "lone surrogate",
    ),
    Case(
        "save: a lone surrogate in a string value",
        "save",
        lambda w: w.service.save(Loose(pk=w.pk, sk="a", data=["ok", "x\udfff"])),
        DynamoDBValidationError,
        "lone surrogate",
    ),
    # --- updates --------------------------------------------------------------------------
    Case(
        "update: empty updates",
        "update",
        lambda w: w.service.update(w.seeded, "a", {}),
        DynamoDBValidationError,
        "non-empty",
    ),
    Case(
        "update: pk among the updates",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"pk": "moved"}),
        DynamoDBValidationError,
        "key attribute 'pk'",
    ),
    Case(
        "update: sk among the updates",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"text": "t", "sk": "moved"}),
        DynamoDBValidationError,
        "key attribute 'sk'",
    ),
    Case(
        "update: NaN value",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"text": math.nan}),
        DynamoDBValidationError,
        "nan",
    ),
    Case(
        "update: empty attribute name",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"": 1}),
        DynamoDBValidationError,
        "non-empty strings",
    ),
    Case(
        "update: a lone surrogate in an attribute name",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"text\udc00": 1}),
        DynamoDBValidationError,
        "lone surrogate",
    ),
    Case(
        "update: an absent item",
        "update",
        lambda w: w.service.update(w.pk, "absent", {"text": "t"}),
        DynamoDBItemNotFoundError,
        "does not exist",
        code="ConditionalCheckFailedException",
        # The failed update is followed by a consistent read that tells an absent item
        # from a versioned one (which a plain update is refused on).
        sends=("UpdateItem", "GetItem"),
    ),
    Case(
        "update: a value that takes the stored item over 400 KB",
        "update",
        lambda w: w.service.update(w.seeded, "a", {"text": "x" * (MAX_ITEM_BYTES - 10)}),
        DynamoDBValidationError,
        "Item size",
        code="ValidationException",
        sends=("UpdateItem",),
    ),
    Case(
        "save: a condition that does not hold",
        "save",
        lambda w: w.service.save(
            Note(pk=w.seeded, sk="a", text="overwritten"),
            conditions=[AttributeCondition(attribute="pk", operator="not_exists")],
        ),
        DynamoDBConditionalCheckError,
        "condition",
        code="ConditionalCheckFailedException",
        sends=("PutItem",),
    ),
    # --- queries --------------------------------------------------------------------------
    Case(
        "query_by_pk: unknown index",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, index_name="nope"),
        DynamoDBValidationError,
        "the table's indexes: gsi1, lsi1",
        sends=("DescribeTable",),
    ),
    Case(
        "query_by_pk: empty pk",
        "query_by_pk",
        lambda w: w.service.query_by_pk("", Note),
        DynamoDBValidationError,
        "non-empty",
    ),
    Case(
        "query_by_pk: limit 0",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, limit=0),
        DynamoDBValidationError,
        "positive integer",
    ),
    Case(
        "query_by_pk: limit True",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, limit=True),
        DynamoDBValidationError,
        "positive integer",
    ),
    Case(
        "query_by_pk: model_class not a model",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, dict),
        DynamoDBValidationError,
        "DynamoDBBaseModel subclass",
    ),
    Case(
        "query_by_pk: malformed cursor (no sk)",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, 1, {"pk": w.seeded}),
        DynamoDBValidationError,
        "exactly the keys pk, sk",
    ),
    Case(
        "query_by_pk: cursor value of the wrong type",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, 1, {"pk": w.seeded, "sk": ["a"]}),
        DynamoDBValidationError,
        "string or an integer",
    ),
    Case(
        "query_by_pk: foreign cursor (another partition)",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, 1, w.cursors["other"]),
        DynamoDBValidationError,
        "another partition",
    ),
    Case(
        "query_by_pk: foreign cursor (a GSI page's)",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, 1, w.cursors["gsi"]),
        DynamoDBValidationError,
        "exactly the keys pk, sk",
    ),
    Case(
        "query_by_pk_and_sk: cursor outside the condition",
        "query_by_pk_and_sk",
        lambda w: w.service.query_by_pk_and_sk(
            w.seeded,
            SortKeyCondition(operator="begins_with", value="c"),
            Note,
            1,
            w.cursors["seeded"],
        ),
        DynamoDBValidationError,
        "outside this query's sort key condition",
    ),
    Case(
        "query_by_pk_and_sk: between with value2 < value",
        "query_by_pk_and_sk",
        lambda w: w.service.query_by_pk_and_sk(w.seeded, between("c", "a"), Note),
        DynamoDBValidationError,
        "value <= value2",
    ),
    Case(
        "query_by_pk_and_sk: between without value2",
        "query_by_pk_and_sk",
        lambda w: w.service.query_by_pk_and_sk(w.seeded, between("a", None), Note),
        DynamoDBValidationError,
        "needs value2",
    ),
    Case(
        "query_by_pk_and_sk: a dict instead of a SortKeyCondition",
        "query_by_pk_and_sk",
        lambda w: w.service.query_by_pk_and_sk(  # type: ignore[call-overload]
            w.seeded,
            {"operator": "eq", "value": "a"},
            Note,
        ),
        DynamoDBValidationError,
        "must be a SortKeyCondition",
    ),
    Case(
        "query_by_pk: consistent read on a GSI",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, index_name="gsi1", consistent_read=True),
        DynamoDBValidationError,
        "global secondary index",
        sends=("DescribeTable",),
    ),
    # --- transactions ---------------------------------------------------------------------
    Case(
        "transact_write: 101 operations",
        "transact_write",
        lambda w: w.service.transact_write([put(w.pk, f"{i:03d}") for i in range(101)]),
        DynamoDBValidationError,
        "at most 100",
    ),
    Case(
        "transact_write: the same item twice",
        "transact_write",
        lambda w: w.service.transact_write(
            [
                put(w.pk, "a"),
                TransactionWriteItem(operation="delete", pk=w.pk, sk="a"),
            ]
        ),
        DynamoDBValidationError,
        "more than once",
    ),
    Case(
        "transact_write: a NaN item after valid puts",
        "transact_write",
        lambda w: w.service.transact_write([put(w.pk, "a"), put(w.pk, "b", math.nan)]),
        DynamoDBValidationError,
        "nan",
    ),
    Case(
        "transact_write: client_request_token of 37 characters",
        "transact_write",
        lambda w: w.service.transact_write([put(w.pk, "a")], client_request_token="t" * 37),
        DynamoDBValidationError,
        "client_request_token",
    ),
    Case(
        "transact_get: 101 keys",
        "transact_get",
        lambda w: w.service.transact_get([(w.pk, f"{i:03d}") for i in range(101)], Note),
        DynamoDBValidationError,
        "at most 100",
    ),
    Case(
        "transact_get: the same key twice",
        "transact_get",
        lambda w: w.service.transact_get([(w.pk, "a"), (w.pk, "a")], Note),
        DynamoDBValidationError,
        "more than once",
    ),
    Case(
        "transact_write: update of an absent item",
        "transact_write",
        lambda w: w.service.transact_write(
            [
                put(w.pk, "a"),
                TransactionWriteItem(operation="update", pk=w.pk, sk="absent", updates={"x": 1}),
            ]
        ),
        DynamoDBTransactionError,
        "operation #1 of 2 (pk=",  # and its sk, then ConditionalCheckFailed
        code="TransactionCanceledException",
        sends=("TransactWriteItems",),
        needs="transactions",
    ),
    # --- cursor tokens --------------------------------------------------------------------
    Case(
        "query_by_pk: cursor not a token",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, limit=1, cursor="not-a-cursor!"),
        DynamoDBValidationError,
        "it does not decode",
    ),
    Case(
        "query_by_pk: cursor a dict",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, cursor=w.cursors["seeded"]),  # type: ignore[call-overload]
        DynamoDBValidationError,
        "cursor must be a token from next_cursor",
    ),
    Case(
        "query_by_pk_and_sk: cursor and last_evaluated_key together",
        "query_by_pk_and_sk",
        lambda w: w.service.query_by_pk_and_sk(
            w.seeded,
            SortKeyCondition(operator="ge", value="a"),
            Note,
            1,
            w.cursors["seeded"],
            cursor="eyJrIjp7fSwicSI6IiJ9",
        ),
        DynamoDBValidationError,
        "give cursor or last_evaluated_key, not both",
    ),
    # --- filters --------------------------------------------------------------------------
    Case(
        "query_by_pk: filter on the sort key",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, filter_condition=Attr("sk").eq("a")),
        DynamoDBValidationError,
        "cannot name the key attribute(s) ['sk']",
    ),
    Case(
        "query_by_pk_and_sk: filter on the partition key inside an or",
        "query_by_pk_and_sk",
        lambda w: w.service.query_by_pk_and_sk(
            w.seeded,
            SortKeyCondition(operator="ge", value="a"),
            Note,
            filter_condition=Attr("text").eq("a") | Attr("pk").exists(),
        ),
        DynamoDBValidationError,
        "cannot name the key attribute(s) ['pk']",
    ),
    Case(
        "query_by_pk: filter on the index's sort key",
        "query_by_pk",
        lambda w: w.service.query_by_pk(
            "seeded-g", Note, index_name="gsi1", filter_condition=Attr("gsi1sk.x").gt("a")
        ),
        DynamoDBValidationError,
        "cannot name the key attribute(s) ['gsi1sk']",
        sends=("DescribeTable",),
    ),
    Case(
        "count: filter_condition a dict",
        "count",
        lambda w: w.service.count(w.seeded, filter_condition={"text": "a"}),
        DynamoDBValidationError,
        "filter_condition must be a boto3 condition",
    ),
    Case(
        "iter_query: filter value an empty set",
        "iter_query",
        lambda w: drain(w.service.iter_query(w.seeded, Note, filter_condition=Attr("t").eq(set()))),
        DynamoDBValidationError,
        "an empty set cannot be compared",
    ),
    # --- scans ----------------------------------------------------------------------------
    Case(
        "scan: model_class not a model",
        "scan",
        lambda w: drain(w.service.scan(dict)),
        DynamoDBValidationError,
        "DynamoDBBaseModel subclass or a union of them",
    ),
    Case(
        "scan: a union with a member that is not a model",
        "scan",
        lambda w: drain(w.service.scan(Note | int)),
        DynamoDBValidationError,
        "DynamoDBBaseModel subclass or a union of them",
    ),
    Case(
        "scan: segments 0",
        "scan",
        lambda w: drain(w.service.scan(Note, segments=0)),
        DynamoDBValidationError,
        "segments must be an integer from 1 to 1000000",
    ),
    Case(
        "scan: segments True",
        "scan",
        lambda w: drain(w.service.scan(Note, segments=True)),
        DynamoDBValidationError,
        "segments must be an integer",
    ),
    Case(
        "scan: segment without total_segments",
        "scan",
        lambda w: drain(w.service.scan(Note, segment=0)),
        DynamoDBValidationError,
        "segment and total_segments go together",
    ),
    Case(
        "scan: segment 3 of 3",
        "scan",
        lambda w: drain(w.service.scan(Note, segment=3, total_segments=3)),
        DynamoDBValidationError,
        "segment must be an integer from 0 to 2",
    ),
    Case(
        "scan: segments and segment together",
        "scan",
        lambda w: drain(w.service.scan(Note, segments=4, segment=0, total_segments=4)),
        DynamoDBValidationError,
        "not both",
    ),
    Case(
        "scan: page_size 0",
        "scan",
        lambda w: drain(w.service.scan(Note, page_size=0)),
        DynamoDBValidationError,
        "page_size must be None or a positive integer",
    ),
    Case(
        "scan: filter_condition a string",
        "scan",
        lambda w: drain(w.service.scan(Note, filter_condition="text = :v")),
        DynamoDBValidationError,
        "filter_condition must be a boto3 condition",
    ),
    Case(
        "scan: filter value NaN",
        "scan",
        lambda w: drain(w.service.scan(Note, filter_condition=Attr("text").eq(math.nan))),
        DynamoDBValidationError,
        "attribute 'text': nan cannot be stored",
    ),
    Case(
        "scan: filter path with an empty step",
        "scan",
        lambda w: drain(w.service.scan(Note, filter_condition=Attr("a..b").exists())),
        DynamoDBValidationError,
        "empty step",
    ),
    Case(
        "scan: unknown index",
        "scan",
        lambda w: drain(w.service.scan(Note, index_name="nope")),
        DynamoDBValidationError,
        "the table's indexes: gsi1, lsi1",
        sends=("DescribeTable",),
    ),
    Case(
        "scan: consistent read on a GSI",
        "scan",
        lambda w: drain(w.service.scan(Note, index_name="gsi1", consistent_read=True)),
        DynamoDBValidationError,
        "global secondary index",
        sends=("DescribeTable",),
    ),
    # --- stored data, lifecycle, table ----------------------------------------------------
    Case(
        "get_one: stored item does not fit the model class",
        "get_one",
        lambda w: w.service.get_one(w.seeded, "a", Strict),
        DynamoDBDecodeError,
        "quantity",
        sends=("GetItem",),
    ),
    Case(
        "query_by_pk: stored items do not fit the model class",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Strict),
        DynamoDBDecodeError,
        "quantity",
        sends=("Query",),
    ),
    Case(
        "save: on a closed service",
        "save",
        use_closed,
        DynamoDBServiceError,
        "the service is closed",
    ),
    Case(
        "get_one: on a service never opened",
        "get_one",
        use_unopened,
        DynamoDBServiceError,
        "not open",
    ),
    Case(
        "save: to a missing table",
        "save",
        save_to_missing_table,
        DynamoDBTableNotFoundError,
        "not found",
        code="ResourceNotFoundException",
        sends=("PutItem",),
    ),
    Case(
        "batch_write: to a missing table",
        "batch_write",
        batch_to_missing_table,
        DynamoDBBatchOperationError,
        "30 not done, 0 done",
        code="ResourceNotFoundException",
        sends=("BatchWriteItem",),
        then=every_item_failed,
    ),
    # --- key schema: names and types ----------------------------------------------------
    Case(
        "get_one: a numeric sort key on a table of string keys",
        "get_one",
        lambda w: w.service.get_one(w.seeded, 1, Note),
        DynamoDBValidationError,
        "sk must be a string",
        sends=("DescribeTable",),
        then=names_the_schema,
    ),
    Case(
        "save: a model whose sort key type contradicts the table",
        "save",
        lambda w: w.service.save(Numbered(pk=w.pk, sk=1)),
        DynamoDBValidationError,
        "sk must be a string",
        sends=("DescribeTable",),
        then=names_the_schema,
    ),
    Case(
        "get_one: no sort key on a table that has one",
        "get_one",
        lambda w: w.service.get_one(w.seeded, None, Note),
        DynamoDBValidationError,
        "sk is required",
    ),
    Case(
        "batch_get: a binary partition key on a table of string keys",
        "batch_get",
        lambda w: w.service.batch_get([(w.seeded, "a"), (b"seeded", "a")], Note),
        DynamoDBValidationError,
        "pk must be a string",
        sends=("DescribeTable",),
        then=names_the_schema,
    ),
    Case(
        "batch_delete: a Decimal sort key on a table of string keys",
        "batch_delete",
        lambda w: w.service.batch_delete([(w.seeded, Decimal(1))]),
        DynamoDBValidationError,
        "sk must be a string",
        sends=("DescribeTable",),
        then=names_the_schema,
    ),
    Case(
        "transact_write: a numeric key on a table of string keys",
        "transact_write",
        lambda w: w.service.transact_write(
            [TransactionWriteItem(operation="delete", pk=w.seeded, sk=1)]
        ),
        DynamoDBValidationError,
        "sk must be a string",
        sends=("DescribeTable",),
        then=names_the_schema,
    ),
    Case(
        "save: key names the table does not have",
        "save",
        lambda w: save_with_names(w, "PK", "SK"),
        DynamoDBValidationError,
        "set DynamoDBConfig.partition_key_name and sort_key_name",
        sends=("DescribeTable",),
        then=names_the_schema,
    ),
    Case(
        "save: no sort key configured for a table that has one",
        "save",
        lambda w: save_with_names(w, "pk", None),
        DynamoDBValidationError,
        "'pk' (no sort key)",
        sends=("DescribeTable",),
        then=names_the_schema,
    ),
    Case(
        "query_by_pk_and_sk: numbers in between reversed",
        "query_by_pk_and_sk",
        lambda w: w.service.query_by_pk_and_sk(w.seeded, reversed_numbers(), Note),
        DynamoDBValidationError,
        "value <= value2, got 10 > 9",
    ),
    Case(
        "query_by_pk_and_sk: between a number and a string",
        "query_by_pk_and_sk",
        lambda w: w.service.query_by_pk_and_sk(w.seeded, mixed_between(), Note),
        DynamoDBValidationError,
        "of one type",
    ),
    Case(
        "query_by_pk_and_sk: a binary condition on a string sort key",
        "query_by_pk_and_sk",
        lambda w: w.service.query_by_pk_and_sk(
            w.seeded, SortKeyCondition(operator="begins_with", value=b"a"), Note
        ),
        DynamoDBValidationError,
        "the table's key schema is partition key 'pk' (S), sort key 'sk' (S)",
        sends=("DescribeTable",),
    ),
    Case(
        "query_by_pk: a numeric cursor value for a string key",
        "query_by_pk",
        lambda w: w.service.query_by_pk(w.seeded, Note, 1, {"pk": w.seeded, "sk": 5}),
        DynamoDBValidationError,
        "last_evaluated_key['sk'] must be a string",
        sends=("DescribeTable",),
    ),
    Case(
        "count: a numeric partition key on a table of string keys",
        "count",
        lambda w: w.service.count(5),
        DynamoDBValidationError,
        "pk must be a string",
        sends=("DescribeTable",),
        then=names_the_schema,
    ),
]


def test_the_table_has_at_least_25_cases() -> None:
    assert len(CASES) >= 25
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.fixture(scope="module")
async def table(
    own_table: Callable[[], AbstractAsyncContextManager[DynamoDBConfig]],
) -> AsyncIterator[DynamoDBConfig]:
    async with own_table() as settings:
        yield settings


@pytest.fixture(scope="module")
async def seeded(table: DynamoDBConfig) -> dict[str, Any]:
    """Two partitions of notes, and real cursors taken from pages of each."""
    async with DynamoDBService(LoggingService(), table) as service:
        notes = [
            Note(pk=partition, sk=sk, text=sk, gsi1pk=f"{partition}-g", gsi1sk=sk)
            for partition in ("seeded", "other")
            for sk in ("a", "b", "c")
        ]
        await service.batch_write(notes)
        first = await service.query_by_pk("seeded", Note, limit=2)
        other = await service.query_by_pk("other", Note, limit=1)
        gsi = await service.query_by_pk("seeded-g", Note, limit=1, index_name="gsi1")
    assert first.last_evaluated_key is not None
    assert other.last_evaluated_key is not None
    assert gsi.last_evaluated_key is not None
    return {
        "seeded": first.last_evaluated_key,
        "other": other.last_evaluated_key,
        "gsi": gsi.last_evaluated_key,
    }


@pytest.fixture(scope="module")
async def counting_proxy(endpoint_url: str | None) -> AsyncIterator[FaultProxy]:
    if endpoint_url is None or not endpoint_url.startswith("http://127.0.0.1:"):
        pytest.skip(f"the counting proxy only fronts a loopback server, not {endpoint_url!r}")
    async with FaultProxy(endpoint_url) as started:
        yield started


def _marks(case: Case) -> list[pytest.MarkDecorator]:
    return [pytest.mark.needs(case.needs)] if case.needs else []


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=case.name, marks=_marks(case)) for case in CASES]
)
async def test_bad_input_is_refused_and_nothing_is_written(
    case: Case,
    table: DynamoDBConfig,
    seeded: dict[str, Any],
    counting_proxy: FaultProxy,
    pk: str,
) -> None:
    settings = through(table, counting_proxy)
    before = await scan_table(table)
    seen = len(counting_proxy.exchanges)
    async with DynamoDBService(LoggingService(), settings) as service:
        world = World(service, settings, pk, "seeded", "other", cursors=seeded)
        with pytest.raises(case.error) as caught:
            await case.call(world)
    error = caught.value
    assert error.operation == case.operation
    assert error.error_code == case.code
    assert case.says in str(error)
    if case.then is not None:
        case.then(error, world)
    sent = [exchange.target for exchange in counting_proxy.exchanges[seen:]]
    assert set(sent) == set(case.sends), f"requests that reached the server: {sent}"
    assert await scan_table(table) == before


async def test_a_decode_error_names_the_stored_key(
    table: DynamoDBConfig, seeded: dict[str, Any]
) -> None:
    assert seeded
    async with DynamoDBService(LoggingService(), table) as service:
        with pytest.raises(DynamoDBDecodeError) as caught:
            await service.get_one("seeded", "b", Strict)
    assert (caught.value.pk, caught.value.sk) == ("seeded", "b")
    assert "pk='seeded' sk='b'" in str(caught.value)
    assert "Strict" in str(caught.value)


class Weighed(DynamoDBBaseModel):
    numbers: list[Decimal] = []
    pad: str = ""


def weighed(pk: str, total: int, count: int) -> Weighed:
    """An item of exactly ``total`` bytes, ``count`` of them numbers -1.5 in a list.

    By DynamoDB's count: -1.5 takes 4 bytes (two base-100 pairs, exponent, sign), each list
    element one more, the list 3; names and strings their UTF-8 length.
    """
    sk = "big"
    fixed = len("pk") + len(pk) + len("sk") + len(sk) + len("numbers") + 3 + len("pad")
    pad = total - fixed - 5 * count
    return Weighed(pk=pk, sk=sk, numbers=[Decimal("-1.5")] * count, pad="x" * pad)


SHAPES: dict[str, Callable[[str, int], DynamoDBBaseModel]] = {
    "text": sized,
    "numbers": lambda pk, total: weighed(pk, total, 20_000),
}


@pytest.mark.needs("exact_item_size_limit")
@pytest.mark.parametrize("shape", list(SHAPES))
async def test_items_of_exactly_400_kb_are_stored(
    table: DynamoDBConfig, pk: str, shape: str
) -> None:
    """The library's size count is not stricter than the server's at the boundary."""
    item = SHAPES[shape](pk, MAX_ITEM_BYTES)
    async with DynamoDBService(LoggingService(), table) as service:
        await service.save(item)
        assert await service.get_one(pk, item.sk, type(item)) == item


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_one_byte_more_is_refused_before_sending(
    table: DynamoDBConfig, counting_proxy: FaultProxy, pk: str, shape: str
) -> None:
    """Nor more lenient: the server would refuse it, so the library does without asking."""
    item = SHAPES[shape](pk, MAX_ITEM_BYTES + 1)
    seen = len(counting_proxy.exchanges)
    async with DynamoDBService(LoggingService(), through(table, counting_proxy)) as service:
        with pytest.raises(DynamoDBValidationError, match=f"is {MAX_ITEM_BYTES + 1} bytes"):
            await service.save(item)
    assert counting_proxy.exchanges[seen:] == []


# --- credentials ------------------------------------------------------------------------

ALLOW_DYNAMODB = (
    '{"Version": "2012-10-17", "Statement": '
    '[{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}'
)


async def _enable_moto_authentication(endpoint: str) -> None:
    """From now on the moto server checks every request's key, signature and policy."""
    request = urllib.request.Request(  # noqa: S310 - a loopback server of the test's own
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    await asyncio.to_thread(lambda: urllib.request.urlopen(request, timeout=10).read())  # noqa: S310


@pytest.mark.needs("credential_checks")
async def test_wrong_credentials_are_refused_where_the_server_checks_them(
    base_config: DynamoDBConfig, pk: str
) -> None:
    """On a moto server of the test's own with IAM authentication on.

    The session's servers accept any key: moto until authentication is switched on,
    dynalite always.
    """
    server = moto_server()
    await asyncio.to_thread(server.start)
    try:
        anyone = base_config.model_copy(update={"endpoint_url": server.endpoint_url})
        session = aioboto3.Session(
            aws_access_key_id="setup", aws_secret_access_key="setup", region_name=anyone.region
        )
        async with session.client("iam", endpoint_url=server.endpoint_url) as iam:
            await iam.create_user(UserName="lvrgd-it")
            key = (await iam.create_access_key(UserName="lvrgd-it"))["AccessKey"]
            await iam.put_user_policy(
                UserName="lvrgd-it", PolicyName="dynamodb", PolicyDocument=ALLOW_DYNAMODB
            )
        good = anyone.model_copy(
            update={
                "aws_access_key_id": key["AccessKeyId"],
                "aws_secret_access_key": SecretStr(key["SecretAccessKey"]),
            }
        )
        await create_table(good)
        await _enable_moto_authentication(server.endpoint_url)
        wrong = f"wrong-{uuid.uuid4().hex}"
        wrong_secret = good.model_copy(update={"aws_secret_access_key": SecretStr(wrong)})
        unknown_key = good.model_copy(update={"aws_access_key_id": "AKIAUNKNOWNKEY000000"})
        for settings, says in (
            (wrong_secret, "signature we calculated does not match"),
            (unknown_key, "security token included in the request is invalid"),
        ):
            async with DynamoDBService(LoggingService(), settings) as service:
                with pytest.raises(DynamoDBServiceError, match=says) as caught:
                    await service.save(Note(pk=pk, sk="a"))
            assert caught.value.operation == "save"
            assert (
                caught.value.error_code == "403"
            )  # moto answers in XML; botocore keeps the status
            assert "wrong" not in str(caught.value)
        async with DynamoDBService(LoggingService(), good) as service:
            assert await service.get_one(pk, "a", Note) is None  # nothing was written
            await service.save(Note(pk=pk, sk="b"))  # and the right key is accepted
            assert await service.get_one(pk, "b", Note) == Note(pk=pk, sk="b")
    finally:
        await asyncio.to_thread(server.stop)


TRUST_ANYONE = (
    '{"Version": "2012-10-17", "Statement": '
    '[{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}'
)


@pytest.mark.needs("credential_checks")
async def test_temporary_credentials_are_signed_with_their_session_token(
    base_config: DynamoDBConfig, pk: str
) -> None:
    """A role's temporary key signs with its token; a wrong token is refused."""
    server = moto_server()
    await asyncio.to_thread(server.start)
    try:
        anyone = base_config.model_copy(update={"endpoint_url": server.endpoint_url})
        session = aioboto3.Session(
            aws_access_key_id="setup", aws_secret_access_key="setup", region_name=anyone.region
        )
        async with session.client("iam", endpoint_url=server.endpoint_url) as iam:
            await iam.create_role(RoleName="lvrgd-it", AssumeRolePolicyDocument=TRUST_ANYONE)
            await iam.put_role_policy(
                RoleName="lvrgd-it", PolicyName="dynamodb", PolicyDocument=ALLOW_DYNAMODB
            )
        async with session.client("sts", endpoint_url=server.endpoint_url) as sts:
            assumed = await sts.assume_role(
                RoleArn="arn:aws:iam::123456789012:role/lvrgd-it", RoleSessionName="lvrgd-it"
            )
        temporary = assumed["Credentials"]
        role = anyone.model_copy(
            update={
                "aws_access_key_id": temporary["AccessKeyId"],
                "aws_secret_access_key": SecretStr(temporary["SecretAccessKey"]),
                "aws_session_token": SecretStr(temporary["SessionToken"]),
            }
        )
        await create_table(anyone)
        await _enable_moto_authentication(server.endpoint_url)
        async with DynamoDBService(LoggingService(), role) as service:
            await service.save(Note(pk=pk, sk="a"))
            assert await service.get_one(pk, "a", Note) == Note(pk=pk, sk="a")
        wrong = role.model_copy(update={"aws_session_token": SecretStr("FwoGZXIvYXdzEWRONG")})
        async with DynamoDBService(LoggingService(), wrong) as service:
            with pytest.raises(DynamoDBServiceError, match="security token") as caught:
                await service.save(Note(pk=pk, sk="b"))
        assert caught.value.error_code == "403"
    finally:
        await asyncio.to_thread(server.stop)


async def test_no_credentials_anywhere_is_refused_before_sending(
    config: DynamoDBConfig, counting_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, pk: str
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookups
    fields = through(config, counting_proxy).model_dump()
    fields.update(aws_access_key_id=None, aws_secret_access_key=None)
    settings = DynamoDBConfig.model_validate(fields)
    seen = len(counting_proxy.exchanges)
    async with DynamoDBService(LoggingService(), settings) as service:
        with pytest.raises(DynamoDBServiceError, match="credentials") as caught:
            await service.save(Note(pk=pk, sk="a"))
    assert caught.value.operation == "save"
    assert counting_proxy.exchanges[seen:] == []

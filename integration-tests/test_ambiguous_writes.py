"""Writes whose answer is lost after the server applied them: nothing applied twice untold.

The fault proxy forwards a write, lets the server apply it, then drops the answer (or
answers a 500 in its place). The service must then:

- not retry an `Increment` (applied once, reported `DynamoDBAmbiguousWriteError`);
- retry an idempotent update, which then reads back right;
- report a create-only save or a versioned save whose retry meets its own first attempt as
  ambiguous, never as a conflict;
- send one `ClientRequestToken` on every attempt of a transaction.

Both request paths: run with ``--fast-path on`` and ``off``.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

import pytest

from faultproxy import Exchange, FaultProxy, Forward, Hang, Reply, dynamodb_error
from helpers import through
from lvrgd_common import (
    AttributeCondition,
    DynamoDBAmbiguousWriteError,
    DynamoDBBaseModel,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBUnavailableError,
    Increment,
    LoggingService,
    TransactionWriteItem,
    VersionedModel,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from faultproxy import Action


class Counter(DynamoDBBaseModel):
    n: int = 0
    text: str = "start"


class Document(VersionedModel):
    body: str


LOST = Forward(deliver=False)
SERVER_ERROR = Forward(instead=Reply(500, dynamodb_error("InternalServerError", "lost")))


def first_answer_lost(target: str, fault: Forward = LOST) -> Callable[[Exchange], Action]:
    """The first request of ``target`` is applied and its answer lost; the rest pass."""
    seen = 0

    def rule(exchange: Exchange) -> Action:
        nonlocal seen
        if exchange.target != target:
            return Forward()
        seen += 1
        return fault if seen == 1 else Forward()

    return rule


async def stored(config: DynamoDBConfig, pk: str, sk: str) -> Counter | None:
    async with DynamoDBService(LoggingService(), config) as direct:
        return await direct.get_one(pk, sk, Counter)


@pytest.mark.parametrize("fault", [LOST, SERVER_ERROR], ids=["dropped", "500"])
async def test_an_increment_whose_answer_is_lost_is_applied_once_and_reported_ambiguous(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str, fault: Forward
) -> None:
    async with DynamoDBService(LoggingService(), config) as direct:
        await direct.save(Counter(pk=pk, sk="c"))
    proxy.rule = first_answer_lost("UpdateItem", fault)
    async with DynamoDBService(LoggingService(), through(config, proxy)) as service:
        with pytest.raises(DynamoDBAmbiguousWriteError) as caught:
            await service.update(pk, "c", {"n": Increment(5)})
    assert "may or may not have been applied" in str(caught.value)
    assert len(proxy.of("UpdateItem")) == 1  # not retried
    assert proxy.of("UpdateItem")[0].in_doubt
    after = await stored(config, pk, "c")
    assert after is not None
    assert after.n == 5  # applied exactly once


async def test_an_idempotent_update_whose_answer_is_lost_is_retried_and_correct(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    async with DynamoDBService(LoggingService(), config) as direct:
        await direct.save(Counter(pk=pk, sk="c", n=3))
    proxy.rule = first_answer_lost("UpdateItem")
    async with DynamoDBService(LoggingService(), through(config, proxy)) as service:
        updated = await service.update(pk, "c", {"text": "set twice"}, model_class=Counter)
    assert updated.text == "set twice"
    assert [exchange.outcome for exchange in proxy.of("UpdateItem")] == ["dropped", "answered"]
    after = await stored(config, pk, "c")
    assert after == Counter(pk=pk, sk="c", n=3, text="set twice")


async def test_a_create_only_save_whose_answer_is_lost_is_ambiguous_not_a_conflict(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    proxy.rule = first_answer_lost("PutItem")
    create_only = [AttributeCondition(attribute="pk", operator="not_exists")]
    async with DynamoDBService(LoggingService(), through(config, proxy)) as service:
        with pytest.raises(DynamoDBAmbiguousWriteError) as caught:
            await service.save(Counter(pk=pk, sk="new", n=1), conditions=create_only)
        # Without a lost answer, the same save over a stored item is a plain conflict.
        with pytest.raises(DynamoDBConditionalCheckError) as conflict:
            await service.save(Counter(pk=pk, sk="new", n=2), conditions=create_only)
    assert not isinstance(caught.value, DynamoDBConditionalCheckError)
    assert not isinstance(conflict.value, DynamoDBAmbiguousWriteError)
    assert [exchange.outcome for exchange in proxy.of("PutItem")] == [
        "dropped",
        "answered",
        "answered",
    ]
    assert await stored(config, pk, "new") == Counter(pk=pk, sk="new", n=1)


async def test_a_versioned_save_whose_answer_is_lost_is_ambiguous_not_a_conflict(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    proxy.rule = first_answer_lost("PutItem")
    async with DynamoDBService(LoggingService(), through(config, proxy)) as service:
        with pytest.raises(DynamoDBAmbiguousWriteError):
            await service.save(Document(pk=pk, sk="doc", body="first"))
    async with DynamoDBService(LoggingService(), config) as direct:
        document = await direct.get_one(pk, "doc", Document)
    assert document == Document(pk=pk, sk="doc", body="first", version=1)
    assert len(proxy.of("PutItem")) == 2


@pytest.mark.needs("transactions")
@pytest.mark.parametrize("given", [None, "caller-token-0001"], ids=["made", "given"])
async def test_a_transaction_sends_one_token_on_every_attempt(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str, given: str | None
) -> None:
    proxy.rule = first_answer_lost("TransactWriteItems")
    operations = [
        TransactionWriteItem(operation="put", item=Counter(pk=pk, sk=f"t{i}", n=i)) for i in (1, 2)
    ]
    async with DynamoDBService(LoggingService(), through(config, proxy)) as service:
        await service.transact_write(operations, client_request_token=given)
        await service.transact_write(operations)
    attempts = proxy.of("TransactWriteItems")
    assert [exchange.outcome for exchange in attempts] == ["dropped", "answered", "answered"]
    tokens = [exchange.body.get("ClientRequestToken") for exchange in attempts]
    assert tokens[0]
    assert tokens[0] == tokens[1]  # the retry resends the token
    assert tokens[2] != tokens[0]  # another call, another token
    if given is not None:
        assert tokens[0] == given
    assert await stored(config, pk, "t2") == Counter(pk=pk, sk="t2", n=2)


async def test_concurrent_increments_losing_answers_are_each_counted_or_reported(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    """A history check: acknowledged <= final <= acknowledged + ambiguous, nothing else."""
    async with DynamoDBService(LoggingService(), config) as direct:
        await direct.save(Counter(pk=pk, sk="hist"))
    chance = random.Random(21)  # noqa: S311 - a reproducible fault schedule, not a secret

    def lossy(exchange: Exchange) -> Action:
        if exchange.target == "UpdateItem" and chance.random() < 0.15:
            return LOST
        return Forward()

    proxy.rule = lossy
    increments = 120
    async with DynamoDBService(LoggingService(), through(config, proxy)) as service:
        outcomes = await asyncio.gather(
            *(service.update(pk, "hist", {"n": Increment(1)}) for _ in range(increments)),
            return_exceptions=True,
        )
    acknowledged = sum(outcome is None for outcome in outcomes)
    ambiguous = sum(isinstance(outcome, DynamoDBAmbiguousWriteError) for outcome in outcomes)
    others = [
        o for o in outcomes if o is not None and not isinstance(o, DynamoDBAmbiguousWriteError)
    ]
    assert others == []
    assert acknowledged + ambiguous == increments
    assert ambiguous > 0
    assert ambiguous == sum(exchange.in_doubt for exchange in proxy.of("UpdateItem"))
    final = await stored(config, pk, "hist")
    assert final is not None
    assert acknowledged <= final.n <= acknowledged + ambiguous
    # Every dropped answer was of an applied increment: the count is exact here.
    assert final.n == increments


async def test_an_increment_in_flight_at_the_deadline_is_ambiguous_a_set_is_unavailable(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    """The request left and the operation's time ran out: only the increment is in doubt."""
    async with DynamoDBService(LoggingService(), config) as direct:
        await direct.save(Counter(pk=pk, sk="c"))
    proxy.rule = lambda exchange: Hang() if exchange.target == "UpdateItem" else Forward()
    hurried = through(config, proxy, operation_timeout=0.5)
    async with DynamoDBService(LoggingService(), hurried) as service:
        with pytest.raises(DynamoDBAmbiguousWriteError):
            await service.update(pk, "c", {"n": Increment(1)})
        with pytest.raises(DynamoDBUnavailableError):
            await service.update(pk, "c", {"text": "late"})

"""Closing a service with work in flight: running operations finish, new ones are refused,
no caller sees a CancelledError it did not ask for, and no session or connection is left."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from faultproxy import Exchange, FaultProxy, Forward, Hang
from helpers import through
from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    LoggingService,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from faultproxy import Action

CALLERS = 200
# Generous: how long the proxy may take to see the client's connections go.
SETTLE = 30.0


class Doc(DynamoDBBaseModel):
    n: int


@pytest.fixture
async def loop_complaints() -> AsyncIterator[list[str]]:
    """What the event loop and aiohttp report about resources never closed."""
    loop = asyncio.get_running_loop()
    complaints: list[str] = []
    previous = loop.get_exception_handler()

    def record(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        complaints.append(str(context.get("message")))

    loop.set_exception_handler(record)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield complaints
        gc.collect()
        complaints.extend(str(warning.message) for warning in caught)
    loop.set_exception_handler(previous)


async def connections_closed(proxy: FaultProxy) -> None:
    """Wait (bounded) until every client connection to the proxy has gone."""
    async with asyncio.timeout(SETTLE):
        await proxy.disconnected()


def after(count: int, then: Action) -> tuple[Callable[[Exchange], Action], asyncio.Event]:
    """A rule answering the first ``count`` GetItems normally and ``then`` the rest, and an
    event set once ``count`` have been answered."""
    reached = asyncio.Event()
    seen = 0

    def rule(exchange: Exchange) -> Action:
        nonlocal seen
        if exchange.target != "GetItem":
            return Forward()
        seen += 1
        if seen > count:
            return then
        if seen == count:
            reached.set()
        return Forward()

    return rule, reached


async def test_close_part_way_through_200_gets_lets_every_one_finish(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str, loop_complaints: list[str]
) -> None:
    doc = Doc(pk=pk, sk="one", n=1)
    async with DynamoDBService(LoggingService(), config) as seeding:
        await seeding.save(doc)
    rule, reached = after(50, Forward(delay=0.01))
    proxy.rule = rule
    settings = through(config, proxy, max_pool_connections=10, batch_concurrency=10)
    service = DynamoDBService(LoggingService(), settings)
    await service.open()
    callers = [asyncio.create_task(service.get_one(pk, "one", Doc)) for _ in range(CALLERS)]
    try:
        await asyncio.wait_for(reached.wait(), SETTLE)
        assert not all(caller.done() for caller in callers)  # closing part-way indeed
        closing = asyncio.create_task(service.close())
        await asyncio.sleep(0)  # closing has begun: new operations are refused from now on
        with pytest.raises(DynamoDBServiceError, match="closed") as refused:
            await service.get_one(pk, "one", Doc)
        await closing
    finally:
        await service.close()
        results = await asyncio.gather(*callers, return_exceptions=True)

    assert refused.value.operation == "get_one"
    assert results == [doc] * CALLERS
    assert len(proxy.of("GetItem")) == CALLERS  # nothing sent after the close
    await connections_closed(proxy)
    assert loop_complaints == []


async def test_close_ends_what_outlives_operation_timeout_with_an_error_not_a_cancel(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str, loop_complaints: list[str]
) -> None:
    """The server stops answering; close() waits out the budget, then ends the rest."""
    doc = Doc(pk=pk, sk="one", n=1)
    async with DynamoDBService(LoggingService(), config) as seeding:
        await seeding.save(doc)
    rule, reached = after(20, Hang())
    proxy.rule = rule
    settings = through(
        config, proxy, max_pool_connections=10, batch_concurrency=10, operation_timeout=5.0
    )
    service = DynamoDBService(LoggingService(), settings)
    await service.open()
    callers = [asyncio.create_task(service.get_one(pk, "one", Doc)) for _ in range(CALLERS)]
    try:
        await asyncio.wait_for(reached.wait(), SETTLE)
    finally:
        await service.close()
        results = await asyncio.gather(*callers, return_exceptions=True)

    cancelled = [r for r in results if isinstance(r, asyncio.CancelledError)]
    assert cancelled == []
    assert all(r == doc or isinstance(r, DynamoDBServiceError) for r in results), results
    assert results.count(doc) >= 20
    assert any(isinstance(r, DynamoDBServiceError) for r in results)
    await connections_closed(proxy)
    assert loop_complaints == []

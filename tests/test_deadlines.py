"""operation_timeout against an endpoint that accepts connections and never answers.

No stub here: the real aioboto3 client talks to a loopback listener of the test's own,
which reads every request and answers none.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBBatchOperationError,
    DynamoDBConfig,
    DynamoDBService,
    LoggingService,
)
from lvrgd_common.exceptions.dynamodb_exceptions import DynamoDBUnavailableError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

# The event loop may run late on a loaded machine; the bound is the budget plus this.
MARGIN = 3.0


class Doc(DynamoDBBaseModel):
    n: int = 0


@pytest.fixture
async def silent_endpoint() -> AsyncIterator[tuple[str, list[int]]]:
    """A listener that accepts, reads and never answers; with a count of requests seen."""
    requests: list[int] = []
    connections: set[asyncio.StreamWriter] = set()
    release = asyncio.Event()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.add(writer)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                requests.append(1)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        await release.wait()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", requests
    finally:
        release.set()
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_the_defaults_end_an_operation_on_a_silent_endpoint_within_ten_seconds(
    silent_endpoint: tuple[str, list[int]],
) -> None:
    """get_one fails and ping() says False within operation_timeout, botocore's retries
    included (three attempts of a 5 s read timeout would take over 15 s)."""
    endpoint, requests = silent_endpoint
    config = DynamoDBConfig(
        table_name="silent",
        region="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id="AKIDSILENT",
        aws_secret_access_key="silent-secret",
    )
    assert config.operation_timeout == 10.0
    async with DynamoDBService(LoggingService(), config) as service:
        started = time.monotonic()
        got, pinged = await asyncio.gather(
            service.get_one("USER#1", "PROFILE", Doc), service.ping(), return_exceptions=True
        )
        elapsed = time.monotonic() - started
    assert isinstance(got, DynamoDBUnavailableError)
    assert got.operation == "get_one"
    assert "operation_timeout=10 s" in str(got)
    assert pinged is False
    assert elapsed <= config.operation_timeout + MARGIN
    # The budget, not an early give-up: the first read timeout (5 s) passed, a retry went out.
    assert elapsed >= config.read_timeout
    assert len(requests) >= 3


async def test_a_batch_on_a_silent_endpoint_ends_within_its_budget_naming_every_item(
    silent_endpoint: tuple[str, list[int]],
) -> None:
    endpoint, _ = silent_endpoint
    config = DynamoDBConfig(
        table_name="silent",
        region="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id="AKIDSILENT",
        aws_secret_access_key="silent-secret",
        operation_timeout=1.0,
    )
    items = [Doc(pk="p", sk=f"{n:03d}") for n in range(60)]
    async with DynamoDBService(LoggingService(), config) as service:
        started = time.monotonic()
        with pytest.raises(DynamoDBBatchOperationError) as caught:
            await service.batch_write(items)
        elapsed = time.monotonic() - started
    assert elapsed <= config.operation_timeout + MARGIN
    assert caught.value.failed_items == items
    assert caught.value.successful_count == 0
    assert "operation_timeout=1 s" in str(caught.value)

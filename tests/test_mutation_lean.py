"""The lean path's retries: what mutmut showed unchecked (issue 27)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from lvrgd_common.services._dynamodb.transport.lean import RetryQuota
from tests.http_server import aws_error
from tests.test_lean_transport import config, opened

if TYPE_CHECKING:
    from tests.http_server import Server


async def test_an_error_after_the_last_attempt_says_max_attempts_were_reached(
    server: Server,
) -> None:
    # As botocore's standard mode: RetryAttempts and MaxAttemptsReached on the error.
    server.answers = [aws_error(500, "InternalServerError")] * 3
    async with opened(server.url, config(max_attempts=3)) as lean:
        with pytest.raises(ClientError) as caught:
            await lean.transport.send("get_item", {"TableName": "t"})
    metadata: dict[str, object] = dict(caught.value.response["ResponseMetadata"])
    assert metadata["RetryAttempts"] == 2
    assert metadata["MaxAttemptsReached"] is True
    assert len(server.received) == 3


def test_the_quota_grants_a_retry_it_can_pay_exactly_and_timeouts_cost_more() -> None:
    quota = RetryQuota()
    quota.available = RetryQuota.RETRY_COST
    assert quota.acquire(timeout=False) == RetryQuota.RETRY_COST
    assert quota.available == 0
    assert quota.acquire(timeout=False) is None
    quota.available = RetryQuota.TIMEOUT_RETRY_COST
    assert quota.acquire(timeout=True) == RetryQuota.TIMEOUT_RETRY_COST
    assert quota.available == 0


async def test_a_read_timeout_spends_the_timeout_cost_of_the_quota() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = config(max_attempts=2, read_timeout=0.2)
        async with opened(f"http://127.0.0.1:{port}", settings) as lean:
            with pytest.raises(ReadTimeoutError):
                await lean.transport.send("get_item", {"TableName": "t"})
            assert lean.sleeps == [0.5]  # one retry
            spent = RetryQuota.CAPACITY - lean.transport.quota.available
            assert spent == RetryQuota.TIMEOUT_RETRY_COST
    finally:
        server.close()

"""The lean path's retries: what mutmut showed unchecked (issue 27)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

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

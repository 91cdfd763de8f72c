"""botocore logs signed requests at DEBUG; an open service masks its credentials there."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from lvrgd_common import DynamoDBConfig, DynamoDBService, DynamoDBServiceError, LoggingService

if TYPE_CHECKING:
    from tests.fakes import FakeSessionFactory

# What botocore.auth and botocore.endpoint write for a request signed with a session token.
CANONICAL = "CanonicalRequest:\nPOST\n/\nx-amz-security-token:{token}\nx-amz-target:PutItem\n"
SENDING = (
    "Sending http request: <AWSPreparedRequest headers={{'X-Amz-Security-Token': b'{token}'}}>"
)


@pytest.fixture
def with_token(config: DynamoDBConfig) -> DynamoDBConfig:
    return config.model_copy(update={"aws_session_token": config.aws_secret_access_key})


def emit(caplog: pytest.LogCaptureFixture, token: str) -> str:
    caplog.clear()
    logging.getLogger("botocore.auth").debug(CANONICAL.format(token=token))
    logging.getLogger("botocore.endpoint").debug("%s", SENDING.format(token=token))
    return caplog.text


async def test_the_session_token_is_masked_while_open_and_only_then(
    with_token: DynamoDBConfig,
    sessions: FakeSessionFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert sessions is not None
    caplog.set_level(logging.DEBUG)
    token = "unit-secret-value"
    service = DynamoDBService(LoggingService(), with_token)
    async with service:
        text = emit(caplog, token)
        assert token not in text
        assert text.count("**********") == 2
        # A token the service was not given (e.g. from a role) is masked too.
        assert "other-token" not in emit(caplog, "other-token")
    assert token in emit(caplog, token)  # closed: botocore's loggers are as they were
    assert all(
        not logging.getLogger(name).filters for name in ("botocore.auth", "botocore.endpoint")
    )


async def test_records_without_credentials_are_left_alone(
    config: DynamoDBConfig, sessions: FakeSessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    assert sessions is not None
    caplog.set_level(logging.DEBUG)
    async with DynamoDBService(LoggingService(), config):
        logging.getLogger("botocore.endpoint").debug("Response headers: %s", {"a": "b"})
    assert caplog.records[-1].getMessage() == "Response headers: {'a': 'b'}"
    assert caplog.records[-1].args == {"a": "b"}  # untouched (logging unwraps one mapping)


async def test_a_failed_open_leaves_no_mask_on_botocores_loggers(config: DynamoDBConfig) -> None:
    """The mask is attached while opening; an open that fails must take it off again."""
    loggers = [logging.getLogger(name) for name in ("botocore.auth", "botocore.endpoint")]
    before = [list(logger.filters) for logger in loggers]
    broken = config.model_copy(update={"endpoint_url": "not a url"})
    service = DynamoDBService(LoggingService(), broken)
    with pytest.raises(DynamoDBServiceError) as caught:
        await service.open()
    assert caught.value.operation == "open"
    assert [list(logger.filters) for logger in loggers] == before

"""No credential shows anywhere: log records (every logger, DEBUG), repr, str, errors, chains.

The secret access key and the session token are unique per test run, so finding either
in any text produced is a leak. botocore is included: at DEBUG it logs every request.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr, ValidationError

from faultproxy import Exchange, FaultProxy, Forward, Reply, dynamodb_error
from helpers import through
from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    LoggingService,
)
from lvrgd_common.testing import free_port

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from faultproxy import Action


class Secretive(DynamoDBBaseModel):
    text: str = ""


def exception_texts(error: BaseException) -> list[str]:
    """What an exception can show: str, repr, attributes and the whole formatted chain."""
    texts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return texts


def record_texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), repr(record.args), repr(vars(record))]
    if record.exc_info:
        texts.append(logging.Formatter().formatException(record.exc_info))
    return texts


def config_error(secret: str) -> ValidationError:
    """A configuration error: pydantic quotes the input it refused."""
    try:
        DynamoDBConfig.model_validate(
            {"table_name": "t-x", "region": "r", "aws_secret_access_key": secret}
        )
    except ValidationError as exc:
        return exc
    pytest.fail("the configuration was expected to be refused")


async def test_no_credential_shows_in_logs_reprs_or_errors(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    token = f"token-{uuid.uuid4().hex}"
    settings = through(
        config,
        proxy,
        aws_access_key_id="AKIALVRGDTESTKEY0001",
        aws_secret_access_key=SecretStr(secret),
        aws_session_token=SecretStr(token),
        max_attempts=2,
        read_timeout=1.0,
    )
    dead = settings.model_copy(update={"endpoint_url": f"http://127.0.0.1:{free_port()}"})
    missing = settings.model_copy(update={"table_name": "lvrgd-it-no-such-table"})
    throttled_once: set[int] = set()

    def throttle_first_get(exchange: Exchange) -> Action:
        if exchange.target == "GetItem" and not throttled_once:
            throttled_once.add(exchange.number)
            return Reply(400, dynamodb_error("ThrottlingException", "slow down"))
        return Forward()

    proxy.rule = throttle_first_get
    texts: list[str] = [repr(settings), str(settings), settings.model_dump_json()]
    texts.append(repr(settings.model_dump()))
    errors: list[BaseException] = []

    async def expect_failure(call: Awaitable[Any]) -> None:
        try:
            await call
        except DynamoDBServiceError as exc:
            errors.append(exc)
        else:
            pytest.fail("the call was expected to fail")

    with caplog.at_level(logging.DEBUG):
        async with DynamoDBService(LoggingService(), settings) as service:
            texts += [repr(service), str(service)]
            # Successes (the first get_one is throttled once and retried).
            item = Secretive(pk=pk, sk="a", text="hello")
            await service.save(item)
            assert await service.get_one(pk, "a", Secretive) == item
            await service.update(pk, "a", {"text": "again"})
            await service.batch_write([Secretive(pk=pk, sk=f"b{n}") for n in range(30)])
            await service.batch_get([(pk, f"b{n}") for n in range(30)], Secretive)
            await service.query_by_pk(pk, Secretive, limit=5, index_name="lsi1")
            assert await service.ping() is True
            # Failures: on the server, and refused before sending.
            await expect_failure(service.update(pk, "absent", {"text": "x"}))
            await expect_failure(service.update(pk, "a", {"text": "x" * 409_590}))
            await expect_failure(service.save(Secretive.model_construct(pk="", sk="a")))
        async with DynamoDBService(LoggingService(), missing) as service:
            await expect_failure(service.get_one(pk, "a", Secretive))
        # A connection error.
        async with DynamoDBService(LoggingService(), dead) as service:
            await expect_failure(service.save(item))
            assert await service.ping() is False
        errors.append(config_error(secret))

    records = caplog.records
    assert any(record.name.startswith("botocore") for record in records)  # DEBUG was captured
    assert any(record.levelno == logging.WARNING for record in records)  # and the failures
    assert len(errors) == 6
    texts += [text for record in records for text in record_texts(record)]
    texts += [text for error in errors for text in exception_texts(error)]
    leaks = [text for text in texts if secret in text or token in text]
    assert leaks == [], f"{len(leaks)} texts show a credential, e.g. {leaks[0][:300]!r}"

"""CRUD, the type mapping, and what must be refused, against a real server."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid

import pytest
from pydantic import SecretStr

from lvrgd_common import (
    AttributeCondition,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBItemNotFoundError,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
    LoggingService,
)
from lvrgd_common.testing import free_port
from models import Entry, Everything, Profile, everything


async def test_every_type_round_trips(service: DynamoDBService, pk: str) -> None:
    model = everything(pk)
    await service.save(model)
    assert await service.get_one(pk, "all-types", Everything) == model


async def test_get_one_of_an_absent_item_is_none(service: DynamoDBService, pk: str) -> None:
    assert await service.get_one(pk, "nothing-here", Profile) is None


async def test_save_replaces_the_whole_item(service: DynamoDBService, pk: str) -> None:
    await service.save(Profile(pk=pk, sk="p", name="Ada", nickname="countess"))
    await service.save(Profile(pk=pk, sk="p", name="Ada"))
    stored = await service.get_one(pk, "p", Profile)
    assert stored == Profile(pk=pk, sk="p", name="Ada")


async def test_update_with_reserved_words_and_none_removes(
    service: DynamoDBService, pk: str
) -> None:
    await service.save(Profile(pk=pk, sk="p", name="Ada", nickname="countess"))
    await service.update(pk, "p", {"name": "Bea", "status": "active", "count": 3, "nickname": None})
    assert await service.get_one(pk, "p", Profile) == Profile(
        pk=pk, sk="p", name="Bea", status="active", count=3, nickname=None
    )


async def test_update_of_an_absent_item_raises_and_creates_nothing(
    service: DynamoDBService, pk: str
) -> None:
    with pytest.raises(DynamoDBItemNotFoundError) as caught:
        await service.update(pk, "absent", {"name": "ghost"})
    assert (caught.value.operation, caught.value.pk, caught.value.sk) == ("update", pk, "absent")
    assert caught.value.error_code == "ConditionalCheckFailedException"
    assert await service.get_one(pk, "absent", Profile) is None
    assert await service.count(pk) == 0


async def test_update_refuses_key_changes_and_empty_updates(
    service: DynamoDBService, pk: str
) -> None:
    await service.save(Profile(pk=pk, sk="p", name="Ada"))
    with pytest.raises(DynamoDBValidationError):
        await service.update(pk, "p", {"sk": "other"})
    with pytest.raises(DynamoDBValidationError):
        await service.update(pk, "p", {})
    assert await service.get_one(pk, "p", Profile) == Profile(pk=pk, sk="p", name="Ada")


async def test_conditions_guard_writes(service: DynamoDBService, pk: str) -> None:
    create_only = [AttributeCondition(attribute="pk", operator="not_exists")]
    await service.save(Profile(pk=pk, sk="p", name="first"), conditions=create_only)
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.save(Profile(pk=pk, sk="p", name="second"), conditions=create_only)
    stale = [AttributeCondition(attribute="count", operator="eq", value=5)]
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.update(pk, "p", {"name": "third"}, conditions=stale)
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.delete(pk, "p", conditions=stale)
    assert await service.get_one(pk, "p", Profile) == Profile(pk=pk, sk="p", name="first")


async def test_delete_removes_and_absent_is_fine(service: DynamoDBService, pk: str) -> None:
    await service.save(Profile(pk=pk, sk="p", name="Ada"))
    await service.delete(pk, "p")
    assert await service.get_one(pk, "p", Profile) is None
    await service.delete(pk, "p")


@pytest.mark.parametrize("size", [400 * 1024 + 1, 500_000])
async def test_an_item_over_400_kb_is_refused_and_nothing_stored(
    service: DynamoDBService, pk: str, size: int
) -> None:
    big = Entry(pk=pk, sk="big", payload="x" * size)
    with pytest.raises(DynamoDBServiceError) as caught:
        await service.save(big)
    assert caught.value.operation == "save"
    assert isinstance(caught.value, DynamoDBValidationError)
    assert await service.get_one(pk, "big", Entry) is None


async def test_a_large_item_under_the_limit_is_stored(service: DynamoDBService, pk: str) -> None:
    # DynamoDB's limit is 409,600 bytes; moto's server refuses from 405,000 bytes.
    item = Entry(pk=pk, sk="large", payload="y" * 400_000)
    await service.save(item)
    assert await service.get_one(pk, "large", Entry) == item


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
async def test_nan_and_infinity_are_refused(
    service: DynamoDBService, pk: str, value: float
) -> None:
    model = everything(pk).model_copy(update={"ratio": value})
    with pytest.raises(DynamoDBValidationError, match="ratio"):
        await service.save(model)
    assert await service.get_one(pk, "all-types", Everything) is None


async def test_ping_is_true_for_the_active_table(service: DynamoDBService) -> None:
    assert await service.ping() is True


async def test_a_missing_table(config: DynamoDBConfig, pk: str) -> None:
    missing = config.model_copy(update={"table_name": f"absent-{uuid.uuid4().hex}"})
    async with DynamoDBService(LoggingService(), missing) as service:
        assert await service.ping() is False
        with pytest.raises(DynamoDBTableNotFoundError) as caught:
            await service.get_one(pk, "x", Profile)
    assert caught.value.error_code == "ResourceNotFoundException"


async def test_an_unreachable_endpoint_fails_fast(config: DynamoDBConfig, pk: str) -> None:
    dead = config.model_copy(
        update={"endpoint_url": f"http://127.0.0.1:{free_port()}", "operation_timeout": 10.0}
    )
    async with DynamoDBService(LoggingService(), dead) as service:
        started = time.monotonic()
        assert await asyncio.wait_for(service.ping(), timeout=15) is False
        with pytest.raises(DynamoDBUnavailableError) as caught:
            await asyncio.wait_for(service.get_one(pk, "x", Profile), timeout=15)
        assert time.monotonic() - started < 20
    assert caught.value.operation == "get_one"


async def test_the_secret_never_shows(
    config: DynamoDBConfig, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "integration-secret-" + uuid.uuid4().hex
    with_secret = config.model_copy(update={"aws_secret_access_key": SecretStr(secret)})
    dead = with_secret.model_copy(update={"endpoint_url": f"http://127.0.0.1:{free_port()}"})
    texts: list[str] = [repr(with_secret), str(with_secret)]
    with caplog.at_level(logging.DEBUG):
        for settings in (with_secret, dead):
            async with DynamoDBService(LoggingService(), settings) as service:
                texts.append(repr(service))
                await service.ping()
                try:
                    await service.update(pk, "absent", {"name": "x"})
                except DynamoDBServiceError as exc:
                    texts.extend([str(exc), repr(exc), str(exc.__cause__)])
    texts.append(caplog.text)
    assert texts
    assert all(secret not in text for text in texts)

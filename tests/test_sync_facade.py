"""The sync facade: the same public methods as the async service, and its lifecycle rules.

A server-backed run of every method is in integration-tests/test_sync_facade.py.
"""

from __future__ import annotations

import asyncio
import inspect
import threading

import pytest

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    LoggingService,
    sync,
)

CONFIG = DynamoDBConfig(
    table_name="facade",
    region="eu-west-1",
    endpoint_url="http://127.0.0.1:9",
    aws_access_key_id="k",
    aws_secret_access_key="s",
)

# Members of the async service that are not operations, or that the facade spells its way.
NOT_OPERATIONS = {"open", "close", "config"}


def public(cls: type) -> set[str]:
    # Under `make mutate`, mutmut adds its mutants as class attributes named x\u01c1Class\u01c1...
    return {name for name in dir(cls) if not name.startswith(("_", "x\u01c1"))}


def parameters(function: object) -> list[tuple[str, object, object, object]]:
    assert callable(function)
    return [
        (p.name, p.kind, p.default, p.annotation)
        for p in inspect.signature(function).parameters.values()
    ]


def test_the_facade_has_every_public_member_of_the_async_service() -> None:
    missing = public(DynamoDBService) - public(sync.DynamoDBService)
    extra = public(sync.DynamoDBService) - public(DynamoDBService)
    assert not missing, f"add these to src/lvrgd_common/sync.py: {sorted(missing)}"
    assert not extra, f"the async service has no {sorted(extra)}"


@pytest.mark.parametrize("name", sorted(public(DynamoDBService) - {"config"}))
def test_each_method_takes_the_same_arguments(name: str) -> None:
    facade = getattr(sync.DynamoDBService, name)
    original = getattr(DynamoDBService, name)
    assert parameters(facade) == parameters(original)
    if name not in NOT_OPERATIONS:
        assert not inspect.iscoroutinefunction(facade)
        assert not inspect.isasyncgenfunction(facade)


def test_calls_before_open_and_after_close_raise() -> None:
    service = sync.DynamoDBService(LoggingService(), CONFIG)
    with pytest.raises(DynamoDBServiceError, match="not open") as caught:
        service.ping()
    assert caught.value.operation == "ping"
    with service:
        pass
    with pytest.raises(DynamoDBServiceError, match="not open"):
        service.get_one("a", "b", DynamoDBBaseModel)
    with pytest.raises(DynamoDBServiceError, match="not open"):
        service.iter_query("a", DynamoDBBaseModel)
    service.close()  # twice is harmless
    with pytest.raises(DynamoDBServiceError, match="closed"):
        service.open()


def test_open_starts_one_thread_and_close_joins_it() -> None:
    before = set(threading.enumerate())
    with sync.DynamoDBService(LoggingService(), CONFIG) as service:
        started = set(threading.enumerate()) - before
        assert [thread.name for thread in started] == ["lvrgd-common-sync"]
        assert service.open() is service  # opening twice is harmless
        assert "open" in repr(service)
    assert set(threading.enumerate()) - before == set()


async def test_a_call_inside_a_running_event_loop_is_refused() -> None:
    service = sync.DynamoDBService(LoggingService(), CONFIG)
    with pytest.raises(DynamoDBServiceError, match="running event loop") as caught:
        service.open()
    assert caught.value.operation == "open"
    await asyncio.to_thread(service.open)
    try:
        with pytest.raises(DynamoDBServiceError, match=r"await lvrgd_common\.DynamoDBService"):
            service.count("pk")
    finally:
        await asyncio.to_thread(service.close)

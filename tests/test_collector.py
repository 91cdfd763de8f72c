"""Python's garbage collector is the application's: the library never changes its setting.

The setting is process-wide. User code (validators, serializers) must see the setting the
application chose, another thread's ``gc.disable()`` must not be undone, and a thread that
toggles the collector must always read back what it set, whatever the service is doing.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from aiobotocore.credentials import AioCredentials
from pydantic import field_serializer, field_validator

from lvrgd_common import DynamoDBBaseModel, DynamoDBConfig
from lvrgd_common.services._dynamodb.transport import lean
from tests.http_server import answer, serving

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from lvrgd_common import DynamoDBService
    from tests.fakes import FakeDynamoDB

TABLE = "unit-table"
seen: list[bool] = []  # gc.isenabled() each time user code ran
inside: list[Callable[[], None]] = []  # run by user code, once, while the library decodes


class Watched(DynamoDBBaseModel):
    n: int

    @field_validator("n")
    @classmethod
    def note_the_collector(cls, value: int) -> int:
        seen.append(gc.isenabled())
        while inside:
            inside.pop()()
        return value


class Dumped(DynamoDBBaseModel):
    n: int

    @field_serializer("n")
    def note_the_collector(self, value: int) -> int:
        seen.append(gc.isenabled())
        while inside:
            inside.pop()()
        return value


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    seen.clear()
    inside.clear()
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def item(n: int) -> dict[str, Any]:
    return {"pk": {"S": "P"}, "sk": {"S": f"{n:03d}"}, "n": {"N": str(n)}}


def serve_batch_get(fake: FakeDynamoDB) -> None:
    fake.on(
        "batch_get_item",
        lambda request: {
            "Responses": {
                TABLE: [item(int(key["sk"]["S"])) for key in request["RequestItems"][TABLE]["Keys"]]
            }
        },
    )


@pytest.mark.parametrize("setting", ["gc_on", "gc_off"])
async def test_user_code_sees_the_applications_setting_in_every_batch_and_page(
    service: DynamoDBService, fake: FakeDynamoDB, setting: str
) -> None:
    enabled = setting == "gc_on"
    serve_batch_get(fake)
    fake.on("query", lambda _request: {"Items": [item(n) for n in range(5)]})
    fake.on("batch_write_item", lambda _request: {})
    if not enabled:
        gc.disable()
    found = await service.batch_get([("P", f"{n:03d}") for n in range(150)], Watched)
    page = await service.query_by_pk("P", Watched)
    await service.batch_write([Dumped(pk="P", sk=f"{n:03d}", n=n) for n in range(30)])
    assert len(found) == 150
    assert len(page.items) == 5
    assert seen == [enabled] * (150 + 5 + 30)
    assert gc.isenabled() is enabled


async def test_another_threads_disable_during_a_batch_is_not_undone(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    """The application's thread disables gc while the library decodes: it stays disabled."""
    serve_batch_get(fake)
    fake.on("batch_write_item", lambda _request: {})

    def disable_from_another_thread() -> None:
        thread = threading.Thread(target=gc.disable)
        thread.start()
        thread.join()

    inside.append(disable_from_another_thread)
    await service.batch_get([("P", f"{n:03d}") for n in range(150)], Watched)
    assert not gc.isenabled()
    gc.enable()
    inside.append(disable_from_another_thread)
    await service.batch_write([Dumped(pk="P", sk=f"{n:03d}", n=n) for n in range(30)])
    assert not gc.isenabled()


async def test_a_thread_toggling_gc_always_reads_back_what_it_set(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    serve_batch_get(fake)
    fake.on("batch_write_item", lambda _request: {})
    surprises: list[tuple[bool, bool]] = []
    stop = threading.Event()

    def toggle() -> None:
        setting = True
        while not stop.is_set():
            setting = not setting
            if setting:
                gc.enable()
            else:
                gc.disable()
            for _ in range(50):
                if gc.isenabled() is not setting:
                    surprises.append((setting, gc.isenabled()))
                    return
        gc.enable()

    thread = threading.Thread(target=toggle)
    thread.start()
    try:
        for _ in range(3):
            await service.batch_get([("P", f"{n:03d}") for n in range(300)], Watched)
            await service.batch_write([Dumped(pk="P", sk=f"{n:03d}", n=n) for n in range(100)])
            await asyncio.sleep(0)
    finally:
        stop.set()
        thread.join()
    assert surprises == []


async def test_the_lean_path_parses_answers_with_the_applications_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[bool] = []
    real_loads = orjson.loads

    def loads(content: bytes) -> Any:
        parsed.append(gc.isenabled())
        return real_loads(content)

    async with serving() as server:
        server.answers.append(answer(200, {"Item": {"n": {"N": "1"}}}))
        transport = lean.LeanTransport(
            Fallback(),
            credentials=AioCredentials("AKIDGC", "gc-secret"),
            region="eu-west-1",
            endpoint_url=server.url,
            config=DynamoDBConfig(table_name=TABLE, region="eu-west-1"),
        )
        monkeypatch.setattr(orjson, "loads", loads)
        try:
            response = await transport.send("get_item", {"TableName": TABLE, "Key": {}})
        finally:
            monkeypatch.undo()
            await transport.aclose()
    assert response["Item"] == {"n": {"N": "1"}}
    assert parsed == [True]


class Fallback:
    async def send(
        self, api: str, request: dict[str, Any], *, idempotent: bool = True
    ) -> dict[str, Any]:
        raise AssertionError(api, request, idempotent)

"""The collector is held off while a response is parsed and its items decoded, then back on."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from aiobotocore.credentials import AioCredentials
from pydantic import field_serializer, field_validator

from lvrgd_common import DynamoDBBaseModel, DynamoDBConfig
from lvrgd_common.services._dynamodb import lean
from lvrgd_common.services._dynamodb.collector import collector_paused
from tests.http_server import answer, serving

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lvrgd_common import DynamoDBService
    from tests.fakes import FakeDynamoDB

TABLE = "unit-table"
seen: list[bool] = []  # gc.isenabled() each time a Watched item was validated


class Watched(DynamoDBBaseModel):
    n: int

    @field_validator("n")
    @classmethod
    def note_the_collector(cls, value: int) -> int:
        seen.append(gc.isenabled())
        return value


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    seen.clear()
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_block_runs_without_the_collector_and_it_is_back_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_back_after_an_error_in_the_block() -> None:
    with pytest.raises(ZeroDivisionError), collector_paused():
        _ = 1 / 0
    assert gc.isenabled()


def test_an_application_that_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


async def test_the_lean_path_parses_a_response_with_the_collector_held_off(
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
    assert parsed == [False]
    assert gc.isenabled()


class Fallback:
    async def send(
        self, api: str, request: dict[str, Any], *, idempotent: bool = True
    ) -> dict[str, Any]:
        raise AssertionError(api, request, idempotent)


def item(n: int) -> dict[str, Any]:
    return {"pk": {"S": "P"}, "sk": {"S": f"{n:03d}"}, "n": {"N": str(n)}}


async def test_batch_get_decodes_each_response_with_the_collector_held_off(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    fake.on(
        "batch_get_item",
        lambda request: {
            "Responses": {
                TABLE: [item(int(key["sk"]["S"])) for key in request["RequestItems"][TABLE]["Keys"]]
            }
        },
    )
    found = await service.batch_get([("P", f"{n:03d}") for n in range(150)], Watched)
    assert [model.n for model in found] == list(range(150))
    assert seen == [False] * 150
    assert gc.isenabled()


async def test_a_query_page_is_decoded_with_the_collector_held_off(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    fake.on("query", lambda _request: {"Items": [item(n) for n in range(5)]})
    page = await service.query_by_pk("P", Watched)
    assert [model.n for model in page.items] == list(range(5))
    assert seen == [False] * 5
    assert gc.isenabled()


class Dumped(DynamoDBBaseModel):
    n: int

    @field_serializer("n")
    def note_the_collector(self, value: int) -> int:
        seen.append(gc.isenabled())
        return value


async def test_batch_write_encodes_its_items_with_the_collector_held_off(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    fake.on("batch_write_item", lambda _request: {})
    await service.batch_write([Dumped(pk="P", sk=f"{n:03d}", n=n) for n in range(30)])
    assert len(fake.requests("batch_write_item")) == 2
    assert seen == [False] * 30
    assert gc.isenabled()

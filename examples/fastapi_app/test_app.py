"""The example's own tests, as a project using lvrgd-common would write them.

No conftest and no server code: the fixtures come from the pytest plugin of
``lvrgd-common[testing]`` (``dynamodb_env``, ``dynamodb_config``, ``dynamodb_service``).
From the repository root: ``pytest examples/fastapi_app``.

- With ``dynamodb_env`` the app is built as in production (``create_app()``): its lifespan
  reads ``DynamoDBConfig.from_env()``, which finds the test's fresh table.
- The async tests drive the app with httpx's ``ASGITransport`` on pytest-asyncio's loop,
  entering the lifespan themselves (``ASGITransport`` does not), so the app's service lives
  on the test's loop and concurrent requests need nothing more.
- ``TestClient`` works too, for sync tests: it runs the app on a loop of its own.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx
from fastapi.testclient import TestClient

from examples.fastapi_app.app import create_app, get_service
from examples.fastapi_app.schemas import Account, AccountIn, account_pk, account_sk

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastapi import FastAPI

    from lvrgd_common import DynamoDBConfig, DynamoDBService


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for ``app``, its lifespan entered on the running loop."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as client,
    ):
        yield client


def account(account_id: str, balance: int = 0) -> dict[str, object]:
    return {"account_id": account_id, "name": f"Account {account_id}", "balance": balance}


async def test_the_lifespan_reads_from_env(dynamodb_env: dict[str, str]) -> None:
    app = create_app()  # as uvicorn would load it: the settings come from the environment
    async with serve(app) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        created = await client.post("/owners/ada/accounts", json=account("a1", 5))
        assert created.status_code == 201
        assert (await client.get("/owners/ada/accounts/a1")).json()["balance"] == 5
        service: DynamoDBService = app.state.service
        assert service.config.table_name == dynamodb_env["DYNAMODB_TABLE_NAME"]


async def test_concurrent_requests_on_the_tests_loop(dynamodb_config: DynamoDBConfig) -> None:
    async with serve(create_app(dynamodb_config)) as client:
        answers = await asyncio.gather(
            *(client.post("/owners/bo/accounts", json=account(f"a{n:02}")) for n in range(20))
        )
        assert {answer.status_code for answer in answers} == {201}
        orders = await asyncio.gather(
            *(client.post("/owners/bo/accounts/a00/orders") for _ in range(10))
        )
        assert orders[-1].status_code == 200
        assert (await client.get("/owners/bo/accounts/a00")).json()["orders"] == 10
        page = (await client.get("/owners/bo/accounts", params={"limit": 100})).json()
        assert [item["account_id"] for item in page["items"]] == [f"a{n:02}" for n in range(20)]


async def test_the_fixture_service_behind_the_app(dynamodb_service: DynamoDBService) -> None:
    """The test's own service answers the app's requests: set up and check data through it."""
    app = create_app(dynamodb_service.config)
    app.dependency_overrides[get_service] = lambda: dynamodb_service
    await dynamodb_service.save(Account.new("cy", AccountIn(account_id="a1", name="Main")))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://app"
    ) as client:
        assert (await client.get("/owners/cy/accounts/a1")).json()["name"] == "Main"
        missing = await client.get("/owners/cy/accounts/nope")
        assert missing.status_code == 404
        renamed = await client.patch("/owners/cy/accounts/a1", json={"name": "Savings"})
        assert renamed.status_code == 200
    stored = await dynamodb_service.get_one(account_pk("cy"), account_sk("a1"), Account)
    assert stored is not None
    assert stored.name == "Savings"


def test_a_sync_test_with_testclient(dynamodb_env: dict[str, str]) -> None:
    del dynamodb_env  # only its effect on the environment is needed
    with TestClient(create_app()) as client:
        assert client.post("/owners/di/accounts", json=account("a1")).status_code == 201
        assert client.post("/owners/di/accounts", json=account("a1")).status_code == 409

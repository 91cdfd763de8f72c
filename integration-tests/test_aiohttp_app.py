"""The aiohttp example end to end: its own server on a loopback port, real HTTP, the table."""

from __future__ import annotations

import json
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web

from examples.aiohttp_app.app import SERVICE, create_app, error_response
from lvrgd_common import (
    DynamoDBBatchOperationError,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBDecodeError,
    DynamoDBItemNotFoundError,
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
    DynamoDBTransactionError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
    LoggingService,
)
from lvrgd_common.testing import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@asynccontextmanager
async def serving(
    config: DynamoDBConfig,
) -> AsyncIterator[tuple[aiohttp.ClientSession, web.Application]]:
    """The app on a free loopback port (cleanup_ctx runs), and a client session for it."""
    app = create_app(config, logger=LoggingService("examples.aiohttp_app.it"))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{port}", timeout=aiohttp.ClientTimeout(total=30)
        ) as http:
            yield http, app
    finally:
        await runner.cleanup()


@pytest.fixture
async def client(config: DynamoDBConfig) -> AsyncIterator[aiohttp.ClientSession]:
    async with serving(config) as (http, _):
        yield http


@pytest.fixture
def owner() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


def account(account_id: str, balance: int = 0, name: str | None = None) -> dict[str, Any]:
    return {"account_id": account_id, "name": name or f"Account {account_id}", "balance": balance}


async def call(
    http: aiohttp.ClientSession, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


async def test_cleanup_ctx_opens_the_service_once_and_closes_it(config: DynamoDBConfig) -> None:
    async with serving(config) as (http, app):
        service = app[SERVICE]
        assert repr(service).endswith("open)")
        for _ in range(3):
            assert await call(http, "GET", "/health") == (200, {"status": "ok"})
        assert app[SERVICE] is service
    assert repr(service).endswith("closed)")
    with pytest.raises(DynamoDBServiceError, match="closed"):
        await service.ping()


async def test_create_read_rename_delete_over_http(
    client: aiohttp.ClientSession, owner: str
) -> None:
    base = f"/owners/{owner}/accounts"
    expected = {
        "owner": owner,
        "account_id": "a1",
        "name": "Main",
        "balance": 500,
        "orders": 0,
        "version": 1,
    }
    assert await call(client, "POST", base, account("a1", 500, "Main")) == (201, expected)
    assert await call(client, "GET", f"{base}/a1") == (200, expected)
    conflict = await call(client, "POST", base, account("a1", 1, "Other"))
    assert conflict == (409, {"detail": "account already exists"})
    renamed = await call(client, "PATCH", f"{base}/a1", {"name": "Savings"})
    # A rename is a change: the version advances, so a stale copy cannot undo it.
    expected = {**expected, "name": "Savings", "version": 2}
    assert renamed == (200, expected)
    assert await call(client, "DELETE", f"{base}/a1") == (204, None)
    assert await call(client, "GET", f"{base}/a1") == (404, {"detail": "account not found"})
    assert await call(client, "DELETE", f"{base}/a1") == (204, None)


async def test_renaming_an_absent_account_is_404_from_the_librarys_error(
    client: aiohttp.ClientSession, owner: str
) -> None:
    path = f"/owners/{owner}/accounts/ghost"
    assert await call(client, "PATCH", path, {"name": "Boo"}) == (404, {"detail": "not found"})
    assert (await call(client, "GET", path))[0] == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/owners/{owner}/accounts", {"account_id": "a#1", "name": "x"}),
        ("POST", "/owners/{owner}/accounts", {"account_id": "a1", "name": "x", "balance": -1}),
        ("POST", "/owners/{owner}/accounts", "not an object"),
        ("PATCH", "/owners/{owner}/accounts/a1", {"name": "x", "balance": 10}),
        ("GET", "/owners/{owner}/accounts?limit=0", None),
        ("GET", "/owners/{owner}/accounts?limit=many", None),
        ("GET", "/owners/{owner}/accounts?cursor=not-a-cursor", None),
        ("POST", "/owners/{owner}/accounts/import", {"accounts": []}),
        ("POST", "/owners/{owner}/transfers", {"source": "a", "target": "a", "amount": 1}),
    ],
)
async def test_bad_input_is_422_and_stores_nothing(
    client: aiohttp.ClientSession, owner: str, method: str, path: str, body: Any
) -> None:
    status, _ = await call(client, method, path.format(owner=owner), body)
    assert status == 422
    assert await call(client, "GET", f"/owners/{owner}/accounts") == (
        200,
        {"items": [], "next_cursor": None},
    )


async def test_import_then_pages_follow_the_cursor_to_the_end(
    client: aiohttp.ClientSession, owner: str
) -> None:
    ids = [f"acc-{n:02d}" for n in range(30)]
    body = {"accounts": [account(i) for i in ids]}
    assert await call(client, "POST", f"/owners/{owner}/accounts/import", body) == (
        201,
        {"imported": 30},
    )
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = f"?limit=8&cursor={cursor}" if cursor else "?limit=8"
        status, page = await call(client, "GET", f"/owners/{owner}/accounts{query}")
        assert status == 200
        pages += 1
        seen += [item["account_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (ids, 4)


@pytest.mark.needs("transactions")
async def test_transfer_moves_money_atomically(client: aiohttp.ClientSession, owner: str) -> None:
    for account_id, balance in (("a", 100), ("b", 0)):
        await call(client, "POST", f"/owners/{owner}/accounts", account(account_id, balance))
    path = f"/owners/{owner}/transfers"
    status, moved = await call(client, "POST", path, {"source": "a", "target": "b", "amount": 30})
    assert status == 200
    assert (moved["source"]["balance"], moved["target"]["balance"]) == (70, 30)
    poor = await call(client, "POST", path, {"source": "b", "target": "a", "amount": 31})
    assert poor == (409, {"detail": "insufficient funds"})
    absent = await call(client, "POST", path, {"source": "a", "target": "z", "amount": 1})
    assert absent == (404, {"detail": "account not found"})


async def test_unreachable_dynamodb_is_503_without_internals(config: DynamoDBConfig) -> None:
    unreachable = config.model_copy(
        update={
            "endpoint_url": f"http://127.0.0.1:{free_port()}",
            "max_attempts": 1,
            "connect_timeout": 0.5,
        }
    )
    detail = {"detail": "storage is unavailable; retry later"}
    async with serving(unreachable) as (http, _):
        assert await call(http, "GET", "/owners/someone/accounts/a1") == (503, detail)
        assert await call(http, "GET", "/health") == (503, detail)


async def test_a_missing_table_is_503_without_its_name(config: DynamoDBConfig) -> None:
    absent = config.model_copy(update={"table_name": f"{config.table_name}-absent"})
    async with serving(absent) as (http, _):
        read = await call(http, "GET", "/owners/someone/accounts/a1")
    assert read == (503, {"detail": "storage is not ready; retry later"})


INTERNAL = "arn:aws:dynamodb:eu-west-1:123456789012:table/secret-table"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DynamoDBItemNotFoundError(operation="update", reason=INTERNAL), 404),
        (DynamoDBConditionalCheckError(operation="save", reason=INTERNAL), 409),
        (DynamoDBTransactionError(operation="transact_write", reason=INTERNAL), 409),
        (DynamoDBValidationError(operation="save", reason=INTERNAL), 422),
        (DynamoDBUnavailableError(operation="get_one", reason=INTERNAL), 503),
        (DynamoDBTableNotFoundError(operation="get_one", reason=INTERNAL), 503),
        (
            DynamoDBBatchOperationError(
                operation="batch_write", failed_items=[("p", "s")], successful_count=0
            ),
            503,
        ),
        (DynamoDBDecodeError(operation="get_one", reason=INTERNAL), 500),
        (DynamoDBServiceError(operation="get_one", reason=INTERNAL, error_code="Odd"), 500),
    ],
)
def test_every_library_error_has_its_status_and_says_nothing_internal(
    error: DynamoDBServiceError, status: int
) -> None:
    response = error_response(error)
    assert response.status == status
    assert response.text is not None
    body = json.loads(response.text)
    assert list(body) == ["detail"]
    for internal in ("arn:", "secret-table", "Exception", error.operation):
        assert internal not in body["detail"]
    assert ("Retry-After" in response.headers) == (status == 503)

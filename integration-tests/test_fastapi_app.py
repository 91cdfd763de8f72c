"""The FastAPI example end to end: uvicorn on a loopback port, real HTTP, the session's table."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from examples.fastapi_app.app import create_app
from examples.fastapi_app.http_errors import error_response
from lvrgd_common import (
    CancellationReason,
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
    from collections.abc import AsyncIterator, Iterator

    from fastapi import FastAPI


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread of its own; its URL while the block runs."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="on", log_config=None, access_log=False
        )
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            msg = "uvicorn did not start"
            raise RuntimeError(msg)
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "uvicorn did not stop"


URLSAFE_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_app(config: DynamoDBConfig) -> FastAPI:
    return create_app(config, logger=LoggingService("examples.fastapi_app.it"))


@pytest.fixture(scope="module")
def api(config: DynamoDBConfig) -> Iterator[tuple[str, FastAPI]]:
    app = new_app(config)
    with serving(app) as url:
        yield url, app


@pytest.fixture
async def client(api: tuple[str, FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api[0], timeout=30) as http:
        yield http


@pytest.fixture
def owner() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


def account(account_id: str, balance: int = 0, name: str | None = None) -> dict[str, Any]:
    return {"account_id": account_id, "name": name or f"Account {account_id}", "balance": balance}


async def test_create_read_rename_delete_over_http(client: httpx.AsyncClient, owner: str) -> None:
    base = f"/owners/{owner}/accounts"

    created = await client.post(base, json=account("a1", 500, "Main"))
    assert created.status_code == 201
    expected = {
        "owner": owner,
        "account_id": "a1",
        "name": "Main",
        "balance": 500,
        "orders": 0,
        "version": 1,
    }
    assert created.json() == expected
    assert (await client.get(f"{base}/a1")).json() == expected

    again = await client.post(base, json=account("a1", 1, "Other"))
    assert (again.status_code, again.json()) == (409, {"detail": "account already exists"})
    assert (await client.get(f"{base}/a1")).json() == expected  # nothing overwritten

    renamed = await client.patch(f"{base}/a1", json={"name": "Savings"})
    # The PATCH answers with the item as updated (one UpdateItem, ALL_NEW); the update
    # advanced the account's version.
    assert (renamed.status_code, renamed.json()) == (
        200,
        {**expected, "name": "Savings", "version": 2},
    )
    assert (await client.get(f"{base}/a1")).json() == renamed.json()

    deleted = await client.delete(f"{base}/a1")
    assert (deleted.status_code, deleted.content) == (204, b"")
    absent = await client.get(f"{base}/a1")
    assert (absent.status_code, absent.json()) == (404, {"detail": "account not found"})
    assert (await client.delete(f"{base}/a1")).status_code == 204  # deleting twice is fine


async def test_orders_are_counted_with_an_atomic_increment(
    client: httpx.AsyncClient, owner: str
) -> None:
    base = f"/owners/{owner}/accounts"
    await client.post(base, json=account("a1", 0))
    first = await client.post(f"{base}/a1/orders")
    assert (first.status_code, first.json()["orders"]) == (200, 1)
    second = await client.post(f"{base}/a1/orders")
    assert second.json()["orders"] == 2
    absent = await client.post(f"{base}/ghost/orders")
    assert (absent.status_code, absent.json()) == (404, {"detail": "not found"})
    assert (await client.get(f"{base}/ghost")).status_code == 404


@pytest.mark.needs("atomic_writes")
async def test_concurrent_orders_are_all_counted(client: httpx.AsyncClient, owner: str) -> None:
    base = f"/owners/{owner}/accounts"
    await client.post(base, json=account("a1", 0))
    responses = await asyncio.gather(*(client.post(f"{base}/a1/orders") for _ in range(40)))
    assert [response.status_code for response in responses] == [200] * 40
    assert sorted(response.json()["orders"] for response in responses) == list(range(1, 41))
    assert (await client.get(f"{base}/a1")).json()["orders"] == 40


async def test_renaming_an_absent_account_is_404_and_creates_nothing(
    client: httpx.AsyncClient, owner: str
) -> None:
    response = await client.patch(f"/owners/{owner}/accounts/ghost", json={"name": "Boo"})
    assert (response.status_code, response.json()) == (404, {"detail": "not found"})
    assert (await client.get(f"/owners/{owner}/accounts/ghost")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/owners/{owner}/accounts", {"account_id": "a#1", "name": "x"}),
        ("POST", "/owners/{owner}/accounts", {"account_id": "a1", "name": ""}),
        ("POST", "/owners/{owner}/accounts", {"account_id": "a1", "name": "x", "balance": -1}),
        ("POST", "/owners/{owner}/accounts", {"account_id": "a1", "name": "x", "pk": "X"}),
        ("POST", "/owners/bad%23owner/accounts", {"account_id": "a1", "name": "x"}),
        ("PATCH", "/owners/{owner}/accounts/a1", {"name": "x", "balance": 10}),
        ("GET", "/owners/{owner}/accounts?limit=0", None),
        ("GET", "/owners/{owner}/accounts?limit=101", None),
        ("POST", "/owners/{owner}/accounts/import", {"accounts": []}),
        ("POST", "/owners/{owner}/transfers", {"source": "a", "target": "a", "amount": 1}),
        ("POST", "/owners/{owner}/transfers", {"source": "a", "target": "b", "amount": 0}),
    ],
)
async def test_bad_input_is_422_before_anything_is_stored(
    client: httpx.AsyncClient, owner: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = await client.request(method, path.format(owner=owner), json=body)
    assert response.status_code == 422
    listing = await client.get(f"/owners/{owner}/accounts")
    assert listing.json() == {"items": [], "next_cursor": None}


async def test_pages_follow_the_opaque_cursor_to_the_end(
    client: httpx.AsyncClient, owner: str
) -> None:
    ids = [f"acc-{n:02d}" for n in range(7)]
    imported = await client.post(
        f"/owners/{owner}/accounts/import", json={"accounts": [account(i) for i in ids]}
    )
    assert (imported.status_code, imported.json()) == (201, {"imported": 7})

    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(10):  # bounded: 3 pages expected
        params: dict[str, str | int] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await client.get(f"/owners/{owner}/accounts", params=params)).json()
        sizes.append(len(page["items"]))
        seen += [item["account_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert set(cursor) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
    assert sizes == [3, 3, 1]
    assert seen == ids


def _token(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def test_a_cursor_that_is_not_this_lists_is_422(
    client: httpx.AsyncClient, owner: str
) -> None:
    await client.post(
        f"/owners/{owner}/accounts/import", json={"accounts": [account("a1"), account("a2")]}
    )
    other = f"{owner}-other"
    await client.post(
        f"/owners/{other}/accounts/import", json={"accounts": [account("b1"), account("b2")]}
    )
    foreign = (await client.get(f"/owners/{other}/accounts", params={"limit": 1})).json()
    assert foreign["next_cursor"] is not None

    for bad in [
        "not-a-cursor!",
        _token([1, 2]),
        _token({"pk": 1}),
        _token({"unexpected": "x"}),
        foreign["next_cursor"],
    ]:
        response = await client.get(f"/owners/{owner}/accounts", params={"cursor": bad})
        assert (response.status_code, response.json()) == (422, {"detail": "invalid cursor"}), bad


async def test_import_of_more_than_one_batch_chunk_replaces_and_adds(
    client: httpx.AsyncClient, owner: str
) -> None:
    base = f"/owners/{owner}/accounts"
    await client.post(base, json=account("acc-000", 5, "Before"))
    accounts = [account(f"acc-{n:03d}", n) for n in range(120)]

    response = await client.post(f"{base}/import", json={"accounts": accounts})

    assert (response.status_code, response.json()) == (201, {"imported": 120})
    first = (await client.get(base, params={"limit": 100})).json()
    rest = (await client.get(base, params={"limit": 100, "cursor": first["next_cursor"]})).json()
    stored = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [(a["account_id"], a["balance"]) for a in stored] == [
        (a["account_id"], a["balance"]) for a in accounts
    ]
    assert stored[0]["name"] == "Account acc-000"  # the import replaced it

    duplicate = await client.post(f"{base}/import", json={"accounts": [account("x"), account("x")]})
    assert duplicate.status_code == 422


@pytest.mark.needs("transactions")
async def test_transfer_moves_money_atomically_and_refuses_what_it_cannot_do(
    client: httpx.AsyncClient, owner: str
) -> None:
    base = f"/owners/{owner}/accounts"
    await client.post(f"{base}/import", json={"accounts": [account("a", 100), account("b", 5)]})
    transfers = f"/owners/{owner}/transfers"

    moved = await client.post(transfers, json={"source": "a", "target": "b", "amount": 30})

    assert moved.status_code == 200
    body = moved.json()
    assert (body["source"]["balance"], body["source"]["version"]) == (70, 2)
    assert (body["target"]["balance"], body["target"]["version"]) == (35, 2)
    assert (await client.get(f"{base}/a")).json() == body["source"]
    assert (await client.get(f"{base}/b")).json() == body["target"]

    too_much = await client.post(transfers, json={"source": "a", "target": "b", "amount": 71})
    assert (too_much.status_code, too_much.json()) == (409, {"detail": "insufficient funds"})
    missing = await client.post(transfers, json={"source": "a", "target": "zz", "amount": 1})
    assert (missing.status_code, missing.json()) == (404, {"detail": "account not found"})
    assert (await client.get(f"{base}/a")).json()["balance"] == 70


@pytest.mark.needs("transactions")
async def test_concurrent_transfers_between_separate_pairs_all_succeed(
    client: httpx.AsyncClient, owner: str
) -> None:
    pairs = 20
    accounts = [account(f"s{n:02d}", 100) for n in range(pairs)]
    accounts += [account(f"t{n:02d}", 0) for n in range(pairs)]
    await client.post(f"/owners/{owner}/accounts/import", json={"accounts": accounts})

    responses = await asyncio.gather(
        *(
            client.post(
                f"/owners/{owner}/transfers",
                json={"source": f"s{n:02d}", "target": f"t{n:02d}", "amount": n + 1},
            )
            for n in range(pairs)
        )
    )

    assert [response.status_code for response in responses] == [200] * pairs
    stored = (await client.get(f"/owners/{owner}/accounts", params={"limit": 100})).json()
    balances = {item["account_id"]: item["balance"] for item in stored["items"]}
    assert balances == {
        **{f"s{n:02d}": 100 - (n + 1) for n in range(pairs)},
        **{f"t{n:02d}": n + 1 for n in range(pairs)},
    }


@pytest.mark.needs("transactions", "isolated_transactions")
async def test_contending_transfers_never_lose_or_make_money(
    client: httpx.AsyncClient, owner: str
) -> None:
    base = f"/owners/{owner}/accounts"
    await client.post(f"{base}/import", json={"accounts": [account("a", 1000), account("b", 0)]})

    responses = await asyncio.gather(
        *(
            client.post(
                f"/owners/{owner}/transfers", json={"source": "a", "target": "b", "amount": 10}
            )
            for _ in range(30)
        )
    )

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {200, 409}, statuses
    done = statuses.count(200)
    assert done >= 1
    for response in responses:
        if response.status_code == 409:
            assert response.json() == {
                "detail": "a concurrent change got in the way; read again and retry"
            }
    a = (await client.get(f"{base}/a")).json()
    b = (await client.get(f"{base}/b")).json()
    assert (a["balance"], b["balance"]) == (1000 - 10 * done, 10 * done)
    assert (a["version"], b["version"]) == (1 + done, 1 + done)


async def test_a_few_hundred_concurrent_requests_share_the_one_service(
    client: httpx.AsyncClient, api: tuple[str, FastAPI], owner: str
) -> None:
    app = api[1]
    service = app.state.service
    base = f"/owners/{owner}/accounts"
    ids = [f"c-{n:03d}" for n in range(150)]

    created = await asyncio.gather(*(client.post(base, json=account(i, 1)) for i in ids))
    assert [response.status_code for response in created] == [201] * 150

    reads = [client.get(f"{base}/{i}") for i in ids]
    renames = [client.patch(f"{base}/{i}", json={"name": f"renamed {i}"}) for i in ids[:50]]
    pages = [client.get(base, params={"limit": 10}) for _ in range(20)]
    answers = await asyncio.gather(*reads, *renames, *pages)

    assert [response.status_code for response in answers] == [200] * 220
    assert [response.json()["account_id"] for response in answers[:150]] == ids
    assert [response.json()["name"] for response in answers[150:200]] == [
        f"renamed {i}" for i in ids[:50]
    ]
    for page in answers[200:]:
        assert [item["account_id"] for item in page.json()["items"]] == ids[:10]
    assert app.state.service is service
    assert repr(service).endswith("open)")


async def test_the_lifespan_opens_the_service_once_and_closes_it_on_shutdown(
    config: DynamoDBConfig,
) -> None:
    app = new_app(config)
    with serving(app) as url:
        service = app.state.service
        assert repr(service).endswith("open)")
        async with httpx.AsyncClient(base_url=url) as http:
            health = await asyncio.gather(*(http.get("/health") for _ in range(5)))
        assert [(r.status_code, r.json()) for r in health] == [(200, {"status": "ok"})] * 5
        assert app.state.service is service
    assert repr(service).endswith("closed)")


def _assert_unavailable(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"detail": detail}


async def test_unreachable_dynamodb_is_503_without_internals(config: DynamoDBConfig) -> None:
    unreachable = config.model_copy(
        update={
            "endpoint_url": f"http://127.0.0.1:{free_port()}",
            "max_attempts": 1,
            "connect_timeout": 0.5,
        }
    )
    with serving(new_app(unreachable)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            read = await http.get("/owners/someone/accounts/a1")
            health = await http.get("/health")
    _assert_unavailable(read, "storage is unavailable; retry later")
    _assert_unavailable(health, "storage is unavailable; retry later")


async def test_a_missing_table_is_503_without_its_name(config: DynamoDBConfig) -> None:
    absent = config.model_copy(update={"table_name": f"{config.table_name}-absent"})
    with serving(new_app(absent)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            read = await http.get("/owners/someone/accounts/a1")
    _assert_unavailable(read, "storage is not ready; retry later")


INTERNAL = "arn:aws:dynamodb:eu-west-1:123456789012:table/secret-table"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DynamoDBItemNotFoundError(operation="update", pk="p", sk="s", reason=INTERNAL), 404),
        (
            DynamoDBConditionalCheckError(
                operation="save", reason=INTERNAL, error_code="ConditionalCheckFailedException"
            ),
            409,
        ),
        (
            DynamoDBTransactionError(
                operation="transact_write",
                reason=INTERNAL,
                cancellation_reasons=[CancellationReason(code="ConditionalCheckFailed")],
                error_code="TransactionCanceledException",
            ),
            409,
        ),
        (DynamoDBValidationError(operation="save", reason=INTERNAL), 422),
        (
            DynamoDBValidationError(
                operation="query_by_pk", reason=INTERNAL, error_code="ValidationException"
            ),
            422,
        ),
        (DynamoDBUnavailableError(operation="get_one", reason=INTERNAL), 503),
        (
            DynamoDBTableNotFoundError(
                operation="get_one", reason=INTERNAL, error_code="ResourceNotFoundException"
            ),
            503,
        ),
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
    assert response.status_code == status
    body = json.loads(bytes(response.body))
    assert list(body) == ["detail"]
    for internal in ("arn:", "secret-table", "Exception", "ConditionalCheck", error.operation):
        assert internal not in body["detail"]
    assert ("retry-after" in response.headers) == (status == 503)

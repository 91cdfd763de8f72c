"""The lean path against a scripted local HTTP server: wire format, signing, retries, errors."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from unittest import mock

import botocore.auth
import botocore.session
import pytest
from aiobotocore.credentials import AioCredentials
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)
from yarl import URL

from lvrgd_common import DynamoDBConfig
from lvrgd_common.services._dynamodb.transport.answers import NotDynamoDBAnswerError
from lvrgd_common.services._dynamodb.transport.http11 import HttpPool
from lvrgd_common.services._dynamodb.transport.lean import LeanTransport, RetryQuota
from lvrgd_common.services._dynamodb.transport.signing import SigningKeys
from lvrgd_common.testing import free_port
from tests.http_server import Answer, Server, answer, aws_error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SECRET = "lean-unit-secret"


@dataclass
class Fallback:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def send(
        self,
        api: str,
        request: dict[str, Any],
        *,
        idempotent: bool = True,  # noqa: ARG002 - the protocol's
    ) -> dict[str, Any]:
        self.calls.append((api, request))
        return {"Table": {"TableStatus": "ACTIVE"}}


class CountingCredentials(AioCredentials):
    """Credentials that count their freezes and change key on each (as a refresh would)."""

    def __init__(self) -> None:
        super().__init__("AKIDLEAN0", SECRET)
        self.frozen = 0

    async def get_frozen_credentials(self) -> ReadOnlyCredentials:  # type: ignore[override]
        self.frozen += 1
        return ReadOnlyCredentials(f"AKIDLEAN{self.frozen}", f"{SECRET}-{self.frozen}", None)


@dataclass
class Opened:
    transport: LeanTransport
    fallback: Fallback
    sleeps: list[float]


def config(**tuning: Any) -> DynamoDBConfig:
    return DynamoDBConfig(table_name="lean-table", region="eu-west-1", **tuning)


@pytest.fixture
async def lean(server: Server) -> AsyncIterator[Opened]:
    async with opened(server.url, config()) as made:
        yield made


@functools.cache
def modeled_errors() -> Any:
    """The exception classes a botocore DynamoDB client models, by code."""
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    return client.exceptions.from_code


class opened:  # noqa: N801 - reads as a function at the call site
    def __init__(
        self, url: str, settings: DynamoDBConfig, credentials: Any = None, jitter: float = 0.5
    ) -> None:
        self.sleeps: list[float] = []
        self.fallback = Fallback()

        async def sleep(delay: float) -> None:
            self.sleeps.append(delay)

        self.transport = LeanTransport(
            self.fallback,
            credentials=AioCredentials("AKIDLEAN", SECRET) if credentials is None else credentials,
            region="eu-west-1",
            endpoint_url=url,
            config=settings,
            error_class=modeled_errors(),
            jitter=lambda: jitter,
            sleep=sleep,
        )

    async def __aenter__(self) -> Opened:
        return Opened(self.transport, self.fallback, self.sleeps)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.transport.aclose()


async def test_an_item_operation_is_a_json_post_signed_as_botocore_signs_it(
    server: Server, lean: Opened
) -> None:
    server.answers = [answer(200, {"Item": {"pk": {"S": "a"}, "blob": {"B": "AP8="}}})]
    request = {"TableName": "lean-table", "Key": {"pk": {"S": "a"}, "sk": {"S": "b"}}}
    response = await lean.transport.send("get_item", request)

    assert response["Item"] == {"pk": {"S": "a"}, "blob": {"B": "AP8="}}  # B stays base64
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    (sent,) = server.received
    assert sent.target == "GetItem"
    assert sent.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert json.loads(sent.body) == request
    # botocore's own signer, on the same request at the same instant, writes the same header.
    stamp = sent.headers["X-Amz-Date"]
    now = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")  # noqa: DTZ007 - botocore's naive UTC
    expected = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=sent.body,
        headers={
            "Content-Type": sent.headers["Content-Type"],
            "X-Amz-Target": sent.headers["X-Amz-Target"],
        },
    )
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=now):
        SigV4Auth(ReadOnlyCredentials("AKIDLEAN", SECRET, None), "dynamodb", "eu-west-1").add_auth(
            expected
        )
    assert sent.headers["Authorization"] == expected.headers["Authorization"]


async def test_bytes_go_as_base64_as_on_botocores_wire(server: Server, lean: Opened) -> None:
    item = {"pk": {"S": "a"}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"\x01", b"\x02"]}}
    await lean.transport.send("put_item", {"TableName": "t", "Item": item})
    sent = json.loads(server.received[0].body)["Item"]
    assert sent["b"] == {"B": base64.b64encode(b"\x00\xff").decode()}
    assert sent["bs"] == {"BS": ["AQ==", "Ag=="]}


async def test_every_item_operation_takes_the_lean_path_and_the_rest_the_client(
    server: Server, lean: Opened
) -> None:
    # Spelled out, not read from LEAN_TARGETS: dropping one there must fail here.
    item_operations = {
        "get_item": "GetItem",
        "put_item": "PutItem",
        "update_item": "UpdateItem",
        "delete_item": "DeleteItem",
        "query": "Query",
        "scan": "Scan",
        "batch_write_item": "BatchWriteItem",
        "batch_get_item": "BatchGetItem",
        "transact_write_items": "TransactWriteItems",
        "transact_get_items": "TransactGetItems",
    }
    for api in item_operations:
        await lean.transport.send(api, {"TableName": "t"})
    response = await lean.transport.send("describe_table", {"TableName": "t"})
    assert [sent.target for sent in server.received] == list(item_operations.values())
    assert lean.fallback.calls == [("describe_table", {"TableName": "t"})]
    assert response == {"Table": {"TableStatus": "ACTIVE"}}


async def test_throttling_and_5xx_are_retried_with_full_jitter_backoff(
    server: Server, lean: Opened
) -> None:
    server.answers = [
        aws_error(400, "ProvisionedThroughputExceededException"),
        aws_error(503, "ServiceUnavailable"),
        answer(200, {"Count": 0}),
    ]
    response = await lean.transport.send("query", {"TableName": "t"})
    assert response["Count"] == 0
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(server.received) == 3
    assert lean.sleeps == [0.5 * 1, 0.5 * 2]  # jitter x 2 ** (attempt - 1)
    # Each retry spent quota; the success gave the last cost back.
    assert lean.transport.quota.available == RetryQuota.CAPACITY - RetryQuota.RETRY_COST


@pytest.mark.parametrize(
    ("answer_", "code"),
    [
        (aws_error(400, "ThrottlingException"), "ThrottlingException"),
        (aws_error(500, "InternalServerError"), "InternalServerError"),
        (aws_error(400, "RequestTimeoutException"), "RequestTimeoutException"),
    ],
)
async def test_max_attempts_bound_the_retries_then_the_last_error_is_raised(
    server: Server, answer_: Answer, code: str
) -> None:
    server.answers = [answer_] * 5
    async with opened(server.url, config(max_attempts=2)) as lean:
        with pytest.raises(ClientError) as caught:
            await lean.transport.send("get_item", {"TableName": "t"})
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(server.received) == 2


@pytest.mark.parametrize(
    "answer_",
    [(502, b"", {}), (503, b"<html><body>Service Unavailable</body></html>", {})],
)
async def test_a_bare_5xx_is_retried_then_is_not_a_dynamodb_answer(
    server: Server, answer_: Answer
) -> None:
    server.answers = [answer_] * 5
    async with opened(server.url, config(max_attempts=2)) as lean:
        with pytest.raises(NotDynamoDBAnswerError) as caught:
            await lean.transport.send("get_item", {"TableName": "t"})
    assert caught.value.status == answer_[0]
    assert caught.value.excerpt == answer_[1].decode()
    assert len(server.received) == 2


async def test_other_errors_are_not_retried_and_keep_botocores_fields(
    server: Server, lean: Opened
) -> None:
    reasons = [{"Code": "ConditionalCheckFailed", "Message": "no"}, {"Code": "None"}]
    server.answers = [
        aws_error(400, "ConditionalCheckFailedException", "The conditional request failed"),
        aws_error(400, "TransactionCanceledException", "cancelled", CancellationReasons=reasons),
    ]
    with pytest.raises(ClientError) as conditional:
        await lean.transport.send("put_item", {"TableName": "t"})
    with pytest.raises(ClientError) as cancelled:
        await lean.transport.send("transact_write_items", {"TransactItems": []})
    assert len(server.received) == 2
    # The class botocore models for the code, as the aioboto3 client raises.
    assert type(conditional.value).__name__ == "ConditionalCheckFailedException"
    assert conditional.value.response["Error"] == {
        "Code": "ConditionalCheckFailedException",
        "Message": "The conditional request failed",
    }
    assert cancelled.value.response["CancellationReasons"] == reasons


async def test_an_answer_that_is_not_a_json_object_is_not_retried_and_not_read(
    server: Server, lean: Opened
) -> None:
    server.answers = [
        (403, b"<ErrorResponse>signature does not match</ErrorResponse>", {}),
        (200, b"<html>Welcome to the hotel wifi</html>", {}),
        (200, b"[1, 2]", {}),
        (200, b"", {}),
        answer(400, {"message": "no code"}),
    ]
    for _ in range(5):
        with pytest.raises(NotDynamoDBAnswerError):
            await lean.transport.send("get_item", {"TableName": "t"})
    assert len(server.received) == 5


async def test_a_response_failing_its_crc32_is_retried_then_refused(
    server: Server, lean: Opened
) -> None:
    server.answers = [answer(200, {"Item": {}}, crc=1), answer(200, {"Count": 3})]
    assert (await lean.transport.send("query", {}))["Count"] == 3
    server.answers = [answer(200, {"Count": 3}, crc=7)] * 3
    with pytest.raises(NotDynamoDBAnswerError) as caught:
        await lean.transport.send("query", {})
    assert caught.value.checksum
    assert len(server.received) == 2 + 3


async def test_connection_errors_are_botocores_and_are_retried() -> None:
    async with opened(f"http://127.0.0.1:{free_port()}", config(max_attempts=3)) as lean:
        with pytest.raises(EndpointConnectionError):
            await lean.transport.send("get_item", {"TableName": "t"})
    assert lean.sleeps == [0.5, 1.0]


async def test_an_exhausted_retry_quota_stops_retrying(server: Server, lean: Opened) -> None:
    lean.transport.quota.available = RetryQuota.RETRY_COST - 1
    server.answers = [aws_error(500, "InternalServerError")] * 3
    with pytest.raises(ClientError):
        await lean.transport.send("get_item", {})
    assert len(server.received) == 1


async def test_credentials_are_frozen_per_attempt_so_refreshed_ones_are_used(
    server: Server,
) -> None:
    credentials = CountingCredentials()
    server.answers = [aws_error(500, "InternalServerError"), answer(200, {})]
    async with opened(server.url, config(), credentials=credentials) as lean:
        await lean.transport.send("get_item", {})
    assert credentials.frozen == 2
    first, second = (sent.headers["Authorization"] for sent in server.received)
    assert "Credential=AKIDLEAN1/" in first
    assert "Credential=AKIDLEAN2/" in second


async def test_no_credentials_is_botocores_error(server: Server) -> None:
    async with opened(server.url, config()) as lean:
        lean.transport._credentials = None  # noqa: SLF001 - as when the chain found none
        with pytest.raises(NoCredentialsError):
            await lean.transport.send("get_item", {})
    assert server.received == []


async def test_signing_keys_are_kept_by_a_hash_of_the_secret_and_dropped_on_close(
    server: Server,
) -> None:
    async with opened(server.url, config()) as lean:
        await lean.transport.send("get_item", {})
        await lean.transport.send("get_item", {})
        assert len(lean.transport.keys) == 1  # derived once, used twice
        kept = repr(lean.transport.keys._keys)  # noqa: SLF001 - what the cache holds
        assert SECRET not in kept
        assert SECRET.encode().hex() not in kept
    assert len(lean.transport.keys) == 0


def test_signing_keys_are_per_secret_date_region_and_service() -> None:
    keys = SigningKeys()
    first = keys.get(SECRET, "20250309", "eu-west-1", "dynamodb")
    assert keys.get(SECRET, "20250309", "eu-west-1", "dynamodb") is first
    others = {
        keys.get("another", "20250309", "eu-west-1", "dynamodb"),
        keys.get(SECRET, "20250310", "eu-west-1", "dynamodb"),
        keys.get(SECRET, "20250309", "us-east-1", "dynamodb"),
        keys.get(SECRET, "20250309", "eu-west-1", "iam"),
    }
    assert first not in others
    assert len(others) == 4


async def test_the_environments_proxy_is_honoured_unless_no_proxy_exempts_the_host(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As botocore does; read once at open, not per request."""
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with opened("http://dynamodb.invalid", config()) as lean:
        await lean.transport.send("get_item", {})
    assert server.received[0].headers["Host"] == "dynamodb.invalid"
    exempt = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with opened(exempt, config(max_attempts=1)) as lean:
        with pytest.raises(EndpointConnectionError):
            await lean.transport.send("get_item", {})
    assert len(server.received) == 1


async def test_a_proxy_setting_without_a_scheme_is_an_http_proxy_as_for_botocore(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", server.url.removeprefix("http://"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with opened("http://dynamodb.invalid", config()) as lean:
        await lean.transport.send("get_item", {})
    assert server.received[0].headers["Host"] == "dynamodb.invalid"


async def test_an_idle_connection_is_reused_until_it_expires(server: Server) -> None:
    """As aiobotocore's 12 s keep-alive: an older idle connection is closed, not reused."""
    url = URL(server.url)
    pool = HttpPool(url, limit=4, connect_timeout=5, read_timeout=5, ssl_context=None)
    short = HttpPool(
        url, limit=4, connect_timeout=5, read_timeout=5, ssl_context=None, idle_timeout=0.05
    )
    try:
        for each in (pool, pool, short):
            await each.post({"X-Amz-Target": "DynamoDB_20120810.GetItem"}, b"{}")
        await asyncio.sleep(0.2)  # only a lower bound: longer on a busy machine is fine
        await short.post({"X-Amz-Target": "DynamoDB_20120810.GetItem"}, b"{}")
        await pool.post({"X-Amz-Target": "DynamoDB_20120810.GetItem"}, b"{}")
    finally:
        pool.close()
        short.close()
    first, reused, short_first, short_after, pool_after = (r.peer for r in server.received)
    assert reused == first
    assert pool_after == first  # within 12 s: still the same connection
    assert short_after != short_first  # expired: a new connection


async def test_every_attempt_carries_the_sdks_invocation_and_retry_headers(
    server: Server, lean: Opened
) -> None:
    server.answers = [aws_error(500, "InternalServerError"), answer(200, {})]
    await lean.transport.send("get_item", {})
    await lean.transport.send("get_item", {})
    first, retry, other = (request.headers for request in server.received)
    assert first["amz-sdk-request"] == "attempt=1; max=3"
    assert retry["amz-sdk-request"] == "attempt=2; max=3"
    assert first["amz-sdk-invocation-id"] == retry["amz-sdk-invocation-id"]
    assert other["amz-sdk-invocation-id"] != first["amz-sdk-invocation-id"]
    assert other["amz-sdk-request"] == "attempt=1; max=3"

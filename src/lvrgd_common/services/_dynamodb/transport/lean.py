"""The lean request path: DynamoDB's item operations as signed JSON posts.

botocore spends most of a small request's client CPU outside the network: the service
model walk, event hooks, endpoint rules and header assembly. DynamoDB's protocol is one
JSON POST per call, and the codec already builds the wire's AttributeValue form, so
`LeanTransport` sends the item operations itself:

- the body is ``orjson`` over the request (bytes, ``B``/``BS``, go as base64 as botocore
  sends them); the answer is parsed the same way (binary values stay base64 text, which the
  codec's decoder accepts);
- signed with the library's SigV4 signer (`signing.sign_post`) on aioboto3's credentials,
  frozen per attempt so refreshable ones are refreshed as botocore does;
- posted on keep-alive connections of its own (`http11.HttpPool`), at most
  ``max_pool_connections``, with ``connect_timeout`` and ``read_timeout``; through an
  aiohttp session when the environment names a proxy for the endpoint;
- every answer judged by `answers.judge` (a JSON object, its ``x-amz-crc32`` right, an
  error with its code), as the aioboto3 path's are; an error answer becomes the exception
  class botocore models for its code (a ``ClientError``) and a transport failure botocore's
  connection error of the same kind, so the service translates both through its one table;
- retried as botocore's standard mode does: throttling codes, transient codes and 5xx,
  connection errors and a bad checksum; ``max_attempts`` in all, full-jitter exponential
  backoff, and the shared retry quota.

Every other call (DescribeTable, ...) goes to the aioboto3 client given as ``fallback``.
"""

from __future__ import annotations

import asyncio
import base64
import random
import socket
import ssl
import urllib.request
import uuid
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, NoReturn

import aiohttp
import orjson
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from yarl import URL

from lvrgd_common.services._dynamodb.apis import lean_targets
from lvrgd_common.services._dynamodb.transport.answers import (
    Attempts,
    NotDynamoDBAnswerError,
    judge,
)
from lvrgd_common.services._dynamodb.transport.http11 import HttpPool
from lvrgd_common.services._dynamodb.transport.signing import SigningKeys, sign_post
from lvrgd_common.services._dynamodb.transport.tuning import USER_AGENT

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from botocore.credentials import Credentials

    from lvrgd_common.models.dynamodb_config import DynamoDBConfig
    from lvrgd_common.services._dynamodb.transport.base import Transport

__all__ = ["LEAN_TARGETS", "LeanTransport", "RetryQuota"]

# The client method names the lean path serves -> DynamoDB's operation names (`apis`).
LEAN_TARGETS: Final = lean_targets()
_TARGET_PREFIX: Final = "DynamoDB_20120810."
_CONTENT_TYPE: Final = "application/x-amz-json-1.0"
_SERVICE: Final = "dynamodb"

# botocore's standard retry mode (botocore/retries/standard.py).
THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES: Final = frozenset({"RequestTimeout", "RequestTimeoutException"})
TRANSIENT_STATUSES: Final = frozenset({500, 502, 503, 504})
MAX_BACKOFF: Final = 20.0
_TRANSIENT_ERRORS: Final = (BotoConnectionError, HTTPClientError)


class RetryQuota:
    """botocore's retry quota: retries spend capacity, successes give it back."""

    CAPACITY: Final = 500
    RETRY_COST: Final = 5
    TIMEOUT_RETRY_COST: Final = 10
    NO_RETRY_INCREMENT: Final = 1

    __slots__ = ("available",)

    def __init__(self) -> None:
        self.available = self.CAPACITY

    def acquire(self, *, timeout: bool) -> int | None:
        """Spend the cost of one retry; None when the quota is exhausted."""
        cost = self.TIMEOUT_RETRY_COST if timeout else self.RETRY_COST
        if cost > self.available:
            return None
        self.available -= cost
        return cost

    def release(self, amount: int) -> None:
        """Give capacity back after a success (never beyond the capacity)."""
        self.available = min(self.CAPACITY, self.available + amount)


class _Retryable(Exception):  # noqa: N818 - internal signal, never leaves this module
    """An answer that standard mode retries; ``final`` is what to raise after the last."""

    def __init__(self, final: Exception) -> None:
        super().__init__(str(final))
        self.final = final


class LeanTransport:
    """The item operations over aiohttp; every other call through ``fallback``."""

    def __init__(  # noqa: PLR0913 - keyword-only settings, and the seams tests use
        self,
        fallback: Transport,
        *,
        credentials: Credentials | None,
        region: str,
        endpoint_url: str,
        config: DynamoDBConfig,
        tls: ssl.SSLContext | None = None,
        error_class: Callable[[str], type[ClientError]] | None = None,
        jitter: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._fallback = fallback
        self._error_class = error_class
        self._credentials = credentials
        self._region = region
        url = URL(endpoint_url)
        self._url = str(url if url.path not in {"", "/"} else url.with_path("/"))
        self._request_url = URL(self._url, encoded=True)
        self._max_attempts = config.max_attempts
        self._jitter = jitter
        self._sleep = sleep
        self.quota = RetryQuota()
        self.keys = SigningKeys()
        self._proxy = _environment_proxy(url)
        if url.scheme != "https":
            tls = None
        elif tls is None:
            tls = ssl.create_default_context()
        # Without a proxy the posts go on the lean path's own HTTP/1.1 client; through a
        # proxy, on aiohttp's, which speaks to proxies.
        self._pool: HttpPool | None = None
        self._http: aiohttp.ClientSession | None = None
        if self._proxy is None:
            self._pool = HttpPool(
                self._request_url,
                limit=config.max_pool_connections,
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
                ssl_context=tls,
            )
        else:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=config.max_pool_connections, ssl=tls if tls is not None else True
                ),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=config.connect_timeout, sock_read=config.read_timeout
                ),
                # botocore asks for the body as is (the checksum is over those bytes).
                auto_decompress=False,
                skip_auto_headers=("User-Agent",),
                # The proxy is read once above; with trust_env aiohttp would look it (and
                # .netrc) up in a thread for every request.
                trust_env=False,
            )

    async def aclose(self) -> None:
        """Close the HTTP session and its connections; forget the signing keys."""
        self.keys.clear()
        if self._pool is not None:
            self._pool.close()
            await asyncio.sleep(0)  # the transports finish closing on the next loop turn
        if self._http is not None:
            await self._http.close()

    async def send(
        self, api: str, request: dict[str, Any], *, idempotent: bool = True
    ) -> dict[str, Any]:
        """The parsed response of ``api``; raises as the aioboto3 client would.

        A call that is not ``idempotent`` is not retried once an attempt may have been
        applied (`answers.Attempts`).
        """
        target = LEAN_TARGETS.get(api)
        if target is None:
            return await self._fallback.send(api, request, idempotent=idempotent)
        body = orjson.dumps(request, default=_base64)
        attempts = Attempts(idempotent=idempotent)
        invocation = str(uuid.uuid4())
        attempt, cost = 1, None
        while True:
            try:
                response = await self._attempt(target, body, invocation, attempt)
            except _Retryable as exc:
                failure: Exception = exc.final
            except _TRANSIENT_ERRORS as exc:
                failure = exc
            except (ClientError, NotDynamoDBAnswerError) as exc:
                attempts.failed(exc)
                _give_up(attempts, exc, attempt)
            else:
                self.quota.release(RetryQuota.NO_RETRY_INCREMENT if cost is None else cost)
                response["ResponseMetadata"]["RetryAttempts"] = attempt - 1
                return response
            attempts.failed(failure)
            cost = await self._before_retry(attempt, failure)
            if cost is None:
                _give_up(attempts, failure, attempt)
            attempt += 1

    async def _before_retry(self, attempt: int, failure: Exception) -> int | None:
        """Sleep before the next attempt and return the quota it cost; None: no retry."""
        cost = None
        if attempt < self._max_attempts:
            timeout = isinstance(failure, (ConnectTimeoutError, ReadTimeoutError))
            cost = self.quota.acquire(timeout=timeout)
        if cost is None:
            return None
        await self._sleep(self._jitter() * min(2.0 ** (attempt - 1), MAX_BACKOFF))
        return cost

    async def _attempt(
        self, target: str, body: bytes, invocation: str, attempt: int
    ) -> dict[str, Any]:
        credentials = self._credentials
        if credentials is None:
            raise NoCredentialsError
        frozen = await credentials.get_frozen_credentials()  # type: ignore[misc]
        headers = {"Content-Type": _CONTENT_TYPE, "X-Amz-Target": _TARGET_PREFIX + target}
        sign_post(
            headers,
            credentials=frozen,
            region=self._region,
            service=_SERVICE,
            url=self._url,
            body=body,
            keys=self.keys,
        )
        headers["Accept-Encoding"] = "identity"
        headers["User-Agent"] = USER_AGENT
        # As botocore: one invocation id per call, the attempt and the bound on each.
        headers["amz-sdk-invocation-id"] = invocation
        headers["amz-sdk-request"] = f"attempt={attempt}; max={self._max_attempts}"
        status, _reason, answer_headers, content = await self._post(headers, body)
        try:
            parsed: dict[str, Any] = judge(status, answer_headers, content)
        except NotDynamoDBAnswerError as exc:
            if exc.checksum or status in TRANSIENT_STATUSES:
                raise _Retryable(exc) from exc
            raise
        metadata = {"RequestId": answer_headers.get("x-amzn-requestid"), "HTTPStatusCode": status}
        if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            parsed["ResponseMetadata"] = metadata
            return parsed
        error = self._client_error(parsed, metadata, target)
        code = error.response["Error"]["Code"]
        if code in THROTTLING_CODES or code in TRANSIENT_CODES or status in TRANSIENT_STATUSES:
            raise _Retryable(error)
        raise error

    def _client_error(
        self, body: dict[str, Any], metadata: dict[str, Any], target: str
    ) -> ClientError:
        """The exception botocore raises for an error answer, with the same fields.

        As botocore's JSON parser: the code from ``__type``, the message from
        ``message``/``Message``; the class the client models for the code (e.g.
        ``ConditionalCheckFailedException``), else ``ClientError``.
        """
        code = str(body.pop("__type")).split(":", 1)[0].rpartition("#")[2]
        message = body.pop("message", None)
        if message is None:
            message = body.pop("Message", "")
        response: Any = {
            **body,
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": metadata,
        }
        error_class = ClientError if self._error_class is None else self._error_class(code)
        return error_class(response, target)

    async def _post(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, dict[str, str], bytes]:
        """``(status, reason, headers, body)``; transport failures as botocore's errors."""
        if self._pool is not None:
            return await self._pool.post(headers, body)
        return await self._proxied_post(headers, body)

    async def _proxied_post(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, dict[str, str], bytes]:
        url = self._url
        assert self._http is not None  # noqa: S101 - set whenever there is a proxy
        try:
            async with self._http.post(
                self._request_url, data=body, headers=headers, proxy=self._proxy
            ) as answer:
                content = await answer.read()
                answer_headers = {
                    name.decode("latin-1").lower(): value.decode("latin-1")
                    for name, value in answer.raw_headers
                }
                return answer.status, answer.reason or "", answer_headers, content
        except aiohttp.ClientSSLError as exc:
            raise SSLError(endpoint_url=url, error=exc) from exc
        except (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError) as exc:
            raise ProxyConnectionError(proxy_url="(from the environment)", error=exc) from exc
        except (
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientPayloadError,
            aiohttp.http_exceptions.BadStatusLine,
        ) as exc:
            raise ConnectionClosedError(endpoint_url=url, error=exc) from exc
        except aiohttp.ServerTimeoutError as exc:
            if str(exc).lower().startswith("connect"):
                raise ConnectTimeoutError(endpoint_url=url, error=exc) from exc
            raise ReadTimeoutError(endpoint_url=url, error=exc) from exc
        except (
            aiohttp.ClientConnectorError,
            aiohttp.ClientConnectionError,
            socket.gaierror,
        ) as exc:
            raise EndpointConnectionError(endpoint_url=url, error=exc) from exc
        except TimeoutError as exc:
            raise ReadTimeoutError(endpoint_url=url, error=exc) from exc
        except aiohttp.ClientError as exc:
            raise HTTPClientError(error=exc) from exc


def _environment_proxy(url: URL) -> str | None:
    """The proxy ``HTTPS_PROXY``/``HTTP_PROXY`` name for ``url``, unless ``NO_PROXY`` exempts it."""
    host = url.host or ""
    if not host or urllib.request.proxy_bypass(host):
        return None
    proxy = urllib.request.getproxies().get(url.scheme)
    return None if not proxy else _with_scheme(proxy)


def _with_scheme(proxy: str) -> str:
    """As botocore reads a proxy setting: ``host:port`` and ``//host:port`` are HTTP proxies."""
    if proxy.startswith(("http:", "https:")):
        return proxy
    if proxy.startswith("//"):
        return "http:" + proxy
    return "http://" + proxy


def _base64(value: Any) -> str:  # noqa: ANN401 - what orjson cannot serialize
    """For ``orjson.dumps``: bytes (``B`` and ``BS`` values) as base64 text, as on the wire."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)  # type: ignore[return-value]
    msg = f"{type(value).__name__} is not JSON serializable"
    raise TypeError(msg)


def _give_up(attempts: Attempts, failure: Exception, attempt: int) -> NoReturn:
    """Raise what the call ends with after its last attempt."""
    _note_attempts(failure, attempt)
    final = attempts.final(failure)
    if final is failure:
        raise failure
    raise final from failure


def _note_attempts(exc: Exception, attempts: int) -> None:
    """Record the attempts on a ClientError, as botocore does."""
    if isinstance(exc, ClientError):
        response: dict[str, Any] = exc.response  # type: ignore[assignment]
        metadata: dict[str, Any] = response.setdefault("ResponseMetadata", {})
        metadata["RetryAttempts"] = attempts - 1
        metadata["MaxAttemptsReached"] = True

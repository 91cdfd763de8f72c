"""How the service sends a request: one small interface, two implementations.

The service asks a `Transport` to ``send(api, request)`` and gets the parsed response, or
the exception of the failed request (botocore's ``ClientError`` for an AWS error, botocore's
connection errors for a transport failure), which the service's one door translates.

- `ClientTransport`: the aioboto3 client, every request through botocore's pipeline;
- `lean.LeanTransport`: the item operations as plain signed JSON posts, the rest through
  the client.

`open_transport` picks one from ``DynamoDBConfig.fast_path``; nothing above it knows which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from lvrgd_common.services._dynamodb.transport.answers import (
    NOT_DYNAMODB,
    Attempts,
    NotDynamoDBAnswerError,
)
from lvrgd_common.services._dynamodb.transport.client import open_client
from lvrgd_common.services._dynamodb.transport.client_hooks import CALL
from lvrgd_common.services._dynamodb.transport.lean import LeanTransport

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from types_aiobotocore_dynamodb import DynamoDBClient

    from lvrgd_common.models.dynamodb_config import DynamoDBConfig
    from lvrgd_common.services.logging_service import LoggerProtocol

__all__ = ["ClientTransport", "Transport", "open_transport"]


class Transport(Protocol):
    """Sends one DynamoDB request, named by the client's method name (``"get_item"``)."""

    async def send(
        self, api: str, request: dict[str, Any], *, idempotent: bool = True
    ) -> dict[str, Any]:
        """The parsed response; raises what the request failed with.

        A call that is not ``idempotent`` is not retried after an attempt that may have
        been applied: it raises `answers.AmbiguousWriteError`, as does a condition that
        fails after such an attempt.
        """
        ...


class ClientTransport:
    """Every request through the aioboto3 client, its answers judged as the lean path's."""

    __slots__ = ("_client",)

    def __init__(self, client: DynamoDBClient) -> None:
        self._client = client

    async def send(
        self, api: str, request: dict[str, Any], *, idempotent: bool = True
    ) -> dict[str, Any]:
        """Call the client method ``api`` with ``request`` as its arguments."""
        attempts = Attempts(idempotent=idempotent)
        token = CALL.set(attempts)
        try:
            response: dict[str, Any] = await getattr(self._client, api)(**request)
        except Exception as exc:
            failure = _verdict_of(exc)
            attempts.failed(failure)
            final = attempts.final(failure)
            if final is exc:
                raise
            raise final from exc
        finally:
            CALL.reset(token)
        verdict = response.pop(NOT_DYNAMODB, None)
        if verdict is not None:  # a checksum that never matched, after botocore's retries
            attempts.failed(verdict)
            raise verdict
        return response


def _verdict_of(exc: Exception) -> Exception:
    """The answer check's verdict where botocore raised for an answer that is not DynamoDB's."""
    if isinstance(exc, ClientError):
        verdict = exc.response.get(NOT_DYNAMODB)
        if isinstance(verdict, NotDynamoDBAnswerError):
            return verdict
    return exc


async def open_transport(
    config: DynamoDBConfig, logger: LoggerProtocol
) -> tuple[Transport, AsyncExitStack]:
    """The transport ``config`` asks for, and the stack that closes it; sends no request.

    Raises:
        DynamoDBServiceError: The client cannot be created (e.g. a malformed endpoint).
    """
    opened = await open_client(config, logger)
    client_transport = ClientTransport(opened.client)
    if not config.fast_path or opened.account_routed:
        # Account-ID endpoints are resolved by botocore's rules: leave them to the client.
        return client_transport, opened.stack
    lean = LeanTransport(
        client_transport,
        credentials=opened.credentials,
        region=opened.client.meta.region_name,
        endpoint_url=opened.client.meta.endpoint_url,
        config=config,
        tls=opened.tls,
        error_class=opened.client.exceptions.from_code,  # type: ignore[arg-type]
    )
    opened.stack.push_async_callback(lean.aclose)
    return lean, opened.stack

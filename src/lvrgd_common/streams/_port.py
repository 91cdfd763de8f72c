"""What the streams package needs of a `DynamoDBService`: its door, its state, its config.

The service builds one `Port` and hands it to the consumers and locks here, so nothing in
this package reaches into the service's private attributes. Requests to DynamoDB (the
lease table) go through the service's one door; requests to DynamoDB Streams go through
`Port.call_streams`, which times, traces and translates them the same way, on a
``dynamodbstreams`` client opened on first use with the service's credentials, region,
endpoint and timeouts, and closed with the service.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aioboto3
from aiobotocore.config import AioConfig

from lvrgd_common.exceptions.dynamodb_exceptions import (
    DynamoDBServiceError,
    DynamoDBUnavailableError,
)
from lvrgd_common.services._dynamodb.errors import raised_by_client, translate_error

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from contextlib import AbstractContextManager, AsyncExitStack

    from lvrgd_common.models.dynamodb_config import DynamoDBConfig
    from lvrgd_common.services._dynamodb.operation import OperationLog
    from lvrgd_common.services.logging_service import LoggerProtocol

__all__ = ["Port"]


@dataclass(slots=True)
class Port:
    """The service as this package sees it."""

    config: DynamoDBConfig
    logger: LoggerProtocol
    operation: Callable[..., AbstractContextManager[OperationLog]]
    """The service's ``_operation``: checks it is open, logs and traces one operation."""
    send: Callable[[OperationLog, str, dict[str, Any]], Awaitable[dict[str, Any]]]
    """The service's one door to DynamoDB."""
    is_closed: Callable[[], bool]
    exit_stack: Callable[[], AsyncExitStack | None]
    ready_tables: set[str] = field(default_factory=set)
    """Lease tables known to exist and be ACTIVE."""
    _client: Any = None
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def table(self) -> str:
        """The service's table."""
        return self.config.table_name

    async def call_streams(self, op: OperationLog, api: str, request: dict[str, Any]) -> Any:  # noqa: ANN401 - botocore's parsed answer
        """One DynamoDB Streams request, errors translated as the service's door does.

        Raises:
            DynamoDBServiceError: As for any request (the AWS code kept on the error).
        """
        client = await self._streams_client(op)
        op.note_request(api, request)
        try:
            async with asyncio.timeout(self.config.operation_timeout):
                response: dict[str, Any] = await getattr(client, api)(**request)
        except TimeoutError as exc:
            reason = (
                "DynamoDB Streams did not answer within "
                f"operation_timeout={self.config.operation_timeout:g} s"
            )
            raise op.error(reason, DynamoDBUnavailableError) from exc
        except Exception as exc:
            if not raised_by_client(exc):
                raise
            raise translate_error(exc, op.name) from exc
        op.note_response(response)
        return response

    async def _streams_client(self, op: OperationLog) -> Any:  # noqa: ANN401 - aiobotocore client
        async with self._opening:
            if self._client is not None:
                return self._client
            stack = self.exit_stack()
            if stack is None or self.is_closed():
                reason = "the service is closed"
                raise op.error(reason, DynamoDBServiceError)
            config = self.config
            session = aioboto3.Session(
                aws_access_key_id=config.aws_access_key_id,
                aws_secret_access_key=_secret(config.aws_secret_access_key),
                aws_session_token=_secret(config.aws_session_token),
                region_name=config.region,
                profile_name=getattr(config, "profile_name", None),
            )
            settings = AioConfig(
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
                retries={"total_max_attempts": config.max_attempts, "mode": "standard"},
            )
            try:
                self._client = await stack.enter_async_context(
                    session.client(
                        "dynamodbstreams", endpoint_url=config.endpoint_url, config=settings
                    )
                )
            except Exception as exc:
                raise translate_error(exc, op.name) from exc
            stack.callback(self._forget)
            return self._client

    def _forget(self) -> None:
        self._client = None


def _secret(value: Any) -> str | None:  # noqa: ANN401 - SecretStr or None
    return None if value is None else str(value.get_secret_value())

"""The aioboto3 DynamoDB client a service opens once and shares, configured for speed.

Everything the service needs of botocore is settled here: pool size, timeouts and retries
from the config; the tuning of botocore's pipeline (`tuning`, checked at open); and the
credential mask on botocore's DEBUG records (`redaction`).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError

from lvrgd_common.exceptions.dynamodb_exceptions import DynamoDBServiceError
from lvrgd_common.services._dynamodb.errors import TRANSLATED_ERRORS, translate_error
from lvrgd_common.services._dynamodb.transport.client_hooks import register_hooks
from lvrgd_common.services._dynamodb.transport.redaction import CredentialMask
from lvrgd_common.services._dynamodb.transport.signing import SHARED_KEYS
from lvrgd_common.services._dynamodb.transport.tls import (
    BadCABundleError,
    ca_bundle_of,
    verified_context,
    verified_session_class,
)
from lvrgd_common.services._dynamodb.transport.tuning import (
    check,
    client_options,
    tune_client,
    tuned_session,
)

if TYPE_CHECKING:
    import ssl

    from aiobotocore.session import AioSession
    from botocore.credentials import Credentials
    from pydantic import SecretStr
    from types_aiobotocore_dynamodb import DynamoDBClient

    from lvrgd_common.models.dynamodb_config import DynamoDBConfig
    from lvrgd_common.services.logging_service import LoggerProtocol

__all__ = ["OpenedClient", "open_client"]


@dataclass(frozen=True, slots=True)
class OpenedClient:
    """An open client, the stack that closes it, and what the lean path borrows of it."""

    client: DynamoDBClient
    stack: AsyncExitStack
    credentials: Credentials | None
    """The session's credentials, the very object the client signs with (None: none found)."""
    tls: ssl.SSLContext
    """The verified TLS context both paths use (`tls.verified_context`)."""
    account_routed: bool = False
    """botocore routes this client's requests to an account-ID endpoint, which the lean
    path does not resolve (`routes_by_account`)."""


async def open_client(config: DynamoDBConfig, logger: LoggerProtocol) -> OpenedClient:
    """The client, and the stack that closes it (and its connections) when closed.

    Sends no request (credentials from a profile or the environment are read, as botocore
    reads them when it creates a client). Logs one warning where botocore's pipeline could
    not be tuned (see `tuning`).

    Raises:
        DynamoDBServiceError: The client cannot be created (e.g. a malformed endpoint,
            a CA bundle that is missing or unreadable); nothing is left open.
    """
    botocore_session = tuned_session()
    try:
        session = aioboto3.Session(
            botocore_session=botocore_session,
            aws_access_key_id=config.aws_access_key_id,
            aws_secret_access_key=_secret(config.aws_secret_access_key),
            aws_session_token=_secret(config.aws_session_token),
            region_name=config.region,
            profile_name=config.profile_name,
        )
    except BotoCoreError as exc:  # e.g. ProfileNotFound
        raise DynamoDBServiceError(operation="open", reason=str(exc)) from exc
    stack = AsyncExitStack()
    # botocore logs the session token at DEBUG; mask it (and the secret) while open.
    mask = CredentialMask(
        (_secret(config.aws_secret_access_key), _secret(config.aws_session_token))
    )
    mask.attach()
    stack.callback(mask.detach)
    stack.callback(SHARED_KEYS.clear)
    try:
        tls = verified_context(ca_bundle_of(botocore_session))
        session_class = verified_session_class(tls)
    except BadCABundleError as exc:
        await stack.aclose()
        raise DynamoDBServiceError(operation="open", reason=str(exc)) from exc
    botocore_config = AioConfig(
        max_pool_connections=config.max_pool_connections,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        retries={"total_max_attempts": config.max_attempts, "mode": "standard"},
        http_session_cls=session_class,
        **client_options(),
    )
    try:
        client: DynamoDBClient = await stack.enter_async_context(
            session.client("dynamodb", endpoint_url=config.endpoint_url, config=botocore_config)
        )
        credentials = await botocore_session.get_credentials() if config.fast_path else None
    except (*TRANSLATED_ERRORS, ValueError) as exc:
        await stack.aclose()
        raise translate_error(exc, "open") from exc
    tune_client(client)
    register_hooks(client)
    check(client, logger)
    routed = credentials is not None and routes_by_account(
        botocore_session, client.meta.endpoint_url, credentials
    )
    return OpenedClient(client, stack, credentials, tls, routed)


def routes_by_account(
    session: AioSession, endpoint_url: str, credentials: Credentials | None
) -> bool:
    """Whether botocore sends to an account-ID endpoint (``{account}.ddb.{region}...``).

    It does on AWS's own endpoints when the credentials carry an account ID
    (``AWS_ACCOUNT_ID``, a profile's ``aws_account_id``, SSO or assumed roles) and
    ``AWS_ACCOUNT_ID_ENDPOINT_MODE`` (``account_id_endpoint_mode``) is not ``disabled``.
    """
    if credentials is None or getattr(credentials, "account_id", None) is None:
        return False
    if session.get_config_variable("account_id_endpoint_mode") == "disabled":
        return False
    host = urlsplit(endpoint_url).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()

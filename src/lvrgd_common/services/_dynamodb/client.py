"""The aioboto3 DynamoDB client a service opens once and shares, configured for speed.

Everything the service needs of botocore is settled here: pool size, timeouts and retries
from the config; no parameter validation (the library has checked every request); a fixed
User-Agent; AttributeValues passed through botocore's serializer and parser unwalked
(`wire`); the one-pass SigV4 signer (`signing`); and the credential mask on botocore's
DEBUG records (`redaction`).
"""

from __future__ import annotations

import platform
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aioboto3
import aiobotocore
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.httpsession import get_cert_path
from botocore.serialize import JSONSerializer

from lvrgd_common.services._dynamodb.errors import TRANSLATED_ERRORS, translate_error
from lvrgd_common.services._dynamodb.redaction import CredentialMask
from lvrgd_common.services._dynamodb.signing import SHARED_KEYS, signature_version
from lvrgd_common.services._dynamodb.wire import PassThroughParserFactory, PassThroughSerializer

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from pydantic import SecretStr
    from types_aiobotocore_dynamodb import DynamoDBClient

    from lvrgd_common.models.dynamodb_config import DynamoDBConfig

__all__ = ["OpenedClient", "open_client"]

# Set as the whole User-Agent (the session appends botocore's name and version): botocore
# otherwise rebuilds its default one from some forty components, twice per request, about
# 10% of a GetItem's client CPU in the benchmark.
USER_AGENT = (
    f"lvrgd-common aiobotocore/{aiobotocore.__version__} Python/{platform.python_version()}"
)


@dataclass(frozen=True, slots=True)
class OpenedClient:
    """An open client, the stack that closes it, and what the lean path borrows of it."""

    client: DynamoDBClient
    stack: AsyncExitStack
    credentials: Credentials | None
    """The session's credentials, the very object the client signs with (None: none found)."""
    ca_bundle: str | None
    """The CA bundle botocore verifies TLS with (``AWS_CA_BUNDLE``, profile, certifi)."""


async def open_client(config: DynamoDBConfig) -> OpenedClient:
    """The client, and the stack that closes it (and its connections) when closed.

    Sends no request (credentials from a profile or the environment are read, as botocore
    reads them when it creates a client).

    Raises:
        DynamoDBServiceError: The client cannot be created (e.g. a malformed endpoint).
    """
    # Items go to and from the wire in the codec's AttributeValue form, not through
    # botocore's shape walk (see wire.py); the session is this client's own.
    botocore_session = AioSession()
    botocore_session.register_component("response_parser_factory", PassThroughParserFactory())
    session = aioboto3.Session(
        botocore_session=botocore_session,
        aws_access_key_id=config.aws_access_key_id,
        aws_secret_access_key=_secret(config.aws_secret_access_key),
        aws_session_token=_secret(config.aws_session_token),
        region_name=config.region,
    )
    # SigV4 with the same signatures in fewer steps (see signing.py), where botocore's own
    # signer is the one it extends; botocore's default otherwise.
    signer = signature_version()
    signing: dict[str, Any] = {} if signer is None else {"signature_version": signer}
    botocore_config = AioConfig(
        max_pool_connections=config.max_pool_connections,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        retries={"total_max_attempts": config.max_attempts, "mode": "standard"},
        # Every request is built and checked by this library already.
        parameter_validation=False,
        user_agent=USER_AGENT,
        **signing,
    )
    stack = AsyncExitStack()
    # botocore logs the session token at DEBUG; mask it (and the secret) while open.
    mask = CredentialMask(
        (_secret(config.aws_secret_access_key), _secret(config.aws_session_token))
    )
    mask.attach()
    stack.callback(mask.detach)
    stack.callback(SHARED_KEYS.clear)
    try:
        client: DynamoDBClient = await stack.enter_async_context(
            session.client("dynamodb", endpoint_url=config.endpoint_url, config=botocore_config)
        )
        credentials = await botocore_session.get_credentials() if config.fast_path else None
    except (*TRANSLATED_ERRORS, ValueError) as exc:
        await stack.aclose()
        raise translate_error(exc, "open") from exc
    # botocore offers no hook for the serializer; it is swapped only when it is the plain
    # JSON serializer that PassThroughSerializer extends.
    if type(getattr(client, "_serializer", None)) is JSONSerializer:
        client._serializer = PassThroughSerializer()  # type: ignore[attr-defined]  # noqa: SLF001
    ca_bundle = get_cert_path(botocore_session.get_config_variable("ca_bundle") or True)
    return OpenedClient(
        client, stack, credentials, ca_bundle if isinstance(ca_bundle, str) else None
    )


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()

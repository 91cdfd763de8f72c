"""Every change this library makes to botocore's request pipeline, each guarded, in one place.

- a fixed User-Agent (botocore rebuilds its default from some forty parts, twice per request);
- no parameter validation (the library has checked every request);
- the pass-through parser (`wire`), registered as the session's ``response_parser_factory``;
- the one-pass SigV4 signer (`signing`), offered under its own ``signature_version`` where
  botocore's ``v4`` is the pure-Python signer it extends;
- the pass-through serializer (`wire`), swapped in for the client's private ``_serializer``
  where that is the plain JSON serializer it extends.

The last three lean on botocore internals. Where one is missing (a botocore that moved
them, the CRT signer installed), botocore's own behaviour stays and `check` logs one
warning record at open naming what was left out. aioboto3's major version is bounded in
``pyproject.toml`` so such a move arrives as a deliberate upgrade.
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any, Final

import aiobotocore
from aiobotocore.session import AioSession
from botocore.serialize import JSONSerializer

from lvrgd_common.services._dynamodb.transport.signing import SIGNATURE_VERSION, signature_version
from lvrgd_common.services._dynamodb.transport.wire import (
    PassThroughParser,
    PassThroughParserFactory,
    PassThroughSerializer,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

    from lvrgd_common.services.logging_service import LoggerProtocol

__all__ = ["HOOKS", "USER_AGENT", "check", "client_options", "tune_client", "tuned_session"]

# Set as the whole User-Agent (the session appends botocore's name and version).
USER_AGENT: Final = (
    f"lvrgd-common aiobotocore/{aiobotocore.__version__} Python/{platform.python_version()}"
)
# The private hooks, by the name `check` reports them under.
HOOKS: Final = ("parser", "signer", "serializer")


def tuned_session() -> AioSession:
    """A botocore session of the client's own, with the pass-through parser registered."""
    session = AioSession()
    session.register_component("response_parser_factory", PassThroughParserFactory())
    return session


def client_options() -> dict[str, Any]:
    """The ``AioConfig`` arguments of the tuning: User-Agent, validation, signer."""
    options: dict[str, Any] = {"parameter_validation": False, "user_agent": USER_AGENT}
    signer = signature_version()
    if signer is not None:
        options["signature_version"] = signer
    return options


def tune_client(client: DynamoDBClient) -> None:
    """Swap in the pass-through serializer where the client has the plain JSON one."""
    if type(getattr(client, "_serializer", None)) is JSONSerializer:
        client._serializer = PassThroughSerializer()  # type: ignore[attr-defined]  # noqa: SLF001


def missing_hooks(client: DynamoDBClient) -> list[str]:
    """The tuned paths this client does not take (botocore's own are used instead)."""
    missing = []
    endpoint = getattr(client, "_endpoint", None)
    factory = getattr(endpoint, "_response_parser_factory", None)
    create = getattr(factory, "create_parser", None)
    if create is None or not isinstance(create("json"), PassThroughParser):
        missing.append("parser")
    signer = getattr(client, "_request_signer", None)
    if getattr(signer, "_signature_version", None) != SIGNATURE_VERSION:
        missing.append("signer")
    if not isinstance(getattr(client, "_serializer", None), PassThroughSerializer):
        missing.append("serializer")
    return missing


def check(client: DynamoDBClient, logger: LoggerProtocol) -> list[str]:
    """Log one warning when a tuned path is not taken; the hooks missing."""
    missing = missing_hooks(client)
    if missing:
        logger.warning(
            "botocore tuning not applied; botocore's own behaviour is used",
            missing=missing,
            botocore_version=_botocore_version(),
        )
    return missing


def _botocore_version() -> str:
    import botocore  # noqa: PLC0415 - only for the warning

    return str(botocore.__version__)

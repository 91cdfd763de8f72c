"""One verified TLS context per service, built from the AWS configuration, for both paths.

The CA bundle is the one botocore would use: ``AWS_CA_BUNDLE``, else the profile's
``ca_bundle``, else the bundle botocore ships (certifi's where installed). The context checks
the certificate chain and the hostname on every connection; both the lean path's HTTP client
and the aioboto3 client's aiohttp connector use it (aiobotocore's own context leaves the
hostname unchecked, urllib3's habit, which aiohttp does not make up for).
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from aiobotocore.httpsession import AIOHTTPSession
from botocore.httpsession import get_cert_path

if TYPE_CHECKING:
    from aiobotocore.session import AioSession

__all__ = ["BadCABundleError", "ca_bundle_of", "verified_context", "verified_session_class"]


class BadCABundleError(Exception):
    """TLS cannot be verified: the CA bundle is missing or unreadable, or no hook takes it."""

    def __init__(self, path: str, exc: BaseException) -> None:
        self.path = path
        super().__init__(f"{path!r} cannot be used for TLS: {type(exc).__name__}: {exc}")


def ca_bundle_of(session: AioSession) -> str:
    """The CA bundle botocore would verify with, for ``session``'s configuration."""
    configured = session.get_config_variable("ca_bundle")
    path = get_cert_path(configured or True)
    return str(path)


def verified_context(ca_bundle: str) -> ssl.SSLContext:
    """A client context trusting ``ca_bundle`` only, checking chains and hostnames.

    Raises:
        BadCABundleError: The file is missing, unreadable or holds no certificate.
    """
    try:
        context = ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise BadCABundleError(ca_bundle, exc) from exc
    if not context.get_ca_certs() and not context.cert_store_stats().get("x509_ca"):
        raise BadCABundleError(ca_bundle, ValueError("no CA certificate in the file"))
    return context


def verified_session_class(context: ssl.SSLContext) -> type[AIOHTTPSession]:
    """The HTTP session class of aiobotocore, its connector built on ``context``.

    Raises:
        BadCABundleError: This aiobotocore builds its connector without the hook the
            context is given through: hostnames would go unchecked, so nothing is opened.
    """
    if not callable(getattr(AIOHTTPSession, "_get_ssl_context", None)):
        what, reason = "the verified TLS context", "aiobotocore has no _get_ssl_context hook"
        raise BadCABundleError(what, RuntimeError(reason))

    class VerifiedHTTPSession(AIOHTTPSession):
        def _get_ssl_context(self) -> Any:  # noqa: ANN401 - aiobotocore's hook
            return context

    return VerifiedHTTPSession

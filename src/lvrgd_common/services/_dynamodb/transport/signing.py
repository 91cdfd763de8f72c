"""botocore's SigV4 signer, with the same signatures for less CPU per request.

A profile of ``save`` put a fifth of the client's CPU in ``SigV4Auth.add_auth``. Most of it
is not cryptography: the headers are copied into an ``email.message`` based mapping twice,
the URL is split three times, the body is re-prepared to be hashed, and the signing key is
derived anew (four HMACs) for every request although it changes once a day.

`FastSigV4Auth` signs DynamoDB's requests (a POST of JSON bytes, no query string) in one
pass over plain strings, per the Signature Version 4 specification, and keeps the signing
key per secret key, date, region and service (`SigningKeys`, keyed by a hash of the secret,
never the secret itself). A key is only ever used for the secret key it was derived from, so
refreshed credentials get a new key at once. `sign_post` signs the lean path's requests
(`lean.py`) with the same code. Any other request (query
parameters, a body that is not bytes, unsigned payloads, a ``Date`` header, headers that
are not botocore's ``HTTPHeaders``) goes to botocore's own ``add_auth``.

The signer is offered to botocore under its own signature-version name, chosen through
``Config(signature_version=...)``; `signature_version()` registers it only where botocore's
``v4`` signer is the pure-Python ``SigV4Auth`` it extends, and otherwise answers None so the
client keeps botocore's default.
"""

from __future__ import annotations

import hmac
from functools import lru_cache
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlsplit

import botocore.auth
from botocore.auth import SIGNED_HEADERS_BLACKLIST, SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import HTTPHeaders
from botocore.compat import get_current_datetime
from botocore.exceptions import NoCredentialsError
from botocore.utils import normalize_url_path

if TYPE_CHECKING:
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials

__all__ = [
    "SHARED_KEYS",
    "SIGNATURE_VERSION",
    "FastSigV4Auth",
    "SigningKeys",
    "host_header",
    "sign_post",
    "signature_version",
]

SIGNATURE_VERSION: Final = "lvrgd-v4"
_ALGORITHM: Final = "AWS4-HMAC-SHA256"
_UNSIGNED: Final = frozenset(SIGNED_HEADERS_BLACKLIST)
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Signing keys kept: one per (secret key, date, region, service); cleared when full.
_MAX_KEYS: Final = 16


class SigningKeys:
    """Derived SigV4 signing keys, looked up by a SHA-256 of the secret key, never the secret.

    A derivation is four HMACs; the key changes once a day (or with new credentials).
    """

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: dict[tuple[bytes, str, str, str], bytes] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, secret_key: str, date: str, region: str, service: str) -> bytes:
        """The signing key for this secret, date (``YYYYMMDD``), region and service."""
        cache_key = (sha256(secret_key.encode()).digest(), date, region, service)
        key = self._keys.get(cache_key)
        if key is None:
            key = _hmac(f"AWS4{secret_key}".encode(), date)
            for part in (region, service, "aws4_request"):
                key = _hmac(key, part)
            if len(self._keys) >= _MAX_KEYS:
                self._keys.clear()
            self._keys[cache_key] = key
        return key

    def clear(self) -> None:
        """Forget every key (a service does when it closes)."""
        self._keys.clear()


# The keys of the botocore signer, which botocore instantiates per client.
SHARED_KEYS: Final = SigningKeys()


def signature_version() -> str | None:
    """The name to pass as ``signature_version``, or None to keep botocore's signer."""
    maps = getattr(botocore.auth, "AUTH_TYPE_MAPS", None)
    if not isinstance(maps, dict) or maps.get("v4") is not SigV4Auth:
        return None
    maps.setdefault(SIGNATURE_VERSION, FastSigV4Auth)
    return SIGNATURE_VERSION


@lru_cache(maxsize=32)
def _url_parts(url: str) -> tuple[str, str, str]:
    """``(host header, canonical URI, query)`` of an endpoint URL."""
    parts = urlsplit(url)
    return host_header(url), quote(normalize_url_path(parts.path), safe="/~"), parts.query


def host_header(url: str) -> str:
    """The ``Host`` header of a request to ``url``, as signed (no port when the default)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal, which urlsplit returns without its brackets
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), sha256).digest()


def _authorization(  # noqa: PLR0913 - the parts of a signature, each named
    *,
    access_key: str,
    secret_key: str,
    scope_region: str,
    scope_service: str,
    stamp: str,
    method: str,
    path: str,
    signed: dict[str, list[str]],
    body: bytes,
    keys: SigningKeys,
) -> str:
    """The ``Authorization`` header for a request without query string."""
    names = sorted(signed)
    signed_names = ";".join(names)
    canonical = "\n".join(
        (
            method.upper(),
            path,
            "",  # no query string
            "".join(f"{name}:{','.join(signed[name])}\n" for name in names),
            signed_names,
            sha256(body).hexdigest(),
        )
    )
    date = stamp[:8]
    scope = f"{date}/{scope_region}/{scope_service}/aws4_request"
    digest = sha256(canonical.encode()).hexdigest()
    string_to_sign = f"{_ALGORITHM}\n{stamp}\n{scope}\n{digest}"
    key = keys.get(secret_key, date, scope_region, scope_service)
    signature = hmac.new(key, string_to_sign.encode(), sha256).hexdigest()
    return (
        f"{_ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )


def sign_post(
    headers: dict[str, str],
    *,
    credentials: ReadOnlyCredentials,
    region: str,
    service: str,
    url: str,
    body: bytes,
    keys: SigningKeys,
) -> None:
    """Sign a POST of ``body`` to ``url`` (no query string): adds the SigV4 headers.

    Every header in ``headers`` is signed, as botocore signs the ones it sends (names
    unique, values plain; ``User-Agent`` and the like are sent unsigned).
    """
    access_key, secret_key = credentials.access_key, credentials.secret_key
    if access_key is None or secret_key is None:
        raise NoCredentialsError
    stamp = get_current_datetime().strftime(SIGV4_TIMESTAMP)
    headers["X-Amz-Date"] = stamp
    if credentials.token:
        headers["X-Amz-Security-Token"] = credentials.token
    host, path, _ = _url_parts(url)
    signed = {name.lower(): [" ".join(value.split())] for name, value in headers.items()}
    signed.setdefault("host", [host])
    headers["Authorization"] = _authorization(
        access_key=access_key,
        secret_key=secret_key,
        scope_region=region,
        scope_service=service,
        stamp=stamp,
        method="POST",
        path=path,
        signed=signed,
        body=body,
        keys=keys,
    )


class FastSigV4Auth(SigV4Auth):
    """SigV4Auth computing the same Authorization header in one pass for plain requests."""

    def __init__(self, credentials: Any, service_name: str, region_name: str) -> None:  # noqa: ANN401
        super().__init__(credentials, service_name, region_name)
        self._scope_region = region_name
        self._scope_service = service_name

    def add_auth(self, request: AWSRequest) -> None:
        """Sign ``request`` in place (botocore's path for anything but a plain request)."""
        credentials = self.credentials
        if credentials is None:
            raise NoCredentialsError
        plain = _plain(request)
        if plain is None or not isinstance(credentials.secret_key, str):
            super().add_auth(request)
            return
        method, url, body = plain
        stamp = get_current_datetime().strftime(SIGV4_TIMESTAMP)
        request.context["timestamp"] = stamp
        headers = request.headers
        del headers["Authorization"]  # a retry is signed again; no-op when absent
        del headers["X-Amz-Date"]
        headers["X-Amz-Date"] = stamp
        if credentials.token:
            del headers["X-Amz-Security-Token"]
            headers["X-Amz-Security-Token"] = credentials.token
        signed: dict[str, list[str]] = {}
        for name, value in headers.items():
            lower = name.lower()
            if lower not in _UNSIGNED:
                signed.setdefault(lower, []).append(" ".join(value.split()))
        host, path, _ = _url_parts(url)
        signed.setdefault("host", [host])
        headers["Authorization"] = _authorization(
            access_key=str(credentials.access_key),
            secret_key=credentials.secret_key,
            scope_region=self._scope_region,
            scope_service=self._scope_service,
            stamp=stamp,
            method=method,
            path=path,
            signed=signed,
            body=body,
            keys=SHARED_KEYS,
        )


def _plain(request: AWSRequest) -> tuple[str, str, bytes] | None:
    """``(method, url, body)`` where the one-pass path signs exactly as botocore would."""
    headers, context = request.headers, request.context
    method, url, body = request.method, request.url, request.data
    checksum = context.get("checksum") or {}
    if (
        type(headers) is HTTPHeaders
        and isinstance(method, str)
        and isinstance(url, str)
        and isinstance(body, bytes)
        and not request.params
        and not _url_parts(url)[2]
        and context.get("payload_signing_enabled", True) is True
        and not checksum.get("request_algorithm")
        and "Date" not in headers
        and "X-Amz-Content-SHA256" not in headers
        and all(isinstance(value, str) for value in headers.values())
    ):
        return method, url, body
    return None

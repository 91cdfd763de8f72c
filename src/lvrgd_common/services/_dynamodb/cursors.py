"""Cursor tokens: a page's ``last_evaluated_key`` as an opaque, URL-safe string.

A token is base64url (unpadded) JSON of the key and a digest of the query it belongs to
(table, index, partition, key condition, filter, direction), so a token handed to another
query is refused. With a secret, ``.`` and an HMAC-SHA256 of that text follow: a token
altered, forged, or signed with another secret is refused, and so is one without a
signature. Without a secret the token is only encoded, not protected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any, Final

from lvrgd_common.services._dynamodb.codec import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MAX_CURSOR_CHARS", "decode_cursor", "encode_cursor", "query_scope"]

MAX_CURSOR_CHARS: Final = 4096
_SCOPE_PARTS: Final = (
    "TableName",
    "IndexName",
    "ScanIndexForward",
    "KeyConditionExpression",
    "FilterExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
)


def query_scope(requests: list[Mapping[str, Any]]) -> str:
    """A short digest naming one query: the same for each of its pages, not for others."""
    parts = [[request.get(name) for name in _SCOPE_PARTS] for request in requests]
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def encode_cursor(key: Mapping[str, Any], scope: str, secret: bytes | None) -> str:
    """The token that resumes the query ``scope`` after ``key``."""
    body = json.dumps({"k": key, "q": scope}, sort_keys=True, separators=(",", ":"))
    payload = _b64(body.encode())
    return payload if secret is None else f"{payload}.{_signature(payload, secret)}"


def decode_cursor(token: object, scope: str, secret: bytes | None) -> dict[str, Any]:
    """The ``last_evaluated_key`` inside a token of the query ``scope``.

    Raises:
        InvalidInputError: Not a token, altered, forged, unsigned where signing is on,
            or a token of another query.
    """
    if not isinstance(token, str) or not 0 < len(token) <= MAX_CURSOR_CHARS:
        msg = f"cursor must be a token from next_cursor (a string of 1 to {MAX_CURSOR_CHARS})"
        raise InvalidInputError(msg)
    if not token.isascii():
        # Tokens are base64url: anything else is not one (and would not even compare).
        msg = "the cursor is not a token from next_cursor (it holds non-ASCII characters)"
        raise InvalidInputError(msg)
    payload, _, signature = token.partition(".")
    if secret is not None:
        if not signature:
            msg = "the cursor is not signed; pass back next_cursor as given"
            raise InvalidInputError(msg)
        if not hmac.compare_digest(signature, _signature(payload, secret)):
            msg = (
                "the cursor's signature does not match: it was altered, forged or issued elsewhere"
            )
            raise InvalidInputError(msg)
    try:
        body = json.loads(_unb64(payload))
    except (ValueError, binascii.Error, RecursionError) as exc:  # bad base64, UTF-8, JSON
        msg = "the cursor is not a token from next_cursor (it does not decode)"
        raise InvalidInputError(msg) from exc
    key = body.get("k") if isinstance(body, dict) else None
    if not isinstance(key, dict) or not isinstance(body.get("q"), str):
        msg = "the cursor is not a token from next_cursor (unexpected content)"
        raise InvalidInputError(msg)
    if body["q"] != scope:
        msg = "the cursor belongs to another query (another partition, index, condition or filter)"
        raise InvalidInputError(msg)
    return key

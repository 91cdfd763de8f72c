"""Page cursors: the library's ``last_evaluated_key`` as an opaque, URL-safe token.

The key is plain JSON (the table's key values), so it travels as base64url-encoded
JSON. It is not secret and not signed: the service checks that a cursor belongs to the
query it is given to, so a forged one can only start a page elsewhere in the caller's
own partition. Sign it (e.g. HMAC) if even that must not happen.
"""

from __future__ import annotations

import base64
import json
from typing import Any


class InvalidCursorError(ValueError):
    """The token is not a cursor this API handed out."""


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    """The token for a page's ``last_evaluated_key``; None on the last page."""
    if last_evaluated_key is None:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None) -> dict[str, Any] | None:
    """The ``last_evaluated_key`` inside a token.

    Raises:
        InvalidCursorError: The token is not base64url JSON of an object of strings.
    """
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except ValueError as exc:  # bad base64, bad UTF-8 and bad JSON alike
        raise InvalidCursorError(token) from exc
    if not isinstance(key, dict) or not all(isinstance(value, str) for value in key.values()):
        raise InvalidCursorError(token)
    return key

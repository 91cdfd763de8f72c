"""Masks credentials in botocore's own DEBUG records while a service is open.

At DEBUG, botocore logs each signed request: ``botocore.auth`` the canonical request and
``botocore.endpoint`` the headers, both with the session token in clear. The service
attaches a `CredentialMask` to those loggers (a filter: no handler or level is changed)
and detaches it when it closes.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["BOTOCORE_LOGGERS", "CredentialMask"]

# The loggers that write signed request headers (aiobotocore logs through botocore's).
# A filter applies to its own logger's records only, so each is named.
BOTOCORE_LOGGERS: Final = ("botocore.auth", "botocore.endpoint")
MASK: Final = "**********"

# Any session token in a header, known to this service or not (e.g. from a role).
_TOKEN_HEADER: Final = re.compile(
    r"(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,}]+", re.IGNORECASE
)


class CredentialMask(logging.Filter):
    """Rewrites a record whose message shows a secret or a session token; drops nothing."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self._secrets = tuple(secret for secret in secrets if secret)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask in place and keep the record."""
        message = record.getMessage()
        masked = _TOKEN_HEADER.sub(rf"\g<1>{MASK}", message)
        for secret in self._secrets:
            masked = masked.replace(secret, MASK)
        if masked != message:
            record.msg, record.args = masked, None
        return True

    def attach(self) -> None:
        """Start masking the records of botocore's request loggers."""
        for name in BOTOCORE_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def detach(self) -> None:
        """Stop masking; detaching twice is harmless."""
        for name in BOTOCORE_LOGGERS:
            logging.getLogger(name).removeFilter(self)

"""The library's errors as HTTP statuses, for any web framework (both examples use it).

This is the one table: the README, docs/errors.md, docs/fastapi.md and docs/aiohttp.md show
it (`markdown_table()` writes their table; the pages' code copies `ERROR_STATUSES`,
`status_of` and `error_headers` as they are here), and integration-tests/test_error_table.py
fails when any of them differs. A 503 carries ``Retry-After`` (seconds): the failures it
answers (throttling, an unreachable or missing table, a batch left partly undone) pass.

Clients get a status and a fixed sentence: never a stack trace, an AWS error code or
message, a table name or an endpoint. The library has already logged each failure once,
with all of that, for the operator.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Final

from lvrgd_common import (
    DynamoDBBatchOperationError,
    DynamoDBConditionalCheckError,
    DynamoDBItemNotFoundError,
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
    DynamoDBTransactionError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
)

RETRY_AFTER_SECONDS: Final = "1"

# First match wins; anything else the library raises (e.g. a stored item that no longer
# fits the model) is a fault of this service: 500.
ERROR_STATUSES: Final[tuple[tuple[type[DynamoDBServiceError], HTTPStatus, str], ...]] = (
    (DynamoDBItemNotFoundError, HTTPStatus.NOT_FOUND, "not found"),
    (
        DynamoDBConditionalCheckError,
        HTTPStatus.CONFLICT,
        "the item already exists or was changed meanwhile",
    ),
    (
        DynamoDBTransactionError,
        HTTPStatus.CONFLICT,
        "a concurrent change got in the way; read again and retry",
    ),
    (
        DynamoDBValidationError,
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "the request was rejected as invalid",
    ),
    (
        DynamoDBBatchOperationError,
        HTTPStatus.SERVICE_UNAVAILABLE,
        "some items were not written; retry later",
    ),
    (
        DynamoDBUnavailableError,
        HTTPStatus.SERVICE_UNAVAILABLE,
        "storage is unavailable; retry later",
    ),
    (
        DynamoDBTableNotFoundError,
        HTTPStatus.SERVICE_UNAVAILABLE,
        "storage is not ready; retry later",
    ),
)


def status_of(exc: DynamoDBServiceError) -> tuple[HTTPStatus, str]:
    """The status and the sentence a client gets for one of the library's errors."""
    for error_class, code, detail in ERROR_STATUSES:
        if isinstance(exc, error_class):
            return code, detail
    return HTTPStatus.INTERNAL_SERVER_ERROR, "internal error"


def error_headers(code: HTTPStatus) -> dict[str, str] | None:
    """A 503 says when to retry."""
    return {"Retry-After": RETRY_AFTER_SECONDS} if code == HTTPStatus.SERVICE_UNAVAILABLE else None


def markdown_table() -> str:
    """The table as the documentation shows it (Markdown)."""
    rows = ["| library error | HTTP status | the client reads |", "|---|---|---|"]
    for error_class, code, detail in ERROR_STATUSES:
        retry = f" with `Retry-After: {RETRY_AFTER_SECONDS}`" if error_headers(code) else ""
        rows.append(f"| `{error_class.__name__}` | {code.value}{retry} | {detail} |")
    rows.append("| anything else (e.g. `DynamoDBDecodeError`) | 500 | internal error |")
    return "\n".join(rows) + "\n"

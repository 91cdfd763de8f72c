"""The library's errors as HTTP answers that tell the client what to do, and no more.

Clients get a status and a fixed sentence: never a stack trace, an AWS error code or
message, a table name or an endpoint. The library has already logged each failure once,
with all of that, for the operator.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Final

from fastapi.responses import JSONResponse

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

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

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


def error_response(exc: DynamoDBServiceError) -> JSONResponse:
    """The HTTP answer for one of the library's errors."""
    code, detail = HTTPStatus.INTERNAL_SERVER_ERROR, "internal error"
    for error_class, mapped_code, mapped_detail in ERROR_STATUSES:
        if isinstance(exc, error_class):
            code, detail = mapped_code, mapped_detail
            break
    return json_error(code, detail)


def json_error(code: HTTPStatus, detail: str, **extra: object) -> JSONResponse:
    """``{"detail": ...}`` like FastAPI's own errors; 503 says when to retry."""
    headers = (
        {"Retry-After": RETRY_AFTER_SECONDS} if code == HTTPStatus.SERVICE_UNAVAILABLE else None
    )
    return JSONResponse({"detail": detail, **extra}, status_code=code, headers=headers)


async def _handle(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, DynamoDBServiceError):  # registered for that class only
        raise exc
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every `DynamoDBServiceError` a route lets through with its HTTP status."""
    app.add_exception_handler(DynamoDBServiceError, _handle)

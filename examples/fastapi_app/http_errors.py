"""The library's errors as HTTP answers that tell the client what to do, and no more.

The statuses and sentences are `examples.http_statuses`, shared with the aiohttp example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse

from examples.http_statuses import error_headers, status_of
from lvrgd_common import DynamoDBServiceError

if TYPE_CHECKING:
    from http import HTTPStatus

    from fastapi import FastAPI, Request


def error_response(exc: DynamoDBServiceError) -> JSONResponse:
    """The HTTP answer for one of the library's errors."""
    return json_error(*status_of(exc))


def json_error(code: HTTPStatus, detail: str, **extra: object) -> JSONResponse:
    """``{"detail": ...}`` like FastAPI's own errors; 503 says when to retry."""
    return JSONResponse({"detail": detail, **extra}, status_code=code, headers=error_headers(code))


async def _handle(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, DynamoDBServiceError):  # registered for that class only
        raise exc
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every `DynamoDBServiceError` a route lets through with its HTTP status."""
    app.add_exception_handler(DynamoDBServiceError, _handle)

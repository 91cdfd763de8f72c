"""Two hooks on the aioboto3 client's events, so that its answers are judged as the lean path's.

- ``before-parse``: `answers.judge` on every answer before botocore parses it;
- ``needs-retry`` (run before botocore's own retry handler): a write that is not idempotent
  is not retried after an attempt that may have been applied.

`CALL` holds the `answers.Attempts` of the call the running task makes through the client
(`transport.ClientTransport` sets it); botocore runs the hooks in that task.
"""

from __future__ import annotations

from contextvars import ContextVar
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from lvrgd_common.services._dynamodb.transport.answers import (
    NOT_DYNAMODB,
    Attempts,
    NotDynamoDBAnswerError,
    judge,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

__all__ = ["CALL", "register_hooks"]

CALL: Final[ContextVar[Attempts | None]] = ContextVar("lvrgd_common_attempts", default=None)


def register_hooks(client: DynamoDBClient) -> None:
    """Register both hooks on ``client``'s events."""
    events = client.meta.events
    events.register("before-parse.dynamodb", _judge_answer)
    events.register_first("needs-retry.dynamodb", _note_attempt)


def _judge_answer(
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    **_: Any,  # noqa: ANN401 - botocore's event arguments
) -> None:
    """The ``before-parse`` hook of botocore: `answers.judge` on every answer, before parsing.

    A checksum that does not match, or a 5xx that is not DynamoDB's, is left on the parsed
    answer (botocore retries both; `ClientTransport.send` raises it after the last
    attempt); any other answer that is not DynamoDB's ends the call here.
    """
    status: int = response_dict["status_code"]
    try:
        judge(status, response_dict["headers"], response_dict["body"])
    except NotDynamoDBAnswerError as exc:
        if not (exc.checksum or status >= HTTPStatus.INTERNAL_SERVER_ERROR):
            raise
        customized_response_dict[NOT_DYNAMODB] = exc


def _note_attempt(
    response: tuple[Any, dict[str, Any]] | None,
    caught_exception: Exception | None,
    **_: Any,  # noqa: ANN401 - botocore's event arguments
) -> None:
    """The ``needs-retry`` hook of botocore, run first: stop a write retry that is not safe.

    Raises:
        AmbiguousWriteError: The attempt of a write that is not idempotent may have been
            applied (botocore's own retry handler then never runs).
    """
    attempts = CALL.get()
    if attempts is None:
        return
    failure: Exception | None = caught_exception
    if failure is None and response is not None:
        http, parsed = response
        verdict = parsed.get(NOT_DYNAMODB)
        if isinstance(verdict, NotDynamoDBAnswerError):
            failure = verdict
        elif http.status_code >= HTTPStatus.MULTIPLE_CHOICES:
            failure = ClientError(parsed, "")  # type: ignore[arg-type]
    if failure is not None:
        attempts.failed(failure)

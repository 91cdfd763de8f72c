"""One record per service operation: timing, outcome, retries and consumed capacity."""

from __future__ import annotations

import asyncio
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final, Self

from lvrgd_common.exceptions.dynamodb_exceptions import (
    DynamoDBConditionalCheckError,
    DynamoDBItemNotFoundError,
    DynamoDBServiceError,
    DynamoDBTransactionError,
    DynamoDBValidationError,
)
from lvrgd_common.services._dynamodb.tracing import finish_span, note_request, start_span

if TYPE_CHECKING:
    from types import TracebackType

    from opentelemetry.trace import Span

    from lvrgd_common.models.dynamodb_base_model import KeyValue
    from lvrgd_common.services.logging_service import LoggerProtocol

__all__ = ["OperationLog"]

# Cancellation reasons of a transaction that only a condition stopped: an expected outcome.
# (None: an operation that did not fail.)
_CONDITION_REASONS: Final[frozenset[str | None]] = frozenset({None, "ConditionalCheckFailed"})


class OperationLog:
    """Context of one public call: names it in errors and logs it once when it ends.

    Every operation ends in exactly one record whose ``outcome`` says how it ended:

    - INFO: ``ok``; ``cancelled`` (the caller cancelled it); ``closed_early`` (an
      iterator the caller left before its end); ``condition_failed`` and ``not_found``
      (expected answers of the table, raised to the caller); ``refused`` (arguments the
      library refused before sending them, a `DynamoDBValidationError` without an AWS
      code: the caller's mistake, e.g. a junk cursor from a client, not the service's);
    - WARNING: ``failed``, any other `DynamoDBServiceError` (unavailable, throttled,
      DynamoDB's own ``ValidationException``...), with the error class and AWS code;
    - ERROR: ``failed`` with an exception that is not the library's.

    The exception itself goes to the caller, so it is not logged again. Errors are
    translated before they reach it (`errors.ErrorRoom`); it only logs.
    """

    __slots__ = (
        "calls",
        "capacity",
        "capacity_entries",
        "fields",
        "logger",
        "name",
        "pk",
        "requests",
        "retries",
        "sk",
        "span",
        "started",
        "table",
    )

    def __init__(
        self,
        logger: LoggerProtocol,
        table: str,
        name: str,
        pk: KeyValue | None = None,
        sk: KeyValue | None = None,
        **fields: Any,  # noqa: ANN401
    ) -> None:
        self.logger = logger
        self.table = table
        self.name = name
        self.pk = pk
        self.sk = sk
        self.fields = fields
        self.requests = 0
        self.retries = 0
        self.capacity: float | None = None
        self.started = 0.0
        self.span: Span | None = None
        self.calls: list[str] = []
        self.capacity_entries: list[dict[str, Any]] = []

    def __enter__(self) -> Self:
        self.started = perf_counter()
        self.span = start_span(self.name, self.table)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        fields = self._record()
        self._end_span(exc)
        if exc is None:
            self.logger.info("dynamodb operation", outcome="ok", **fields)
        elif isinstance(exc, asyncio.CancelledError):
            self.logger.info("dynamodb operation", outcome="cancelled", **fields)
        elif isinstance(exc, GeneratorExit):
            self.logger.info("dynamodb operation", outcome="closed_early", **fields)
        elif isinstance(exc, DynamoDBServiceError):
            self._log_failure(exc, fields)
        else:
            self.logger.error(
                "dynamodb operation failed", outcome="failed", error=type(exc).__name__, **fields
            )

    def _log_failure(self, exc: DynamoDBServiceError, fields: dict[str, Any]) -> None:
        details = {"error": type(exc).__name__, "error_code": exc.error_code, "reason": exc.reason}
        expected = _expected_outcome(exc)
        if expected is not None:
            self.logger.info("dynamodb operation", outcome=expected, **details, **fields)
        else:
            self.logger.warning("dynamodb operation failed", outcome="failed", **details, **fields)

    def _record(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"operation": self.name, "table": self.table}
        if self.pk is not None:
            fields["pk"] = self.pk
        if self.sk is not None:
            fields["sk"] = self.sk
        fields.update(self.fields)
        fields["elapsed_ms"] = round((perf_counter() - self.started) * 1000, 3)
        if self.requests > 1:
            fields["requests"] = self.requests
        fields["retries"] = self.retries
        if self.capacity is not None:
            fields["consumed_capacity"] = self.capacity
        return fields

    def _end_span(self, exc: BaseException | None) -> None:
        if self.span is None:
            return
        # A generator closed early (GeneratorExit) or a cancelled caller is not a failure.
        failed = exc if isinstance(exc, Exception) else None
        finish_span(
            self.span,
            fields=self.fields,
            calls=self.calls,
            requests=self.requests,
            retries=self.retries,
            capacity=self.capacity_entries,
            error=failed,
        )

    def note_request(self, api: str, request: dict[str, Any]) -> None:
        """Tell the span which API call is about to be made and what it asks for."""
        if self.span is not None:
            note_request(self.span, api, request, self.calls)

    def error(self, reason: str, error_class: type[DynamoDBServiceError]) -> DynamoDBServiceError:
        """An error of this operation, naming its keys."""
        return error_class(operation=self.name, pk=self.pk, sk=self.sk, reason=reason)

    def note_response(self, response: dict[str, Any]) -> None:
        """Count requests, botocore's retries and the capacity DynamoDB reports."""
        self.requests += 1
        retries = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        if retries:
            self.retries += retries
            self.logger.warning(
                "dynamodb request retried", operation=self.name, table=self.table, retries=retries
            )
        capacity = response.get("ConsumedCapacity")
        if capacity:
            entries = capacity if isinstance(capacity, list) else [capacity]
            if self.span is not None:
                self.capacity_entries.extend(entries)
            units = sum(entry.get("CapacityUnits", 0.0) for entry in entries)
            self.capacity = (self.capacity or 0.0) + units

    def note_batch_retry(self, attempt: int, pending: int, delay: float) -> None:
        """Log that a batch chunk is retried for entries DynamoDB left unprocessed."""
        self.retries += 1
        self.logger.warning(
            "dynamodb batch retrying unprocessed entries",
            operation=self.name,
            table=self.table,
            attempt=attempt,
            pending=pending,
            delay_ms=round(delay * 1000, 1),
        )


def _expected_outcome(exc: DynamoDBServiceError) -> str | None:
    """The outcome of an error that is an ordinary answer or the caller's mistake, else None."""
    if isinstance(exc, DynamoDBValidationError) and exc.error_code is None:
        return "refused"  # refused by the library before sending: nothing went wrong here
    if isinstance(exc, DynamoDBItemNotFoundError):
        return "not_found"
    if isinstance(exc, DynamoDBConditionalCheckError):
        return "condition_failed"
    if (
        isinstance(exc, DynamoDBTransactionError)
        and exc.error_code == "TransactionCanceledException"
        and "ConditionalCheckFailed" in (codes := {r.code for r in exc.cancellation_reasons})
        and codes <= _CONDITION_REASONS
    ):
        return "condition_failed"
    return None

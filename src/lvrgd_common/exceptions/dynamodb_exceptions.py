"""Errors raised by `DynamoDBService`.

Every error carries the operation (the service method's name), the item's keys where one
item is concerned, and the AWS error code where DynamoDB answered with one. The original
exception is chained as ``__cause__``.

    DynamoDBServiceError
    ├── DynamoDBValidationError       bad arguments, raised before any request (also a ValueError)
    ├── DynamoDBDecodeError           a stored item does not fit the model class (also a ValueError)
    ├── DynamoDBConditionalCheckError a write's condition was not met
    ├── DynamoDBItemNotFoundError     update() of an item that does not exist
    ├── DynamoDBTableNotFoundError    the table (or index) does not exist
    ├── DynamoDBUnavailableError      endpoint unreachable, timed out, throttled or failing (5xx)
    ├── DynamoDBAmbiguousWriteError   a write that may or may not have been applied
    ├── DynamoDBBatchOperationError   a batch finished with items not done; names them
    └── DynamoDBTransactionError      a transaction was cancelled; one reason per operation
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from lvrgd_common.models.dynamodb_base_model import KeyValue

__all__ = [
    "CancellationReason",
    "DynamoDBAmbiguousWriteError",
    "DynamoDBBatchOperationError",
    "DynamoDBConditionalCheckError",
    "DynamoDBDecodeError",
    "DynamoDBItemNotFoundError",
    "DynamoDBServiceError",
    "DynamoDBTableNotFoundError",
    "DynamoDBTransactionError",
    "DynamoDBUnavailableError",
    "DynamoDBValidationError",
]


class DynamoDBServiceError(Exception):
    """Base of every error the service raises.

    Attributes:
        operation: The service method that failed, e.g. ``"update"``.
        pk: Partition key of the item concerned, or None.
        sk: Sort key of the item concerned, or None.
        error_code: The AWS error code (e.g. ``"ValidationException"``), or None.
        reason: What went wrong, without the context above.
    """

    def __init__(
        self,
        *,
        operation: str,
        reason: str,
        pk: KeyValue | None = None,
        sk: KeyValue | None = None,
        error_code: str | None = None,
    ) -> None:
        self.operation = operation
        self.reason = reason
        self.pk = pk
        self.sk = sk
        self.error_code = error_code
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"{self.operation} failed"]
        if self.pk is not None:
            parts.append(f" for pk={self.pk!r}")
            if self.sk is not None:
                parts.append(f" sk={self.sk!r}")
        parts.append(f": {self.reason}")
        if self.error_code is not None:
            parts.append(f" [{self.error_code}]")
        return "".join(parts)


class DynamoDBValidationError(DynamoDBServiceError, ValueError):
    """The arguments are invalid; raised before any request is sent."""


class DynamoDBDecodeError(DynamoDBServiceError, ValueError):
    """A stored item could not be turned into the requested model class."""


class DynamoDBConditionalCheckError(DynamoDBServiceError):
    """A condition attached to a write was not met; nothing was written."""


class DynamoDBItemNotFoundError(DynamoDBServiceError):
    """The item to update does not exist; nothing was created."""


class DynamoDBTableNotFoundError(DynamoDBServiceError):
    """The table, or an index named in the request, does not exist."""


class DynamoDBUnavailableError(DynamoDBServiceError):
    """DynamoDB could not be reached or kept failing after the configured retries."""


class DynamoDBAmbiguousWriteError(DynamoDBServiceError):
    """A write that may or may not have been applied; the service does not know which.

    Its request may have reached DynamoDB and the answer was lost (a read timeout, a
    connection dropped after sending, a 5xx). Raised for a write that is not idempotent
    (an update holding `Increment`, `Append` or `Prepend`), which is then not retried, and
    for a conditional write whose retry's condition failed after such an attempt (the
    lost attempt may be what made it fail). Read the item to learn which happened.
    """


class DynamoDBBatchOperationError(DynamoDBServiceError):
    """A batch finished with some items or keys not done.

    Attributes:
        failed_items: Exactly what was not done: the models for ``batch_write``, the
            ``(pk, sk)`` keys for ``batch_get`` and ``batch_delete``.
        failed_keys: The ``(pk, sk)`` keys of ``failed_items``, for every batch method.
        successful_count: How many of the requested (de-duplicated) items or keys were done.
    """

    def __init__(
        self,
        *,
        operation: str,
        failed_items: list[Any],
        successful_count: int,
        error_code: str | None = None,
        cause: str | None = None,
    ) -> None:
        self.failed_items = failed_items
        self.failed_keys = [_key_of(item) for item in failed_items]
        self.successful_count = successful_count
        reason = f"{len(failed_items)} not done, {successful_count} done"
        if cause:
            reason += f"; last error: {cause}"
        super().__init__(operation=operation, reason=reason, error_code=error_code)


def _key_of(item: Any) -> tuple[str, str]:  # noqa: ANN401 - a model or a key
    if isinstance(item, tuple):
        return (item[0], item[1])
    return (item.pk, item.sk)


class CancellationReason(BaseModel):
    """Why DynamoDB cancelled one operation of a transaction (``code`` "None" if it was fine)."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str | None = None


class DynamoDBTransactionError(DynamoDBServiceError):
    """A transaction was cancelled or rejected; nothing was written.

    Attributes:
        cancellation_reasons: One entry per operation, in the order given, when DynamoDB
            cancelled the transaction; empty when it was rejected as a whole.
    """

    def __init__(
        self,
        *,
        operation: str,
        reason: str,
        cancellation_reasons: list[CancellationReason] | None = None,
        pk: KeyValue | None = None,
        sk: KeyValue | None = None,
        error_code: str | None = None,
    ) -> None:
        self.cancellation_reasons = cancellation_reasons or []
        failing = [
            f"#{index} {item.code}"
            for index, item in enumerate(self.cancellation_reasons)
            if item.code != "None"
        ]
        if failing:
            reason = f"{reason} ({', '.join(failing)})"
        super().__init__(operation=operation, reason=reason, pk=pk, sk=sk, error_code=error_code)

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
    ├── DynamoDBLockError             a lock not had within its wait, or a held lease lost
    └── DynamoDBTransactionError      a transaction was cancelled; one reason per operation
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lvrgd_common.models.dynamodb_base_model import KeyValue

__all__ = [
    "CancellationReason",
    "DynamoDBAmbiguousWriteError",
    "DynamoDBBatchOperationError",
    "DynamoDBConditionalCheckError",
    "DynamoDBDecodeError",
    "DynamoDBItemNotFoundError",
    "DynamoDBLockError",
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
        item_index: Where one item of many (a batch, a transaction) was refused: its
            index in the input, with its keys in ``pk`` and ``sk``; otherwise None.
    """

    def __init__(
        self,
        *,
        operation: str,
        reason: str,
        pk: KeyValue | None = None,
        sk: KeyValue | None = None,
        error_code: str | None = None,
        item_index: int | None = None,
    ) -> None:
        self.operation = operation
        self.reason = reason
        self.pk = pk
        self.sk = sk
        self.error_code = error_code
        self.item_index = item_index
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"{self.operation} failed"]
        if self.item_index is not None:
            parts.append(f" for item #{self.item_index}")
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
    """Why DynamoDB cancelled one operation of a transaction (``code`` None if it was fine).

    DynamoDB sends the string ``"None"`` for an operation that did not fail; it is read as
    None, so ``reason.code is None`` tells the two apart.
    """

    model_config = ConfigDict(frozen=True)

    code: str | None
    message: str | None = None


class DynamoDBTransactionError(DynamoDBServiceError):
    """A transaction was cancelled or rejected; nothing was written.

    The message names each operation that failed: its index in the input, its key (when
    the service knows the operations) and DynamoDB's code and message.

    Attributes:
        cancellation_reasons: One entry per operation, in the order given, when DynamoDB
            cancelled the transaction; empty when it was rejected as a whole.
        item_index: The index in the input of the first operation that failed, or None.
        pk: Partition key of that operation, or None.
        sk: Sort key of that operation, or None.
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
        keys: Sequence[tuple[KeyValue, KeyValue | None]] | None = None,
    ) -> None:
        self.cancellation_reasons = cancellation_reasons or []
        failed = [(n, r) for n, r in enumerate(self.cancellation_reasons) if r.code is not None]
        index = failed[0][0] if failed else None
        if keys is not None and index is not None and index < len(keys):
            pk, sk = keys[index]
        if failed:
            total = len(self.cancellation_reasons)
            named = [_failed_operation(n, total, r, keys) for n, r in failed]
            reason = f"{reason}: {'; '.join(named)}"
        super().__init__(
            operation=operation,
            reason=reason,
            pk=pk,
            sk=sk,
            error_code=error_code,
            item_index=index,
        )


class DynamoDBLockError(DynamoDBServiceError):
    """A lock could not be had within its ``wait``, or a lease held was lost.

    Attributes:
        name: The lock's name.
    """

    def __init__(
        self, *, name: str, reason: str, operation: str = "lock", error_code: str | None = None
    ) -> None:
        self.name = name
        super().__init__(
            operation=operation, reason=f"lock {name!r}: {reason}", error_code=error_code
        )


def _failed_operation(
    index: int,
    total: int,
    why: CancellationReason,
    keys: Sequence[tuple[KeyValue, KeyValue | None]] | None,
) -> str:
    """``operation #1 of 2 (pk='A', sk='x'): ConditionalCheckFailed: the message``."""
    text = f"operation #{index} of {total}"
    if keys is not None and index < len(keys):
        pk, sk = keys[index]
        text += f" (pk={pk!r})" if sk is None else f" (pk={pk!r}, sk={sk!r})"
    text += f": {why.code}"
    return f"{text}: {why.message}" if why.message else text

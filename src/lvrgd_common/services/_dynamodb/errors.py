"""Every exception leaving the service becomes one of its errors here, in one place.

- `InvalidInputError`, raised by the private helpers for input refused before sending,
  leaves an operation as a `DynamoDBValidationError` naming it (`ErrorRoom`);
- what the AWS client or the transport under it raises becomes the error its AWS code
  or kind says (`translate_error`); anything else (a bug of this library, say) is not
  dressed as an AWS error and passes unchanged (`raised_by_client`).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from aiohttp import ClientError as AiohttpClientError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from lvrgd_common.exceptions.dynamodb_exceptions import (
    CancellationReason,
    DynamoDBAmbiguousWriteError,
    DynamoDBConditionalCheckError,
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
    DynamoDBTransactionError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
)
from lvrgd_common.services._dynamodb.transport.answers import (
    AmbiguousWriteError,
    NotDynamoDBAnswerError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from types import TracebackType

    from lvrgd_common.models.dynamodb_base_model import KeyValue
    from lvrgd_common.services._dynamodb.operation import OperationLog

__all__ = [
    "TRANSACTION_CANCELLED",
    "TRANSLATED_ERRORS",
    "ErrorRoom",
    "InvalidInputError",
    "RefusedItemError",
    "ServerFaultError",
    "check_progress",
    "describe_table",
    "is_key_schema_mismatch",
    "naming_operations",
    "raised_by_client",
    "translate_error",
]


class InvalidInputError(ValueError):
    """Input the service must refuse before sending; it becomes a validation error."""


class RefusedItemError(InvalidInputError):
    """One item of many refused: its index in the input and its keys, for the error."""

    def __init__(self, index: int, pk: object, sk: object, cause: InvalidInputError) -> None:
        self.item_index = index
        self.pk = pk
        self.sk = sk
        super().__init__(str(cause))


class ServerFaultError(RuntimeError):
    """The server answered what DynamoDB never does; the operation stops with this reason."""


def check_progress(sent: object, answered: object) -> None:
    """Refuse a page whose next start key is the one it was asked for.

    Reading on would ask for the same page forever. Both keys are in sendable form.

    Raises:
        ServerFaultError: The key did not move.
    """
    if answered is not None and answered == sent:
        msg = (
            "the server answered the ExclusiveStartKey it was sent as LastEvaluatedKey; "
            "stopping instead of reading the same page forever"
        )
        raise ServerFaultError(msg)


# Refused input and impossible answers leave a public call as the service's errors.
_LEAVES_AS: Final[tuple[tuple[type[Exception], type[DynamoDBServiceError]], ...]] = (
    (InvalidInputError, DynamoDBValidationError),
    (ServerFaultError, DynamoDBServiceError),
)


class ErrorRoom:
    """The context of one public call: its errors leave as the service's, then are logged.

    Wraps the operation's `OperationLog`, which only logs what comes out of here.
    """

    __slots__ = ("log",)

    def __init__(self, log: OperationLog) -> None:
        self.log = log

    def __enter__(self) -> OperationLog:
        return self.log.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for raised, leaves_as in _LEAVES_AS:
            if isinstance(exc, raised):
                log = self.log
                if isinstance(exc, RefusedItemError):
                    error = leaves_as(
                        operation=log.name,
                        pk=_key_part(exc.pk),
                        sk=_key_part(exc.sk),
                        reason=str(exc),
                        item_index=exc.item_index,
                    )
                else:
                    error = leaves_as(operation=log.name, pk=log.pk, sk=log.sk, reason=str(exc))
                log.__exit__(leaves_as, error, traceback)
                raise error from exc
        self.log.__exit__(exc_type, exc, traceback)


def _key_part(value: object) -> KeyValue | None:
    """A refused item's key part as the error keeps it (None where it is no key value)."""
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value if isinstance(value, (str, int, Decimal, bytes)) else None


TRANSACTION_CANCELLED: Final = "transaction cancelled"


@contextmanager
def naming_operations(keys: Sequence[tuple[KeyValue, KeyValue | None]]) -> Iterator[None]:
    """A cancelled transaction inside names its failed operations' keys (``keys`` in order).

    Raises:
        DynamoDBTransactionError: The cancelled transaction's error, with ``item_index``,
            ``pk`` and ``sk`` of the first operation that failed and each failed
            operation's key in the message; ``cancellation_reasons`` as DynamoDB gave them.
    """
    try:
        yield
    except DynamoDBTransactionError as exc:
        if not exc.cancellation_reasons:
            raise
        raise DynamoDBTransactionError(
            operation=exc.operation,
            reason=TRANSACTION_CANCELLED,
            cancellation_reasons=exc.cancellation_reasons,
            error_code=exc.error_code,
            keys=keys,
        ) from exc.__cause__


# Transport failures below botocore that mean DynamoDB could not be reached.
_TRANSPORT_ERRORS: Final = (AiohttpClientError, OSError, TimeoutError)
# What creating the client may raise, handed to `translate_error`.
TRANSLATED_ERRORS: Final = (
    ClientError,
    BotoCoreError,
    NotDynamoDBAnswerError,
    AmbiguousWriteError,
    *_TRANSPORT_ERRORS,
)

ERROR_CLASSES: Final[dict[str, type[DynamoDBServiceError]]] = {
    "ConditionalCheckFailedException": DynamoDBConditionalCheckError,
    "ResourceNotFoundException": DynamoDBTableNotFoundError,
    "ValidationException": DynamoDBValidationError,
    "SerializationException": DynamoDBValidationError,
    "ProvisionedThroughputExceededException": DynamoDBUnavailableError,
    "ThrottlingException": DynamoDBUnavailableError,
    "RequestLimitExceeded": DynamoDBUnavailableError,
    "LimitExceededException": DynamoDBUnavailableError,
    "InternalServerError": DynamoDBUnavailableError,
    "InternalFailure": DynamoDBUnavailableError,
    "ServiceUnavailable": DynamoDBUnavailableError,
    "ServiceUnavailableException": DynamoDBUnavailableError,
    "TransactionConflictException": DynamoDBTransactionError,
    "TransactionInProgressException": DynamoDBTransactionError,
    "IdempotentParameterMismatchException": DynamoDBTransactionError,
}

# What DynamoDB (and moto, dynalite) say when a request's key does not fit the table's.
_KEY_SCHEMA_MISMATCH: Final = re.compile(
    "key element does not match the schema|Missing the key|Type mismatch for key"
    "|missed key schema element|does not match schema type|required keys? w[ae]re? not given",
    re.IGNORECASE,
)


def is_key_schema_mismatch(error: DynamoDBServiceError) -> bool:
    """Whether DynamoDB refused a request because its key does not fit the table."""
    return isinstance(error, DynamoDBValidationError) and bool(
        _KEY_SCHEMA_MISMATCH.search(error.reason)
    )


# Where the AWS client's own code lives: an exception raised there is the client's.
_CLIENT_PACKAGES: Final = frozenset({"aioboto3", "aiobotocore", "aiohttp", "boto3", "botocore"})


def raised_by_client(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the AWS client or its transport, not from this library.

    Known client and transport errors always do; any other exception does when it was
    raised inside the client's packages (e.g. botocore's parser tripping over a
    malformed answer), not when a bug of this library raised it.
    """
    if isinstance(exc, TRANSLATED_ERRORS):
        return True
    traceback = exc.__traceback__
    if traceback is None:
        return False
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    module = traceback.tb_frame.f_globals.get("__name__", "")
    return isinstance(module, str) and module.partition(".")[0] in _CLIENT_PACKAGES


def describe_table(table: str, region: str, endpoint_url: str | None) -> str:
    """``table 'x' in region 'y' at <endpoint>``, for errors that say what was not found."""
    if endpoint_url is None:
        endpoint = "the AWS endpoint of the region"
    else:
        parts = urlsplit(endpoint_url)
        # Only scheme, host and path: an endpoint URL may carry credentials.
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        endpoint = f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else endpoint_url
    return f"table {table!r} in region {region!r} at {endpoint}"


def translate_error(
    exc: BaseException,
    operation: str,
    pk: KeyValue | None = None,
    sk: KeyValue | None = None,
    *,
    where: str | None = None,
) -> DynamoDBServiceError:
    """The domain exception for a failed request; the caller raises it ``from exc``.

    ``where`` (see `describe_table`) is added to not-found errors, so that an absent
    table or a wrong region or endpoint can be told apart from the message alone.
    """
    if isinstance(exc, (AmbiguousWriteError, NotDynamoDBAnswerError)):
        return _from_verdict(exc, operation, pk, sk)
    if isinstance(exc, ClientError):
        error = _from_client_error(exc, operation, pk, sk)
        if where is not None and isinstance(error, DynamoDBTableNotFoundError):
            error = DynamoDBTableNotFoundError(
                operation=operation,
                pk=pk,
                sk=sk,
                reason=f"{error.reason}: {where}",
                error_code=error.error_code,
            )
        return error
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return DynamoDBServiceError(
            operation=operation, pk=pk, sk=sk, reason=f"AWS credentials: {exc}"
        )
    # Connection failures, read timeouts and connections closed mid-answer: unavailable.
    if isinstance(exc, (BotoConnectionError, HTTPClientError, *_TRANSPORT_ERRORS)):
        reason = f"DynamoDB unreachable: {type(exc).__name__}: {exc}".rstrip(": ")
        return DynamoDBUnavailableError(operation=operation, pk=pk, sk=sk, reason=reason)
    if isinstance(exc, BotoCoreError):
        return DynamoDBServiceError(operation=operation, pk=pk, sk=sk, reason=str(exc))
    reason = f"unexpected {type(exc).__name__} from the AWS client: {exc}"
    return DynamoDBServiceError(operation=operation, pk=pk, sk=sk, reason=reason)


def _from_verdict(
    exc: AmbiguousWriteError | NotDynamoDBAnswerError,
    operation: str,
    pk: KeyValue | None,
    sk: KeyValue | None,
) -> DynamoDBServiceError:
    """The error for what `answers` decided: an ambiguous write, or not DynamoDB's answer."""
    if isinstance(exc, NotDynamoDBAnswerError):
        return DynamoDBUnavailableError(operation=operation, pk=pk, sk=sk, reason=str(exc))
    reason = f"the write may or may not have been applied: {exc}"
    return DynamoDBAmbiguousWriteError(
        operation=operation, pk=pk, sk=sk, reason=reason, error_code=_code_of(exc.cause)
    )


def _code_of(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") or None
    return None


def _from_client_error(
    exc: ClientError, operation: str, pk: KeyValue | None, sk: KeyValue | None
) -> DynamoDBServiceError:
    error = exc.response.get("Error", {})
    code = error.get("Code") or None
    message = error.get("Message") or str(exc)
    if code == "TransactionCanceledException":
        reasons = [
            # DynamoDB says "None" (a string) for an operation that did not fail.
            CancellationReason(
                code=None if entry.get("Code") in {None, "", "None"} else entry["Code"],
                message=entry.get("Message"),
            )
            for entry in exc.response.get("CancellationReasons", [])
        ]
        return DynamoDBTransactionError(
            operation=operation,
            reason=TRANSACTION_CANCELLED,
            cancellation_reasons=reasons,
            error_code=code,
        )
    if code == "UnrecognizedClientException" and "security token" in message:
        message = "the AWS credentials were not accepted"
    error_class = ERROR_CLASSES.get(code or "", DynamoDBServiceError)
    return error_class(operation=operation, pk=pk, sk=sk, reason=message, error_code=code)

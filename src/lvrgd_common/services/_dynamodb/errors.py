"""botocore and transport errors -> the service's exceptions, in one place."""

from __future__ import annotations

from typing import Final

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
    DynamoDBConditionalCheckError,
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
    DynamoDBTransactionError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
)

__all__ = ["TRANSLATED_ERRORS", "InvalidInputError", "translate_error"]


class InvalidInputError(ValueError):
    """Input the service must refuse before sending; it becomes a validation error."""


# Transport failures below botocore that mean DynamoDB could not be reached.
_TRANSPORT_ERRORS: Final = (AiohttpClientError, OSError, TimeoutError)
# What creating the client may raise, handed to `translate_error`.
TRANSLATED_ERRORS: Final = (ClientError, BotoCoreError, *_TRANSPORT_ERRORS)

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


def translate_error(
    exc: BaseException, operation: str, pk: str | None = None, sk: str | None = None
) -> DynamoDBServiceError:
    """The domain exception for a failed request; the caller raises it ``from exc``."""
    if isinstance(exc, ClientError):
        return _from_client_error(exc, operation, pk, sk)
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


def _from_client_error(
    exc: ClientError, operation: str, pk: str | None, sk: str | None
) -> DynamoDBServiceError:
    error = exc.response.get("Error", {})
    code = error.get("Code") or None
    message = error.get("Message") or str(exc)
    if code == "TransactionCanceledException":
        reasons = [
            CancellationReason(code=entry.get("Code") or "None", message=entry.get("Message"))
            for entry in exc.response.get("CancellationReasons", [])
        ]
        return DynamoDBTransactionError(
            operation=operation,
            reason="transaction cancelled",
            cancellation_reasons=reasons,
            error_code=code,
        )
    if code == "UnrecognizedClientException" and "security token" in message:
        message = "the AWS credentials were not accepted"
    error_class = ERROR_CLASSES.get(code or "", DynamoDBServiceError)
    return error_class(operation=operation, pk=pk, sk=sk, reason=message, error_code=code)

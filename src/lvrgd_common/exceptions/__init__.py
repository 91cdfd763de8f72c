"""The service's exception hierarchy."""

from lvrgd_common.exceptions.dynamodb_exceptions import (
    CancellationReason,
    DynamoDBAmbiguousWriteError,
    DynamoDBBatchOperationError,
    DynamoDBConditionalCheckError,
    DynamoDBDecodeError,
    DynamoDBItemNotFoundError,
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
    DynamoDBTransactionError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
)

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

"""Async DynamoDB persistence for Pydantic v2 models, on aioboto3.

Examples:
    >>> from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
    >>> config = DynamoDBConfig(table_name="app", region="eu-west-1")
    >>> service = DynamoDBService(LoggingService(), config)  # no I/O until opened
"""

from lvrgd_common.exceptions.dynamodb_exceptions import (
    CancellationReason,
    DynamoDBAmbiguousWriteError,
    DynamoDBBatchOperationError,
    DynamoDBConditionalCheckError,
    DynamoDBDecodeError,
    DynamoDBItemNotFoundError,
    DynamoDBLockError,
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
    DynamoDBTransactionError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
)
from lvrgd_common.models.attribute_condition import AttributeCondition
from lvrgd_common.models.dynamodb_base_model import DynamoDBBaseModel
from lvrgd_common.models.dynamodb_config import DynamoDBConfig
from lvrgd_common.models.epoch_seconds import EpochSeconds
from lvrgd_common.models.pagination_result import PaginationResult
from lvrgd_common.models.sort_key_condition import SortKeyCondition
from lvrgd_common.models.transaction_write_item import TransactionWriteItem
from lvrgd_common.models.update_actions import (
    AddToSet,
    Append,
    IfNotExists,
    Increment,
    Prepend,
    RemoveFromSet,
)
from lvrgd_common.models.versioned_model import VersionedModel
from lvrgd_common.services.dynamodb_service import DynamoDBService
from lvrgd_common.services.logging_service import LoggerProtocol, LoggingService

__version__ = "0.1.0"

__all__ = [
    "AddToSet",
    "Append",
    "AttributeCondition",
    "CancellationReason",
    "DynamoDBAmbiguousWriteError",
    "DynamoDBBaseModel",
    "DynamoDBBatchOperationError",
    "DynamoDBConditionalCheckError",
    "DynamoDBConfig",
    "DynamoDBDecodeError",
    "DynamoDBItemNotFoundError",
    "DynamoDBLockError",
    "DynamoDBService",
    "DynamoDBServiceError",
    "DynamoDBTableNotFoundError",
    "DynamoDBTransactionError",
    "DynamoDBUnavailableError",
    "DynamoDBValidationError",
    "EpochSeconds",
    "IfNotExists",
    "Increment",
    "LoggerProtocol",
    "LoggingService",
    "PaginationResult",
    "Prepend",
    "RemoveFromSet",
    "SortKeyCondition",
    "TransactionWriteItem",
    "VersionedModel",
]

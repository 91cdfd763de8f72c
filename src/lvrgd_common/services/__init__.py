"""The DynamoDB service and the logging it uses."""

from lvrgd_common.services.dynamodb_service import DynamoDBService
from lvrgd_common.services.logging_service import LoggerProtocol, LoggingService

__all__ = ["DynamoDBService", "LoggerProtocol", "LoggingService"]

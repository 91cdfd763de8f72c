"""Pure data models: stored items, settings, query conditions and results."""

from lvrgd_common.models.attribute_condition import AttributeCondition
from lvrgd_common.models.dynamodb_base_model import DynamoDBBaseModel
from lvrgd_common.models.dynamodb_config import DynamoDBConfig
from lvrgd_common.models.pagination_result import PaginationResult
from lvrgd_common.models.sort_key_condition import SortKeyCondition
from lvrgd_common.models.transaction_write_item import TransactionWriteItem

__all__ = [
    "AttributeCondition",
    "DynamoDBBaseModel",
    "DynamoDBConfig",
    "PaginationResult",
    "SortKeyCondition",
    "TransactionWriteItem",
]

"""Local DynamoDB-compatible servers and table set-up, for development, demos and tests.

Nothing here is used by `DynamoDBService` itself: production code never creates tables.

Examples:
    >>> with moto_server() as server:
    ...     config = DynamoDBConfig(
    ...         table_name="dev", region="us-east-1", endpoint_url=server.endpoint_url,
    ...         aws_access_key_id="test", aws_secret_access_key="test",
    ...     )
    ...     asyncio.run(create_table(config))
"""

from lvrgd_common.testing.servers import LocalServer, dynalite_server, free_port, moto_server
from lvrgd_common.testing.tables import (
    IndexSpec,
    KeyType,
    StreamViewType,
    create_table,
    delete_table,
)

__all__ = [
    "IndexSpec",
    "KeyType",
    "LocalServer",
    "StreamViewType",
    "create_table",
    "delete_table",
    "dynalite_server",
    "free_port",
    "moto_server",
]

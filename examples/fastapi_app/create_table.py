"""Create the example's table where the environment (or ./.env) points, for development.

    python -m examples.fastapi_app.create_table

Use it against DynamoDB Local, dynalite, moto or a development account; production
tables belong to your infrastructure code. The app itself never creates its table.
"""

import asyncio

from examples.fastapi_app.app import settings_from_env
from lvrgd_common import DynamoDBService, LoggingService
from lvrgd_common.testing import create_table


async def main() -> None:
    """Create the table (pk/sk, on-demand) unless it is already there."""
    config = settings_from_env()
    async with DynamoDBService(LoggingService("examples.create_table"), config) as service:
        if await service.ping():
            print(f"table {config.table_name!r} already exists and is ACTIVE")
            return
    await create_table(config)
    print(f"table {config.table_name!r} created at {config.endpoint_url or 'AWS'}")


if __name__ == "__main__":
    asyncio.run(main())

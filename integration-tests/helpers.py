"""Helpers the integration tests share: proxied settings and a raw view of a table."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import aioboto3

from lvrgd_common import DynamoDBConfig

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from types_aiobotocore_dynamodb import DynamoDBClient

    from faultproxy import FaultProxy


def through(settings: DynamoDBConfig, proxy: FaultProxy, **tuning: Any) -> DynamoDBConfig:
    """``settings`` pointed at ``proxy``, with other fields changed as given (validated)."""
    fields = settings.model_dump()
    fields.update(endpoint_url=proxy.endpoint_url, **tuning)
    return DynamoDBConfig.model_validate(fields)


@asynccontextmanager
async def raw_client(settings: DynamoDBConfig) -> AsyncIterator[DynamoDBClient]:
    """A plain aiobotocore client on the server itself: no library checks in the way."""
    secret = settings.aws_secret_access_key
    session = aioboto3.Session(
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=None if secret is None else secret.get_secret_value(),
        region_name=settings.region,
    )
    async with session.client("dynamodb", endpoint_url=settings.endpoint_url) as client:
        yield client


async def scan_table(settings: DynamoDBConfig) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored item of the table, raw, by ``(pk, sk)`` (consistent, all pages)."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    async with raw_client(settings) as client:
        request: dict[str, Any] = {"TableName": settings.table_name, "ConsistentRead": True}
        while True:
            page = await client.scan(**request)
            for item in page.get("Items", []):
                items[item["pk"]["S"], item["sk"]["S"]] = item
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

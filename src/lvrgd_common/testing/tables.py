"""Tables for development and tests: ``create_table`` and ``delete_table``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Literal

import aioboto3
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from collections.abc import Sequence

    from types_aiobotocore_dynamodb import DynamoDBClient

    from lvrgd_common.models.dynamodb_config import DynamoDBConfig

__all__ = ["IndexSpec", "KeyType", "StreamViewType", "create_table", "delete_table"]

KeyType = Literal["S", "N", "B"]
"""A key attribute's DynamoDB type: string, number or binary."""

StreamViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
"""What a table's DynamoDB stream records hold: the keys, or the item after, before or both."""


class IndexSpec(BaseModel):
    """A secondary index for `create_table`: its key attributes, all attributes projected.

    Examples:
        >>> by_email = IndexSpec(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk")
        >>> by_date = IndexSpec(name="lsi1", hash_key="pk", range_key="created_at")
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=3)
    """The index name, as given to ``index_name=`` in queries."""
    hash_key: str
    """Partition key attribute; a local index must use the table's partition key."""
    range_key: str | None = None
    """Sort key attribute, if any."""
    hash_type: KeyType = "S"
    """DynamoDB type of ``hash_key``: string, number or binary."""
    range_type: KeyType = "S"
    """DynamoDB type of ``range_key``."""


async def create_table(
    config: DynamoDBConfig,
    *,
    global_indexes: Sequence[IndexSpec] = (),
    local_indexes: Sequence[IndexSpec] = (),
    partition_key_type: KeyType = "S",
    sort_key_type: KeyType = "S",
    active_within: float = 60.0,
    ttl_attribute: str | None = None,
    stream: StreamViewType | None = None,
) -> None:
    """Create the table (on-demand billing) and wait until ACTIVE.

    The keys are named as the configuration says (``pk``/``sk`` by default; no sort key
    when ``config.sort_key_name`` is None) and typed S, N or B as given (strings by
    default). For development, demos and tests: call it explicitly (the service never
    creates tables; production tables belong to infrastructure code). Local indexes share
    the table's partition key as their hash key.

    Examples:
        >>> await create_table(
        ...     config,
        ...     global_indexes=[IndexSpec(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk")],
        ...     local_indexes=[IndexSpec(name="lsi1", hash_key="pk", range_key="lsi1sk")],
        ... )
        >>> readings = config.model_copy(update={"partition_key_name": "device"})
        >>> await create_table(readings.model_copy(update={"sort_key_name": "at"}),
        ...                    sort_key_type="N")

    Args:
        config: Where to create it; ``config.table_name`` names the table.
        global_indexes: Global secondary indexes (on-demand, like the table).
        local_indexes: Local secondary indexes (only at creation time in DynamoDB).
        partition_key_type: The partition key's type: ``"S"``, ``"N"`` or ``"B"``.
        sort_key_type: The sort key's type (ignored without a sort key).
        active_within: Seconds to wait for the table to become ACTIVE.
        ttl_attribute: Enable DynamoDB's time to live on this attribute (a number of
            epoch seconds, e.g. an `EpochSeconds` field): items whose time has passed are
            deleted by DynamoDB, typically within a few days.
        stream: Enable the table's DynamoDB stream with this view type (for
            ``service.changes`` and stream consumers); None leaves it off.

    Raises:
        botocore.exceptions.ClientError: From DynamoDB as is, e.g.
            ``ResourceInUseException`` when the table already exists.
        TimeoutError: The table was not ACTIVE within ``active_within`` seconds.
    """
    partition, sort = config.partition_key_name, config.sort_key_name
    definitions = {partition: partition_key_type}
    if sort is not None:
        definitions[sort] = sort_key_type
    for index in (*global_indexes, *local_indexes):
        # An index on a table key (every local index) keeps that key's type.
        definitions.setdefault(index.hash_key, index.hash_type)
        if index.range_key:
            definitions.setdefault(index.range_key, index.range_type)
    request: dict[str, object] = {
        "TableName": config.table_name,
        "KeySchema": _schema(partition, sort),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in definitions.items()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if global_indexes:
        request["GlobalSecondaryIndexes"] = [_index(index) for index in global_indexes]
    if local_indexes:
        request["LocalSecondaryIndexes"] = [_index(index) for index in local_indexes]
    if stream is not None:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    async with _client(config) as client:
        await client.create_table(**request)  # type: ignore[arg-type]
        await _wait_active(client, config.table_name, active_within)
        if ttl_attribute is not None:
            await client.update_time_to_live(
                TableName=config.table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )


async def delete_table(config: DynamoDBConfig) -> None:
    """Delete the table; an absent table is fine. For development and tests only."""
    async with _client(config) as client:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            await client.delete_table(TableName=config.table_name)


def _schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def _index(index: IndexSpec) -> dict[str, object]:
    return {
        "IndexName": index.name,
        "KeySchema": _schema(index.hash_key, index.range_key),
        "Projection": {"ProjectionType": "ALL"},
    }


async def _wait_active(client: DynamoDBClient, table: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        description = await client.describe_table(TableName=table)
        if description["Table"].get("TableStatus") == "ACTIVE":
            return
        await asyncio.sleep(0.1)
    msg = f"table {table!r} not ACTIVE within {within} s"
    raise TimeoutError(msg)


def _client(config: DynamoDBConfig) -> contextlib.AbstractAsyncContextManager[DynamoDBClient]:
    secret = config.aws_secret_access_key
    session = aioboto3.Session(
        aws_access_key_id=config.aws_access_key_id,
        aws_secret_access_key=None if secret is None else secret.get_secret_value(),
        aws_session_token=(
            None
            if config.aws_session_token is None
            else config.aws_session_token.get_secret_value()
        ),
        region_name=config.region,
    )
    client: contextlib.AbstractAsyncContextManager[DynamoDBClient] = session.client(
        "dynamodb", endpoint_url=config.endpoint_url
    )
    return client

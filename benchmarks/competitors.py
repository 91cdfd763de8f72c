"""The contenders, each doing the benchmark's scenarios its own plain way.

Baselines start from and end at plain dicts prepared outside the timed region (the
resource Table's Decimal form, the low-level client's AttributeValue form), so they do
less work than the library, which takes models in and hands models back. The ratios are
therefore conservative. Like the library, every contender keeps what it read until the
scenario ends (the items of a batch_get or of the get_one calls), since holding 5,000
items is part of what such a call costs (Python's garbage collector scans them); the
query walk handles each item as it comes and keeps none, the way one walks a partition.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Final

import aioboto3
from aiobotocore.config import AioConfig
from boto3.dynamodb.conditions import Key as KeyCondition

from benchmarks.items import BenchItem, client_item, resource_item
from benchmarks.prototype import DirectDynamoDB
from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

Key = tuple[str, str]

CONCURRENCY: Final = 50
WRITE_CHUNK: Final = 25
GET_CHUNK: Final = 100
PAGE: Final = 100
# Chunks in flight for the baseline that sends batch chunks concurrently: the library's default.
BATCH_CONCURRENCY: Final = 16


async def in_parallel(
    count: int, concurrency: int, work: Callable[[int], Awaitable[object]]
) -> list[object]:
    """Run ``work(0) .. work(count - 1)`` with ``concurrency`` tasks; results in order."""
    results: list[object] = [None] * count
    indexes = iter(range(count))

    async def worker() -> None:
        for index in indexes:
            results[index] = await work(index)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return results


class Competitor:
    """One way of talking to DynamoDB; ``None`` from a scenario method means not offered."""

    name: str = ""
    label: str = ""

    def __init__(self, config: DynamoDBConfig) -> None:
        self.config = config
        self.stack = AsyncExitStack()

    async def open(self) -> None:
        """Create clients; no request is sent."""

    async def close(self) -> None:
        """Release clients."""
        await self.stack.aclose()

    def prepare(self, scenario: str, models: Sequence[BenchItem]) -> Any:  # noqa: ANN401
        """The scenario's input in this competitor's own form, built outside the timing."""
        if scenario in {"get_one", "batch_get"}:
            return [(model.pk, model.sk) for model in models]
        return list(models)

    def scenario(self, name: str) -> Callable[[Any], Awaitable[int]] | None:
        """The coroutine function running scenario ``name``, or None when not offered."""
        method: Callable[[Any], Awaitable[int]] | None = getattr(self, f"run_{name}", None)
        return method

    def session(self) -> Any:  # noqa: ANN401 - aioboto3 ships no types
        """An aioboto3 session with the benchmark's credentials."""
        secret = self.config.aws_secret_access_key
        return aioboto3.Session(
            aws_access_key_id=self.config.aws_access_key_id,
            aws_secret_access_key=None if secret is None else secret.get_secret_value(),
            region_name=self.config.region,
        )

    def botocore_config(self) -> AioConfig:
        """What a user of the raw API would set for 50 tasks: a pool of 50 connections."""
        return AioConfig(max_pool_connections=CONCURRENCY)


class Library(Competitor):
    """`DynamoDBService` with its default configuration."""

    name = "library"
    label = "lvrgd_common"

    async def open(self) -> None:
        self.service = await self.stack.enter_async_context(
            DynamoDBService(LoggingService(), self.config)
        )

    async def run_get_one(self, keys: list[Key]) -> int:
        service = self.service

        async def get(index: int) -> BenchItem | None:
            return await service.get_one(*keys[index], BenchItem)

        found = await in_parallel(len(keys), CONCURRENCY, get)
        return sum(item is not None for item in found)

    async def run_save(self, models: list[BenchItem]) -> int:
        service = self.service

        async def save(index: int) -> None:
            await service.save(models[index])

        await in_parallel(len(models), CONCURRENCY, save)
        return len(models)

    async def run_batch_write(self, models: list[BenchItem]) -> int:
        await self.service.batch_write(models)
        return len(models)

    async def run_batch_get(self, keys: list[Key]) -> int:
        return len(await self.service.batch_get(keys, BenchItem))

    async def run_query(self, pk: str) -> int:
        count = 0
        async for _ in self.service.iter_query(pk, BenchItem, page_size=PAGE):
            count += 1
        return count

    def prepare(self, scenario: str, models: Sequence[BenchItem]) -> Any:  # noqa: ANN401
        if scenario == "query":
            return models[0].pk
        return super().prepare(scenario, models)


class LibraryPages(Library):
    """The query walk page by page through ``query_by_pk`` and its cursors."""

    name = "library_pages"
    label = "lvrgd_common, query_by_pk pages"

    def scenario(self, name: str) -> Callable[[Any], Awaitable[int]] | None:
        return self.run_query if name == "query" else None

    async def run_query(self, pk: str) -> int:
        count = 0
        cursor: dict[str, Any] | None = None
        while True:
            page = await self.service.query_by_pk(pk, BenchItem, PAGE, cursor)
            count += page.count
            cursor = page.last_evaluated_key
            if cursor is None:
                return count


class Resource(Competitor):
    """aioboto3's resource Table, written the plain way (``batch_writer`` for writes)."""

    name = "resource"
    label = "aioboto3 resource Table"

    async def open(self) -> None:
        self.resource = await self.stack.enter_async_context(
            self.session().resource(
                "dynamodb", endpoint_url=self.config.endpoint_url, config=self.botocore_config()
            )
        )
        self.table = await self.resource.Table(self.config.table_name)

    def prepare(self, scenario: str, models: Sequence[BenchItem]) -> Any:  # noqa: ANN401
        if scenario in {"save", "batch_write"}:
            return [resource_item(model) for model in models]
        if scenario == "query":
            return models[0].pk
        return super().prepare(scenario, models)

    async def run_get_one(self, keys: list[Key]) -> int:
        table = self.table

        async def get(index: int) -> object:
            pk, sk = keys[index]
            response = await table.get_item(Key={"pk": pk, "sk": sk})
            return response.get("Item")

        found = await in_parallel(len(keys), CONCURRENCY, get)
        return sum(item is not None for item in found)

    async def run_save(self, items: list[dict[str, Any]]) -> int:
        table = self.table

        async def put(index: int) -> None:
            await table.put_item(Item=items[index])

        await in_parallel(len(items), CONCURRENCY, put)
        return len(items)

    async def run_batch_write(self, items: list[dict[str, Any]]) -> int:
        async with self.table.batch_writer() as writer:
            for item in items:
                await writer.put_item(Item=item)
        return len(items)

    async def run_batch_get(self, keys: list[Key]) -> int:
        table_name = self.config.table_name
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), GET_CHUNK):
            pending: list[dict[str, Any]] = [
                {"pk": pk, "sk": sk} for pk, sk in keys[start : start + GET_CHUNK]
            ]
            while pending:
                response = await self.resource.batch_get_item(
                    RequestItems={table_name: {"Keys": pending}}
                )
                found.extend(response["Responses"].get(table_name, []))
                pending = response.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", [])
        return len(found)

    async def run_query(self, pk: str) -> int:
        count = 0
        arguments: dict[str, Any] = {"KeyConditionExpression": KeyCondition("pk").eq(pk)}
        while True:
            response = await self.table.query(Limit=PAGE, **arguments)
            count += len(response["Items"])
            if "LastEvaluatedKey" not in response:
                return count
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class Client(Competitor):
    """aioboto3's low-level client with its default settings, items as AttributeValues."""

    name = "client"
    label = "aioboto3 low-level client"
    # Send batch-write chunks concurrently (the sequential baseline overrides this).
    concurrent_chunks = True

    async def open(self) -> None:
        self.client = await self.stack.enter_async_context(
            self.session().client(
                "dynamodb", endpoint_url=self.config.endpoint_url, config=self.botocore_config()
            )
        )

    def prepare(self, scenario: str, models: Sequence[BenchItem]) -> Any:  # noqa: ANN401
        if scenario in {"save", "batch_write"}:
            return [client_item(model) for model in models]
        if scenario == "query":
            return models[0].pk
        return super().prepare(scenario, models)

    async def run_get_one(self, keys: list[Key]) -> int:
        client, table_name = self.client, self.config.table_name

        async def get(index: int) -> object:
            pk, sk = keys[index]
            key = {"pk": {"S": pk}, "sk": {"S": sk}}
            response = await client.get_item(TableName=table_name, Key=key)
            return response.get("Item")

        found = await in_parallel(len(keys), CONCURRENCY, get)
        return sum(item is not None for item in found)

    async def run_save(self, items: list[dict[str, Any]]) -> int:
        client, table_name = self.client, self.config.table_name

        async def put(index: int) -> None:
            await client.put_item(TableName=table_name, Item=items[index])

        await in_parallel(len(items), CONCURRENCY, put)
        return len(items)

    async def run_batch_write(self, items: list[dict[str, Any]]) -> int:
        chunks = [items[start : start + WRITE_CHUNK] for start in range(0, len(items), WRITE_CHUNK)]

        async def write(index: int) -> None:
            pending = [{"PutRequest": {"Item": item}} for item in chunks[index]]
            while pending:
                response = await self.client.batch_write_item(
                    RequestItems={self.config.table_name: pending}
                )
                pending = response.get("UnprocessedItems", {}).get(self.config.table_name, [])

        await in_parallel(len(chunks), BATCH_CONCURRENCY if self.concurrent_chunks else 1, write)
        return len(items)

    async def run_batch_get(self, keys: list[Key]) -> int:
        table_name = self.config.table_name
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), GET_CHUNK):
            pending: list[dict[str, Any]] = [
                {"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys[start : start + GET_CHUNK]
            ]
            while pending:
                response = await self.client.batch_get_item(
                    RequestItems={table_name: {"Keys": pending}}
                )
                found.extend(response["Responses"].get(table_name, []))
                pending = response.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", [])
        return len(found)

    async def run_query(self, pk: str) -> int:
        count = 0
        arguments: dict[str, Any] = {
            "TableName": self.config.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "Limit": PAGE,
        }
        while True:
            response = await self.client.query(**arguments)
            count += len(response["Items"])
            if "LastEvaluatedKey" not in response:
                return count
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class Sequential(Client):
    """The low-level client sending 25-item BatchWriteItem chunks one after another."""

    name = "sequential"
    label = "sequential 25-item chunks (client)"
    concurrent_chunks = False

    def scenario(self, name: str) -> Callable[[Any], Awaitable[int]] | None:
        return self.run_batch_write if name == "batch_write" else None


class Prototype(Competitor):
    """aioboto3's credentials, signer and HTTP session; JSON built and parsed here."""

    name = "prototype"
    label = "prototype: own JSON on aioboto3"

    async def open(self) -> None:
        client = await self.stack.enter_async_context(
            self.session().client(
                "dynamodb", endpoint_url=self.config.endpoint_url, config=self.botocore_config()
            )
        )
        self.direct = await DirectDynamoDB.from_client(client, self.config.table_name)

    async def run_get_one(self, keys: list[Key]) -> int:
        direct = self.direct

        async def get(index: int) -> BenchItem | None:
            return await direct.get_one(*keys[index], BenchItem)

        found = await in_parallel(len(keys), CONCURRENCY, get)
        return sum(item is not None for item in found)

    async def run_batch_write(self, models: list[BenchItem]) -> int:
        await self.direct.batch_write(models, BATCH_CONCURRENCY)
        return len(models)


# The baselines and the library; run.py adds the peers (peers.py) that are installed.
COMPETITORS: Final[tuple[type[Competitor], ...]] = (
    Resource,
    Client,
    Sequential,
    Library,
    LibraryPages,
)
# Run only when named (--competitors prototype): the library's lean path has replaced it.
ON_REQUEST: Final[tuple[type[Competitor], ...]] = (Prototype,)

"""The fastest Python DynamoDB clients, each used its own documented way, as peers.

- aiodynamo (pure Python: its own JSON, SigV4 and aiohttp), items as plain dicts;
- pydynox (a Rust core; its I/O runs on Rust threads), with its ``Model`` classes and with
  plain dicts.

Each takes the same items (in its own form, built outside the timing) and runs the same
scenarios: 50 tasks for ``get_one`` and ``save``, 25-item write chunks 16 in flight where
the client leaves chunking to the caller, pages of 100 for the query walk. Reads count only
items that came back with the key asked for. Both are in the ``bench`` extra; where one is
not installed its contenders are left out (`available`).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from benchmarks.competitors import (
    BATCH_CONCURRENCY,
    CONCURRENCY,
    GET_CHUNK,
    PAGE,
    WRITE_CHUNK,
    Competitor,
    Key,
    in_parallel,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks.items import BenchItem


def plain_item(model: BenchItem) -> dict[str, Any]:
    """The item as plain JSON-like values (numbers as int and float)."""
    return model.model_dump(mode="json")


class Aiodynamo(Competitor):
    """aiodynamo's client on its aiohttp adapter, items as dicts."""

    name = "aiodynamo"
    label = "aiodynamo (aiohttp; dicts)"

    async def open(self) -> None:
        import aiohttp  # noqa: PLC0415 - the peer's own adapter
        from aiodynamo.client import Client  # noqa: PLC0415 - bench extra
        from aiodynamo.credentials import Key as AwsKey  # noqa: PLC0415
        from aiodynamo.credentials import StaticCredentials  # noqa: PLC0415
        from aiodynamo.http.aiohttp import AIOHTTP  # noqa: PLC0415
        from yarl import URL  # noqa: PLC0415

        session = await self.stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY))
        )
        secret = self.config.aws_secret_access_key
        credentials = StaticCredentials(
            AwsKey(
                str(self.config.aws_access_key_id),
                "" if secret is None else secret.get_secret_value(),
            )
        )
        endpoint = None if self.config.endpoint_url is None else URL(self.config.endpoint_url)
        self.client = Client(AIOHTTP(session), credentials, self.config.region, endpoint)
        self.table = self.client.table(self.config.table_name)

    def prepare(self, scenario: str, models: Sequence[BenchItem]) -> Any:  # noqa: ANN401
        if scenario in {"save", "batch_write"}:
            return [plain_item(model) for model in models]
        if scenario == "query":
            return models[0].pk
        return super().prepare(scenario, models)

    async def run_get_one(self, keys: list[Key]) -> int:
        from aiodynamo.errors import ItemNotFound  # noqa: PLC0415

        table = self.table

        async def get(index: int) -> object:
            pk, sk = keys[index]
            try:
                item = await table.get_item({"pk": pk, "sk": sk})
            except ItemNotFound:
                return None
            return item if item["sk"] == sk else None

        found = await in_parallel(len(keys), CONCURRENCY, get)
        return sum(item is not None for item in found)

    async def run_save(self, items: list[dict[str, Any]]) -> int:
        table = self.table

        async def put(index: int) -> None:
            await table.put_item(items[index])

        await in_parallel(len(items), CONCURRENCY, put)
        return len(items)

    async def run_batch_write(self, items: list[dict[str, Any]]) -> int:
        from aiodynamo.models import BatchWriteRequest  # noqa: PLC0415

        table_name = self.config.table_name
        chunks = [items[start : start + WRITE_CHUNK] for start in range(0, len(items), WRITE_CHUNK)]

        async def write(index: int) -> None:
            pending = chunks[index]
            while pending:
                result = await self.client.batch_write(
                    {table_name: BatchWriteRequest(items_to_put=pending)}
                )
                left = result.get(table_name)
                pending = left.unput_items if left is not None else []

        await in_parallel(len(chunks), BATCH_CONCURRENCY, write)
        return len(items)

    async def run_batch_get(self, keys: list[Key]) -> int:
        from aiodynamo.models import BatchGetRequest  # noqa: PLC0415

        table_name = self.config.table_name
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), GET_CHUNK):
            pending = [{"pk": pk, "sk": sk} for pk, sk in keys[start : start + GET_CHUNK]]
            while pending:
                response = await self.client.batch_get({table_name: BatchGetRequest(keys=pending)})
                found.extend(response.items.get(table_name, []))
                pending = response.unprocessed_keys.get(table_name, [])
        return len(found)

    async def run_query(self, pk: str) -> int:
        from aiodynamo.expressions import HashKey  # noqa: PLC0415

        count = 0
        start: dict[str, Any] | None = None
        while True:
            page = await self.table.query_single_page(
                HashKey("pk", pk), start_key=start, limit=PAGE
            )
            count += len(page.items)
            start = page.last_evaluated_key
            if start is None:
                return count


class PydynoxDicts(Competitor):
    """pydynox's async client (Rust core), items as dicts."""

    name = "pydynox_dicts"
    label = "pydynox (Rust core; dicts)"

    async def open(self) -> None:
        from pydynox import DynamoDBClient  # noqa: PLC0415 - bench extra

        secret = self.config.aws_secret_access_key
        self.client = DynamoDBClient(
            region=self.config.region,
            access_key=self.config.aws_access_key_id,
            secret_key=None if secret is None else secret.get_secret_value(),
            endpoint_url=self.config.endpoint_url,
        )

    def prepare(self, scenario: str, models: Sequence[BenchItem]) -> Any:  # noqa: ANN401
        if scenario in {"save", "batch_write"}:
            return [plain_item(model) for model in models]
        if scenario == "query":
            return models[0].pk
        return super().prepare(scenario, models)

    async def run_get_one(self, keys: list[Key]) -> int:
        client, table = self.client, self.config.table_name

        async def get(index: int) -> object:
            pk, sk = keys[index]
            item = await client.get_item(table, {"pk": pk, "sk": sk})
            return item if item is not None and item["sk"] == sk else None

        found = await in_parallel(len(keys), CONCURRENCY, get)
        return sum(item is not None for item in found)

    async def run_save(self, items: list[dict[str, Any]]) -> int:
        client, table = self.client, self.config.table_name

        async def put(index: int) -> None:
            await client.put_item(table, items[index])

        await in_parallel(len(items), CONCURRENCY, put)
        return len(items)

    async def run_batch_write(self, items: list[dict[str, Any]]) -> int:
        await self.client.batch_write(self.config.table_name, put_items=items)
        return len(items)

    async def run_batch_get(self, keys: list[Key]) -> int:
        found = await self.client.batch_get(
            self.config.table_name, [{"pk": pk, "sk": sk} for pk, sk in keys]
        )
        return len(found)

    async def run_query(self, pk: str) -> int:
        count = 0
        async for _ in self.client.query(
            self.config.table_name,
            "pk = :pk",
            expression_attribute_values={":pk": pk},
            page_size=PAGE,
        ):
            count += 1
        return count


class PydynoxModels(Competitor):
    """pydynox with its own ``Model`` class for the benchmark item."""

    name = "pydynox_models"
    label = "pydynox (Rust core; its Model classes)"

    async def open(self) -> None:
        from pydynox import DynamoDBClient, Model, ModelConfig  # noqa: PLC0415 - bench extra
        from pydynox.attributes import (  # noqa: PLC0415
            BooleanAttribute,
            DatetimeAttribute,
            ListAttribute,
            MapAttribute,
            NumberAttribute,
            StringAttribute,
        )

        secret = self.config.aws_secret_access_key
        self.client = DynamoDBClient(
            region=self.config.region,
            access_key=self.config.aws_access_key_id,
            secret_key=None if secret is None else secret.get_secret_value(),
            endpoint_url=self.config.endpoint_url,
        )

        class Customer(Model):  # type: ignore[misc,unused-ignore]  # Any without pydynox
            model_config = ModelConfig(table=self.config.table_name, client=self.client)
            pk = StringAttribute(partition_key=True)
            sk = StringAttribute(sort_key=True)
            name = StringAttribute()
            email = StringAttribute()
            age = NumberAttribute()
            balance = NumberAttribute()
            active = BooleanAttribute()
            tags = ListAttribute()
            address = MapAttribute()
            created_at = DatetimeAttribute()
            description = StringAttribute()

        self.model = Customer

    def prepare(self, scenario: str, models: Sequence[BenchItem]) -> Any:  # noqa: ANN401
        if scenario in {"save", "batch_write"}:
            return [self.model(**dict(model)) for model in models]
        if scenario == "query":
            return models[0].pk
        return super().prepare(scenario, models)

    async def run_get_one(self, keys: list[Key]) -> int:
        model = self.model

        async def get(index: int) -> object:
            pk, sk = keys[index]
            found = await model.get(pk=pk, sk=sk)
            return found if found is not None and found.sk == sk else None

        found = await in_parallel(len(keys), CONCURRENCY, get)
        return sum(item is not None for item in found)

    async def run_save(self, items: list[Any]) -> int:
        async def put(index: int) -> None:
            await items[index].save(full_replace=True)

        await in_parallel(len(items), CONCURRENCY, put)
        return len(items)

    async def run_batch_write(self, items: list[Any]) -> int:
        from pydynox import BatchWriter  # noqa: PLC0415

        async with BatchWriter(self.client, self.config.table_name) as writer:
            for item in items:
                writer.put(item.to_dict())
        return len(items)

    async def run_batch_get(self, keys: list[Key]) -> int:
        found = await self.model.batch_get([{"pk": pk, "sk": sk} for pk, sk in keys])
        return len(found)

    async def run_query(self, pk: str) -> int:
        count = 0
        async for _ in self.model.query(partition_key=pk, page_size=PAGE):
            count += 1
        return count


def available() -> tuple[type[Competitor], ...]:
    """The peers whose package is installed (the ``bench`` extra installs both)."""
    peers: list[type[Competitor]] = []
    if importlib.util.find_spec("aiodynamo") is not None:
        peers.append(Aiodynamo)
    if importlib.util.find_spec("pydynox") is not None:
        peers += [PydynoxModels, PydynoxDicts]
    return tuple(peers)

"""Stream records decoded into models: ``python -m benchmarks.streams [--items N]``.

Starts moto's server, writes ``N`` benchmark items (about 1 KB each, `items.BenchItem`)
to a table with a ``NEW_AND_OLD_IMAGES`` stream and modifies each once, reads the records
back from moto's stream (GetRecords through aioboto3), then decodes the same records,
best of ``--reps`` rounds:

- with `lvrgd_common.streams.decode_lambda_event` into ``ChangeEvent[BenchItem]`` (both
  images as models, through the library's codec);
- with boto3's ``TypeDeserializer`` into dicts, and then into models with
  ``BenchItem.model_validate`` (what a hand-written handler does).

Prints one line per decoder: events per second (CPU-bound, in this process only).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any

import aioboto3
from boto3.dynamodb.types import TypeDeserializer

from benchmarks.items import BenchItem, make_item
from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.streams import decode_lambda_event
from lvrgd_common.testing import moto_server

if TYPE_CHECKING:
    from collections.abc import Callable

CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret"}


async def recorded(endpoint: str, items: int) -> list[dict[str, Any]]:
    """``items`` INSERTs and ``items`` MODIFYs, as GetRecords gives them."""
    table = f"bench-stream-{uuid.uuid4().hex[:8]}"
    session = aioboto3.Session(region_name="us-east-1", **CREDENTIALS)
    async with session.client("dynamodb", endpoint_url=endpoint) as client:
        await client.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        arn = (await client.describe_table(TableName=table))["Table"]["LatestStreamArn"]
    config = DynamoDBConfig(
        table_name=table, region="us-east-1", endpoint_url=endpoint, **CREDENTIALS
    )
    async with DynamoDBService(LoggingService("bench"), config) as service:
        models = [make_item("bench#stream", index) for index in range(items)]
        await service.batch_write(models)
        await service.batch_write([m.model_copy(update={"age": m.age + 1}) for m in models])
    records: list[dict[str, Any]] = []
    async with session.client("dynamodbstreams", endpoint_url=endpoint) as streams:
        shards = (await streams.describe_stream(StreamArn=arn))["StreamDescription"]["Shards"]
        for shard in shards:
            answer = await streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )
            iterator = answer["ShardIterator"]
            while iterator:
                page = await streams.get_records(ShardIterator=iterator, Limit=1000)
                records.extend(page["Records"])
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
    return records


def with_library(records: list[dict[str, Any]]) -> int:
    """Both images of every record as models, through the library's codec."""
    return len(decode_lambda_event({"Records": records}, BenchItem))


def with_type_deserializer(records: list[dict[str, Any]], *, models: bool) -> int:
    """Both images of every record with boto3's deserializer (then pydantic, with models)."""
    deserializer = TypeDeserializer()
    decoded = 0
    for record in records:
        change = record["dynamodb"]
        for name in ("NewImage", "OldImage"):
            image = change.get(name)
            if image is None:
                continue
            plain = {key: deserializer.deserialize(value) for key, value in image.items()}
            if models:
                BenchItem.model_validate(plain)
        decoded += 1
    return decoded


def best_rates(
    contenders: dict[str, Callable[[list[dict[str, Any]]], int]],
    records: list[dict[str, Any]],
    reps: int,
) -> dict[str, float]:
    """Events per second of each decoder, best of ``reps`` rounds run in a rotated order."""
    best = dict.fromkeys(contenders, float("inf"))
    names = list(contenders)
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            started = time.perf_counter()
            count = contenders[name](records)
            best[name] = min(best[name], (time.perf_counter() - started) / count)
    return {name: 1 / seconds for name, seconds in best.items()}


def main() -> None:
    """Record, decode, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with moto_server() as server:
        records = asyncio.run(recorded(server.endpoint_url, args.items))
    print(f"{len(records)} stream records from moto (NEW_AND_OLD_IMAGES, ~1 KB items)")
    contenders: dict[str, Callable[[list[dict[str, Any]]], int]] = {
        "lvrgd_common decode_lambda_event -> ChangeEvent[BenchItem]": with_library,
        "boto3 TypeDeserializer -> dicts": lambda r: with_type_deserializer(r, models=False),
        "boto3 TypeDeserializer + model_validate": lambda r: with_type_deserializer(r, models=True),
    }
    for name, rate in best_rates(contenders, records, args.reps).items():
        print(f"{name:<60} {rate:>10,.0f} events/s")


if __name__ == "__main__":
    main()

"""OpenTelemetry: one span per operation, with DynamoDB's semantic conventions, on a server.

The SDK's in-memory exporter collects what the library emits. Its tracer provider is set
once for the session (OpenTelemetry allows one global provider per process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lvrgd_common import (
    DynamoDBItemNotFoundError,
    DynamoDBService,
    DynamoDBValidationError,
    LoggingService,
    SortKeyCondition,
    TransactionWriteItem,
    sync,
)
from models import Entry, Profile

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from lvrgd_common import DynamoDBConfig

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="session")
def exporter() -> InMemorySpanExporter:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(provider)
    return _EXPORTER


@pytest.fixture(params=[True, False], ids=["fast_path", "aioboto3"])
def path_config(config: DynamoDBConfig, request: pytest.FixtureRequest) -> DynamoDBConfig:
    """The session's settings on one of the two request paths."""
    return config.model_copy(update={"fast_path": request.param})


@pytest.fixture
async def service(path_config: DynamoDBConfig) -> AsyncIterator[DynamoDBService]:
    """Every span test runs on both request paths: the lean one and aioboto3's client."""
    async with DynamoDBService(LoggingService("lvrgd_common.tests"), path_config) as opened:
        yield opened


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()


def only(exporter: InMemorySpanExporter, operation: str) -> ReadableSpan:
    found = [
        span
        for span in exporter.get_finished_spans()
        if (span.attributes or {}).get("db.operation.name") == operation
    ]
    assert len(found) == 1, [span.name for span in exporter.get_finished_spans()]
    return found[0]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_one_client_span_per_operation_with_the_conventions(
    service: DynamoDBService, spans: InMemorySpanExporter, pk: str, config: DynamoDBConfig
) -> None:
    await service.save(Profile(pk=pk, sk="p", name="Ada"))
    await service.get_one(pk, "p", Profile, consistent_read=True)
    save, get = only(spans, "save"), only(spans, "get_one")
    assert len(spans.get_finished_spans()) == 2
    assert save.name == f"save {config.table_name}"
    assert save.kind == SpanKind.CLIENT
    assert save.status.status_code == StatusCode.UNSET
    assert (attributes(save) | attributes(get)).items() >= {
        "db.system.name": "aws.dynamodb",
        "db.collection.name": config.table_name,
        "aws.dynamodb.table_names": (config.table_name,),
        "rpc.system": "aws-api",
        "rpc.service": "DynamoDB",
    }.items()
    assert attributes(save)["rpc.method"] == "PutItem"
    assert attributes(get)["lvrgd_common.api_calls"] == ("GetItem",)
    assert attributes(get)["aws.dynamodb.consistent_read"] is True
    assert attributes(get)["lvrgd_common.found"] is True
    assert (attributes(get)["lvrgd_common.requests"], attributes(get)["lvrgd_common.retries"]) == (
        1,
        0,
    )


async def test_queries_carry_index_limit_and_counts(
    service: DynamoDBService, spans: InMemorySpanExporter, pk: str
) -> None:
    await service.batch_write(
        [Entry(pk=pk, sk=f"{n:03d}", gsi1pk=f"{pk}#g", gsi1sk=f"{n:03d}") for n in range(30)]
    )
    spans.clear()
    page = await service.query_by_pk(f"{pk}#g", Entry, limit=7, index_name="gsi1")
    assert page.count == 7
    query = attributes(only(spans, "query_by_pk"))
    assert query["aws.dynamodb.index_name"] == "gsi1"
    assert query["aws.dynamodb.limit"] == 7
    assert query["aws.dynamodb.count"] == 7
    assert "Query" in query["lvrgd_common.api_calls"]
    ranged = SortKeyCondition(operator="ne", value="005")
    assert await service.count(pk, ranged) == 29
    counted = attributes(only(spans, "count"))
    assert counted["aws.dynamodb.select"] == "COUNT"
    assert counted["aws.dynamodb.count"] == 29
    assert [e.sk async for e in service.iter_query(pk, Entry, page_size=10)][-1] == "029"
    walked = attributes(only(spans, "iter_query"))
    assert walked["aws.dynamodb.count"] == 30
    assert walked["lvrgd_common.requests"] >= 3  # a server may end with an empty page


async def test_batches_count_items_and_requests(
    service: DynamoDBService, spans: InMemorySpanExporter, pk: str
) -> None:
    await service.batch_write([Profile(pk=pk, sk=f"{n:03d}", name="x") for n in range(60)])
    written = attributes(only(spans, "batch_write"))
    assert (written["lvrgd_common.items"], written["lvrgd_common.requests"]) == (60, 3)
    assert written["rpc.method"] == "BatchWriteItem"
    assert written["lvrgd_common.failed"] == 0
    await service.batch_get([(pk, f"{n:03d}") for n in range(60)], Profile)
    read = attributes(only(spans, "batch_get"))
    assert (read["lvrgd_common.keys"], read["lvrgd_common.found"]) == (60, 60)


async def test_consumed_capacity_when_asked_for(
    path_config: DynamoDBConfig, spans: InMemorySpanExporter, pk: str
) -> None:
    asked = path_config.model_copy(update={"return_consumed_capacity": True})
    async with DynamoDBService(LoggingService(), asked) as service:
        await service.save(Profile(pk=pk, sk="p", name="Ada"))
    (entry,) = attributes(only(spans, "save"))["aws.dynamodb.consumed_capacity"]
    assert json.loads(entry)["TableName"] == path_config.table_name
    assert json.loads(entry)["CapacityUnits"] > 0


async def test_no_capacity_attribute_unless_asked(
    service: DynamoDBService, spans: InMemorySpanExporter, pk: str
) -> None:
    await service.save(Profile(pk=pk, sk="p", name="Ada"))
    assert "aws.dynamodb.consumed_capacity" not in attributes(only(spans, "save"))


async def test_errors_are_recorded_with_status(
    service: DynamoDBService, spans: InMemorySpanExporter, pk: str
) -> None:
    with pytest.raises(DynamoDBItemNotFoundError):
        await service.update(pk, "absent", {"name": "x"})
    span = only(spans, "update")
    assert span.status.status_code == StatusCode.ERROR
    assert "DynamoDBItemNotFoundError" in (span.status.description or "")
    assert attributes(span)["error.type"] == "ConditionalCheckFailedException"
    assert [event.name for event in span.events] == ["exception"]
    assert span.events[0].attributes is not None
    assert str(span.events[0].attributes["exception.type"]).endswith("DynamoDBItemNotFoundError")

    spans.clear()
    with pytest.raises(DynamoDBValidationError):
        await service.update(pk, "p", {})
    refused = only(spans, "update")
    assert refused.status.status_code == StatusCode.ERROR
    assert attributes(refused)["error.type"] == "DynamoDBValidationError"
    assert attributes(refused)["lvrgd_common.requests"] == 0


@pytest.mark.needs("transactions")
async def test_transactions_have_their_span(
    service: DynamoDBService, spans: InMemorySpanExporter, pk: str
) -> None:
    await service.transact_write(
        [TransactionWriteItem(operation="put", item=Profile(pk=pk, sk="t", name="T"))]
    )
    done = attributes(only(spans, "transact_write"))
    assert (done["rpc.method"], done["lvrgd_common.operations"]) == ("TransactWriteItems", 1)


def test_the_sync_facade_emits_the_same_spans(
    path_config: DynamoDBConfig, spans: InMemorySpanExporter, pk: str
) -> None:
    with sync.DynamoDBService(LoggingService(), path_config) as service:
        service.save(Profile(pk=pk, sk="s", name="S"))
        assert service.ping() is True
    assert attributes(only(spans, "save"))["rpc.method"] == "PutItem"
    assert attributes(only(spans, "ping"))["rpc.method"] == "DescribeTable"


def test_without_the_api_nothing_is_imported_or_emitted(config: DynamoDBConfig) -> None:
    """In an interpreter where ``import opentelemetry`` fails, operations still work."""
    secret = config.aws_secret_access_key
    script = f"""
import asyncio, sys
sys.modules["opentelemetry"] = None  # the import fails as if the package were absent
from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
config = DynamoDBConfig(
    table_name={config.table_name!r}, region={config.region!r},
    endpoint_url={config.endpoint_url!r}, aws_access_key_id={config.aws_access_key_id!r},
    aws_secret_access_key={None if secret is None else secret.get_secret_value()!r},
)
async def main():
    async with DynamoDBService(LoggingService(), config) as service:
        assert await service.ping()
        await service.delete("{uuid.uuid4().hex}", "x")
asyncio.run(main())
assert not any(name.startswith("opentelemetry.") for name in sys.modules), "imported"
print("ok")
"""
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr

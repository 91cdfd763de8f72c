"""Each operation logs one record with what an operator needs; any logger fits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
import structlog
from structlog.testing import capture_logs

from faultproxy import Exchange, FaultProxy, Forward, Hang, Reply, dynamodb_error
from helpers import through
from lvrgd_common import (
    AttributeCondition,
    DynamoDBBaseModel,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBItemNotFoundError,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBValidationError,
    LoggingService,
    SortKeyCondition,
    TransactionWriteItem,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from faultproxy import Action
    from lvrgd_common import LoggerProtocol

LOGGER_NAME = "lvrgd_common.it.observability"


class Reading(DynamoDBBaseModel):
    value: int


def records_of(caplog: pytest.LogCaptureFixture) -> list[tuple[int, dict[str, Any]]]:
    """(level, fields) of every record of this module's logger, in order."""
    return [
        (record.levelno, record.fields)  # type: ignore[attr-defined]
        for record in caplog.records
        if record.name == LOGGER_NAME
    ]


def info_fields(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        record.fields  # type: ignore[attr-defined]
        for record in caplog.records
        if record.name == LOGGER_NAME and record.levelno == logging.INFO
    ]


@pytest.fixture
def capacity_config(config: DynamoDBConfig) -> DynamoDBConfig:
    return config.model_copy(update={"return_consumed_capacity": True})


async def test_every_operation_logs_one_record_with_keys_counts_timing_retries_and_capacity(
    capacity_config: DynamoDBConfig, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    table = capacity_config.table_name
    async with DynamoDBService(LoggingService(LOGGER_NAME), capacity_config) as service:
        await service.save(Reading(pk=pk, sk="r0", value=0))
        await service.get_one(pk, "r0", Reading)
        await service.update(pk, "r0", {"value": 1})
        await service.batch_write([Reading(pk=pk, sk=f"r{n}", value=n) for n in range(1, 4)])
        await service.batch_get([(pk, "r1"), (pk, "r2"), (pk, "absent")], Reading)
        await service.query_by_pk(pk, Reading, limit=2)
        await service.count(pk, SortKeyCondition(operator="begins_with", value="r"))
        await service.delete(pk, "r0")

    records = info_fields(caplog)
    assert [fields["operation"] for fields in records] == [
        "save",
        "get_one",
        "update",
        "batch_write",
        "batch_get",
        "query_by_pk",
        "count",
        "delete",
    ]
    for fields in records:
        assert fields["table"] == table
        assert isinstance(fields["elapsed_ms"], float)
        assert fields["elapsed_ms"] > 0
        assert fields["retries"] == 0
        assert fields["consumed_capacity"] > 0, fields
    by_operation = {fields["operation"]: fields for fields in records}
    for single in ("save", "get_one", "update", "delete"):
        assert by_operation[single]["pk"] == pk
        assert "sk" in by_operation[single]
    assert by_operation["get_one"]["found"] is True
    assert by_operation["batch_write"]["items"] == 3
    assert (by_operation["batch_get"]["keys"], by_operation["batch_get"]["found"]) == (3, 2)
    assert by_operation["query_by_pk"]["count"] == 2
    assert by_operation["count"]["count"] == 4


async def test_consumed_capacity_is_left_out_unless_asked_for(
    config: DynamoDBConfig, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    async with DynamoDBService(LoggingService(LOGGER_NAME), config) as service:
        await service.save(Reading(pk=pk, sk="r0", value=0))
    [fields] = info_fields(caplog)
    assert fields["operation"] == "save"
    assert "consumed_capacity" not in fields


@pytest.mark.needs("transactions")
async def test_a_transaction_logs_its_operation_count(
    capacity_config: DynamoDBConfig, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    async with DynamoDBService(LoggingService(LOGGER_NAME), capacity_config) as service:
        await service.transact_write(
            [
                TransactionWriteItem(operation="put", item=Reading(pk=pk, sk=f"t{n}", value=n))
                for n in range(3)
            ]
        )
    [fields] = info_fields(caplog)
    assert (fields["operation"], fields["operations"], fields["retries"]) == (
        "transact_write",
        3,
        0,
    )


async def test_a_structlog_logger_is_injected_unchanged_and_receives_the_records(
    config: DynamoDBConfig, pk: str
) -> None:
    logger: LoggerProtocol = structlog.stdlib.get_logger("orders")
    with capture_logs() as captured:
        async with DynamoDBService(logger, config) as service:
            await service.save(Reading(pk=pk, sk="s1", value=1))
            assert await service.get_one(pk, "absent", Reading) is None
            await service.update(pk, "s1", {"value": 2})

    assert [(entry["event"], entry["log_level"], entry["operation"]) for entry in captured] == [
        ("dynamodb operation", "info", "save"),
        ("dynamodb operation", "info", "get_one"),
        ("dynamodb operation", "info", "update"),
    ]
    assert captured[1]["found"] is False
    for entry in captured:
        assert entry["table"] == config.table_name
        assert entry["pk"] == pk
        assert entry["elapsed_ms"] > 0
        assert entry["retries"] == 0
    secret = config.aws_secret_access_key
    assert secret is not None
    assert secret.get_secret_value() not in repr(captured)


class ThrottlingEndpoint:
    """A loopback DynamoDB stand-in: the first ``throttles`` requests are throttled.

    Later requests get ``{}``, which is GetItem's answer for an absent item.
    """

    def __init__(self, throttles: int) -> None:
        self.throttles = throttles
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.requests += 1
                if self.requests <= self.throttles:
                    status = "400 Bad Request"
                    body = {
                        "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                        "message": "Rate of requests exceeds the allowed throughput.",
                    }
                else:
                    status, body = "200 OK", {}
                payload = json.dumps(body).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\n"
                    "Content-Type: application/x-amz-json-1.0\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def throttled_once() -> AsyncIterator[tuple[ThrottlingEndpoint, str]]:
    endpoint = ThrottlingEndpoint(throttles=1)
    async with endpoint as url:
        yield endpoint, url


async def test_retries_by_botocore_are_counted_and_warned_about(
    throttled_once: tuple[ThrottlingEndpoint, str], caplog: pytest.LogCaptureFixture
) -> None:
    endpoint, url = throttled_once
    config = DynamoDBConfig(
        table_name="throttled",
        region="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
        max_attempts=3,
    )
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    async with DynamoDBService(LoggingService(LOGGER_NAME), config) as service:
        assert await service.get_one("p", "s", Reading) is None

    assert endpoint.requests == 2
    [record] = info_fields(caplog)
    assert (record["operation"], record["retries"], record["found"]) == ("get_one", 1, False)
    warnings = [r for r in caplog.records if r.name == LOGGER_NAME and r.levelno == logging.WARNING]
    assert [r.fields["retries"] for r in warnings] == [1]  # type: ignore[attr-defined]


# --- one record per operation, however it ends -----------------------------------------


async def test_an_iter_query_left_early_logs_one_record_saying_so(
    service: DynamoDBService, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    await service.batch_write([Reading(pk=pk, sk=f"r{n:02d}", value=n) for n in range(10)])
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    async with DynamoDBService(LoggingService(LOGGER_NAME), service.config) as logged:
        seen = 0
        async with contextlib.aclosing(logged.iter_query(pk, Reading, page_size=3)) as rows:
            async for _ in rows:
                seen += 1
                if seen == 4:
                    break
    [(level, fields)] = records_of(caplog)
    assert level == logging.INFO
    assert (fields["operation"], fields["outcome"], fields["count"]) == (
        "iter_query",
        "closed_early",
        4,
    )


async def test_a_cancelled_operation_logs_one_record_saying_so(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    arrived = asyncio.Event()

    def hang_get_item(exchange: Exchange) -> Action:
        if exchange.target != "GetItem":
            return Forward()
        arrived.set()
        return Hang()

    proxy.rule = hang_get_item
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    async with DynamoDBService(LoggingService(LOGGER_NAME), through(config, proxy)) as service:
        task = asyncio.create_task(service.get_one(pk, "s", Reading))
        await asyncio.wait_for(arrived.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    [(level, fields)] = records_of(caplog)
    assert level == logging.INFO
    assert (fields["operation"], fields["outcome"]) == ("get_one", "cancelled")


async def test_expected_answers_are_info_and_unavailability_a_warning(
    service: DynamoDBService, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A create-only save on an existing item and an update of an absent one are answers a
    program expects; a table that is not there is an operator's problem."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    create_only = [AttributeCondition(attribute="pk", operator="not_exists")]
    async with DynamoDBService(LoggingService(LOGGER_NAME), service.config) as logged:
        await logged.save(Reading(pk=pk, sk="s", value=1), conditions=create_only)
        with pytest.raises(DynamoDBConditionalCheckError):
            await logged.save(Reading(pk=pk, sk="s", value=2), conditions=create_only)
        with pytest.raises(DynamoDBItemNotFoundError):
            await logged.update(pk, "absent", {"value": 3})
    missing = service.config.model_copy(update={"table_name": "lvrgd-it-no-such-table"})
    async with DynamoDBService(LoggingService(LOGGER_NAME), missing) as elsewhere:
        with pytest.raises(DynamoDBServiceError):
            await elsewhere.get_one(pk, "s", Reading)

    assert [(level, fields["outcome"]) for level, fields in records_of(caplog)] == [
        (logging.INFO, "ok"),
        (logging.INFO, "condition_failed"),
        (logging.INFO, "not_found"),
        (logging.WARNING, "failed"),
    ]


async def test_refused_arguments_are_info_and_dynamodbs_own_refusal_a_warning(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A junk ``?cursor=`` from a client is the caller's mistake: one INFO record, outcome
    ``refused``, no WARNING. A request DynamoDB itself refuses stays a WARNING."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)

    def refuse_queries(exchange: Exchange) -> Action:
        if exchange.target.endswith("Query"):
            return Reply(400, dynamodb_error("ValidationException", "refused by the server"))
        return Forward()

    proxy.rule = refuse_queries
    async with DynamoDBService(LoggingService(LOGGER_NAME), through(config, proxy)) as logged:
        with pytest.raises(DynamoDBValidationError):
            await logged.query_by_pk(pk, Reading, cursor="not-a-cursor")
        with pytest.raises(DynamoDBValidationError):
            await logged.query_by_pk(pk, Reading, limit=0)
        with pytest.raises(DynamoDBValidationError) as refused_by_dynamodb:
            await logged.query_by_pk(pk, Reading)
    assert refused_by_dynamodb.value.error_code == "ValidationException"

    records = records_of(caplog)
    assert [(level, fields["outcome"]) for level, fields in records] == [
        (logging.INFO, "refused"),
        (logging.INFO, "refused"),
        (logging.WARNING, "failed"),
    ]
    first = records[0][1]
    assert (first["operation"], first["error"], first["error_code"]) == (
        "query_by_pk",
        "DynamoDBValidationError",
        None,
    )
    assert "cursor" in first["reason"]

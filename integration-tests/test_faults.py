"""Faults between the service and a real server, injected by the tests' own proxy.

A dying server, throttling, 5xx answers, unprocessed batch entries, hanging connections
and cancelled callers: the service either gets the work done through its retries or says
exactly what was not done; nothing is lost and no task is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from typing import TYPE_CHECKING, Any

import pytest

from faultproxy import Exchange, FaultProxy, Forward, Hang, Reply, Stall, dynamodb_error
from helpers import scan_table, through
from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBBatchOperationError,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    LoggingService,
    SortKeyCondition,
)
from lvrgd_common.exceptions.dynamodb_exceptions import DynamoDBUnavailableError
from lvrgd_common.testing import create_table, free_port

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from faultproxy import Action

Key = tuple[str, str]

# Seconds added to a timing bound for a loaded machine: the bounds show that the configured
# timeouts ended a call (the suite's operation_timeout is 120 s), not how fast the host is.
SLACK = 10.0


class Row(DynamoDBBaseModel):
    n: int
    text: str = "row"


def rows(pk: str, count: int) -> list[Row]:
    return [Row(pk=pk, sk=f"{index:05d}", n=index) for index in range(count)]


def put_keys(exchange: Exchange, table: str) -> set[Key]:
    """Keys of the items a BatchWriteItem exchange sent to the server."""
    requests = (exchange.sent or {}).get("RequestItems", {}).get(table, [])
    return {
        (request["PutRequest"]["Item"]["pk"]["S"], request["PutRequest"]["Item"]["sk"]["S"])
        for request in requests
    }


def unprocessed_keys(exchange: Exchange, table: str) -> set[Key]:
    requests = (exchange.reply or {}).get("UnprocessedItems", {}).get(table, [])
    return {
        (request["PutRequest"]["Item"]["pk"]["S"], request["PutRequest"]["Item"]["sk"]["S"])
        for request in requests
    }


async def stored_keys(settings: DynamoDBConfig, pk: str) -> set[Key]:
    """What the server holds under ``pk``, read back through a fresh service."""
    async with DynamoDBService(LoggingService(), settings) as service:
        found = await service.query_by_pk(pk, Row, consistent_read=True)
    return {(row.pk, row.sk) for row in found.items}


# --- a server that dies mid-batch -------------------------------------------------------


async def test_a_server_dying_mid_batch_write_loses_nothing(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    """5,000 items; the server "dies" (the proxy) after 80 of its 200 requests were answered.

    At that moment up to 16 requests are in flight: the server applies them, but their
    replies never arrive (the proxy drops them, as a dying server's connections would).
    The library cannot know those were written, so it reports them failed. Precisely:

    - every item is stored or reported failed (nothing lost);
    - the items both stored and reported failed are exactly those in-flight ones;
    - everything else reported failed was never written.
    """
    items = rows(pk, 5000)
    table = config.table_name
    answered = 0

    def die_after_80(exchange: Exchange) -> Action:
        nonlocal answered
        if exchange.target == "BatchWriteItem":
            answered += 1
            if answered > 80:
                proxy.kill()
                return Forward(deliver=False)
        return Forward()

    proxy.rule = die_after_80
    settings = through(config, proxy, max_attempts=2, connect_timeout=1.0)
    async with DynamoDBService(LoggingService(), settings) as service:
        with pytest.raises(DynamoDBBatchOperationError) as caught:
            await service.batch_write(items)
    error = caught.value
    writes = proxy.of("BatchWriteItem")
    confirmed = set().union(*(put_keys(e, table) for e in writes if e.outcome == "answered"))
    in_doubt = set().union(*(put_keys(e, table) for e in writes if e.in_doubt))
    failed = set(error.failed_keys)
    stored = await stored_keys(config, pk)

    assert error.operation == "batch_write"
    forwarded = [e for e in writes if e.forwarded]
    assert len(forwarded) == 81  # then the server was gone: nothing more reached it
    assert len(confirmed | in_doubt) == 81 * 25
    assert in_doubt  # the scenario did catch requests in flight
    assert failed | stored == {(item.pk, item.sk) for item in items}
    assert failed & stored == in_doubt
    assert stored == confirmed | in_doubt
    assert len(error.failed_items) == len(failed)  # each named once
    assert {id(item) for item in error.failed_items} <= {id(item) for item in items}
    assert error.successful_count == len(items) - len(failed)


class _Dynalite:
    """A dynalite process of the test's own, on disk, that can be killed outright."""

    def __init__(self, package_dir: Path, data_dir: Path) -> None:
        node = shutil.which("node")
        if node is None:
            pytest.skip("node is not installed")
        self.port = free_port()
        cli = package_dir / "node_modules" / "dynalite" / "cli.js"
        self.command = [node, str(cli), "--host", "127.0.0.1", "--port", str(self.port)]
        self.command += ["--path", str(data_dir), "--createTableMs", "0"]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603, ASYNC220 - the test's own fixed command
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            await asyncio.sleep(0.05)
        msg = "dynalite did not start"
        raise RuntimeError(msg)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def dynalite_on_disk(tmp_path: Path) -> Iterator[_Dynalite]:
    from conftest import DYNALITE_DIR, dynalite_missing  # noqa: PLC0415 - the session's own

    if missing := dynalite_missing():
        pytest.skip(missing)
    server = _Dynalite(DYNALITE_DIR, tmp_path / "db")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.needs("killable_server")
async def test_a_killed_server_process_mid_batch_write_loses_nothing(
    base_config: DynamoDBConfig, dynalite_on_disk: _Dynalite, pk: str
) -> None:
    """The server process is SIGKILLed mid-batch, restarted on its data, then scanned.

    Unlike the proxy's simulated death, requests in flight at the kill may or may not
    have been applied, so what can be asserted is:

    - every item is stored or reported failed (nothing lost);
    - every item whose request was answered is stored (acknowledged writes survive);
    - an item both stored and reported failed was in a request that got no answer.
    """
    server = dynalite_on_disk
    await server.start()
    settings = base_config.model_copy(update={"endpoint_url": server.endpoint_url})
    await create_table(settings)
    items = rows(pk, 5000)
    answered = 0

    async with FaultProxy(server.endpoint_url) as proxy:

        def kill_after_80(exchange: Exchange) -> Action:
            nonlocal answered
            if exchange.target == "BatchWriteItem":
                answered += 1
                if answered == 81:
                    server.kill()
            return Forward()

        proxy.rule = kill_after_80
        proxied = through(settings, proxy, max_attempts=2, connect_timeout=1.0)
        async with DynamoDBService(LoggingService(), proxied) as service:
            with pytest.raises(DynamoDBBatchOperationError) as caught:
                await service.batch_write(items)
        writes = proxy.of("BatchWriteItem")

    await server.start()  # the same data directory
    stored = set(await scan_table(settings))
    table = settings.table_name
    confirmed = set().union(*(put_keys(e, table) for e in writes if e.outcome == "answered"))
    in_doubt = set().union(*(put_keys(e, table) for e in writes if e.forwarded)) - confirmed
    failed = set(caught.value.failed_keys)

    assert len(writes) > 80
    assert confirmed
    assert failed | stored == {(item.pk, item.sk) for item in items}
    assert confirmed <= stored
    assert failed & stored <= in_doubt
    assert stored - confirmed <= in_doubt
    assert caught.value.successful_count == len(items) - len(failed)


# --- throttling, 5xx, unprocessed entries ------------------------------------------------

FAULTS = {
    "ProvisionedThroughputExceeded": Reply(
        400,
        dynamodb_error(
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
    ),
    "Throttling": Reply(
        400, dynamodb_error("ThrottlingException", "Rate of requests exceeds the allowed rate.")
    ),
    "500": Reply(500, dynamodb_error("InternalServerError", "Internal server error")),
    "503": Reply(503, dynamodb_error("ServiceUnavailable", "Service unavailable")),
}


def fail_each_request_twice(fault: Reply) -> Callable[[Exchange], Action]:
    """Every distinct request fails on its first two tries, then goes through."""
    tries: dict[bytes, int] = {}

    def rule(exchange: Exchange) -> Action:
        tries[exchange.raw] = tries.get(exchange.raw, 0) + 1
        return fault if tries[exchange.raw] <= 2 else Forward()

    return rule


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_throttling_and_5xx_for_a_while_are_retried_through(
    config: DynamoDBConfig,
    proxy: FaultProxy,
    pk: str,
    fault: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the default three attempts, two faults per request are ridden out."""
    proxy.rule = fail_each_request_twice(FAULTS[fault])
    items = rows(pk, 120)
    with caplog.at_level("WARNING", logger="lvrgd_common"):
        async with DynamoDBService(LoggingService(), through(config, proxy)) as service:
            await asyncio.gather(
                service.save(Row(pk=pk, sk="single", n=-1)), service.batch_write(items)
            )
            single, page = await asyncio.gather(
                service.get_one(pk, "single", Row),
                service.query_by_pk_and_sk(
                    pk, SortKeyCondition(operator="begins_with", value="0"), Row
                ),
            )
    assert single == Row(pk=pk, sk="single", n=-1)
    assert page.items == items
    replied = [exchange for exchange in proxy.exchanges if exchange.outcome == "replied"]
    answered = [exchange for exchange in proxy.exchanges if exchange.outcome == "answered"]
    assert len(replied) == 2 * len(answered)  # every request was faulted twice, then served
    assert {exchange.status for exchange in replied} == {FAULTS[fault].status}
    assert any("retried" in record.getMessage() for record in caplog.records)


async def test_faults_beyond_the_attempts_give_a_clear_error_and_name_every_item(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    """Throttled for longer than the retries last: an error, and nothing silently dropped."""
    proxy.rule = lambda exchange: (
        FAULTS["Throttling"] if exchange.target == "BatchWriteItem" else Forward()
    )
    items = rows(pk, 60)
    settings = through(config, proxy, max_attempts=2)
    async with DynamoDBService(LoggingService(), settings) as service:
        with pytest.raises(DynamoDBBatchOperationError) as caught:
            await service.batch_write(items)
        proxy.rule = lambda _exchange: FAULTS["503"]
        with pytest.raises(DynamoDBUnavailableError) as single:
            await service.get_one(pk, "00001", Row)
    assert caught.value.error_code == "ThrottlingException"
    assert caught.value.failed_items == items
    assert caught.value.successful_count == 0
    assert len(proxy.of("BatchWriteItem")) == 3 * 2  # 3 chunks, 2 attempts each
    assert single.value.operation == "get_one"
    assert single.value.error_code == "ServiceUnavailable"
    assert await stored_keys(config, pk) == set()


def withhold_odd(table: str, times: int) -> Callable[[Exchange], Action]:
    """BatchWriteItem: items with an odd ``n`` come back as UnprocessedItems on their first
    ``times`` sends; the server gets the rest."""
    withheld: dict[str, int] = {}

    def rule(exchange: Exchange) -> Action:
        if exchange.target != "BatchWriteItem":
            return Forward()
        keep, back = [], []
        for request in exchange.body["RequestItems"][table]:
            item = request["PutRequest"]["Item"]
            sk = item["sk"]["S"]
            if int(item["n"]["N"]) % 2 and withheld.get(sk, 0) < times:
                withheld[sk] = withheld.get(sk, 0) + 1
                back.append(request)
            else:
                keep.append(request)
        if not back:
            return Forward()
        if not keep:
            return Reply(200, {"UnprocessedItems": {table: back}})

        def answer_unprocessed(reply: dict[str, Any]) -> dict[str, Any]:
            return {**reply, "UnprocessedItems": {table: back}}

        return Forward(body={"RequestItems": {table: keep}}, rewrite=answer_unprocessed)

    return rule


async def test_unprocessed_items_for_a_while_are_retried_until_written(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.rule = withhold_odd(config.table_name, times=3)
    items = rows(pk, 500)
    with caplog.at_level("WARNING", logger="lvrgd_common"):
        async with DynamoDBService(LoggingService(), through(config, proxy)) as service:
            await service.batch_write(items)
    assert await stored_keys(config, pk) == {(item.pk, item.sk) for item in items}
    table = config.table_name
    assert sum(len(unprocessed_keys(e, table)) for e in proxy.exchanges) == 250 * 3
    retries = [r for r in caplog.records if "retrying unprocessed" in r.getMessage()]
    assert len(retries) == 20 * 3  # each of the 20 chunks retried three times


async def test_unprocessed_items_beyond_the_attempts_are_named_exactly(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    """failed_items plus what the table holds is exactly the input."""
    proxy.rule = withhold_odd(config.table_name, times=1000)
    items = rows(pk, 100)
    settings = through(config, proxy, batch_max_attempts=3)
    async with DynamoDBService(LoggingService(), settings) as service:
        with pytest.raises(DynamoDBBatchOperationError) as caught:
            await service.batch_write(items)
    failed = set(caught.value.failed_keys)
    stored = await stored_keys(config, pk)
    assert failed.isdisjoint(stored)
    assert failed | stored == {(item.pk, item.sk) for item in items}
    assert failed == {(item.pk, item.sk) for item in items if item.n % 2}
    assert caught.value.successful_count == len(stored) == 50
    assert caught.value.error_code is None
    assert "still unprocessed" in str(caught.value)


async def test_unprocessed_keys_in_batch_get_are_retried(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    items = rows(pk, 250)
    table = config.table_name
    async with DynamoDBService(LoggingService(), config) as service:
        await service.batch_write(items)
    moved: set[str] = set()

    def hold_back_some_keys(exchange: Exchange) -> Action:
        if exchange.target != "BatchGetItem":
            return Forward()

        def answer_unprocessed(reply: dict[str, Any]) -> dict[str, Any]:
            found = reply["Responses"][table]
            back = [i for i in found if int(i["n"]["N"]) % 3 == 0 and i["sk"]["S"] not in moved]
            moved.update(item["sk"]["S"] for item in back)
            keys = [{"pk": item["pk"], "sk": item["sk"]} for item in back]
            kept = [item for item in found if item not in back]
            unprocessed = {table: {"Keys": keys}} if keys else {}
            return {**reply, "Responses": {table: kept}, "UnprocessedKeys": unprocessed}

        return Forward(rewrite=answer_unprocessed)

    proxy.rule = hold_back_some_keys
    async with DynamoDBService(LoggingService(), through(config, proxy)) as service:
        found = await service.batch_get([(item.pk, item.sk) for item in items], Row)
    assert found == items
    assert len(moved) == 84  # n = 0, 3, ..., 249 were held back once, then read


# --- hanging connections -----------------------------------------------------------------


@pytest.mark.parametrize("fault", [Hang(), Stall()], ids=["no answer", "answer stops midway"])
async def test_a_hanging_connection_is_ended_by_the_read_timeout(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str, fault: Hang | Stall
) -> None:
    proxy.rule = lambda _exchange: fault
    settings = through(config, proxy, read_timeout=0.5, connect_timeout=0.5, max_attempts=2)
    async with DynamoDBService(LoggingService(), settings) as service:
        started = time.monotonic()
        with pytest.raises(DynamoDBUnavailableError, match=r"(?i)timeout") as caught:
            await service.save(Row(pk=pk, sk="a", n=1))
        elapsed = time.monotonic() - started
        # Two attempts of 0.5 s and at most 1 s of botocore's backoff between them, with a
        # generous margin for a busy machine; the suite's budget (operation_timeout) is 120 s.
        assert elapsed < 2 * 0.5 + 1 + SLACK
        assert await service.ping() is False  # ping never hangs beyond the timeouts either
    assert caught.value.operation == "save"
    assert len(proxy.of("PutItem")) == 2
    if isinstance(fault, Hang):
        assert await stored_keys(config, pk) == set()  # never reached the server
    assert time.monotonic() - started < 2 * (2 * 0.5 + 1) + 2 * SLACK


@pytest.fixture
def full_backlog() -> Iterator[str]:
    """A loopback endpoint whose listen backlog is full: new connections never complete."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler = socket.socket()
        fillers.append(filler)
        filler.connect(("127.0.0.1", port))  # takes the only place in the queue
        probe = socket.socket()
        fillers.append(probe)
        probe.settimeout(0.3)
        with pytest.raises(TimeoutError):
            probe.connect(("127.0.0.1", port))
        yield f"http://127.0.0.1:{port}"
    finally:
        for sock in fillers:
            sock.close()
        listener.close()


async def test_a_connection_that_never_completes_is_ended_by_the_connect_timeout(
    config: DynamoDBConfig, full_backlog: str, pk: str
) -> None:
    settings = config.model_copy(
        update={"endpoint_url": full_backlog, "connect_timeout": 0.5, "max_attempts": 2}
    )
    async with DynamoDBService(LoggingService(), settings) as service:
        started = time.monotonic()
        with pytest.raises(DynamoDBUnavailableError, match=r"(?i)connect timeout") as caught:
            await service.get_one(pk, "a", Row)
        assert time.monotonic() - started < 2 * 0.5 + 1 + SLACK
        started = time.monotonic()
        assert await service.ping() is False
        assert time.monotonic() - started < 2 * 0.5 + 1 + SLACK
    assert caught.value.operation == "get_one"


# --- a caller cancelled mid-batch -------------------------------------------------------


async def test_a_caller_cancelled_mid_batch_leaves_no_task_and_the_service_usable(
    config: DynamoDBConfig, proxy: FaultProxy, pk: str
) -> None:
    eight_answered = asyncio.Event()
    answered = 0

    def count(reply: dict[str, Any]) -> dict[str, Any]:
        nonlocal answered
        answered += 1
        if answered >= 8:
            eight_answered.set()
        return reply

    proxy.rule = lambda exchange: (
        Forward(delay=0.05, rewrite=count) if exchange.target == "BatchWriteItem" else Forward()
    )
    items = rows(pk, 2000)
    # A small pool: a connection leaked by the cancellation would soon starve later calls.
    settings = through(config, proxy, max_pool_connections=4, batch_concurrency=4)
    before = asyncio.all_tasks()
    async with DynamoDBService(LoggingService(), settings) as service:
        batch = asyncio.create_task(service.batch_write(items))
        await asyncio.wait_for(eight_answered.wait(), 30)
        seen_at_cancel = len(proxy.exchanges)
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
        left = asyncio.all_tasks() - before - proxy.tasks - {asyncio.current_task()}
        assert not left, f"tasks still running after the cancellation: {left}"
        # Requests written just before the cancellation (at most one per pooled connection)
        # may still be in the socket buffers; a leaked chunk would keep sending, so the
        # count would never settle.
        settled = await settled_count(proxy)
        assert settled <= seen_at_cancel + settings.max_pool_connections

        after = rows(f"{pk}-after", 300)
        await service.batch_write(after)
        await asyncio.gather(*(service.get_one(i.pk, i.sk, Row) for i in after[:50]))
    assert await stored_keys(config, f"{pk}-after") == {(i.pk, i.sk) for i in after}
    assert await stored_keys(config, pk) <= {(i.pk, i.sk) for i in items}


async def settled_count(proxy: FaultProxy, quiet: float = 1.0, limit: float = 30.0) -> int:
    """The number of exchanges once it has not changed for ``quiet`` seconds."""
    async with asyncio.timeout(limit):
        while True:
            count = len(proxy.exchanges)
            await asyncio.sleep(quiet)
            if len(proxy.exchanges) == count:
                return count


async def test_a_refused_connection_fails_fast_and_clearly(config: DynamoDBConfig, pk: str) -> None:
    closed = config.model_copy(update={"endpoint_url": f"http://127.0.0.1:{free_port()}"})
    async with DynamoDBService(LoggingService(), closed) as service:
        started = time.monotonic()
        with pytest.raises(DynamoDBServiceError) as caught:
            await service.batch_write(rows(pk, 30))
        assert time.monotonic() - started < 10
    assert isinstance(caught.value, DynamoDBBatchOperationError)
    assert caught.value.successful_count == 0
    assert "unreachable" in str(caught.value)

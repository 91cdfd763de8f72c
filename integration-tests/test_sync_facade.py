"""The sync facade on a real server: every method as a plain call, and from many threads.

These tests are plain functions: no event loop runs in the test's thread, as in a script.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from lvrgd_common import (
    AttributeCondition,
    DynamoDBConditionalCheckError,
    DynamoDBItemNotFoundError,
    DynamoDBValidationError,
    LoggingService,
    SortKeyCondition,
    TransactionWriteItem,
)
from lvrgd_common.sync import DynamoDBService
from models import Entry, Profile, everything

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lvrgd_common import DynamoDBConfig


@pytest.fixture
def facade(config: DynamoDBConfig) -> Iterator[DynamoDBService]:
    with DynamoDBService(LoggingService("lvrgd_common.tests"), config) as service:
        yield service


def entries(pk: str, count: int) -> list[Entry]:
    return [
        Entry(pk=pk, sk=f"e#{i:04d}", title=f"t{i}", gsi1pk=f"{pk}#g", gsi1sk=f"{i:04d}")
        for i in range(count)
    ]


def test_single_item_methods(facade: DynamoDBService, pk: str) -> None:
    model = everything(pk)
    facade.save(model)
    assert facade.get_one(pk, model.sk, type(model), consistent_read=True) == model
    facade.save(Profile(pk=pk, sk="p", name="Ada"))
    facade.update(pk, "p", {"name": "Bea", "status": "done", "nickname": None})
    assert facade.get_one(pk, "p", Profile) == Profile(pk=pk, sk="p", name="Bea", status="done")
    with pytest.raises(DynamoDBConditionalCheckError):
        facade.delete(
            pk,
            "p",
            conditions=[AttributeCondition(attribute="status", operator="eq", value="open")],
        )
    facade.delete(pk, "p")
    assert facade.get_one(pk, "p", Profile) is None
    facade.delete(pk, "p")  # absent: not an error


def test_errors_are_the_async_services_errors(facade: DynamoDBService, pk: str) -> None:
    with pytest.raises(DynamoDBItemNotFoundError) as caught:
        facade.update(pk, "absent", {"name": "x"})
    assert (caught.value.operation, caught.value.pk, caught.value.sk) == ("update", pk, "absent")
    with pytest.raises(DynamoDBValidationError):
        facade.update(pk, "p", {})
    with pytest.raises(DynamoDBConditionalCheckError):
        facade.save(
            Profile(pk=pk, sk="p", name="A"),
            conditions=[AttributeCondition(attribute="name", operator="exists")],
        )


def test_query_methods_and_count(facade: DynamoDBService, pk: str) -> None:
    facade.batch_write(entries(pk, 30))
    first = facade.query_by_pk(pk, Entry, limit=20)
    assert [e.sk for e in first.items] == [f"e#{i:04d}" for i in range(20)]
    rest = facade.query_by_pk(pk, Entry, 20, first.last_evaluated_key)
    assert (rest.count, rest.last_evaluated_key) == (10, None)
    newest = facade.query_by_pk(f"{pk}#g", Entry, limit=1, index_name="gsi1", scan_forward=False)
    assert newest.items[0].sk == "e#0029"
    between = SortKeyCondition(operator="between", value="e#0005", value2="e#0009")
    page = facade.query_by_pk_and_sk(pk, between, Entry, consistent_read=True)
    assert [e.sk for e in page.items] == [f"e#{i:04d}" for i in range(5, 10)]
    assert facade.count(pk) == 30
    assert facade.count(pk, SortKeyCondition(operator="ne", value="e#0000")) == 29
    assert facade.count(f"{pk}#g", index_name="gsi1") == 30


def test_iter_query_is_a_plain_iterator(facade: DynamoDBService, pk: str) -> None:
    facade.batch_write(entries(pk, 45))
    items = facade.iter_query(pk, Entry, page_size=10)
    assert next(items).sk == "e#0000"
    assert [e.sk for e in items] == [f"e#{i:04d}" for i in range(1, 45)]
    descending = facade.iter_query(
        pk, Entry, SortKeyCondition(operator="begins_with", value="e#001"), scan_forward=False
    )
    assert [e.sk for e in descending][:2] == ["e#0019", "e#0018"]
    for taken, _ in enumerate(facade.iter_query(pk, Entry, page_size=5)):
        if taken == 7:
            break  # leaving early closes the query; the service stays usable
    assert facade.count(pk) == 45
    with pytest.raises(DynamoDBValidationError):
        next(facade.iter_query(pk, Entry, index_name="no-such-index"))


def test_batch_methods(facade: DynamoDBService, pk: str) -> None:
    stored = entries(pk, 60)
    facade.batch_write(stored)
    keys = [(e.pk, e.sk) for e in reversed(stored)] + [(pk, "absent")]
    assert facade.batch_get(keys, Entry, consistent_read=True) == list(reversed(stored))
    facade.batch_delete([(e.pk, e.sk) for e in stored[:50]])
    assert facade.count(pk) == 10


@pytest.mark.needs("transactions")
def test_transaction_methods(facade: DynamoDBService, pk: str) -> None:
    facade.save(Profile(pk=pk, sk="old", name="O"))
    facade.transact_write(
        [
            TransactionWriteItem(operation="put", item=Profile(pk=pk, sk="new", name="N")),
            TransactionWriteItem(operation="update", pk=pk, sk="old", updates={"count": 2}),
        ],
        client_request_token=uuid.uuid4().hex,
    )
    got = facade.transact_get([(pk, "new"), (pk, "absent"), (pk, "old")], Profile)
    assert [(p.sk, p.count) for p in got] == [("new", 0), ("old", 2)]


def test_ping(facade: DynamoDBService, config: DynamoDBConfig) -> None:
    assert facade.ping() is True
    absent = config.model_copy(update={"table_name": f"absent-{uuid.uuid4().hex[:8]}"})
    with DynamoDBService(LoggingService(), absent) as other:
        assert other.ping() is False


def test_many_threads_share_one_facade(config: DynamoDBConfig, pk: str) -> None:
    threads, per_thread = 16, 20
    # A generous read timeout: a busy machine may slow the server, never fail the test.
    patient = config.model_copy(update={"read_timeout": 60.0})
    facade = DynamoDBService(LoggingService("lvrgd_common.tests"), patient).open()

    def work(worker: int) -> list[str]:
        own = f"{pk}#{worker}"
        for i in range(per_thread):
            facade.save(Profile(pk=own, sk=f"{i:03d}", name=f"w{worker}"))
        assert facade.count(own) == per_thread
        return [p.name for p in facade.iter_query(own, Profile, page_size=7)]

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(work, range(threads)))
    finally:
        facade.close()
    assert results == [[f"w{worker}"] * per_thread for worker in range(threads)]

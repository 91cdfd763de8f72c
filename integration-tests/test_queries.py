"""Queries on a real server: operators, exact pages, cursors, indexes, counts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest

from lvrgd_common import (
    DynamoDBService,
    DynamoDBValidationError,
    SortKeyCondition,
)
from models import Entry

if TYPE_CHECKING:
    from collections.abc import Callable

# Two sort-key prefixes, 60 items: "A#000".."A#029" and "B#000".."B#029".
SORT_KEYS = sorted([f"A#{i:03d}" for i in range(30)] + [f"B#{i:03d}" for i in range(30)])


@pytest.fixture
async def partition(service: DynamoDBService, pk: str) -> str:
    entries = [
        Entry(
            pk=pk,
            sk=sk,
            title=f"entry {sk}",
            gsi1pk=f"{pk}#g",
            gsi1sk=f"{sk[-3:]}|{sk[0]}",
            lsi1sk=f"rank#{99 - index:03d}",
        )
        for index, sk in enumerate(SORT_KEYS)
    ]
    await service.batch_write(entries)
    return pk


CONDITIONS: list[tuple[SortKeyCondition, Callable[[str], bool]]] = [
    (SortKeyCondition(operator="eq", value="A#010"), lambda sk: sk == "A#010"),
    (SortKeyCondition(operator="ne", value="A#010"), lambda sk: sk != "A#010"),
    (SortKeyCondition(operator="lt", value="A#010"), lambda sk: sk < "A#010"),
    (SortKeyCondition(operator="le", value="A#010"), lambda sk: sk <= "A#010"),
    (SortKeyCondition(operator="gt", value="B#020"), lambda sk: sk > "B#020"),
    (SortKeyCondition(operator="ge", value="B#020"), lambda sk: sk >= "B#020"),
    (SortKeyCondition(operator="begins_with", value="B#"), lambda sk: sk.startswith("B#")),
    (
        SortKeyCondition(operator="between", value="A#025", value2="B#004"),
        lambda sk: "A#025" <= sk <= "B#004",
    ),
    (SortKeyCondition(operator="ne", value="Z"), lambda sk: sk != "Z"),
    (SortKeyCondition(operator="ne", value="A#000"), lambda sk: sk != "A#000"),
]


def _id(case: Any) -> str:
    return f"{case.operator}-{case.value!s}" if isinstance(case, SortKeyCondition) else ""


@pytest.mark.parametrize(("condition", "expected"), CONDITIONS, ids=_id)
async def test_each_operator_matches_the_same_filter_in_python(
    service: DynamoDBService,
    partition: str,
    condition: SortKeyCondition,
    expected: Callable[[str], bool],
) -> None:
    page = await service.query_by_pk_and_sk(partition, condition, Entry)
    wanted = [sk for sk in SORT_KEYS if expected(sk)]
    assert [entry.sk for entry in page.items] == wanted
    assert page.count == len(wanted)
    assert page.last_evaluated_key is None
    assert await service.count(partition, condition) == len(wanted)


async def test_query_by_pk_returns_everything_in_sort_key_order(
    service: DynamoDBService, partition: str
) -> None:
    page = await service.query_by_pk(partition, Entry)
    assert [entry.sk for entry in page.items] == SORT_KEYS
    assert page.last_evaluated_key is None
    descending = await service.query_by_pk(partition, Entry, scan_forward=False)
    assert [entry.sk for entry in descending.items] == SORT_KEYS[::-1]


async def collect_pages(
    service: DynamoDBService,
    pk: str,
    limit: int,
    condition: SortKeyCondition | None = None,
    index_name: str | None = None,
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: dict[str, Any] | None = None
    while True:
        if condition is None:
            page = await service.query_by_pk(
                pk, Entry, limit=limit, last_evaluated_key=cursor, index_name=index_name
            )
        else:
            page = await service.query_by_pk_and_sk(
                pk, condition, Entry, limit=limit, last_evaluated_key=cursor, index_name=index_name
            )
        pages.append([entry.sk for entry in page.items])
        cursor = page.last_evaluated_key
        if cursor is None:
            return pages
        assert len(pages) <= 100, "paging does not end"


def assert_exact(pages: list[list[str]], limit: int, expected: list[str]) -> None:
    assert [sk for page in pages for sk in page] == expected
    assert all(len(page) == limit for page in pages[:-1])
    assert 0 < len(pages[-1]) <= limit, "no empty trailing page"


@pytest.mark.parametrize("limit", [1, 7, 10, 20, 59, 60, 61])
async def test_pages_are_exact(service: DynamoDBService, partition: str, limit: int) -> None:
    pages = await collect_pages(service, partition, limit)
    assert_exact(pages, limit, SORT_KEYS)


@pytest.mark.parametrize("limit", [1, 8, 29, 30, 59])
async def test_ne_pages_are_exact_across_both_ranges(
    service: DynamoDBService, partition: str, limit: int
) -> None:
    condition = SortKeyCondition(operator="ne", value="A#029")
    pages = await collect_pages(service, partition, limit, condition)
    assert_exact(pages, limit, [sk for sk in SORT_KEYS if sk != "A#029"])


@pytest.mark.parametrize("limit", [6, 30])
async def test_begins_with_pages(service: DynamoDBService, partition: str, limit: int) -> None:
    condition = SortKeyCondition(operator="begins_with", value="B#")
    pages = await collect_pages(service, partition, limit, condition)
    assert_exact(pages, limit, [sk for sk in SORT_KEYS if sk.startswith("B#")])


async def test_cursors_are_plain_json(service: DynamoDBService, partition: str) -> None:
    page = await service.query_by_pk(partition, Entry, limit=5)
    assert page.last_evaluated_key == {"pk": partition, "sk": SORT_KEYS[4]}


async def test_a_gsi_with_its_own_key_names(service: DynamoDBService, partition: str) -> None:
    gsi_pk = f"{partition}#g"
    page = await service.query_by_pk(gsi_pk, Entry, index_name="gsi1")
    by_gsi_sort_key = sorted(SORT_KEYS, key=lambda sk: f"{sk[-3:]}|{sk[0]}")
    assert [entry.sk for entry in page.items] == by_gsi_sort_key
    condition = SortKeyCondition(operator="begins_with", value="007|")
    found = await service.query_by_pk_and_sk(gsi_pk, condition, Entry, index_name="gsi1")
    assert [entry.sk for entry in found.items] == ["A#007", "B#007"]
    assert await service.count(gsi_pk, index_name="gsi1") == 60


@pytest.mark.parametrize("limit", [7, 20])
async def test_gsi_cursors_page_exactly(
    service: DynamoDBService, partition: str, limit: int
) -> None:
    gsi_pk = f"{partition}#g"
    pages = await collect_pages(service, gsi_pk, limit, index_name="gsi1")
    assert_exact(pages, limit, sorted(SORT_KEYS, key=lambda sk: f"{sk[-3:]}|{sk[0]}"))
    first = await service.query_by_pk(gsi_pk, Entry, limit=3, index_name="gsi1")
    assert set(first.last_evaluated_key or {}) == {"pk", "sk", "gsi1pk", "gsi1sk"}


async def test_an_lsi(service: DynamoDBService, partition: str) -> None:
    page = await service.query_by_pk(partition, Entry, index_name="lsi1", limit=5)
    # lsi1sk ranks run opposite to the table's sort key.
    assert [entry.sk for entry in page.items] == SORT_KEYS[::-1][:5]
    assert set(page.last_evaluated_key or {}) == {"pk", "sk", "lsi1sk"}
    pages = await collect_pages(service, partition, 11, index_name="lsi1")
    assert_exact(pages, 11, SORT_KEYS[::-1])
    consistent = await service.query_by_pk(
        partition, Entry, index_name="lsi1", consistent_read=True
    )
    assert consistent.count == 60


async def test_consistent_reads_on_a_gsi_are_refused(
    service: DynamoDBService, partition: str
) -> None:
    with pytest.raises(DynamoDBValidationError, match="global secondary index"):
        await service.query_by_pk(f"{partition}#g", Entry, index_name="gsi1", consistent_read=True)


async def test_an_unknown_index_lists_the_tables_indexes(
    service: DynamoDBService, partition: str
) -> None:
    with pytest.raises(DynamoDBValidationError, match="gsi1, lsi1"):
        await service.query_by_pk(partition, Entry, index_name="by_nothing")


@pytest.mark.parametrize(
    "cursor",
    [
        {"pk": "someone-else", "sk": "A#001"},
        {"pk": "<partition>"},
        {"pk": "<partition>", "sk": "A#001", "gsi1pk": "x"},
        {"pk": "<partition>", "sk": 5.5},
    ],
)
async def test_foreign_and_malformed_cursors_are_refused(
    service: DynamoDBService, partition: str, cursor: dict[str, Any]
) -> None:
    cursor = {k: partition if v == "<partition>" else v for k, v in cursor.items()}
    with pytest.raises(DynamoDBValidationError, match="last_evaluated_key"):
        await service.query_by_pk(partition, Entry, limit=5, last_evaluated_key=cursor)


async def test_a_cursor_outside_the_condition_is_refused(
    service: DynamoDBService, partition: str
) -> None:
    condition = SortKeyCondition(operator="begins_with", value="B#")
    with pytest.raises(DynamoDBValidationError, match="outside"):
        await service.query_by_pk_and_sk(
            partition,
            condition,
            Entry,
            limit=5,
            last_evaluated_key={"pk": partition, "sk": "A#003"},
        )


async def test_iter_query_walks_every_page(service: DynamoDBService, partition: str) -> None:
    condition = SortKeyCondition(operator="ne", value="B#000")
    seen = [
        entry.sk async for entry in service.iter_query(partition, Entry, condition, page_size=9)
    ]
    assert seen == [sk for sk in SORT_KEYS if sk != "B#000"]


async def test_count_over_more_than_one_megabyte(
    service: DynamoDBService, pk: str, caplog: pytest.LogCaptureFixture
) -> None:
    # 30 items of ~40 KB: about 1.2 MB, so DynamoDB answers in more than one page.
    big = [Entry(pk=pk, sk=f"big#{i:03d}", payload="z" * 40_000) for i in range(30)]
    await service.batch_write(big)
    with caplog.at_level(logging.INFO, logger="lvrgd_common.tests"):
        assert await service.count(pk) == 30
    [record] = [r for r in caplog.records if getattr(r, "fields", {}).get("operation") == "count"]
    assert record.fields["requests"] >= 2  # type: ignore[attr-defined]
    everything = await service.query_by_pk(pk, Entry)
    assert [entry.sk for entry in everything.items] == [entry.sk for entry in big]
    assert await service.count(pk, SortKeyCondition(operator="ne", value="big#010")) == 29

"""Batches on a real server: chunking, duplicates, order, absent keys."""

from __future__ import annotations

import pytest

from lvrgd_common import DynamoDBService, DynamoDBValidationError
from models import Entry, Profile


async def test_a_thousand_items_written_then_read_back_exactly(
    service: DynamoDBService, pk: str
) -> None:
    items = [Entry(pk=pk, sk=f"item#{i:04d}", title=f"t{i}") for i in range(1000)]
    await service.batch_write(items)
    assert await service.count(pk) == 1000

    wanted = [(pk, f"item#{i:04d}") for i in range(999, -1, -7)]
    wanted += [(pk, "absent#1"), wanted[3], (pk, "absent#2"), wanted[0]]
    result = await service.batch_get(wanted, Entry)
    by_key = {(item.pk, item.sk): item for item in items}
    expected = [by_key[key] for key in dict.fromkeys(wanted) if key in by_key]
    assert result == expected


async def test_duplicate_keys_in_one_batch_write_last_wins(
    service: DynamoDBService, pk: str
) -> None:
    items = [Profile(pk=pk, sk=f"p{i % 30}", name=f"version {i}") for i in range(90)]
    await service.batch_write(items)
    stored = await service.query_by_pk(pk, Profile)
    assert stored.count == 30
    assert {profile.sk: profile.name for profile in stored.items} == {
        f"p{i}": f"version {60 + i}" for i in range(30)
    }


async def test_empty_inputs(service: DynamoDBService, pk: str) -> None:
    await service.batch_write([])
    await service.batch_delete([])
    assert await service.batch_get([], Profile) == []
    assert await service.count(pk) == 0


async def test_batch_delete_removes_exactly_the_keys(service: DynamoDBService, pk: str) -> None:
    await service.batch_write([Profile(pk=pk, sk=f"p{i:03d}", name="x") for i in range(60)])
    await service.batch_delete([(pk, f"p{i:03d}") for i in range(0, 60, 2)] + [(pk, "absent")])
    remaining = await service.query_by_pk(pk, Profile)
    assert [profile.sk for profile in remaining.items] == [f"p{i:03d}" for i in range(1, 60, 2)]


async def test_a_bad_item_stops_the_whole_batch_before_anything_is_written(
    service: DynamoDBService, pk: str
) -> None:
    good = [Entry(pk=pk, sk=f"g{i}") for i in range(30)]
    oversized = Entry(pk=pk, sk="huge", payload="x" * 420_000)
    with pytest.raises(DynamoDBValidationError) as caught:
        await service.batch_write([*good, oversized])
    assert caught.value.operation == "batch_write"
    assert await service.count(pk) == 0

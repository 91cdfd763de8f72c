"""Every kind of value survives every read path, through the pass-through wire format.

The service sends the codec's AttributeValues to botocore unwalked and reads them back as
the JSON decoded them (binary as base64 text), so each read path is checked with binary
values next to the other types, nested, and as binary sets.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from lvrgd_common import DynamoDBBaseModel, DynamoDBService, TransactionWriteItem


class Blob(DynamoDBBaseModel):
    data: bytes
    chunks: set[bytes]
    nested: dict[str, list[bytes]]
    text: str
    numbers: set[int]
    price: Decimal
    flags: list[bool | None]


def blob(pk: str, index: int) -> Blob:
    raw = bytes(range(index, index + 40))  # not valid UTF-8: it must travel as base64
    return Blob(
        pk=pk,
        sk=f"b{index:03d}",
        data=raw,
        chunks={raw[:3], b"\x00\xff", b"z"},
        nested={"parts": [raw[:5], b"\xfe"]},
        text=f"text {index} ü",
        numbers={index, -index - 1},
        price=Decimal("12.345"),
        flags=[True, None, False],
    )


async def test_binary_and_nested_values_round_trip_through_single_item_calls(
    service: DynamoDBService, pk: str
) -> None:
    item = blob(pk, 1)
    await service.save(item)
    assert await service.get_one(pk, item.sk, Blob) == item


async def test_binary_values_round_trip_through_batches_and_queries(
    service: DynamoDBService, pk: str
) -> None:
    items = [blob(pk, index) for index in range(30)]
    await service.batch_write(items)
    keys = [(item.pk, item.sk) for item in items]
    assert await service.batch_get(keys, Blob) == items
    assert (await service.query_by_pk(pk, Blob)).items == items
    first = await service.query_by_pk(pk, Blob, limit=7)
    second = await service.query_by_pk(
        pk, Blob, limit=7, last_evaluated_key=first.last_evaluated_key
    )
    assert first.items + second.items == items[:14]
    assert [found async for found in service.iter_query(pk, Blob, page_size=4)] == items


@pytest.mark.needs("transactions")
async def test_binary_values_round_trip_through_transactions(
    service: DynamoDBService, pk: str
) -> None:
    items = [blob(pk, index) for index in range(3)]
    await service.transact_write(
        [TransactionWriteItem(operation="put", item=item) for item in items]
    )
    keys = [(item.pk, item.sk) for item in items]
    assert await service.transact_get(keys, Blob) == items

"""With ``fast_path=False`` the aioboto3 client's speed-ups are in use: AttributeValues
cross botocore untouched.

botocore would walk every attribute of every item through its shape model on the way out
and on the way back (see ``wire.py``). Here botocore's own walkers are watched while a
service saves, reads, queries and batches over the real server: they must never see an
AttributeValue, while the pass-through subclasses must have handled the traffic.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from botocore.parsers import BaseJSONParser
from botocore.serialize import JSONSerializer

from lvrgd_common import DynamoDBBaseModel, DynamoDBService, LoggingService
from lvrgd_common.services._dynamodb.transport.wire import PassThroughSerializer

if TYPE_CHECKING:
    import pytest

    from lvrgd_common import DynamoDBConfig

ATTRIBUTE_VALUE = "AttributeValue"


class Order(DynamoDBBaseModel):
    total: int
    lines: list[str]
    meta: dict[str, int]


def holds_attribute_values(shape: Any) -> bool:
    value = getattr(shape, "value", None)
    return shape.name == ATTRIBUTE_VALUE or (value is not None and value.name == ATTRIBUTE_VALUE)


def watch(
    monkeypatch: pytest.MonkeyPatch, counts: Counter[str], owner: type, name: str, shape_at: int
) -> None:
    """Count calls of ``owner.name`` whose shape (argument ``shape_at``) is an AttributeValue."""
    original = getattr(owner, name)

    def watched(self: Any, *args: Any) -> Any:
        counts[f"{owner.__name__}.{name}"] += 1
        if holds_attribute_values(args[shape_at]):
            counts[f"{owner.__name__}.{name} on AttributeValues"] += 1
        return original(self, *args)

    monkeypatch.setattr(owner, name, watched)


async def test_attribute_values_bypass_botocores_walk_both_ways(
    config: DynamoDBConfig, pk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts: Counter[str] = Counter()
    # The serializers take the shape third, the parsers first.
    watch(monkeypatch, counts, JSONSerializer, "_serialize_type_map", 2)
    watch(monkeypatch, counts, JSONSerializer, "_serialize_type_structure", 2)
    watch(monkeypatch, counts, PassThroughSerializer, "_serialize_type_map", 2)
    watch(monkeypatch, counts, BaseJSONParser, "_handle_map", 0)
    watch(monkeypatch, counts, BaseJSONParser, "_handle_structure", 0)
    orders = [Order(pk=pk, sk=f"o{n}", total=n, lines=["a", "b"], meta={"n": n}) for n in range(30)]
    through_botocore = config.model_copy(update={"fast_path": False})
    async with DynamoDBService(LoggingService(), through_botocore) as service:
        await service.save(orders[0])
        assert await service.get_one(pk, "o0", Order) == orders[0]
        await service.batch_write(orders)
        assert (await service.query_by_pk(pk, Order)).items == sorted(orders, key=lambda o: o.sk)
        assert await service.batch_get([(o.pk, o.sk) for o in orders], Order) == orders

    assert counts["PassThroughSerializer._serialize_type_map"] > 0  # the swap is in place
    assert counts["BaseJSONParser._handle_structure"] > 0  # responses were parsed here
    walked = {
        name: n
        for name, n in counts.items()
        if name.endswith("on AttributeValues") and not name.startswith("PassThrough")
    }
    assert walked == {}


class Blob(DynamoDBBaseModel):
    data: bytes
    name: str
    size: int
    tags: list[str]


async def test_only_the_bytes_attribute_takes_botocores_walk(
    config: DynamoDBConfig, pk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An item holding bytes cannot be copied whole, but its other attributes still are."""
    counts: Counter[str] = Counter()
    watch(monkeypatch, counts, JSONSerializer, "_serialize_type_structure", 2)
    blobs = [
        Blob(pk=pk, sk=f"b{n}", data=bytes([n, 0, 255]), name="x", size=n, tags=["t"])
        for n in range(3)
    ]
    through_botocore = config.model_copy(update={"fast_path": False})
    async with DynamoDBService(LoggingService(), through_botocore) as service:
        await service.batch_write(blobs)
        # Six attributes an item; only ``data`` (an AttributeValue holding bytes) is walked.
        assert counts["JSONSerializer._serialize_type_structure on AttributeValues"] == len(blobs)
        assert await service.batch_get([(b.pk, b.sk) for b in blobs], Blob) == blobs

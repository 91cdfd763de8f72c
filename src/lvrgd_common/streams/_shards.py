"""The shards of a stream, and the order they must be read in.

DynamoDB Streams splits a shard into children; a child's records come after all of its
parent's, so a child is read only once its parent is read to its end (or the parent has
aged out of the stream). Plain functions over DescribeStream's shard descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

__all__ = ["Shard", "parse_shards", "ready_shards", "shards_in_order"]


@dataclass(frozen=True, slots=True)
class Shard:
    """One shard as DescribeStream describes it."""

    shard_id: str
    parent_id: str | None
    starting_sequence: int
    closed: bool
    """An ending sequence number is known: the shard takes no new records."""


def parse_shards(descriptions: Iterable[Mapping[str, Any]]) -> list[Shard]:
    """DescribeStream's ``Shards`` entries as `Shard` values."""
    shards = []
    for entry in descriptions:
        numbers = entry.get("SequenceNumberRange") or {}
        start = numbers.get("StartingSequenceNumber")
        shards.append(
            Shard(
                shard_id=entry["ShardId"],
                parent_id=entry.get("ParentShardId"),
                starting_sequence=int(start) if start else 0,
                closed=numbers.get("EndingSequenceNumber") is not None,
            )
        )
    return shards


def shards_in_order(shards: Iterable[Shard]) -> list[Shard]:
    """Every shard after its parent (when the parent is listed); oldest lineages first.

    Siblings, and shards whose parents have aged out, are ordered by their starting
    sequence number.
    """
    by_id = {shard.shard_id: shard for shard in shards}
    children: dict[str | None, list[Shard]] = {}
    for shard in by_id.values():
        parent = shard.parent_id if shard.parent_id in by_id else None
        children.setdefault(parent, []).append(shard)
    ordered: list[Shard] = []
    pending = sorted(children.get(None, []), key=_age, reverse=True)
    while pending:
        shard = pending.pop()
        ordered.append(shard)
        pending.extend(sorted(children.get(shard.shard_id, []), key=_age, reverse=True))
    return ordered


def ready_shards(shards: Iterable[Shard], finished: Collection[str]) -> list[Shard]:
    """The shards that may be read now: not finished, and their parent finished or gone."""
    listed = {shard.shard_id for shard in shards}
    return [
        shard
        for shard in shards_in_order(shards)
        if shard.shard_id not in finished
        and (
            shard.parent_id is None or shard.parent_id not in listed or shard.parent_id in finished
        )
    ]


def _age(shard: Shard) -> tuple[int, str]:
    return (shard.starting_sequence, shard.shard_id)

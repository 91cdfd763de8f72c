"""Shard order after splits, from DescribeStream answers (moto never splits a shard)."""

from __future__ import annotations

from typing import Any

from lvrgd_common.streams._shards import parse_shards, ready_shards, shards_in_order

# A DescribeStream answer after two generations of splits, listed out of order:
# root -> (left, right); left -> (leaf); right is still open; "orphan"'s parent aged out.
DESCRIBED: list[dict[str, Any]] = [
    {
        "ShardId": "leaf",
        "ParentShardId": "left",
        "SequenceNumberRange": {"StartingSequenceNumber": "400"},
    },
    {
        "ShardId": "right",
        "ParentShardId": "root",
        "SequenceNumberRange": {"StartingSequenceNumber": "300"},
    },
    {
        "ShardId": "left",
        "ParentShardId": "root",
        "SequenceNumberRange": {"StartingSequenceNumber": "200", "EndingSequenceNumber": "299"},
    },
    {
        "ShardId": "root",
        "SequenceNumberRange": {"StartingSequenceNumber": "100", "EndingSequenceNumber": "199"},
    },
    {
        "ShardId": "orphan",
        "ParentShardId": "trimmed-away",
        "SequenceNumberRange": {"StartingSequenceNumber": "50", "EndingSequenceNumber": "99"},
    },
]


def ids(shards: list[Any]) -> list[str]:
    return [shard.shard_id for shard in shards]


def test_parse_reads_parents_and_whether_closed() -> None:
    shards = {shard.shard_id: shard for shard in parse_shards(DESCRIBED)}
    assert shards["left"].parent_id == "root"
    assert shards["left"].closed
    assert not shards["right"].closed
    assert shards["root"].parent_id is None
    assert shards["leaf"].starting_sequence == 400


def test_every_shard_comes_after_its_parent() -> None:
    ordered = ids(shards_in_order(parse_shards(DESCRIBED)))
    assert sorted(ordered) == sorted(entry["ShardId"] for entry in DESCRIBED)
    for entry in DESCRIBED:
        parent = entry.get("ParentShardId")
        if parent in ordered:
            assert ordered.index(parent) < ordered.index(entry["ShardId"])
    # Lineages oldest first: the orphan (its parent aged out) starts earliest.
    assert ordered[0] == "orphan"


def test_only_roots_are_ready_at_first() -> None:
    assert ids(ready_shards(parse_shards(DESCRIBED), finished=set())) == ["orphan", "root"]


def test_children_are_ready_once_their_parent_is_finished() -> None:
    shards = parse_shards(DESCRIBED)
    assert ids(ready_shards(shards, finished={"orphan", "root"})) == ["left", "right"]
    assert ids(ready_shards(shards, finished={"orphan", "root", "left"})) == ["leaf", "right"]


def test_a_child_of_an_unfinished_parent_waits_even_when_the_parent_is_closed() -> None:
    shards = parse_shards(DESCRIBED)
    ready = ids(ready_shards(shards, finished={"orphan"}))
    assert "left" not in ready
    assert "leaf" not in ready

from typing import Any

import pytest

from lvrgd_common import SortKeyCondition
from lvrgd_common.services._dynamodb.queries import (
    TABLE_KEYS,
    QueryError,
    QueryPlan,
    parse_key_schemas,
)

DESCRIPTION: dict[str, Any] = {
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "gsi1pk", "AttributeType": "S"},
        {"AttributeName": "rank", "AttributeType": "N"},
        {"AttributeName": "lsi1sk", "AttributeType": "S"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by_rank",
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "rank", "KeyType": "RANGE"},
            ],
        }
    ],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "lsi1",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "lsi1sk", "KeyType": "RANGE"},
            ],
        }
    ],
}


def plan(
    condition: SortKeyCondition | None = None, *, scan_forward: bool = True, pk: str = "P"
) -> QueryPlan:
    return QueryPlan(TABLE_KEYS, pk, condition, {"TableName": "t"}, scan_forward=scan_forward)


def ne(value: str = "m") -> SortKeyCondition:
    return SortKeyCondition(operator="ne", value=value)


def test_key_schemas_of_table_and_indexes() -> None:
    schemas = parse_key_schemas(DESCRIPTION)
    assert schemas[None] == TABLE_KEYS
    by_rank = schemas["by_rank"]
    assert (by_rank.hash_name, by_rank.range_name, by_rank.range_type) == ("gsi1pk", "rank", "N")
    assert by_rank.is_global
    assert by_rank.cursor_names == ("pk", "sk", "gsi1pk", "rank")
    lsi = schemas["lsi1"]
    assert not lsi.is_global
    assert lsi.cursor_names == ("pk", "sk", "lsi1sk")


def test_ne_is_two_ranges_and_reversed_when_descending() -> None:
    forward = plan(ne())
    assert [r.request["KeyConditionExpression"] for r in forward.ranges] == [
        "#n0 = :v0 AND #n1 < :v1",
        "#n0 = :v0 AND #n1 > :v1",
    ]
    assert all("FilterExpression" not in r.request for r in forward.ranges)
    backward = plan(ne(), scan_forward=False)
    assert [r.operator for r in backward.ranges] == ["gt", "lt"]


def test_a_cursor_resumes_in_the_range_its_sort_key_belongs_to() -> None:
    forward = plan(ne())
    assert forward.resume(None) == (0, None)
    assert forward.resume({"pk": "P", "sk": "a"}) == (0, {"pk": {"S": "P"}, "sk": {"S": "a"}})
    assert forward.resume({"pk": "P", "sk": "z"})[0] == 1
    backward = plan(ne(), scan_forward=False)
    assert backward.resume({"pk": "P", "sk": "z"})[0] == 0
    assert backward.resume({"pk": "P", "sk": "a"})[0] == 1


def test_cursor_of_an_item_is_plain_json() -> None:
    item = {"pk": {"S": "P"}, "sk": {"S": "s1"}, "other": {"N": "1"}}
    assert plan().cursor_of(item) == {"pk": "P", "sk": "s1"}
    schemas = parse_key_schemas(DESCRIPTION)
    ranked = QueryPlan(schemas["by_rank"], "G", None, {}, scan_forward=True)
    item = {"pk": {"S": "P"}, "sk": {"S": "s"}, "gsi1pk": {"S": "G"}, "rank": {"N": "7"}}
    cursor = ranked.cursor_of(item)
    assert cursor == {"pk": "P", "sk": "s", "gsi1pk": "G", "rank": 7}
    assert ranked.resume(cursor)[1] == item


@pytest.mark.parametrize(
    "cursor",
    [
        {"pk": "OTHER", "sk": "a"},
        {"pk": "P"},
        {"pk": "P", "sk": "a", "extra": "x"},
        {"pk": "P", "sk": 1.5},
        {"pk": "P", "sk": True},
        ["P", "a"],
        "P|a",
    ],
)
def test_foreign_or_malformed_cursors_are_refused(cursor: Any) -> None:
    with pytest.raises(QueryError):
        plan().resume(cursor)


@pytest.mark.parametrize(
    ("condition", "sk"),
    [
        (SortKeyCondition(operator="begins_with", value="A#"), "B#1"),
        (SortKeyCondition(operator="lt", value="m"), "n"),
        (SortKeyCondition(operator="between", value="b", value2="d"), "e"),
        (ne(), "m"),
    ],
)
def test_a_cursor_outside_the_condition_is_refused(condition: SortKeyCondition, sk: str) -> None:
    with pytest.raises(QueryError, match="outside"):
        plan(condition).resume({"pk": "P", "sk": sk})


def test_a_condition_bypassing_its_own_validation_is_still_refused() -> None:
    reversed_between = SortKeyCondition.model_construct(operator="between", value="b", value2="a")
    with pytest.raises(QueryError, match="value <= value2"):
        plan(reversed_between)


def test_a_numeric_index_key_takes_numbers_only() -> None:
    schemas = parse_key_schemas(DESCRIPTION)
    ranked = QueryPlan(
        schemas["by_rank"], "G", SortKeyCondition(operator="ge", value="10"), {}, scan_forward=True
    )
    request = ranked.ranges[0].request
    assert request["ExpressionAttributeValues"][":v1"] == {"N": "10"}
    with pytest.raises(QueryError, match="not a number"):
        QueryPlan(
            schemas["by_rank"],
            "G",
            SortKeyCondition(operator="ge", value="x"),
            {},
            scan_forward=True,
        )

import re
from typing import Any

import pytest

from lvrgd_common import AttributeCondition
from lvrgd_common.services._dynamodb.codec import CodecError
from lvrgd_common.services._dynamodb.expressions import ExpressionBuilder, KeyRange

PLACEHOLDER = re.compile(r"[#:][nv]\d+")


def words(expression: str) -> set[str]:
    """Identifiers in an expression that are not placeholders, functions or keywords."""
    tokens = set(re.findall(r"[#:]?[A-Za-z_][\w.-]*", expression))
    keywords = {"SET", "REMOVE", "AND", "BETWEEN", "attribute_exists", "attribute_not_exists"}
    return {t for t in tokens if not PLACEHOLDER.fullmatch(t)} - keywords - {"begins_with"}


def test_update_sets_and_removes_through_placeholders_only() -> None:
    builder = ExpressionBuilder()
    expression = builder.update({"name": "Ada", "status": None, "a.b": 1, "count": {"x"}})
    request = builder.apply({})
    assert expression == "SET #n0 = :v0, #n2 = :v1, #n3 = :v2 REMOVE #n1"
    assert words(expression) == set()
    assert request["ExpressionAttributeNames"] == {
        "#n0": "name",
        "#n1": "status",
        "#n2": "a.b",
        "#n3": "count",
    }
    assert request["ExpressionAttributeValues"] == {
        ":v0": {"S": "Ada"},
        ":v1": {"N": "1"},
        ":v2": {"SS": ["x"]},
    }


def test_an_empty_set_in_updates_removes_the_attribute() -> None:
    builder = ExpressionBuilder()
    assert builder.update({"tags": set()}) == "REMOVE #n0"
    assert "ExpressionAttributeValues" not in builder.apply({})


def test_unstorable_update_values_are_refused() -> None:
    with pytest.raises(CodecError, match="score"):
        ExpressionBuilder().update({"score": float("nan")})


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("eq", 1, "#n0 = :v0"),
        ("ne", 1, "#n0 <> :v0"),
        ("lt", 1, "#n0 < :v0"),
        ("le", 1, "#n0 <= :v0"),
        ("gt", 1, "#n0 > :v0"),
        ("ge", 1, "#n0 >= :v0"),
        ("begins_with", "a", "begins_with(#n0, :v0)"),
        ("exists", None, "attribute_exists(#n0)"),
        ("not_exists", None, "attribute_not_exists(#n0)"),
    ],
)
def test_each_condition_operator(operator: Any, value: Any, expected: str) -> None:
    builder = ExpressionBuilder()
    condition = AttributeCondition(attribute="status", operator=operator, value=value)
    assert builder.conditions([condition]) == [expected]
    assert builder.apply({})["ExpressionAttributeNames"] == {"#n0": "status"}


def test_a_name_used_twice_gets_one_placeholder() -> None:
    builder = ExpressionBuilder()
    update = builder.update({"version": 2})
    clauses = builder.conditions([AttributeCondition(attribute="version", operator="eq", value=1)])
    assert update == "SET #n0 = :v0"
    assert clauses == ["#n0 = :v1"]


@pytest.mark.parametrize(
    ("operator", "values", "expected"),
    [
        (None, (), "#n0 = :v0"),
        ("eq", ({"S": "a"},), "#n0 = :v0 AND #n1 = :v1"),
        ("lt", ({"S": "a"},), "#n0 = :v0 AND #n1 < :v1"),
        ("le", ({"S": "a"},), "#n0 = :v0 AND #n1 <= :v1"),
        ("gt", ({"S": "a"},), "#n0 = :v0 AND #n1 > :v1"),
        ("ge", ({"S": "a"},), "#n0 = :v0 AND #n1 >= :v1"),
        ("begins_with", ({"S": "a"},), "#n0 = :v0 AND begins_with(#n1, :v1)"),
        ("between", ({"S": "a"}, {"S": "b"}), "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2"),
    ],
)
def test_key_conditions(
    operator: str | None, values: tuple[dict[str, str], ...], expected: str
) -> None:
    builder = ExpressionBuilder()
    key_range = KeyRange("pk", {"S": "P"}, "sk", operator, values)
    assert key_range.expression(builder) == expected
    request = builder.apply({})
    assert request["ExpressionAttributeValues"][":v0"] == {"S": "P"}

import datetime as dt
import math
import re
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr

from lvrgd_common import (
    AddToSet,
    Append,
    AttributeCondition,
    IfNotExists,
    Increment,
    Prepend,
    RemoveFromSet,
)
from lvrgd_common.services._dynamodb.codec import CodecError, InvalidInputError
from lvrgd_common.services._dynamodb.expressions import ExpressionBuilder, KeyRange

PLACEHOLDER = re.compile(r"[#:][nv]\d+")
UTC_NOON = dt.datetime(2024, 1, 2, 12, tzinfo=dt.UTC)


class Color(Enum):
    RED = "red"


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


def test_a_boto3_condition_is_rendered_through_the_builders_placeholders() -> None:
    builder = ExpressionBuilder()
    update = builder.update({"status": "open"})
    condition = (Attr("status").eq("open") | Attr("retries").lt(3)) & ~Attr("name").exists()
    rendered = builder.condition(condition)
    assert update == "SET #n0 = :v0"
    assert rendered == "((#n0 = :v1 OR #n1 < :v2) AND (NOT attribute_exists(#n2)))"
    assert words(rendered) - {"OR", "NOT"} == set()
    request = builder.apply({})
    assert request["ExpressionAttributeNames"] == {"#n0": "status", "#n1": "retries", "#n2": "name"}
    assert request["ExpressionAttributeValues"] == {
        ":v0": {"S": "open"},
        ":v1": {"S": "open"},
        ":v2": {"N": "3"},
    }


@pytest.mark.parametrize(
    ("condition", "expected", "values"),
    [
        (Attr("a").ne(1), "#n0 <> :v0", [{"N": "1"}]),
        (Attr("a").lte(0.1), "#n0 <= :v0", [{"N": "0.1"}]),
        (Attr("a").gte(Decimal("2.50")), "#n0 >= :v0", [{"N": "2.50"}]),
        (Attr("a").gt(True), "#n0 > :v0", [{"BOOL": True}]),  # noqa: FBT003
        (Attr("a").begins_with("x"), "begins_with(#n0, :v0)", [{"S": "x"}]),
        (Attr("a").contains("x"), "contains(#n0, :v0)", [{"S": "x"}]),
        (Attr("a").size().gt(2), "size(#n0) > :v0", [{"N": "2"}]),
        (Attr("a").is_in([1, "b"]), "#n0 IN (:v0, :v1)", [{"N": "1"}, {"S": "b"}]),
        (Attr("a").between(1, 9), "#n0 BETWEEN :v0 AND :v1", [{"N": "1"}, {"N": "9"}]),
        (Attr("a").attribute_type("NS"), "attribute_type(#n0, :v0)", [{"S": "NS"}]),
        (Attr("a").not_exists(), "attribute_not_exists(#n0)", []),
        (Attr("a").eq(Color.RED), "#n0 = :v0", [{"S": "red"}]),
        (Attr("a").eq(UTC_NOON), "#n0 = :v0", [{"S": "2024-01-02T12:00:00+00:00"}]),
        (Attr("a").eq({"x"}), "#n0 = :v0", [{"SS": ["x"]}]),
        (Attr("a").eq(b"\x00"), "#n0 = :v0", [{"B": b"\x00"}]),
    ],
)
def test_each_boto3_operator_with_values_encoded_as_save_stores_them(
    condition: Any, expected: str, values: list[dict[str, Any]]
) -> None:
    builder = ExpressionBuilder()
    assert builder.condition(condition) == expected
    stored = builder.apply({}).get("ExpressionAttributeValues", {})
    assert list(stored.values()) == values


def test_boto3_paths_become_one_placeholder_per_segment() -> None:
    builder = ExpressionBuilder()
    rendered = builder.condition(Attr("address.city").eq("Paris") & Attr("tags[0]").exists())
    assert rendered == "(#n0.#n1 = :v0 AND attribute_exists(#n2[0]))"
    assert builder.apply({})["ExpressionAttributeNames"] == {
        "#n0": "address",
        "#n1": "city",
        "#n2": "tags",
    }


def test_conditions_mix_attribute_conditions_and_boto3_ones() -> None:
    builder = ExpressionBuilder()
    clauses = builder.conditions(
        [AttributeCondition(attribute="version", operator="eq", value=1), Attr("x").eq(2)]
    )
    assert clauses == ["#n0 = :v0", "#n1 = :v1"]
    assert ExpressionBuilder().conditions(Attr("x").eq(2)) == ["#n0 = :v0"]


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ("status = 1", "conditions must be"),
        (42, "conditions must be"),
        ([{"attribute": "x"}], "each condition must be"),
        ([Attr("")], "each condition must be"),
        (Attr("").eq(1), "empty attribute"),
        (Attr("a\ud800").eq(1), "lone surrogate"),
        (Attr("a").eq(float("nan")), "attribute 'a'"),
        (Attr("a").is_in([1, float("inf")]), "attribute 'a'"),
        (Attr("a").eq(set()), "empty set"),
        (Attr("a").eq(object()), "cannot be stored"),
    ],
)
def test_bad_conditions_are_refused(conditions: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        ExpressionBuilder().conditions(conditions)


def test_each_update_action_renders_through_placeholders() -> None:
    builder = ExpressionBuilder()
    expression = builder.update(
        {
            "count": Increment(2),
            "log": Append(["b"]),
            "history": Prepend(("a",)),
            "first": IfNotExists("x"),
            ("address", "city"): "Paris",
            ("tags", 0): "lead",
            "gone": None,
            "labels": AddToSet({"new"}),
            "old": RemoveFromSet({1}),
        }
    )
    assert expression == (
        "SET #n0 = if_not_exists(#n0, :v1) + :v0, "
        "#n1 = list_append(if_not_exists(#n1, :v3), :v2), "
        "#n2 = list_append(:v4, if_not_exists(#n2, :v5)), "
        "#n3 = if_not_exists(#n3, :v6), "
        "#n4.#n5 = :v7, "
        "#n6[0] = :v8 "
        "REMOVE #n7 "
        "ADD #n8 :v9 "
        "DELETE #n9 :v10"
    )
    functions = {"if_not_exists", "list_append", "ADD", "DELETE"}
    assert words(expression.replace(".", " ")) - functions == set()
    request = builder.apply({})
    assert request["ExpressionAttributeNames"]["#n5"] == "city"
    assert request["ExpressionAttributeValues"][":v0"] == {"N": "2"}
    assert request["ExpressionAttributeValues"][":v1"] == {"N": "0"}
    assert request["ExpressionAttributeValues"][":v9"] == {"SS": ["new"]}
    assert request["ExpressionAttributeValues"][":v10"] == {"NS": ["1"]}


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ({}, "non-empty mapping"),
        ({"": 1}, "non-empty"),
        ({(): 1}, "tuple path"),
        ({(0, "a"): 1}, "tuple path"),
        ({("a", -1): 1}, "list index >= 0"),
        ({("a", True): 1}, "list index >= 0"),
        ({("a", 1.5): 1}, "list index >= 0"),
        ({"pk": 1}, "key attribute 'pk'"),
        ({("sk", "x"): 1}, "key attribute 'sk'"),
        ({"a": 1, ("a", "b"): 2}, "'a' and 'a.b' overlap"),
        ({("a", 0): 1, ("a", 0, "b"): 2}, "overlap"),
        ({"a": 1, ("a",): 2}, "overlap"),
        ({"a": Increment("1")}, "Increment needs a number"),  # type: ignore[arg-type]
        ({"a": Increment(True)}, "Increment needs a number"),  # noqa: FBT003
        ({"a": Increment(math.nan)}, "nan"),
        ({"a": Append("abc")}, "Append needs a list"),  # type: ignore[arg-type]
        ({"a": AddToSet(set())}, "empty set"),
        ({"a": RemoveFromSet(frozenset())}, "empty set"),
        ({"a": AddToSet({"x", 1})}, "only strings, only numbers"),
        ({"a": AddToSet(["x"])}, "AddToSet needs a set"),  # type: ignore[arg-type]
        ({"a": IfNotExists(set())}, "IfNotExists needs a value"),
    ],
)
def test_bad_updates_are_refused(updates: dict[Any, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        ExpressionBuilder().update(updates)


def test_paths_that_share_a_prefix_only_do_not_overlap() -> None:
    expression = ExpressionBuilder().update({("a", "b"): 1, ("a", "c"): 2, "ab": 3})
    assert expression == "SET #n0.#n1 = :v0, #n0.#n2 = :v1, #n3 = :v2"

"""The pass-through serializer and parser give the same wire JSON and items as botocore's."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
from aiobotocore.parsers import AioResponseParserFactory
from botocore.serialize import JSONSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from lvrgd_common.services._dynamodb.codec import decode_item
from lvrgd_common.services._dynamodb.transport.wire import (
    PassThroughParserFactory,
    PassThroughSerializer,
    json_ready,
)

MODEL = botocore.session.get_session().get_service_model("dynamodb")

_scalars = st.one_of(
    st.text().map(lambda text: {"S": text}),
    st.integers(-(10**30), 10**30).map(lambda number: {"N": str(number)}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
    st.binary().map(lambda blob: {"B": blob}),
    st.sets(st.text(min_size=1), min_size=1).map(lambda texts: {"SS": sorted(texts)}),
    st.sets(st.binary(min_size=1), min_size=1).map(lambda blobs: {"BS": sorted(blobs)}),
)
values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda elements: {"L": elements}),
        st.dictionaries(st.text(min_size=1), children, max_size=4).map(lambda m: {"M": m}),
    ),
    max_leaves=12,
)
items = st.dictionaries(st.text(min_size=1), values, max_size=6)


def body(serializer: JSONSerializer, operation: str, params: dict[str, Any]) -> Any:
    request = serializer.serialize_to_request(params, MODEL.operation_model(operation))
    return json.loads(request["body"])


def requests(item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    key = {"pk": {"S": "p"}, "sk": {"B": b"\x00\xff"}}
    return [
        ("PutItem", {"TableName": "t", "Item": item}),
        ("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": item}}] * 2}}),
        ("GetItem", {"TableName": "t", "Key": key}),
        (
            "Query",
            {
                "TableName": "t",
                "KeyConditionExpression": "#n0 = :v0",
                "ExpressionAttributeNames": {"#n0": "pk"},
                "ExpressionAttributeValues": {
                    ":v0": {"S": "p"},
                    **{f":x{i}": v for i, v in enumerate(item.values())},
                },
                "ExclusiveStartKey": key,
                "Limit": 5,
            },
        ),
        ("BatchGetItem", {"RequestItems": {"t": {"Keys": [key, {"pk": {"S": "q"}}]}}}),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": "t", "Item": item}}]},
        ),
    ]


@settings(max_examples=60, deadline=None)
@given(items)
def test_requests_serialize_to_the_same_json_as_botocore(item: dict[str, Any]) -> None:
    for operation, params in requests(item):
        assert body(PassThroughSerializer(), operation, params) == body(
            JSONSerializer(), operation, params
        )


def test_json_ready_finds_bytes_at_any_depth() -> None:
    assert json_ready({"M": {"a": {"L": [{"S": "x"}, {"NS": ["1"]}]}}})
    assert not json_ready({"B": b"x"})
    assert not json_ready({"M": {"a": {"L": [{"S": "x"}, {"BS": [b"y"]}]}}})
    assert not json_ready({"L": [{"M": {"deep": {"B": b"z"}}}]})


async def parse(factory: AioResponseParserFactory, operation: str, payload: Any) -> Any:
    response = {"status_code": 200, "headers": {}, "body": json.dumps(payload).encode()}
    shape = MODEL.operation_model(operation).output_shape
    assert shape is not None
    return await factory.create_parser("json").parse(response, shape)


@settings(max_examples=60, deadline=None)
@given(items)
async def test_responses_decode_to_the_same_items_as_botocore(item: dict[str, Any]) -> None:
    wire_item = body(JSONSerializer(), "PutItem", {"TableName": "t", "Item": item})["Item"]
    page = {"Items": [wire_item, wire_item], "Count": 2, "LastEvaluatedKey": {"pk": {"S": "p"}}}
    ours = await parse(PassThroughParserFactory(), "Query", page)
    theirs = await parse(AioResponseParserFactory(), "Query", page)
    assert [decode_item(raw) for raw in ours["Items"]] == [
        decode_item(raw) for raw in theirs["Items"]
    ]
    assert ours["Count"] == theirs["Count"] == 2
    assert ours["LastEvaluatedKey"] == theirs["LastEvaluatedKey"]
    got = await parse(PassThroughParserFactory(), "GetItem", {"Item": wire_item})
    assert decode_item(got["Item"]) == decode_item(item)

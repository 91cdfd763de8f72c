"""Reads decode each response as it arrives, yet fail the way a decode at the end would."""

import asyncio
from typing import Any

import pytest

from lvrgd_common import DynamoDBBaseModel, DynamoDBDecodeError, DynamoDBService
from tests.fakes import FakeDynamoDB

TABLE = "unit-table"


class Row(DynamoDBBaseModel):
    n: int


def stored(sk: str, *, fits: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": "P"}, "sk": {"S": sk}}
    if fits:
        item["n"] = {"N": sk.lstrip("0") or "0"}
    return item


async def test_batch_get_names_the_first_unfit_item_in_key_order_whatever_arrives_first(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    unfit = {"00010", "00120"}  # one in each chunk of 100 keys
    second_answered = asyncio.Event()

    async def answer(request: dict[str, Any]) -> dict[str, Any]:
        keys = [key["sk"]["S"] for key in request["RequestItems"][TABLE]["Keys"]]
        if "00010" in keys:
            await second_answered.wait()  # the first chunk's answer arrives last
        items = [stored(sk, fits=sk not in unfit) for sk in keys]
        if "00010" not in keys:
            second_answered.set()
        return {"Responses": {TABLE: items}}

    fake.on("batch_get_item", answer)
    keys = [("P", f"{i:05d}") for i in range(150)]
    with pytest.raises(DynamoDBDecodeError, match="Row") as caught:
        await service.batch_get(keys, Row)
    assert (caught.value.operation, caught.value.pk, caught.value.sk) == ("batch_get", "P", "00010")


async def test_batch_get_returns_decoded_items_in_request_order(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any]:
        keys = [key["sk"]["S"] for key in request["RequestItems"][TABLE]["Keys"]]
        return {"Responses": {TABLE: [stored(sk) for sk in reversed(keys) if sk != "00007"]}}

    fake.on("batch_get_item", answer)
    keys = [("P", f"{i:05d}") for i in (9, 7, 3, 9, 250, 120)]
    found = await service.batch_get(keys, Row)
    assert [row.sk for row in found] == ["00009", "00003", "00250", "00120"]
    assert [row.n for row in found] == [9, 3, 250, 120]


async def test_a_page_decodes_only_its_own_items_and_resumes_after_the_last(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    # Two responses; the item beyond the page (the fourth) does not fit and is not decoded.
    responses = iter(
        [
            {
                "Items": [stored("00001"), stored("00002")],
                "Count": 2,
                "LastEvaluatedKey": {"x": {"S": "y"}},
            },
            {"Items": [stored("00003"), stored("00004", fits=False)], "Count": 2},
        ]
    )
    fake.on("query", lambda _: next(responses))
    page = await service.query_by_pk("P", Row, limit=3)
    assert [row.n for row in page.items] == [1, 2, 3]
    assert page.last_evaluated_key == {"pk": "P", "sk": "00003"}


async def test_a_page_with_an_unfit_item_raises_a_decode_error(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    fake.on("query", lambda _: {"Items": [stored("00001"), stored("00002", fits=False)]})
    with pytest.raises(DynamoDBDecodeError) as caught:
        await service.query_by_pk("P", Row)
    assert (caught.value.operation, caught.value.sk) == ("query_by_pk", "00002")

from typing import Any

import pytest

from lvrgd_common import (
    AttributeCondition,
    CancellationReason,
    DynamoDBBaseModel,
    DynamoDBService,
    DynamoDBTransactionError,
    DynamoDBValidationError,
    TransactionWriteItem,
)
from tests.fakes import FakeDynamoDB, client_error


class Account(DynamoDBBaseModel):
    owner: str
    balance: int = 0


class Savings(Account):
    rate: float


def put(sk: str) -> TransactionWriteItem:
    return TransactionWriteItem(operation="put", item=Account(pk="A", sk=sk, owner="o"))


async def test_each_operation_becomes_its_transaction_entry(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    not_exists = AttributeCondition(attribute="pk", operator="not_exists")
    enough = AttributeCondition(attribute="balance", operator="ge", value=10)
    await service.transact_write(
        [
            TransactionWriteItem(
                operation="put",
                item=Savings(pk="A", sk="1", owner="o", rate=0.5),
                conditions=(not_exists,),
            ),
            TransactionWriteItem(operation="update", pk="A", sk="2", updates={"balance": 5}),
            TransactionWriteItem(operation="delete", pk="A", sk="3"),
            TransactionWriteItem(operation="condition_check", pk="A", sk="4", conditions=(enough,)),
        ],
        client_request_token="token-1",
    )
    [request] = fake.requests("transact_write_items")
    assert request["ClientRequestToken"] == "token-1"
    put_entry, update_entry, delete_entry, check_entry = request["TransactItems"]
    assert put_entry["Put"]["Item"]["rate"] == {"N": "0.5"}
    assert put_entry["Put"]["ConditionExpression"] == "attribute_not_exists(#n0)"
    assert update_entry["Update"]["UpdateExpression"] == "SET #n0 = :v0"
    # The item must exist and, for an update without model_class, not be versioned.
    assert update_entry["Update"]["ConditionExpression"].startswith(
        "attribute_exists(#n1) AND NOT attribute_type(#n2, :v1)"
    )
    assert delete_entry["Delete"]["Key"] == {"pk": {"S": "A"}, "sk": {"S": "3"}}
    assert check_entry["ConditionCheck"]["ConditionExpression"] == "#n0 >= :v0"


async def test_over_100_operations_are_refused_before_sending(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    await service.transact_write([put(str(i)) for i in range(100)])
    with pytest.raises(DynamoDBValidationError, match="at most 100") as caught:
        await service.transact_write([put(str(i)) for i in range(101)])
    assert caught.value.operation == "transact_write"
    assert len(fake.requests("transact_write_items")) == 1


async def test_the_same_item_twice_is_refused_before_sending(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    twice = [put("1"), TransactionWriteItem(operation="delete", pk="A", sk="1")]
    with pytest.raises(DynamoDBValidationError, match="more than once"):
        await service.transact_write(twice)
    with pytest.raises(DynamoDBValidationError, match="more than once"):
        await service.transact_get([("A", "1"), ("A", "1")], Account)
    assert fake.calls == []


async def test_a_cancelled_transaction_has_one_reason_per_operation(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    def cancel(_: dict[str, Any]) -> dict[str, Any]:
        raise client_error(
            "TransactionCanceledException",
            "Transaction cancelled",
            CancellationReasons=[
                {"Code": "None"},
                {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
            ],
        )

    fake.on("transact_write_items", cancel)
    with pytest.raises(DynamoDBTransactionError) as caught:
        await service.transact_write([put("1"), put("2")])
    assert caught.value.cancellation_reasons == [
        CancellationReason(code=None),
        CancellationReason(code="ConditionalCheckFailed", message="The conditional request failed"),
    ]
    assert caught.value.cancellation_reasons[0].code is None  # not the string "None"
    assert caught.value.error_code == "TransactionCanceledException"
    assert "operation #1 of 2" in str(caught.value)
    assert ": ConditionalCheckFailed: The conditional request failed" in str(caught.value)
    assert (caught.value.item_index, caught.value.pk, caught.value.sk) == (1, "A", "2")
    assert "operation #1 of 2 (pk='A', sk='2')" in str(caught.value)


async def test_transact_get_keeps_key_order_and_omits_absent(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any]:
        responses: list[dict[str, Any]] = []
        for entry in request["TransactItems"]:
            key = entry["Get"]["Key"]
            if key["sk"]["S"] == "absent":
                responses.append({})
            else:
                responses.append({"Item": {**key, "owner": {"S": key["sk"]["S"]}}})
        return {"Responses": responses}

    fake.on("transact_get_items", answer)
    result = await service.transact_get([("A", "z"), ("A", "absent"), ("A", "b")], Account)
    assert [account.owner for account in result] == ["z", "b"]


async def test_a_bad_client_request_token_is_refused(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    with pytest.raises(DynamoDBValidationError, match="client_request_token"):
        await service.transact_write([put("1")], client_request_token="x" * 37)
    assert fake.calls == []

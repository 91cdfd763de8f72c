"""Transactions on a real server: all or nothing, with one reason per operation."""

from __future__ import annotations

import pytest

from lvrgd_common import (
    AttributeCondition,
    DynamoDBService,
    DynamoDBTransactionError,
    DynamoDBValidationError,
    TransactionWriteItem,
)
from models import Everything, Profile, everything

pytestmark = pytest.mark.needs("transactions")


async def test_a_put_of_a_subclass_keeps_all_its_fields(service: DynamoDBService, pk: str) -> None:
    model = everything(pk)
    await service.transact_write([TransactionWriteItem(operation="put", item=model)])
    assert await service.get_one(pk, model.sk, Everything) == model


async def test_put_update_delete_and_check_commit_together(
    service: DynamoDBService, pk: str
) -> None:
    await service.batch_write(
        [Profile(pk=pk, sk="a", name="A", count=1), Profile(pk=pk, sk="gone", name="G")]
    )
    await service.transact_write(
        [
            TransactionWriteItem(operation="put", item=Profile(pk=pk, sk="new", name="N")),
            TransactionWriteItem(
                operation="update", pk=pk, sk="a", updates={"status": "moved", "count": None}
            ),
            TransactionWriteItem(operation="delete", pk=pk, sk="gone"),
        ],
        client_request_token="put-update-delete-1",
    )
    stored = {profile.sk: profile for profile in (await service.query_by_pk(pk, Profile)).items}
    assert set(stored) == {"a", "new"}
    assert stored["a"] == Profile(pk=pk, sk="a", name="A", status="moved", count=0)


async def test_an_update_of_an_absent_item_cancels_and_writes_nothing(
    service: DynamoDBService, pk: str
) -> None:
    await service.save(Profile(pk=pk, sk="exists", name="E"))
    operations = [
        TransactionWriteItem(operation="put", item=Profile(pk=pk, sk="new", name="N")),
        TransactionWriteItem(operation="update", pk=pk, sk="exists", updates={"name": "changed"}),
        TransactionWriteItem(operation="update", pk=pk, sk="absent", updates={"name": "ghost"}),
    ]
    with pytest.raises(DynamoDBTransactionError) as caught:
        await service.transact_write(operations)
    reasons = caught.value.cancellation_reasons
    assert [reason.code for reason in reasons] == [None, None, "ConditionalCheckFailed"]
    assert caught.value.error_code == "TransactionCanceledException"
    stored = (await service.query_by_pk(pk, Profile)).items
    assert stored == [Profile(pk=pk, sk="exists", name="E")]


async def test_create_only_if_absent_and_condition_checks(
    service: DynamoDBService, pk: str
) -> None:
    await service.save(Profile(pk=pk, sk="taken", name="T", count=5))
    absent = AttributeCondition(attribute="pk", operator="not_exists")
    at_least_10 = AttributeCondition(attribute="count", operator="ge", value=10)
    with pytest.raises(DynamoDBTransactionError) as caught:
        await service.transact_write(
            [
                TransactionWriteItem(
                    operation="put", item=Profile(pk=pk, sk="taken", name="X"), conditions=(absent,)
                ),
                TransactionWriteItem(operation="put", item=Profile(pk=pk, sk="free", name="F")),
            ]
        )
    assert [r.code for r in caught.value.cancellation_reasons] == ["ConditionalCheckFailed", None]
    with pytest.raises(DynamoDBTransactionError) as caught:
        await service.transact_write(
            [
                TransactionWriteItem(
                    operation="condition_check", pk=pk, sk="taken", conditions=(at_least_10,)
                ),
                TransactionWriteItem(operation="put", item=Profile(pk=pk, sk="free", name="F")),
            ]
        )
    assert [r.code for r in caught.value.cancellation_reasons] == ["ConditionalCheckFailed", None]
    assert await service.get_one(pk, "free", Profile) is None
    assert await service.get_one(pk, "taken", Profile) == Profile(
        pk=pk, sk="taken", name="T", count=5
    )


async def test_limits_are_checked_before_sending(service: DynamoDBService, pk: str) -> None:
    too_many = [
        TransactionWriteItem(operation="put", item=Profile(pk=pk, sk=f"p{i}", name="x"))
        for i in range(101)
    ]
    with pytest.raises(DynamoDBValidationError, match="at most 100"):
        await service.transact_write(too_many)
    twice = [
        TransactionWriteItem(operation="put", item=Profile(pk=pk, sk="p", name="x")),
        TransactionWriteItem(operation="update", pk=pk, sk="p", updates={"name": "y"}),
    ]
    with pytest.raises(DynamoDBValidationError, match="more than once"):
        await service.transact_write(twice)
    assert await service.count(pk) == 0


async def test_transact_get_in_key_order_without_absent_keys(
    service: DynamoDBService, pk: str
) -> None:
    await service.batch_write([Profile(pk=pk, sk=f"p{i}", name=f"n{i}") for i in range(20)])
    keys = [(pk, "p7"), (pk, "absent"), (pk, "p2"), (pk, "p19")]
    result = await service.transact_get(keys, Profile)
    assert [profile.sk for profile in result] == ["p7", "p2", "p19"]
    # moto's server takes at most 25 reads per TransactGetItems (DynamoDB takes 100).
    many = await service.transact_get([(pk, f"p{i}") for i in range(20)], Profile)
    assert len(many) == 20
    with pytest.raises(DynamoDBValidationError, match="at most 100"):
        await service.transact_get([(pk, f"p{i}") for i in range(101)], Profile)


async def test_a_cancelled_transaction_names_each_failed_operation_and_its_key(
    service: DynamoDBService, pk: str
) -> None:
    """Already exists and list missing are told apart by the message and the error's
    fields, not by counting positions in cancellation_reasons."""
    await service.save(Profile(pk=pk, sk="taken", name="T"))
    absent = AttributeCondition(attribute="pk", operator="not_exists")
    present = AttributeCondition(attribute="pk", operator="exists")
    operations = [
        TransactionWriteItem(operation="put", item=Profile(pk=pk, sk="free", name="F")),
        TransactionWriteItem(
            operation="put", item=Profile(pk=pk, sk="taken", name="X"), conditions=(absent,)
        ),
        TransactionWriteItem(operation="condition_check", pk=pk, sk="list", conditions=(present,)),
    ]
    with pytest.raises(DynamoDBTransactionError) as caught:
        await service.transact_write(operations)
    error = caught.value
    assert [r.code for r in error.cancellation_reasons] == [
        None,
        "ConditionalCheckFailed",
        "ConditionalCheckFailed",
    ]
    assert error.cancellation_reasons[0].code is None
    assert (error.item_index, error.pk, error.sk) == (1, pk, "taken")
    message = str(error)
    assert f"operation #1 of 3 (pk={pk!r}, sk='taken'): ConditionalCheckFailed" in message
    assert f"operation #2 of 3 (pk={pk!r}, sk='list'): ConditionalCheckFailed" in message
    assert "operation #0" not in message
    assert error.error_code == "TransactionCanceledException"

from typing import Any

import pytest
from pydantic import ValidationError

from lvrgd_common import (
    AttributeCondition,
    DynamoDBBaseModel,
    DynamoDBConfig,
    PaginationResult,
    SortKeyCondition,
    TransactionWriteItem,
)


class Account(DynamoDBBaseModel):
    owner: str
    balance: int = 0


def test_base_model_requires_non_empty_keys() -> None:
    with pytest.raises(ValidationError):
        DynamoDBBaseModel(pk="", sk="x")
    with pytest.raises(ValidationError):
        DynamoDBBaseModel(pk="x", sk="")


def test_base_model_is_pure_data() -> None:
    public = {name for name in vars(DynamoDBBaseModel) if not name.startswith("_")}
    assert public <= {"model_config", "model_fields", "model_computed_fields"}


def test_config_hides_the_secret() -> None:
    config = DynamoDBConfig(
        table_name="table",
        region="eu-west-1",
        aws_access_key_id="AKID",
        aws_secret_access_key="super-secret-value",
        aws_session_token="session-token-value",
    )
    for text in (repr(config), str(config), str(config.model_dump())):
        assert "super-secret-value" not in text
        assert "session-token-value" not in text
    assert config.aws_secret_access_key is not None
    assert config.aws_secret_access_key.get_secret_value() == "super-secret-value"


def test_config_defaults_fail_fast_on_an_unreachable_endpoint() -> None:
    config = DynamoDBConfig(table_name="table", region="eu-west-1")
    # botocore's standard mode waits at most 2**(attempt-1) s between attempts.
    worst_case = config.max_attempts * config.connect_timeout + sum(
        2 ** (attempt - 1) for attempt in range(1, config.max_attempts)
    )
    assert worst_case <= 10
    assert config.batch_concurrency <= config.max_pool_connections


@pytest.mark.parametrize(
    "changes",
    [
        {"table_name": "ab"},
        {"table_name": "bad name!"},
        {"region": ""},
        {"batch_concurrency": 100, "max_pool_connections": 10},
        {"aws_access_key_id": "AKID"},
        {"connect_timeout": 0},
        {"unknown_field": 1},
    ],
)
def test_config_rejects_inconsistent_settings(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DynamoDBConfig.model_validate({"table_name": "table", "region": "eu-west-1", **changes})


@pytest.mark.parametrize("operator", ["eq", "ne", "lt", "le", "gt", "ge", "begins_with"])
def test_sort_key_condition_takes_each_single_value_operator(operator: Any) -> None:
    assert SortKeyCondition(operator=operator, value="a").value2 is None


def test_between_needs_an_ordered_second_value() -> None:
    assert SortKeyCondition(operator="between", value="a", value2="b").value2 == "b"
    assert SortKeyCondition(operator="between", value="a", value2="a").value2 == "a"
    with pytest.raises(ValidationError, match="value2"):
        SortKeyCondition(operator="between", value="a")
    with pytest.raises(ValidationError, match="value <= value2"):
        SortKeyCondition(operator="between", value="b", value2="a")


def test_value2_only_goes_with_between() -> None:
    with pytest.raises(ValidationError):
        SortKeyCondition(operator="eq", value="a", value2="b")
    with pytest.raises(ValidationError):
        SortKeyCondition.model_validate({"operator": "like", "value": "a"})


def test_put_keeps_every_field_of_the_subclass() -> None:
    operation = TransactionWriteItem(
        operation="put", item=Account(pk="A", sk="1", owner="ada", balance=5)
    )
    assert isinstance(operation.item, Account)
    assert operation.model_dump()["item"] == {"pk": "A", "sk": "1", "owner": "ada", "balance": 5}
    assert operation.key == ("A", "1")


@pytest.mark.parametrize(
    "fields",
    [
        {"operation": "put"},
        {"operation": "put", "item": Account(pk="A", sk="1", owner="o"), "pk": "A"},
        {"operation": "update", "pk": "A", "sk": "1"},
        {"operation": "update", "pk": "A", "sk": "1", "updates": {}},
        {"operation": "update", "pk": "A", "sk": "1", "updates": {"pk": "B"}},
        {"operation": "update", "pk": "A", "updates": {"x": 1}},
        {"operation": "delete", "pk": "A"},
        {"operation": "delete", "pk": "A", "sk": "1", "updates": {"x": 1}},
        {"operation": "condition_check", "pk": "A", "sk": "1"},
        {"operation": "rename", "pk": "A", "sk": "1"},
    ],
)
def test_transaction_operation_missing_what_it_needs_fails_when_built(
    fields: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError):
        TransactionWriteItem.model_validate(fields)


def test_transaction_operations_with_what_they_need_build() -> None:
    exists = AttributeCondition(attribute="balance", operator="ge", value=10)
    assert TransactionWriteItem(operation="delete", pk="A", sk="1").key == ("A", "1")
    update = TransactionWriteItem(operation="update", pk="A", sk="1", updates={"x": None})
    assert update.updates == {"x": None}
    check = TransactionWriteItem(operation="condition_check", pk="A", sk="1", conditions=(exists,))
    assert check.conditions == (exists,)


@pytest.mark.parametrize(
    "fields",
    [
        {"attribute": "a", "operator": "exists", "value": 1},
        {"attribute": "a", "operator": "eq"},
        {"attribute": "", "operator": "exists"},
    ],
)
def test_attribute_condition_checks_its_value(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AttributeCondition.model_validate(fields)


def test_pagination_result_is_generic_over_the_model() -> None:
    page = PaginationResult[Account](
        items=[Account(pk="A", sk="1", owner="o")], last_evaluated_key={"pk": "A"}, count=1
    )
    assert page.has_more
    assert isinstance(page.items[0], Account)
    with pytest.raises(ValidationError):
        PaginationResult[Account].model_validate({"items": [{"pk": "A"}], "count": 1})

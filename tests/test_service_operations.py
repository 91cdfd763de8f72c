import logging
from typing import Any

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.utils import merge_dicts

from lvrgd_common import (
    AttributeCondition,
    DynamoDBBaseModel,
    DynamoDBConditionalCheckError,
    DynamoDBDecodeError,
    DynamoDBItemNotFoundError,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
    DynamoDBTransactionError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
)
from tests.fakes import FakeDynamoDB, client_error


class User(DynamoDBBaseModel):
    name: str
    status: str = "new"


async def test_save_puts_the_encoded_item(service: DynamoDBService, fake: FakeDynamoDB) -> None:
    await service.save(User(pk="U#1", sk="P", name="Ada"))
    [request] = fake.requests("put_item")
    assert request["TableName"] == "unit-table"
    assert request["Item"] == {
        "pk": {"S": "U#1"},
        "sk": {"S": "P"},
        "name": {"S": "Ada"},
        "status": {"S": "new"},
    }
    assert "ConditionExpression" not in request


async def test_save_with_a_condition(service: DynamoDBService, fake: FakeDynamoDB) -> None:
    create_only = AttributeCondition(attribute="pk", operator="not_exists")
    await service.save(User(pk="U#1", sk="P", name="Ada"), conditions=[create_only])
    [request] = fake.requests("put_item")
    assert request["ConditionExpression"] == "attribute_not_exists(#n0)"
    assert request["ExpressionAttributeNames"] == {"#n0": "pk"}


async def test_get_one_decodes_or_returns_none(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    stored = {"pk": {"S": "U#1"}, "sk": {"S": "P"}, "name": {"S": "Ada"}, "extra": {"N": "1"}}
    fake.on(
        "get_item", lambda request: {"Item": stored} if request["Key"]["sk"]["S"] == "P" else {}
    )
    assert await service.get_one("U#1", "P", User) == User(pk="U#1", sk="P", name="Ada")
    assert await service.get_one("U#1", "absent", User) is None
    assert fake.requests("get_item")[0]["Key"] == {"pk": {"S": "U#1"}, "sk": {"S": "P"}}
    await service.get_one("U#1", "P", User, consistent_read=True)
    assert fake.requests("get_item")[2]["ConsistentRead"] is True


async def test_get_one_of_data_that_does_not_fit_names_the_key(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    fake.on("get_item", lambda _: {"Item": {"pk": {"S": "U#1"}, "sk": {"S": "P"}}})
    with pytest.raises(DynamoDBDecodeError, match="User") as caught:
        await service.get_one("U#1", "P", User)
    assert (caught.value.operation, caught.value.pk, caught.value.sk) == ("get_one", "U#1", "P")


async def test_update_sets_with_placeholders_and_requires_existence(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    await service.update("U#1", "P", {"name": "Bea", "status": None})
    [request] = fake.requests("update_item")
    assert request["UpdateExpression"] == "SET #n0 = :v0 REMOVE #n1"
    # The item must exist, and not be versioned: a plain update would leave its version
    # behind (one clause per name a VersionedModel class stores its version under).
    existence, *unversioned = request["ConditionExpression"].split(" AND ")
    assert existence == "attribute_exists(#n2)"
    names = request["ExpressionAttributeNames"]
    assert {"#n0": "name", "#n1": "status", "#n2": "pk"}.items() <= names.items()
    guarded = {names[clause.split("(")[1].split(",")[0]] for clause in unversioned}
    assert "version" in guarded
    assert all(clause.startswith("NOT attribute_type(") for clause in unversioned)
    assert request["ExpressionAttributeValues"] == {":v0": {"S": "Bea"}, ":v1": {"S": "N"}}


async def test_update_of_an_absent_item_raises_not_found(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    def fail(_: dict[str, Any]) -> dict[str, Any]:
        raise client_error("ConditionalCheckFailedException", "The conditional request failed")

    fake.on("update_item", fail)
    with pytest.raises(DynamoDBItemNotFoundError) as caught:
        await service.update("U#1", "P", {"name": "x"})
    assert caught.value.error_code == "ConditionalCheckFailedException"
    assert (caught.value.operation, caught.value.pk, caught.value.sk) == ("update", "U#1", "P")
    condition = AttributeCondition(attribute="status", operator="eq", value="new")
    with pytest.raises(DynamoDBConditionalCheckError):
        await service.update("U#1", "P", {"name": "x"}, conditions=[condition])


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ({}, "non-empty"),
        ({"pk": "x"}, "key attribute"),
        ({"sk": "x"}, "key attribute"),
        ({"": 1}, "non-empty strings"),
        ({"score": float("nan")}, "score"),
    ],
)
async def test_bad_updates_are_refused_before_sending(
    service: DynamoDBService, fake: FakeDynamoDB, updates: dict[str, Any], message: str
) -> None:
    with pytest.raises(DynamoDBValidationError, match=message) as caught:
        await service.update("U#1", "P", updates)
    assert isinstance(caught.value, ValueError)
    assert caught.value.operation == "update"
    assert fake.calls == []


async def test_delete_sends_the_key(service: DynamoDBService, fake: FakeDynamoDB) -> None:
    await service.delete("U#1", "P")
    assert fake.requests("delete_item") == [
        {"TableName": "unit-table", "Key": {"pk": {"S": "U#1"}, "sk": {"S": "P"}}}
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ConditionalCheckFailedException", DynamoDBConditionalCheckError),
        ("ResourceNotFoundException", DynamoDBTableNotFoundError),
        ("ValidationException", DynamoDBValidationError),
        ("ProvisionedThroughputExceededException", DynamoDBUnavailableError),
        ("ThrottlingException", DynamoDBUnavailableError),
        ("RequestLimitExceeded", DynamoDBUnavailableError),
        ("InternalServerError", DynamoDBUnavailableError),
        ("ServiceUnavailable", DynamoDBUnavailableError),
        ("TransactionConflictException", DynamoDBTransactionError),
        ("UnrecognizedClientException", DynamoDBServiceError),
        ("AccessDeniedException", DynamoDBServiceError),
        ("SomethingNew", DynamoDBServiceError),
    ],
)
async def test_aws_errors_are_translated_with_code_and_cause(
    service: DynamoDBService, fake: FakeDynamoDB, code: str, expected: type[DynamoDBServiceError]
) -> None:
    original = client_error(code, "what AWS said")

    def fail(_: dict[str, Any]) -> dict[str, Any]:
        raise original

    fake.on("delete_item", fail)
    with pytest.raises(expected) as caught:
        await service.delete("U#1", "P")
    error = caught.value
    assert type(error) is expected
    assert isinstance(error, DynamoDBServiceError)
    assert (error.operation, error.pk, error.sk, error.error_code) == ("delete", "U#1", "P", code)
    assert error.__cause__ is original


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (EndpointConnectionError(endpoint_url="http://x"), DynamoDBUnavailableError),
        (ConnectTimeoutError(endpoint_url="http://x"), DynamoDBUnavailableError),
        (ReadTimeoutError(endpoint_url="http://x"), DynamoDBUnavailableError),
        (ConnectionClosedError(endpoint_url="http://x"), DynamoDBUnavailableError),
        (TimeoutError(), DynamoDBUnavailableError),
        (ConnectionResetError(), DynamoDBUnavailableError),
        (NoCredentialsError(), DynamoDBServiceError),
    ],
)
async def test_transport_errors_are_translated(
    service: DynamoDBService,
    fake: FakeDynamoDB,
    raised: Exception,
    expected: type[DynamoDBServiceError],
) -> None:
    def fail(_: dict[str, Any]) -> dict[str, Any]:
        raise raised

    fake.on("get_item", fail)
    with pytest.raises(expected) as caught:
        await service.get_one("U#1", "P", User)
    assert type(caught.value) is expected
    assert caught.value.error_code is None
    assert caught.value.__cause__ is raised


def _botocore_trips() -> TypeError:
    """A TypeError raised inside botocore's own code, as a parser tripping over junk."""
    try:
        merge_dicts({}, None)  # type: ignore[arg-type]
    except TypeError as exc:
        return exc
    raise AssertionError


async def test_what_the_client_code_raises_is_translated(
    service: DynamoDBService, fake: FakeDynamoDB
) -> None:
    raised = _botocore_trips()

    def fail(_: dict[str, Any]) -> dict[str, Any]:
        raise raised

    fake.on("get_item", fail)
    with pytest.raises(DynamoDBServiceError, match="unexpected TypeError") as caught:
        await service.get_one("U#1", "P", User)
    assert caught.value.__cause__ is raised


@pytest.mark.parametrize(
    "raised", [AttributeError("'NoneType' object has no attribute 'get'"), TypeError("bug")]
)
async def test_errors_not_from_the_client_are_not_dressed_as_aws_errors(
    service: DynamoDBService, fake: FakeDynamoDB, raised: Exception
) -> None:
    # e.g. a bug of this library in code the request passes through
    def fail(_: dict[str, Any]) -> dict[str, Any]:
        raise raised

    fake.on("get_item", fail)
    with pytest.raises(type(raised)) as caught:
        await service.get_one("U#1", "P", User)
    assert caught.value is raised


async def test_ping_reports_the_table_status(service: DynamoDBService, fake: FakeDynamoDB) -> None:
    status = {"value": "ACTIVE"}
    description = {
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ]
    }
    fake.on("describe_table", lambda _: {"Table": {**description, "TableStatus": status["value"]}})
    assert await service.ping() is True
    status["value"] = "CREATING"
    assert await service.ping() is False

    def missing(_: dict[str, Any]) -> dict[str, Any]:
        raise client_error("ResourceNotFoundException")

    fake.on("describe_table", missing)
    assert await service.ping() is False


async def test_each_operation_logs_one_record(
    service: DynamoDBService, fake: FakeDynamoDB, caplog: pytest.LogCaptureFixture
) -> None:
    fake.on("get_item", lambda _: {"ResponseMetadata": {"RetryAttempts": 2}})
    with caplog.at_level(logging.DEBUG, logger="lvrgd_common.unit"):
        await service.get_one("U#1", "P", User)
    records = [r for r in caplog.records if r.name == "lvrgd_common.unit"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.INFO]
    fields = records[-1].fields  # type: ignore[attr-defined]
    assert fields["operation"] == "get_one"
    assert fields["table"] == "unit-table"
    assert (fields["pk"], fields["sk"]) == ("U#1", "P")
    assert fields["retries"] == 2
    assert fields["elapsed_ms"] >= 0
    assert "unit-secret-value" not in caplog.text


async def test_a_refused_argument_is_logged_once_at_info(
    service: DynamoDBService, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.DEBUG, logger="lvrgd_common.unit"),
        pytest.raises(DynamoDBValidationError),
    ):
        await service.update("U#1", "P", {})
    records = [r for r in caplog.records if r.name == "lvrgd_common.unit"]
    assert len(records) == 1
    assert records[0].levelno == logging.INFO
    assert records[0].fields["outcome"] == "refused"  # type: ignore[attr-defined]
    assert records[0].fields["error"] == "DynamoDBValidationError"  # type: ignore[attr-defined]

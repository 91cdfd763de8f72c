"""The one room for error translation: what becomes which service error, and what does not."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError

from lvrgd_common import DynamoDBValidationError, LoggingService
from lvrgd_common.exceptions.dynamodb_exceptions import DynamoDBTableNotFoundError
from lvrgd_common.services._dynamodb.errors import (
    ErrorRoom,
    InvalidInputError,
    describe_table,
    raised_by_client,
    translate_error,
)
from lvrgd_common.services._dynamodb.operation import OperationLog


def room(caplog: pytest.LogCaptureFixture) -> ErrorRoom:
    caplog.set_level(logging.INFO, logger="lvrgd_common.unit.room")
    logger = LoggingService("lvrgd_common.unit.room")
    return ErrorRoom(OperationLog(logger, "table", "save", "P", "S"))


def test_refused_input_leaves_as_a_validation_error_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = InvalidInputError("pk must be a non-empty string")
    with pytest.raises(DynamoDBValidationError) as caught, room(caplog):
        raise refused
    error = caught.value
    assert (error.operation, error.pk, error.sk) == ("save", "P", "S")
    assert error.__cause__ is refused
    (record,) = caplog.records
    # The caller's mistake, not the service's: INFO, outcome "refused" (not a WARNING).
    assert record.levelno == logging.INFO
    assert "DynamoDBValidationError" in record.getMessage()
    assert "outcome='refused'" in record.getMessage()


def test_other_exceptions_pass_through_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    bug = KeyError("a bug")
    with pytest.raises(KeyError) as caught, room(caplog):
        raise bug
    assert caught.value is bug


def test_an_exception_raised_here_is_not_the_clients() -> None:
    with pytest.raises(KeyError) as caught:
        _ = dict[str, int]()["missing"]
    assert not raised_by_client(caught.value)
    assert raised_by_client(TimeoutError())


def test_not_found_names_table_region_and_endpoint() -> None:
    where = describe_table("users", "eu-west-1", "http://key:secret@localhost:8000/")
    assert where == "table 'users' in region 'eu-west-1' at http://localhost:8000/"
    missing = ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "Requested resource not found"}},
        "GetItem",
    )
    error = translate_error(missing, "get_one", "P", "S", where=where)
    assert isinstance(error, DynamoDBTableNotFoundError)
    assert error.error_code == "ResourceNotFoundException"
    assert "table 'users' in region 'eu-west-1' at http://localhost:8000/" in str(error)
    assert "secret" not in str(error)
    aws = describe_table("users", "eu-west-1", None)
    assert aws == "table 'users' in region 'eu-west-1' at the AWS endpoint of the region"

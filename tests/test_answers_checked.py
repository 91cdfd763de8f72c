"""Answers that are not DynamoDB's, from a scripted server, on both request paths.

Whatever sits in DynamoDB's place (a captive portal, a misrouted proxy, a load balancer
with no backend) must never be read as "absent" or as "written": every such answer is a
`DynamoDBUnavailableError` naming the status and the start of the body, for reads and writes,
through the lean path and through the aioboto3 client alike.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

import pytest

from lvrgd_common import (
    DynamoDBAmbiguousWriteError,
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBItemNotFoundError,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBUnavailableError,
    Increment,
    LoggingService,
)
from tests.http_server import Answer, Server, answer, aws_error

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class Note(DynamoDBBaseModel):
    text: str = "hello"


HTML = b"<html><head><title>Sign in to the hotel wifi</title></head></html>"
BAD_ANSWERS: dict[str, tuple[Answer, int, str]] = {
    "html_200": ((200, HTML, {"Content-Type": "text/html"}), 200, "Sign in to the hotel"),
    "text_200": ((200, b"OK", {}), 200, "OK"),
    "json_list_200": ((200, b"[]", {}), 200, "[]"),
    "empty_200": ((200, b"", {}), 200, "empty body"),
    "crc_never_matches": (answer(200, {"Item": {"pk": {"S": "p"}}}, crc=12345), 200, "crc32"),
    "bare_502": ((502, b"<html>Bad Gateway</html>", {}), 502, "Bad Gateway"),
    "bare_500_json": ((500, b'{"message": "oops"}', {}), 500, "oops"),
}

OPERATIONS: dict[str, Callable[[DynamoDBService], Awaitable[Any]]] = {
    "get_one": lambda service: service.get_one("p", "s", Note),
    "save": lambda service: service.save(Note(pk="p", sk="s")),
    "update": lambda service: service.update("p", "s", {"text": "x"}),
    "increment": lambda service: service.update("p", "s", {"n": Increment(1)}),
    "delete": lambda service: service.delete("p", "s"),
    "query": lambda service: service.query_by_pk("p", Note),
}


def settings(url: str, path: str) -> DynamoDBConfig:
    return DynamoDBConfig(
        table_name="scripted",
        region="eu-west-1",
        endpoint_url=url,
        aws_access_key_id="AKIDSCRIPTED",
        aws_secret_access_key="scripted-secret",
        fast_path=path == "lean",
        max_attempts=2,
    )


@pytest.mark.parametrize("path", ["lean", "aioboto3"])
@pytest.mark.parametrize("bad", list(BAD_ANSWERS))
@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_an_answer_that_is_not_dynamodbs_is_unavailable_never_a_result(
    server: Server, path: str, bad: str, operation: str
) -> None:
    scripted, status, shown = BAD_ANSWERS[bad]
    server.answers = [scripted] * 10
    # An increment that may have been applied says so rather than "unavailable".
    expected = DynamoDBAmbiguousWriteError if operation == "increment" else DynamoDBUnavailableError
    async with DynamoDBService(LoggingService(), settings(server.url, path)) as svc:
        with pytest.raises(expected) as caught:
            await OPERATIONS[operation](svc)
    message = str(caught.value)
    assert f"HTTP {status}" in message
    assert shown.lower() in message.lower()
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize("path", ["lean", "aioboto3"])
async def test_a_checksum_that_matches_on_a_retry_is_read(server: Server, path: str) -> None:
    good = answer(200, {"Item": {"pk": {"S": "p"}, "sk": {"S": "s"}, "text": {"S": "kept"}}})
    server.answers = [(good[0], good[1], {"x-amz-crc32": "1"}), good]
    async with DynamoDBService(LoggingService(), settings(server.url, path)) as svc:
        note = await svc.get_one("p", "s", Note)
    assert note is not None
    assert note.text == "kept"
    assert len(server.received) == 2


@pytest.mark.parametrize("path", ["lean", "aioboto3"])
async def test_dynamodbs_own_answers_still_read_as_before(server: Server, path: str) -> None:
    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, "text": {"S": "stored"}}
    raw = b'{"Item": %s}' % str(item).replace("'", '"').encode()
    server.answers = [
        (200, raw, {"x-amz-crc32": str(zlib.crc32(raw))}),
        answer(200, {}),
        aws_error(400, "ConditionalCheckFailedException", "The conditional request failed"),
    ]
    async with DynamoDBService(LoggingService(), settings(server.url, path)) as svc:
        note = await svc.get_one("p", "s", Note)
        await svc.save(Note(pk="p", sk="s"))
        with pytest.raises(DynamoDBItemNotFoundError) as caught:
            await svc.update("p", "s", {"text": "x"})
    # The modeled class botocore raises, chained on both paths.
    assert type(caught.value.__cause__).__name__ == "ConditionalCheckFailedException"
    assert note is not None
    assert note.text == "stored"


@pytest.mark.parametrize("path", ["lean", "aioboto3"])
async def test_an_aws_xml_refusal_is_an_error_with_the_status_as_code(
    server: Server, path: str
) -> None:
    """AWS's front end (and moto's IAM check) refuses a signature in XML, as botocore reads."""
    xml = (
        b'<?xml version="1.0" encoding="utf-8"?><ErrorResponse><Errors><Error>'
        b"<Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
        b"does not match</Message></Error></Errors></ErrorResponse>"
    )
    server.answers = [(403, xml, {})]
    async with DynamoDBService(LoggingService(), settings(server.url, path)) as svc:
        with pytest.raises(DynamoDBServiceError, match="signature we calculated") as caught:
            await svc.save(Note(pk="p", sk="s"))
    assert type(caught.value) is DynamoDBServiceError
    assert caught.value.error_code == "403"
    assert len(server.received) == 1

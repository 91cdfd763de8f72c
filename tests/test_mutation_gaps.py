"""Unit twins of integration-tests/test_mutation_gaps.py: the same gaps, found in a moment.

Under `make mutate` these run before the integration tests, so most such mutants die here,
before a server is started for them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pytest
from pydantic import Field
from yarl import URL

from lvrgd_common import DynamoDBConfig, DynamoDBServiceError, LoggingService, sync
from lvrgd_common.models.dynamodb_base_model import DynamoDBBaseModel
from lvrgd_common.services._dynamodb.codec import encode_item
from lvrgd_common.services._dynamodb.cursors import query_scope
from lvrgd_common.services._dynamodb.reading import reader_of
from lvrgd_common.services._dynamodb.scanning import ScanSegments, read_segments
from lvrgd_common.services._dynamodb.transport.http11 import HttpPool

if TYPE_CHECKING:
    from collections.abc import Mapping


async def test_chunk_sizes_are_hexadecimal() -> None:
    # Catches: http11.py's int(size_text, 16) read as int(size_text).
    body = b'{"Items": "' + b"y" * 40 + b'"}'
    first, second, rest = body[:0x10], body[0x10 : 0x10 + 0x1A], body[0x10 + 0x1A :]
    answer = b"".join(
        [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            *(b"10\r\n", first, b"\r\n"),
            *(b"1A\r\n", second, b"\r\n"),
            *(f"{len(rest):x}\r\n".encode(), rest, b"\r\n0\r\n\r\n"),
        ]
    )

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        writer.write(answer)
        await writer.drain()
        await reader.read()  # until the client closes

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = HttpPool(
        URL(f"http://127.0.0.1:{port}"),
        limit=1,
        connect_timeout=5.0,
        read_timeout=30.0,
        ssl_context=None,
    )
    try:
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "T.GetItem"}
        status, _, _, got = await pool.post(headers, b"{}")
    finally:
        pool.close()
        server.close()
    assert status == 200
    assert got == body


async def test_a_failed_segment_request_is_raised_to_the_consumer() -> None:
    # Catches: scanning.py's worker putting _DONE (or nothing) for a segment's error.
    async def send(request: dict[str, Any]) -> Mapping[str, Any]:
        await asyncio.sleep(0)
        if request["Segment"] == 2:
            msg = "segment 2 refused"
            raise RuntimeError(msg)
        return {"Items": [{"n": {"N": str(request["Segment"])}}]}

    pages = read_segments(send, {"TableName": "t"}, ScanSegments((0, 1, 2, 3), 4), 2)
    seen: list[Any] = []

    async def consume() -> None:
        async for page in pages:
            seen.extend(page)

    with pytest.raises(RuntimeError, match="segment 2 refused"):
        await consume()
    assert len(seen) < 4


def test_the_cursor_scope_covers_the_attribute_names() -> None:
    # Catches: cursors.py leaving ExpressionAttributeNames out of the scope.
    base = {
        "TableName": "t",
        "KeyConditionExpression": "#k0 = :v0",
        "FilterExpression": "#n0 = :v1",
    }
    on_a = {**base, "ExpressionAttributeNames": {"#k0": "pk", "#n0": "a"}}
    on_b = {**base, "ExpressionAttributeNames": {"#k0": "pk", "#n0": "b"}}
    assert query_scope([on_a]) != query_scope([on_b])
    assert query_scope([on_a]) == query_scope([dict(on_a)])


class Circle(DynamoDBBaseModel):
    shape: Literal["circle"] = Field(default="circle", serialization_alias="t")
    radius: int = 1


class Square(DynamoDBBaseModel):
    shape: Literal["square"] = Field(default="square", serialization_alias="t")
    side: int = 1


def test_a_discriminator_under_a_serialization_alias_is_found() -> None:
    # Catches: reading.py looking for the tag under the alias or field name only.
    reader = reader_of(Annotated[Circle | Square, Field(discriminator="shape")])
    square = Square(pk="p", sk="s", side=5)
    stored = encode_item(square)
    assert stored["t"] == {"S": "square"}
    assert reader.decode(stored) == square


def test_a_failed_open_leaves_no_thread() -> None:
    # Catches: sync.py's open() raising without stopping its loop and joining its thread.
    config = DynamoDBConfig(
        table_name="unit-table",
        region="no such region!",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIDUNIT",
        aws_secret_access_key="unit-secret-value",
    )
    before = set(threading.enumerate())
    facade = sync.DynamoDBService(LoggingService(), config)
    with pytest.raises(DynamoDBServiceError, match="open"):
        facade.open()
    assert set(threading.enumerate()) - before == set()

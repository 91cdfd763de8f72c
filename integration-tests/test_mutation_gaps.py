"""Behaviours that mutation testing found unchecked (issue 27), each on a real server.

Each test names the breakage it catches: the exact mutation was applied by hand and the
test failed (see the closing note of issue 27).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import TYPE_CHECKING, Annotated, Literal

import pytest
from boto3.dynamodb.conditions import Attr
from pydantic import Field, SecretStr

from faultproxy import Forward, Reply, dynamodb_error
from helpers import through
from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBValidationError,
    LoggingService,
    sync,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    from faultproxy import Exchange, FaultProxy

# --- the HTTP client reads chunk sizes as hexadecimal -------------------------------------

# Sizes that read differently in decimal ("10" is 16 bytes, "1a" is no decimal at all).
CHUNK_SIZES = (0x10, 0x1A, 0x3, 0xFF, 0x40)


class Rechunker:
    """A loopback proxy that passes each request on and re-sends the answer chunked.

    As a proxy or load balancer in front of DynamoDB may: the body is cut into chunks of
    ``CHUNK_SIZES`` bytes in turn, whatever framing the server used.
    """

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.removeprefix("http://").rstrip("/").partition(":")
        self.upstream = (host, int(port))
        self.chunked_answers = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    (
                        int(line.split(":", 1)[1])
                        for line in lines
                        if _named(line, "content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                kept = [line for line in lines[:-2] if not _named(line, "connection")]
                request = "\r\n".join([*kept, "Connection: close", "", ""]).encode() + body
                writer.write(await self._forward(request))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _forward(self, request: bytes) -> bytes:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        up_writer.write(request)
        await up_writer.drain()
        raw = await up_reader.read(-1)
        up_writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if any(_named(line, "transfer-encoding") for line in lines):
            body = _dechunk(body)
        hop = ("content-length", "transfer-encoding", "connection", "keep-alive")
        kept = [line for line in lines if not any(_named(line, name) for name in hop)]
        out = bytearray("\r\n".join([*kept, "Transfer-Encoding: chunked", "", ""]).encode())
        position, turn = 0, 0
        while position < len(body):
            size = CHUNK_SIZES[turn % len(CHUNK_SIZES)]
            piece = body[position : position + size]
            out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            position, turn = position + size, turn + 1
        out += b"0\r\n\r\n"
        self.chunked_answers += 1
        return bytes(out)


def _named(line: str, name: str) -> bool:
    return line.lower().startswith(name + ":")


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[:size]
        body = body[size + 2 :]


class Page(DynamoDBBaseModel):
    text: str
    n: int


async def test_chunked_answers_are_read_by_hexadecimal_chunk_sizes(
    config: DynamoDBConfig, endpoint_url: str | None, pk: str
) -> None:
    # Catches: http11.py reading a chunk size as int(size_text) instead of int(size_text, 16).
    if endpoint_url is None or not endpoint_url.startswith("http://127.0.0.1:"):
        pytest.skip(f"the re-chunking proxy only fronts a loopback server, not {endpoint_url!r}")
    rechunker = Rechunker(endpoint_url)
    async with rechunker as proxy_url:
        settings = config.model_copy(update={"endpoint_url": proxy_url})
        async with DynamoDBService(LoggingService(), settings) as service:
            pages = [Page(pk=pk, sk=f"{n:03d}", text="x" * (n * 97), n=n) for n in range(12)]
            await service.batch_write(pages)
            assert await service.get_one(pk, "011", Page) == pages[11]
            result = await service.query_by_pk(pk, Page)
            assert result.items == pages
    assert rechunker.chunked_answers >= 3


# --- a failed segment of a parallel scan fails the scan --------------------------------


class Tile(DynamoDBBaseModel):
    n: int


@pytest.fixture(scope="module")
async def tiles(
    own_table: Callable[[], AbstractAsyncContextManager[DynamoDBConfig]],
) -> AsyncIterator[DynamoDBConfig]:
    async with own_table() as created:
        async with DynamoDBService(LoggingService(), created) as service:
            await service.batch_write([Tile(pk=f"t#{n}", sk="0", n=n) for n in range(200)])
        yield created


@pytest.mark.parametrize("segments", [2, 4])
async def test_a_segment_whose_request_fails_fails_the_scan(
    tiles: DynamoDBConfig, proxy: FaultProxy, segments: int
) -> None:
    # Catches: scanning.py's worker ending quietly (putting _DONE, or nothing, for the
    # error) when a segment's request fails: that segment's items would be lost.
    failing = segments - 1

    def rule(exchange: Exchange) -> Forward | Reply:
        if exchange.target == "Scan" and exchange.body.get("Segment") == failing:
            return Reply(400, dynamodb_error("ValidationException", "segment refused"))
        return Forward()

    proxy.rule = rule
    async with DynamoDBService(LoggingService(), through(tiles, proxy)) as service:
        seen: list[int] = []

        async def consume() -> None:
            async for tile in service.scan(Tile, segments=segments, page_size=20):
                seen.append(tile.n)  # noqa: PERF401 - items before the failure are kept

        with pytest.raises(DynamoDBValidationError, match="segment refused"):
            await consume()
        assert len(seen) < 200
        # Without the fault, the same scan sees every item exactly once.
        proxy.rule = lambda _exchange: Forward()
        every = [tile.n async for tile in service.scan(Tile, segments=segments, page_size=20)]
        assert sorted(every) == list(range(200))


# --- a cursor is bound to the attribute names of its query's filter ---------------------


class Reading(DynamoDBBaseModel):
    a: int
    b: int


async def test_a_cursor_of_a_filter_on_another_attribute_is_refused(
    config: DynamoDBConfig, pk: str
) -> None:
    # Catches: cursors.py leaving ExpressionAttributeNames out of the signed scope. The two
    # filters below differ only in the attribute they name: same expression, same values.
    settings = config.model_copy(update={"cursor_secret": SecretStr("a-secret-of-16-chars+")})
    async with DynamoDBService(LoggingService(), settings) as service:
        await service.batch_write([Reading(pk=pk, sk=f"{n:02d}", a=1, b=n % 2) for n in range(8)])
        on_a = await service.query_by_pk(pk, Reading, limit=2, filter_condition=Attr("a").eq(1))
        assert on_a.next_cursor is not None
        rest = await service.query_by_pk(
            pk, Reading, filter_condition=Attr("a").eq(1), cursor=on_a.next_cursor
        )
        assert len(on_a.items) + len(rest.items) == 8
        with pytest.raises(DynamoDBValidationError, match="another query"):
            await service.query_by_pk(
                pk, Reading, filter_condition=Attr("b").eq(1), cursor=on_a.next_cursor
            )


# --- a union's discriminator stored under a serialization_alias -------------------------


class Circle(DynamoDBBaseModel):
    shape: Literal["circle"] = Field(default="circle", serialization_alias="t")
    radius: int = 1


class Square(DynamoDBBaseModel):
    shape: Literal["square"] = Field(default="square", serialization_alias="t")
    side: int = 1


AnyShape = Annotated[Circle | Square, Field(discriminator="shape")]


async def test_a_union_reads_a_discriminator_stored_under_its_serialization_alias(
    service: DynamoDBService, pk: str
) -> None:
    # Catches: reading.py looking for the tag under the alias or field name only.
    circle, square = Circle(pk=pk, sk="c", radius=3), Square(pk=pk, sk="s", side=4)
    await service.batch_write([circle, square])
    assert await service.get_one(pk, "c", AnyShape) == circle
    assert await service.get_one(pk, "s", AnyShape) == square
    assert (await service.query_by_pk(pk, AnyShape)).items == [circle, square]
    # Stored under the alias, as model_dump(by_alias=True) names it.
    stored = await service.get_one(pk, "c", StoredTag)
    assert stored is not None
    assert stored.t == "circle"


class StoredTag(DynamoDBBaseModel):
    t: str


# --- a sync facade whose open() fails leaves no thread behind ---------------------------


def test_a_failed_open_of_the_sync_facade_stops_its_loop_thread(config: DynamoDBConfig) -> None:
    # Catches: sync.py's open() raising without stopping the loop and joining its thread.
    # A region botocore refuses: the client cannot be created (open sends no request).
    broken = DynamoDBConfig.model_validate({**config.model_dump(), "region": "no such region!"})
    before = set(threading.enumerate())
    facade = sync.DynamoDBService(LoggingService(), broken)
    for _ in range(2):  # and a second attempt starts and stops its own
        with pytest.raises(DynamoDBServiceError, match="open"):
            facade.open()
        assert set(threading.enumerate()) - before == set()
    facade.close()
    # The same facade type with a good configuration opens and works.
    with sync.DynamoDBService(LoggingService(), config) as working:
        key = f"sync#{uuid.uuid4().hex}"
        working.save(Tile(pk=key, sk="0", n=1))
        assert working.get_one(key, "0", Tile) == Tile(pk=key, sk="0", n=1)
    assert set(threading.enumerate()) - before == set()

"""A scripted local HTTP server standing in for DynamoDB's endpoint (tests of the wire)."""

from __future__ import annotations

import json
import zlib
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from lvrgd_common.testing import free_port

if TYPE_CHECKING:
    import ssl
    from collections.abc import AsyncIterator

Answer = tuple[int, bytes, dict[str, str]]


def answer(status: int, body: dict[str, Any], *, crc: int | None = None) -> Answer:
    raw = json.dumps(body).encode()
    return status, raw, {"x-amz-crc32": str(zlib.crc32(raw) if crc is None else crc)}


def aws_error(status: int, code: str, message: str = "boom", **extra: Any) -> Answer:
    body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra}
    return answer(status, body)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    peer: object = None  # the client's address: one per connection

    @property
    def target(self) -> str:
        return self.headers["X-Amz-Target"].rpartition(".")[2]


@dataclass
class Server:
    """Answers each request with the next scripted answer (then ``{}``), recording it."""

    answers: list[Answer] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.received.append(Received(dict(request.headers), await request.read(), peer))
        status, body, headers = self.answers.pop(0) if self.answers else answer(200, {})
        return web.Response(status=status, body=body, headers=headers)


@asynccontextmanager
async def serving(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """A `Server` listening on a free loopback port until the block ends (TLS if given)."""
    scripted = Server()
    app = web.Application()
    app.router.add_post("/", scripted.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context).start()
    scheme = "http" if ssl_context is None else "https"
    scripted.url = f"{scheme}://127.0.0.1:{port}"
    try:
        yield scripted
    finally:
        await runner.cleanup()

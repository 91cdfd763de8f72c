"""A fault-injecting HTTP proxy between `DynamoDBService` and a local server, for the tests.

Loopback only and bounded: at most ``MAX_CONNECTIONS`` client connections, request heads of
64 KiB and bodies of 20 MiB, idle connections closed after ``IDLE_TIMEOUT`` seconds, and a
hang lasts until the client goes away or the proxy closes (at most ``MAX_HANG`` seconds).
Each request is an `Exchange`, recorded in order; a test's ``rule`` decides what happens to
it:

- `Forward`: pass it on (optionally with another body) and reply with the server's answer
  (optionally rewritten), or with ``deliver=False`` let the server apply it and never reply,
  or with ``instead=Reply(...)`` let the server apply it and answer a fault (a 500) in its place;
- `Reply`: answer in the server's place (throttling, 5xx) without forwarding anything;
- `Hang`: read the request, never answer;
- `Stall`: forward, send the reply's head and half its body, then hang;
- `Close`: close the connection without forwarding or answering.

`FaultProxy.kill` makes the proxy behave like a server that died: it stops listening, new
requests are refused, and replies still owed for forwarded requests are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Self, TypeAlias
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

__all__ = [
    "Close",
    "Exchange",
    "FaultProxy",
    "Forward",
    "Hang",
    "Reply",
    "Stall",
    "dynamodb_error",
]

LOOPBACK: Final = "127.0.0.1"
MAX_CONNECTIONS: Final = 256
MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 20 * 1024 * 1024
IDLE_TIMEOUT: Final = 30.0
UPSTREAM_TIMEOUT: Final = 30.0
MAX_HANG: Final = 60.0

_HOP_BY_HOP: Final = frozenset({"connection", "content-length", "keep-alive", "transfer-encoding"})

Json: TypeAlias = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Forward:
    """Pass the request on; ``body`` replaces its JSON, ``rewrite`` its reply's JSON.

    ``delay`` seconds pass before forwarding; ``deliver=False`` withholds the reply and
    ``instead`` replaces it (the server has applied the request either way).
    """

    body: Json | None = None
    rewrite: Callable[[Json], Json] | None = None
    deliver: bool = True
    delay: float = 0.0
    instead: Reply | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer in the server's place, forwarding nothing."""

    status: int
    body: Json


@dataclass(frozen=True, slots=True)
class Hang:
    """Read the request and never answer."""


@dataclass(frozen=True, slots=True)
class Stall:
    """Forward, then send the reply's head and half its body and stop."""


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection without forwarding or answering."""


Action: TypeAlias = Forward | Reply | Hang | Stall | Close
Rule: TypeAlias = "Callable[[Exchange], Action]"


def dynamodb_error(code: str, message: str) -> Json:
    """The JSON body DynamoDB sends with an error."""
    return {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}


@dataclass(slots=True)
class Exchange:
    """One request the proxy received, and what became of it.

    ``outcome`` is one of: ``pending``, ``answered`` (the server's reply was delivered),
    ``replied`` (the proxy answered in its place), ``dropped`` (forwarded, the server
    answered, the reply was withheld), ``replaced`` (forwarded, the server answered, the
    proxy answered a fault instead), ``lost`` (forwarded, the server never answered),
    ``hung``, ``stalled``, ``closed``, ``refused`` (after `FaultProxy.kill`).
    """

    number: int
    target: str
    body: Json
    raw: bytes = field(default=b"", repr=False)
    sent: Json | None = None
    outcome: str = "pending"
    status: int | None = None
    reply: Json | None = None
    forwarded: bool = False

    @property
    def in_doubt(self) -> bool:
        """Forwarded, but the client never got the server's answer."""
        return self.forwarded and self.outcome in {"dropped", "lost", "stalled", "replaced"}


@dataclass(slots=True)
class _Response:
    status_line: bytes
    headers: list[tuple[str, str]]
    body: bytes


class FaultProxy:
    """An HTTP/1.1 proxy on a free loopback port in front of ``upstream_url``.

    Example:
        >>> async with FaultProxy(server_url) as proxy:
        ...     proxy.rule = lambda exchange: Hang()
        ...     config = config.model_copy(update={"endpoint_url": proxy.endpoint_url})
    """

    def __init__(self, upstream_url: str, rule: Rule | None = None) -> None:
        upstream = urlsplit(upstream_url)
        if upstream.hostname not in {LOOPBACK, "localhost"} or upstream.port is None:
            msg = f"the proxy only forwards to a loopback server, not {upstream_url!r}"
            raise ValueError(msg)
        self.upstream_host = upstream.hostname
        self.upstream_port = upstream.port
        self.rule: Rule = rule or _forward_all
        self.exchanges: list[Exchange] = []
        self.port = 0
        self.dead = False
        self.peak_connections = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._unconnected = asyncio.Event()
        self._unconnected.set()

    @property
    def endpoint_url(self) -> str:
        """The URL to give `DynamoDBConfig.endpoint_url`."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def tasks(self) -> set[asyncio.Task[Any]]:
        """The proxy's own connection tasks (to tell them from a client's), including those
        of connections accepted but not yet started."""
        accepting = {
            task
            for task in asyncio.all_tasks()
            if getattr(task.get_coro(), "__qualname__", "") == "FaultProxy._accept"
        }
        return set(self._handlers) | accepting

    async def disconnected(self) -> None:
        """Wait until no client connection is open."""
        await self._unconnected.wait()

    def of(self, target: str) -> list[Exchange]:
        """The exchanges of one operation, e.g. ``"BatchWriteItem"``, in order."""
        return [exchange for exchange in self.exchanges if exchange.target == target]

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0, limit=MAX_HEAD_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def kill(self) -> None:
        """Behave like a dead server from now on: refuse everything, drop owed replies."""
        self.dead = True
        if self._server is not None:
            self._server.close()

    async def close(self) -> None:
        """Stop listening and end every connection; closing twice is harmless."""
        self.kill()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # --- client side ----------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or len(self._handlers) >= MAX_CONNECTIONS or self.dead:
            writer.close()
            return
        self._handlers.add(task)
        self._unconnected.clear()
        self.peak_connections = max(self.peak_connections, len(self._handlers))
        try:
            while not self.dead and await self._serve_one(reader, writer):
                pass
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            self._handlers.discard(task)
            if not self._handlers:
                self._unconnected.set()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Handle one request; False when the connection is to be closed."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for runs the read in a task of
        # its own, which a test counting the tasks left behind would take for a client's.
        async with asyncio.timeout(IDLE_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
        request_line, headers = _parse_head(head)
        length = int(_header(headers, "content-length") or 0)
        if length > MAX_BODY_BYTES:
            return False
        async with asyncio.timeout(IDLE_TIMEOUT):
            raw_body = await reader.readexactly(length)
        target = (_header(headers, "x-amz-target") or "").rpartition(".")[2]
        exchange = Exchange(len(self.exchanges) + 1, target, _json(raw_body), raw=raw_body)
        self.exchanges.append(exchange)
        if self.dead:
            exchange.outcome = "refused"
            return False
        action = self.rule(exchange)
        return await self._act(exchange, action, request_line, headers, reader, writer)

    async def _act(
        self,
        exchange: Exchange,
        action: Action,
        request_line: bytes,
        headers: list[tuple[str, str]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if isinstance(action, Close):
            exchange.outcome = "closed"
            return False
        if isinstance(action, Hang):
            exchange.outcome = "hung"
            await self._hang(reader)
            return False
        if isinstance(action, Reply):
            exchange.outcome = "replied"
            exchange.status, exchange.reply = action.status, action.body
            await _write_json(writer, action.status, action.body)
            return True
        return await self._relay(exchange, action, request_line, headers, reader, writer)

    async def _relay(
        self,
        exchange: Exchange,
        action: Forward | Stall,
        request_line: bytes,
        headers: list[tuple[str, str]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if isinstance(action, Forward) and action.delay:
            await asyncio.sleep(min(action.delay, MAX_HANG))
            if self.dead:
                exchange.outcome = "refused"
                return False
        if isinstance(action, Forward) and action.body is not None:
            exchange.sent, payload = action.body, json.dumps(action.body).encode()
        else:
            exchange.sent, payload = exchange.body, exchange.raw
        response = await self._forward(exchange, request_line, headers, payload)
        if response is None:
            exchange.outcome = "lost"
            return False
        exchange.status = _status(response)
        exchange.reply = _json(response.body)
        if isinstance(action, Stall):
            exchange.outcome = "stalled"
            await _write_partial(writer, response)
            await self._hang(reader)
            return False
        if self.dead or not action.deliver:
            exchange.outcome = "dropped"
            return False
        if action.instead is not None:
            exchange.outcome = "replaced"
            exchange.status, exchange.reply = action.instead.status, action.instead.body
            await _write_json(writer, action.instead.status, action.instead.body)
            return True
        if action.rewrite is not None:
            exchange.reply = action.rewrite(exchange.reply)
            response.body = json.dumps(exchange.reply).encode()
            response.headers = [(k, v) for k, v in response.headers if k.lower() != "x-amz-crc32"]
            response.headers.append(("x-amz-crc32", str(zlib.crc32(response.body))))
        exchange.outcome = "answered"
        await _write_response(writer, response)
        return True

    async def _hang(self, reader: asyncio.StreamReader) -> None:
        """Answer nothing until the client goes away, the proxy closes, or MAX_HANG."""
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(MAX_HANG):
                while await reader.read(65536):
                    pass

    # --- server side ----------------------------------------------------------------------

    async def _forward(
        self,
        exchange: Exchange,
        request_line: bytes,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> _Response | None:
        """Send the request upstream on a fresh connection; None when the server is gone."""
        try:
            async with asyncio.timeout(UPSTREAM_TIMEOUT):
                reader, writer = await asyncio.open_connection(
                    self.upstream_host, self.upstream_port
                )
        except (OSError, TimeoutError):
            return None
        try:
            kept = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
            kept += [("Content-Length", str(len(body))), ("Connection", "close")]
            writer.write(request_line + _render_headers(kept) + body)
            await writer.drain()
            exchange.forwarded = True
            async with asyncio.timeout(UPSTREAM_TIMEOUT):
                raw = await _read_to_end(reader)
            return _parse_response(raw)
        except (OSError, TimeoutError, ValueError):
            return None
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _forward_all(_exchange: Exchange) -> Action:
    return Forward()


def _parse_head(head: bytes) -> tuple[bytes, list[tuple[str, str]]]:
    first, _, rest = head.partition(b"\r\n")
    headers: list[tuple[str, str]] = []
    for line in rest.decode("latin-1").split("\r\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return first + b"\r\n", headers


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _render_headers(headers: list[tuple[str, str]]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode("latin-1") + b"\r\n"


def _json(body: bytes) -> Json:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await reader.read(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            msg = "response too large"
            raise ValueError(msg)
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_response(raw: bytes) -> _Response:
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        msg = "incomplete response"
        raise ValueError(msg)
    status_line, headers = _parse_head(head + b"\r\n\r\n")
    if (_header(headers, "transfer-encoding") or "").lower() == "chunked":
        body = _dechunk(body)
    length = _header(headers, "content-length")
    if length is not None and len(body) < int(length):
        msg = "truncated response"
        raise ValueError(msg)
    return _Response(status_line, headers, body)


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2 :]
    return bytes(out)


def _status(response: _Response) -> int:
    return int(response.status_line.split()[1])


def _response_bytes(response: _Response) -> bytes:
    kept = [(k, v) for k, v in response.headers if k.lower() not in _HOP_BY_HOP]
    kept.append(("Content-Length", str(len(response.body))))
    return response.status_line + _render_headers(kept)


async def _write_response(writer: asyncio.StreamWriter, response: _Response) -> None:
    writer.write(_response_bytes(response) + response.body)
    await writer.drain()


async def _write_partial(writer: asyncio.StreamWriter, response: _Response) -> None:
    writer.write(_response_bytes(response) + response.body[: len(response.body) // 2])
    await writer.drain()


async def _write_json(writer: asyncio.StreamWriter, status: int, body: Json) -> None:
    payload = json.dumps(body).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-RequestId", "lvrgd-fault-proxy"),
        ("x-amz-crc32", str(zlib.crc32(payload))),
        ("Content-Length", str(len(payload))),
    ]
    writer.write(f"HTTP/1.1 {status} Fault\r\n".encode() + _render_headers(headers) + payload)
    await writer.drain()

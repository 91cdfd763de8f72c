"""A small HTTP/1.1 client for the lean path: keep-alive POSTs to one endpoint.

The lean path sends one kind of request, a signed JSON POST to a single host, and reads
one kind of answer. aiohttp's general client (request objects, cookie jars, redirects,
tracing hooks, header multidicts) was the largest share of a GetItem's client CPU; this
client writes the request bytes itself and reads the answer with an `asyncio.Protocol`:

- connections are kept alive and reused, newest first, at most ``limit`` at once (the
  config's ``max_pool_connections``); one whose server closed it is never reused, nor one
  idle for longer than ``idle_timeout`` (aiobotocore's 12 s: a flow a NAT or load balancer
  expired silently would stall or fail the request);
- the answer's body is read by ``Content-Length`` or chunked transfer coding, or to the
  end of the connection when it has neither;
- ``connect_timeout`` bounds a new connection (TLS handshake included) and
  ``read_timeout`` any wait for the server's next bytes once the request has left (a
  large body still being sent does not count), as botocore's socket timeouts do;
- interim ``1xx`` answers are skipped;
- failures are botocore's errors of the same kind (`EndpointConnectionError`,
  `ConnectTimeoutError`, `ReadTimeoutError`, `ConnectionClosedError`, `SSLError`), which
  the lean path retries and translates as the aioboto3 client's.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import TYPE_CHECKING, Final

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)

from lvrgd_common.services._dynamodb.transport.signing import host_header

if TYPE_CHECKING:
    from yarl import URL

__all__ = ["IDLE_TIMEOUT", "Answer", "HttpPool"]

Answer = tuple[int, str, dict[str, str], bytes]

_HEADERS_END: Final = b"\r\n\r\n"
_CRLF: Final = b"\r\n"
_MAX_HEAD: Final = 64 * 1024
_CLOSED_BY_SERVER: Final = "the server closed the connection"
_INTERIM: Final = 100
# aiobotocore's keep-alive timeout: an idle connection older than this is closed, not reused.
IDLE_TIMEOUT: Final = 12.0


class _BadAnswer(Exception):  # noqa: N818 - internal signal, never leaves this module
    """The server's bytes are not an HTTP/1.1 answer."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; reads one answer per request."""

    __slots__ = (
        "_body",
        "_buffer",
        "_chunked",
        "_head",
        "_last_read",
        "_length",
        "_loop",
        "_timer",
        "_to_close",
        "_waiter",
        "endpoint",
        "idle_since",
        "lost",
        "transport",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, endpoint: str) -> None:
        self._loop = loop
        self.endpoint = endpoint
        self._timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._head: tuple[int, str, dict[str, str]] | None = None
        self._length: int | None = None
        self._chunked = False
        self._to_close = False
        self._body = bytearray()
        self._last_read = 0.0
        self.idle_since = 0.0

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._last_read = self._loop.time()
        if self._waiter is None:  # bytes nobody asked for: the connection is unusable
            self.lost = True
            if self.transport is not None:
                self.transport.close()
            return
        self._buffer += data
        try:
            answer = self._parse()
        except _BadAnswer as exc:
            self.close()
            self._fail(ConnectionClosedError(endpoint_url=self.endpoint, error=exc))
            return
        if answer is not None:
            waiter, self._waiter = self._waiter, None
            if not waiter.done():
                waiter.set_result(answer)

    def eof_received(self) -> bool:
        self.lost = True
        head, waiter = self._head, self._waiter
        if waiter is not None and head is not None and self._length is None and not self._chunked:
            # An answer delimited by the end of the connection: it is complete now.
            self._waiter = None
            if not waiter.done():
                waiter.set_result((*head, bytes(self._buffer)))
            return False
        self._fail(ConnectionClosedError(endpoint_url=self.endpoint, error=_CLOSED_BY_SERVER))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        reason = exc or _CLOSED_BY_SERVER
        self._fail(ConnectionClosedError(endpoint_url=self.endpoint, error=reason))

    # --- requests -----------------------------------------------------------------------

    async def exchange(self, payload: bytes, read_timeout: float) -> Answer:
        """Send ``payload`` and read its answer; ``read_timeout`` between reads."""
        if self.lost or self.transport is None:
            raise ConnectionClosedError(endpoint_url=self.endpoint, error=_CLOSED_BY_SERVER)
        waiter: asyncio.Future[Answer] = self._loop.create_future()
        self._waiter = waiter
        self._head, self._length, self._chunked, self._to_close = None, None, False, False
        self._buffer.clear()
        self._body.clear()
        self._last_read = self._loop.time()
        self.transport.write(payload)
        self._timer = self._loop.call_at(
            self._last_read + read_timeout, self._check_read, read_timeout
        )
        try:
            answer = await waiter
        finally:
            self._waiter = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self._to_close:
            self.close()
        return answer

    def _check_read(self, read_timeout: float) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        now = self._loop.time()
        transport = self.transport
        if transport is not None and transport.get_write_buffer_size() > 0:
            # Still sending a large body: the server is reading it, so the wait for its
            # answer has not begun.
            self._last_read = now
        due = self._last_read + read_timeout
        if now < due:
            self._timer = self._loop.call_at(due, self._check_read, read_timeout)
            return
        self._timer = None
        self._waiter = None
        self.lost = True
        if self.transport is not None:
            self.transport.abort()
        error = f"no bytes from the server for {read_timeout} s"
        waiter.set_exception(ReadTimeoutError(endpoint_url=self.endpoint, error=error))

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    # --- parsing ------------------------------------------------------------------------

    def _parse(self) -> Answer | None:
        buffer = self._buffer
        while self._head is None:
            end = buffer.find(_HEADERS_END)
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    msg = "the answer's head is too long"
                    raise _BadAnswer(msg)
                return None
            self._head = self._read_head(bytes(buffer[:end]))
            del buffer[: end + 4]
            if _INTERIM <= self._head[0] < _INTERIM + 100:  # 1xx: the answer follows
                self._head, self._length, self._chunked, self._to_close = None, None, False, False
        if self._chunked:
            return self._read_chunks()
        if self._length is None:
            return None  # to the end of the connection
        if len(buffer) < self._length:
            return None
        if len(buffer) > self._length:  # bytes beyond the answer: do not reuse
            self._to_close = True
        status, reason, headers = self._head
        return status, reason, headers, bytes(buffer[: self._length])

    def _read_head(self, head: bytes) -> tuple[int, str, dict[str, str]]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():  # noqa: PLR2004
            msg = f"not an HTTP/1.x status line: {lines[0][:80]!r}"
            raise _BadAnswer(msg)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                msg = "a header line without a colon"
                raise _BadAnswer(msg)
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._chunked = True
        elif "content-length" in headers:
            try:
                self._length = int(headers["content-length"])
            except ValueError:
                msg = "a Content-Length that is not a number"
                raise _BadAnswer(msg) from None
        else:
            self._to_close = True
        if headers.get("connection", "").lower() == "close" or parts[0] == "HTTP/1.0":
            self._to_close = True
        return int(parts[1]), parts[2] if len(parts) > 2 else "", headers  # noqa: PLR2004

    def _read_chunks(self) -> Answer | None:
        buffer, body = self._buffer, self._body
        while True:
            end = buffer.find(_CRLF)
            if end < 0:
                return None
            size_text = bytes(buffer[:end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                msg = "a chunk size that is not hexadecimal"
                raise _BadAnswer(msg) from None
            if size == 0:
                trailer_end = buffer.find(_HEADERS_END, end)
                if trailer_end < 0 and not buffer.startswith(_CRLF, end + 2):
                    return None
                status, reason, headers = self._head  # type: ignore[misc]
                return status, reason, headers, bytes(body)
            if len(buffer) < end + 2 + size + 2:
                return None
            body += buffer[end + 2 : end + 2 + size]
            del buffer[: end + 2 + size + 2]


class HttpPool:
    """Keep-alive connections to one endpoint, at most ``limit`` at once."""

    def __init__(
        self,
        url: URL,
        *,
        limit: int,
        connect_timeout: float,
        read_timeout: float,
        ssl_context: ssl.SSLContext | None,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self._host = url.host or ""
        self._idle_timeout = idle_timeout
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._closed = False
        # The Host header is the one the signature covers.
        host = host_header(str(url))
        self._start = f"POST {url.raw_path or '/'} HTTP/1.1\r\nHost: {host}\r\n".encode("latin-1")
        self._endpoint = str(url)

    async def post(self, headers: dict[str, str], body: bytes) -> Answer:
        """``(status, reason, headers, body)`` of one POST; botocore's errors on failure."""
        lines = [self._start]
        for name, value in headers.items():
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
        lines.append(body)
        payload = b"".join(lines)
        async with self._slots:
            connection = await self._connection()
            try:
                answer = await connection.exchange(payload, self._read_timeout)
            except BaseException:
                self._open.discard(connection)
                connection.close()
                raise
            if connection.lost or self._closed:
                self._open.discard(connection)
                connection.close()
            else:
                connection.idle_since = asyncio.get_running_loop().time()
                self._idle.append(connection)
            return answer

    async def _connection(self) -> _Connection:
        idle = self._idle
        oldest = asyncio.get_running_loop().time() - self._idle_timeout
        while idle:
            connection = idle.pop()
            if not connection.lost and connection.idle_since >= oldest:
                return connection
            self._open.discard(connection)
            connection.close()
        return await self._connect()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        endpoint = self._endpoint
        connection = _Connection(loop, endpoint)
        try:
            async with asyncio.timeout(self._connect_timeout):
                await loop.create_connection(
                    lambda: connection,
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                )
        except ssl.SSLError as exc:
            raise SSLError(endpoint_url=endpoint, error=exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(endpoint_url=endpoint, error=exc) from exc
        except (OSError, socket.gaierror) as exc:
            raise EndpointConnectionError(endpoint_url=endpoint, error=exc) from exc
        transport = connection.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._open.add(connection)
        return connection

    def close(self) -> None:
        """Close every connection; the pool takes no more requests after."""
        self._closed = True
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()

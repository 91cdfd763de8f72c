"""The lean path's HTTP/1.1 client against a byte-level scripted server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from yarl import URL

from lvrgd_common.services._dynamodb.transport.http11 import HttpPool
from lvrgd_common.services._dynamodb.transport.signing import host_header
from lvrgd_common.testing import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.GetItem",
}


def ok(body: bytes, *extra: str) -> bytes:
    """A 200 answer with a Content-Length."""
    head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", "x-amz-crc32: 1", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class RawServer:
    """Reads each request (head and Content-Length body) and writes the next script step.

    A step is the answer's bytes, or a callable that takes the connection's writer and
    does something else (writes in pieces, waits, closes).
    """

    steps: list[bytes | Callable[[asyncio.StreamWriter], object]] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                step = self.steps.pop(0) if self.steps else ok(b"{}")
                if callable(step):
                    result = step(writer)
                    if asyncio.iscoroutine(result):
                        await result
                else:
                    writer.write(step)
                    await writer.drain()
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            self.open_now -= 1
            writer.close()


@contextlib.asynccontextmanager
async def raw_server() -> AsyncIterator[RawServer]:
    script = RawServer(port=free_port())
    server = await asyncio.start_server(script.handle, "127.0.0.1", script.port)
    async with server:
        yield script


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    async with raw_server() as script:
        yield script


def pool(port: int, *, limit: int = 10, read_timeout: float = 5.0) -> HttpPool:
    return HttpPool(
        URL(f"http://127.0.0.1:{port}/"),
        limit=limit,
        connect_timeout=2.0,
        read_timeout=read_timeout,
        ssl_context=None,
    )


async def test_a_post_is_one_http11_request_with_its_headers_and_body(server: RawServer) -> None:
    client = pool(server.port)
    server.steps.append(ok(b'{"Item": {}}', "x-amzn-RequestId: R1"))
    status, reason, headers, body = await client.post(HEADERS, b'{"TableName": "t"}')
    client.close()
    assert (status, reason, body) == (200, "OK", b'{"Item": {}}')
    assert headers["x-amzn-requestid"] == "R1"  # names lower-cased, values as sent
    request = server.requests[0]
    assert request.startswith(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % server.port)
    assert b"X-Amz-Target: DynamoDB_20120810.GetItem\r\n" in request
    assert request.endswith(b'Content-Length: 18\r\n\r\n{"TableName": "t"}')


async def test_a_connection_is_kept_alive_and_reused(server: RawServer) -> None:
    client = pool(server.port)
    for _ in range(5):
        await client.post(HEADERS, b"{}")
    client.close()
    assert len(server.requests) == 5
    assert server.connections == 1


async def test_at_most_limit_connections_are_open_at_once(server: RawServer) -> None:
    async def slow(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(ok(b"{}"))

    server.steps.extend([slow] * 12)
    client = pool(server.port, limit=3)
    await asyncio.gather(*(client.post(HEADERS, b"{}") for _ in range(12)))
    client.close()
    assert len(server.requests) == 12
    assert server.most_open == 3


async def test_a_chunked_answer_is_read_whole(server: RawServer) -> None:
    async def chunked(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b'{"a":\r\n3\r\n 1}\r\n0\r\n\r\n')

    server.steps.extend([chunked, ok(b"second")])
    client = pool(server.port)
    assert (await client.post(HEADERS, b"{}"))[3] == b'{"a": 1}'
    # The connection is still in step with the server: the next answer is the next one.
    assert (await client.post(HEADERS, b"{}"))[3] == b"second"
    client.close()
    assert server.connections == 1


async def test_an_answer_in_pieces_is_put_together(server: RawServer) -> None:
    answer = ok(b'{"Items": [1, 2, 3]}')

    async def in_pieces(writer: asyncio.StreamWriter) -> None:
        for index in range(0, len(answer), 7):
            writer.write(answer[index : index + 7])
            await writer.drain()
            await asyncio.sleep(0.001)

    server.steps.append(in_pieces)
    client = pool(server.port)
    assert (await client.post(HEADERS, b"{}"))[3] == b'{"Items": [1, 2, 3]}'
    client.close()


async def test_an_answer_without_length_ends_with_the_connection(server: RawServer) -> None:
    def to_the_end(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\noops")
        writer.close()

    server.steps.append(to_the_end)
    client = pool(server.port)
    status, reason, _, body = await client.post(HEADERS, b"{}")
    assert (status, reason, body) == (500, "Internal Server Error", b"oops")
    await client.post(HEADERS, b"{}")  # on a new connection
    client.close()
    assert server.connections == 2


async def test_connection_close_is_honoured(server: RawServer) -> None:
    server.steps.append(ok(b"{}", "Connection: close"))
    client = pool(server.port)
    await client.post(HEADERS, b"{}")
    await client.post(HEADERS, b"{}")
    client.close()
    assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_not_reused(server: RawServer) -> None:
    def answer_then_close(writer: asyncio.StreamWriter) -> None:
        writer.write(ok(b"{}"))  # keep-alive by its headers, closed right after
        writer.close()

    server.steps.append(answer_then_close)
    client = pool(server.port)
    await client.post(HEADERS, b"{}")
    # The server closed its side along with the answer; a few loop turns later (whatever
    # the machine's load: the loop waits for the socket, not for a time) the client knows.
    await asyncio.sleep(0.05)
    assert (await client.post(HEADERS, b"{}"))[0] == 200
    client.close()
    assert server.connections == 2


async def test_a_server_that_closes_before_answering_is_connection_closed(
    server: RawServer,
) -> None:
    server.steps.append(lambda writer: writer.close())
    client = pool(server.port)
    with pytest.raises(ConnectionClosedError, match=str(server.port)):
        await client.post(HEADERS, b"{}")
    assert (await client.post(HEADERS, b"{}"))[0] == 200  # the next request reconnects
    client.close()


async def test_a_server_that_dies_mid_answer_is_connection_closed(server: RawServer) -> None:
    def half(writer: asyncio.StreamWriter) -> None:
        writer.write(ok(b'{"Items": [1, 2, 3]}')[:-5])
        writer.close()

    server.steps.append(half)
    client = pool(server.port)
    with pytest.raises(ConnectionClosedError):
        await client.post(HEADERS, b"{}")
    client.close()


@pytest.mark.parametrize(
    "garbage",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["not-http", "bad-status", "bad-header", "bad-length", "bad-chunk"],
)
async def test_bytes_that_are_not_an_http_answer_are_connection_closed(
    server: RawServer, garbage: bytes
) -> None:
    server.steps.append(garbage)
    client = pool(server.port)
    with pytest.raises(ConnectionClosedError):
        await client.post(HEADERS, b"{}")
    assert (await client.post(HEADERS, b"{}"))[0] == 200  # not on the spoiled connection
    client.close()
    assert server.connections == 2


async def test_a_server_that_hangs_is_a_read_timeout(server: RawServer) -> None:
    async def hang(_writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)

    server.steps.append(hang)
    client = pool(server.port, read_timeout=0.2)
    with pytest.raises(ReadTimeoutError):
        await client.post(HEADERS, b"{}")
    client.close()


async def test_the_read_timeout_is_between_reads_not_for_the_whole_answer(
    server: RawServer,
) -> None:
    answer = ok(b"x" * 40)

    async def trickle(writer: asyncio.StreamWriter) -> None:
        for index in range(0, len(answer), 12):  # 8 pieces, 0.3 s apart: 2.4 s in all
            writer.write(answer[index : index + 12])
            await writer.drain()
            await asyncio.sleep(0.3)

    server.steps.append(trickle)
    # Over the whole answer's 2.4 s, but never 1.5 s without a byte.
    client = pool(server.port, read_timeout=1.5)
    assert (await client.post(HEADERS, b"{}"))[3] == b"x" * 40
    client.close()


async def test_nobody_listening_is_an_endpoint_connection_error() -> None:
    client = pool(free_port())
    with pytest.raises(EndpointConnectionError, match=r"127\.0\.0\.1"):
        await client.post(HEADERS, b"{}")
    client.close()


async def test_a_connect_that_never_completes_is_a_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()

    async def never(*_args: object, **_kwargs: object) -> None:
        await asyncio.sleep(10)

    monkeypatch.setattr(loop, "create_connection", never)
    client = HttpPool(
        URL("http://dynamodb.example:81/"),
        limit=1,
        connect_timeout=0.2,
        read_timeout=1.0,
        ssl_context=None,
    )
    with pytest.raises(ConnectTimeoutError, match=r"dynamodb\.example"):
        await client.post(HEADERS, b"{}")
    client.close()


async def test_close_closes_every_connection(server: RawServer) -> None:
    client = pool(server.port)
    await asyncio.gather(*(client.post(HEADERS, b"{}") for _ in range(3)))
    assert server.open_now >= 1
    client.close()
    for _ in range(1000):  # up to 10 s on a busy machine
        if server.open_now == 0:
            break
        await asyncio.sleep(0.01)
    assert server.open_now == 0


async def test_a_cancelled_request_does_not_leave_its_connection_for_the_next(
    server: RawServer,
) -> None:
    received = asyncio.Event()

    async def late(writer: asyncio.StreamWriter) -> None:
        received.set()
        await asyncio.sleep(0.3)
        writer.write(ok(b"late"))

    server.steps.extend([late, ok(b"next")])
    client = pool(server.port)
    first = asyncio.ensure_future(client.post(HEADERS, b"{}"))
    await received.wait()  # the request is at the server, its answer not yet sent
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    # Had the connection gone back to the pool, this would read the late answer.
    assert (await client.post(HEADERS, b"{}"))[3] == b"next"
    client.close()
    assert server.connections == 2


async def test_bytes_beyond_an_answer_spoil_its_connection(server: RawServer) -> None:
    server.steps.extend([ok(b"{}") + b"HTTP/1.1 200 OK\r\n", ok(b"fresh")])
    client = pool(server.port)
    await client.post(HEADERS, b"{}")
    # The stray bytes belong to no request: the next one goes on a new connection.
    assert (await client.post(HEADERS, b"{}"))[3] == b"fresh"
    client.close()
    assert server.connections == 2


def self_signed(directory: Path) -> Path:
    """A certificate and key for 127.0.0.1, in one PEM file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = directory / "server.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pem


async def test_https_verifies_the_servers_certificate(tmp_path: Path) -> None:
    pem = self_signed(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(pem)
    script = RawServer(port=free_port())
    server = await asyncio.start_server(script.handle, "127.0.0.1", script.port, ssl=server_side)
    url = URL(f"https://127.0.0.1:{script.port}/")
    async with server:
        trusting = HttpPool(
            url,
            limit=2,
            connect_timeout=2.0,
            read_timeout=2.0,
            ssl_context=ssl.create_default_context(cafile=str(pem)),
        )
        script.steps.append(ok(b"over tls"))
        assert (await trusting.post(HEADERS, b"{}"))[3] == b"over tls"
        trusting.close()
        # The same server, but a client that does not trust its certificate.
        doubting = HttpPool(
            url,
            limit=2,
            connect_timeout=2.0,
            read_timeout=2.0,
            ssl_context=ssl.create_default_context(),
        )
        with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            await doubting.post(HEADERS, b"{}")
        doubting.close()
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://dynamodb.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com"),
        ("https://dynamodb.eu-west-1.amazonaws.com:443/", "dynamodb.eu-west-1.amazonaws.com"),
        ("https://vpce.example:8443/", "vpce.example:8443"),
        ("http://localhost:80/", "localhost"),
        ("http://[::1]:8000/", "[::1]:8000"),
    ],
)
def test_the_host_header_leaves_out_the_schemes_default_port(url: str, host: str) -> None:
    # What the pool sends and what the signature covers, from the one function.
    assert host_header(url) == host


async def test_an_interim_1xx_answer_is_skipped(server: RawServer) -> None:
    server.steps.append(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"final"))
    client = pool(server.port)
    status, _, _, body = await client.post(HEADERS, b"{}")
    client.close()
    assert (status, body) == (200, b"final")


async def test_a_large_body_still_being_sent_is_not_a_read_timeout() -> None:
    script = RawServer(port=free_port())

    async def late_reader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The server takes its time before reading: the body (larger than the kernel's
        # socket buffers) is still being sent, and the read timeout has not begun.
        await asyncio.sleep(1.5)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        writer.write(ok(b"stored"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(late_reader, "127.0.0.1", script.port)
    async with server:
        client = pool(script.port, read_timeout=0.6)
        assert (await client.post(HEADERS, b"x" * (48 << 20)))[3] == b"stored"
        client.close()

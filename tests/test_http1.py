"""The keep-alive HTTP/1.1 pool against real servers on loopback (TCP and TLS)."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.http1 import KeepAlivePool, split_url

Reply = Callable[[bytes], list[bytes]]  # request head -> the chunks to send back (b"" closes)


@dataclass
class Server:
    url: str
    accepted: int = 0
    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


class _Handler(asyncio.Protocol):
    def __init__(self, server: Server, reply: Reply) -> None:
        self.server, self.reply, self.buffer = server, reply, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.accepted += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, rest = self.buffer.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.server.heads.append(head)
            self.server.bodies.append(rest[:length])
            asyncio.get_running_loop().create_task(self._answer(head))

    async def _answer(self, head: bytes) -> None:
        assert self.transport is not None
        for chunk in self.reply(head):
            if chunk == b"":
                self.transport.close()
                return
            if chunk == b"PAUSE":
                await asyncio.sleep(0.3)
                continue
            self.transport.write(chunk)


def ok(body: bytes = b'{"ok":true,"result":true}', extra: bytes = b"") -> list[bytes]:
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%s"
            b"Content-Length: %d\r\n\r\n%s" % (extra, len(body), body)]


async def serve(reply: Reply, tls: ssl.SSLContext | None = None) -> tuple[Server, asyncio.Server]:
    server = Server("")
    listening = await asyncio.get_running_loop().create_server(
        lambda: _Handler(server, reply), "127.0.0.1", 0, ssl=tls)
    port = listening.sockets[0].getsockname()[1]
    server.url = f"{'https' if tls else 'http'}://{'localhost' if tls else '127.0.0.1'}:{port}"
    return server, listening


@pytest.fixture
async def pool() -> AsyncIterator[KeepAlivePool]:
    pool = KeepAlivePool("test/1", max_idle=8)
    yield pool
    await pool.close()


async def test_a_call_round_trips_and_its_connection_is_reused(pool: KeepAlivePool) -> None:
    server, listening = await serve(lambda head: ok())
    try:
        for n in range(5):
            status, body = await pool.request(
                "POST", f"{server.url}/bot1:X/getMe?n={n}", b"a=1&b=%E7%BA%A2",
                "application/x-www-form-urlencoded", connect=1, read=1)
            assert (status, body) == (200, b'{"ok":true,"result":true}')
        assert server.accepted == 1
        assert server.heads[0].split(b"\r\n")[0] == b"POST /bot1:X/getMe?n=0 HTTP/1.1"
        assert b"Content-Type: application/x-www-form-urlencoded" in server.heads[0]
        assert server.bodies == [b"a=1&b=%E7%BA%A2"] * 5
        assert pool.connections == 1
    finally:
        listening.close()


async def test_a_chunked_body_in_pieces(pool: KeepAlivePool) -> None:
    def chunked(head: bytes) -> list[bytes]:
        return [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                b"PAUSE", b"6;x=y\r\n world\r\n0\r\n\r\n"]

    server, listening = await serve(chunked)
    try:
        assert await pool.request("GET", f"{server.url}/f", None, None,
                                  connect=1, read=1) == (200, b"hello world")
        assert await pool.request("GET", f"{server.url}/f", None, None,
                                  connect=1, read=1) == (200, b"hello world")
        assert server.accepted == 1
    finally:
        listening.close()


async def test_connection_close_and_a_body_ended_by_close(pool: KeepAlivePool) -> None:
    replies = iter([ok(extra=b"Connection: close\r\n"),
                    [b"HTTP/1.0 500 Oops\r\n\r\n{\"ok\":false}", b""],
                    ok()])
    server, listening = await serve(lambda head: next(replies))
    try:
        assert (await pool.request("GET", f"{server.url}/a", None, None, connect=1, read=1))[0] == 200
        assert await pool.request("GET", f"{server.url}/b", None, None,
                                  connect=1, read=1) == (500, b'{"ok":false}')
        assert (await pool.request("GET", f"{server.url}/c", None, None, connect=1, read=1))[0] == 200
        assert server.accepted == 3
    finally:
        listening.close()


async def test_a_connection_the_server_closed_while_idle_is_not_used(pool: KeepAlivePool) -> None:
    replies = iter([ok() + [b""], ok()])  # answers, then closes the idle connection
    server, listening = await serve(lambda head: next(replies))
    try:
        assert (await pool.request("GET", f"{server.url}/a", None, None, connect=1, read=1))[0] == 200
        await asyncio.sleep(0.05)
        assert (await pool.request("GET", f"{server.url}/b", None, None, connect=1, read=1))[0] == 200
        assert server.accepted == 2
    finally:
        listening.close()


async def test_a_server_that_stops_mid_response_times_out(pool: KeepAlivePool) -> None:
    server, listening = await serve(
        lambda head: [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"])
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await pool.request("GET", f"{server.url}/a", None, None, connect=1, read=0.2)
        assert loop.time() - started < 5
        assert pool.connections == 0  # a spoilt connection is not reused
    finally:
        listening.close()


async def test_a_closed_connection_mid_response_is_an_os_error(pool: KeepAlivePool) -> None:
    server, listening = await serve(
        lambda head: [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", b""])
    try:
        with pytest.raises(ConnectionError):
            await pool.request("GET", f"{server.url}/a", None, None, connect=1, read=1)
    finally:
        listening.close()


async def test_idle_connections_are_bounded() -> None:
    pool = KeepAlivePool("test/1", max_idle=3)
    server, listening = await serve(lambda head: ok())
    try:
        await asyncio.gather(*(pool.request("GET", f"{server.url}/{n}", None, None,
                                            connect=1, read=1) for n in range(20)))
        assert pool.connections <= 3
        await pool.close()
        assert pool.connections == 0
    finally:
        listening.close()


async def test_tls(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    server, listening = await serve(lambda head: ok(), tls=served)
    pool = KeepAlivePool("test/1", max_idle=2, tls=trusting)
    try:
        assert (await pool.request("POST", f"{server.url}/bot1:X/getMe", b"{}",
                                   "application/json", connect=2, read=2))[0] == 200
        assert b"Host: localhost:" in server.heads[0]
        with pytest.raises(ssl.SSLError):  # the system's roots do not trust it
            await KeepAlivePool("test/1", max_idle=1).request(
                "GET", f"{server.url}/x", None, None, connect=2, read=2)
    finally:
        await pool.close()
        listening.close()


def test_urls() -> None:
    origin, target = split_url("https://api.telegram.org/bot1:X/getMe?x=1")
    assert (origin.host, origin.port, origin.tls, target) == (
        "api.telegram.org", 443, True, "/bot1:X/getMe?x=1")
    with pytest.raises(ValueError):
        split_url("ftp://example.org/")

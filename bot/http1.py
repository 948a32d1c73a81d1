"""Keep-alive HTTP/1.1 connections for the Bot API calls that carry no file.

A crowd's presses are answered by thousands of small POSTs to one host, and
aiohttp's ``ClientSession`` spends ~0.5 ms of CPU on each (headers,
cookies, tracing, payload registry, timers), ~40 % of what a whole press
costs the bot (``docs/benchmarks.md``). A Bot API call needs little of it:
one request line, four headers, a body; a response with a status and a
``Content-Length`` (or chunked) JSON body. This pool does just that on
asyncio's own transports (TLS included), at about a quarter of the cost.

What it does not do it leaves to aiohttp (``bot.request.AiohttpRequest``
decides): uploads (multipart), proxies.

Limits: a connection carries one request at a time; the caller bounds the
requests in flight (so the connections, busy or idle, never outnumber that
bound); idle connections are reused newest first and dropped after
``IDLE_SECONDS`` (a server closes idle connections too, and a request on a
connection the server is closing would fail); a response head is at most
``MAX_HEAD`` bytes and a body at most ``MAX_BODY``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ConnectionClosed", "KeepAlivePool", "ResponseTooLarge"]

IDLE_SECONDS = 15.0  # aiohttp's keep-alive default
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024  # a getFile download may be large; Telegram's limit is 20 MB
MAX_HEADS = 256  # request heads remembered: one per Bot API method the bot calls


class ConnectionClosed(ConnectionError):
    """The server closed the connection before the whole response arrived."""


class ResponseTooLarge(ConnectionError):
    """A response beyond ``MAX_HEAD``/``MAX_BODY``: not the Bot API talking."""


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


def split_url(url: str) -> tuple[Origin, str]:
    """``https://api.telegram.org/bot1:X/getMe?x=1`` -> (origin, ``/bot1:X/getMe?x=1``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {parts.scheme}://…")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(parts.scheme, parts.hostname, port), target


class _Response:
    """The parser of one response, fed the connection's bytes as they come."""

    __slots__ = ("status", "keep_alive", "_length", "_chunked", "_body", "_head_done")

    def __init__(self) -> None:
        self.status = 0
        self.keep_alive = True
        self._length: int | None = None
        self._chunked = False
        self._body = bytearray()
        self._head_done = False

    def feed(self, buffer: bytearray) -> bytes | None:
        """The body once complete (consumed from ``buffer``); None while more is due."""
        if not self._head_done and not self._head(buffer):
            return None
        if self._chunked:
            return self._chunks(buffer)
        if self._length is None:
            return None  # until the server closes (HTTP/1.0 style)
        if len(buffer) < self._length:
            return None
        body = bytes(buffer[: self._length])
        del buffer[: self._length]
        return body

    def at_close(self, buffer: bytearray) -> bytes | None:
        """A body delimited by the close of the connection, when that is how it ends."""
        if self._head_done and self._length is None and not self._chunked:
            self.keep_alive = False
            body = bytes(buffer)
            buffer.clear()
            return body
        return None

    def _head(self, buffer: bytearray) -> bool:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD:
                raise ResponseTooLarge("response head too large")
            return False
        lines = bytes(buffer[:end]).split(b"\r\n")
        del buffer[: end + 4]
        version, _, rest = lines[0].partition(b" ")
        self.status = int(rest[:3])
        if 100 <= self.status < 200:  # an interim response: the real one follows
            return self._head(buffer)
        connection = b""
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                self._length = int(value)
                if self._length > MAX_BODY:
                    raise ResponseTooLarge("response body too large")
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self._chunked = True
            elif name == b"connection":
                connection = value.strip().lower()
        if self._chunked:
            self._length = None
        self.keep_alive = (
            connection != b"close" if version == b"HTTP/1.1" else connection == b"keep-alive"
        )
        if self.status in (204, 304):
            self._length = 0
        self._head_done = True
        return True

    def _chunks(self, buffer: bytearray) -> bytes | None:
        while True:
            end = buffer.find(b"\r\n")
            if end < 0:
                return None
            size = int(bytes(buffer[:end]).split(b";")[0], 16)
            if size == 0:
                trailer_end = buffer.find(b"\r\n\r\n", end)
                if buffer[end + 2 : end + 4] == b"\r\n":
                    del buffer[: end + 4]
                elif trailer_end >= 0:
                    del buffer[: trailer_end + 4]
                else:
                    return None
                return bytes(self._body)
            if len(buffer) < end + 2 + size + 2:
                return None
            self._body += buffer[end + 2 : end + 2 + size]
            if len(self._body) > MAX_BODY:
                raise ResponseTooLarge("response body too large")
            del buffer[: end + 2 + size + 2]


class _Connection(asyncio.Protocol):
    __slots__ = ("transport", "idle_since", "_buffer", "_waiter", "_response", "_timer",
                 "_read", "_closed")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._response: _Response | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._read: float | None = None
        self._closed = False

    @property
    def usable(self) -> bool:
        return (
            not self._closed and self.transport is not None and not self.transport.is_closing()
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter, response = self._waiter, self._response
        if waiter is None or response is None or waiter.done():
            return
        try:
            body = response.feed(self._buffer)
        except (ValueError, ResponseTooLarge) as error:
            waiter.set_exception(ConnectionError(f"bad response: {error}"))
            self.close()
            return
        if body is not None:
            self._waiter = self._response = None
            waiter.set_result((response.status, body, response.keep_alive))
        elif self._timer is not None and self._read is not None:  # read: between bytes
            self._timer.cancel()
            self._timer = asyncio.get_running_loop().call_later(
                self._read, _time_out, waiter)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        waiter, response = self._waiter, self._response
        self._waiter = self._response = None
        if waiter is None or waiter.done():
            return
        body = response.at_close(self._buffer) if response is not None else None
        if body is not None and response is not None:
            waiter.set_result((response.status, body, False))
        else:
            waiter.set_exception(ConnectionClosed("server closed the connection"))

    def close(self) -> None:
        self._closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, read: float | None) -> tuple[int, bytes, bool]:
        assert self.transport is not None and self._waiter is None
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        self._response = _Response()
        self._read = read
        self.transport.write(request)
        # A timer handle, not asyncio.timeout(): the same deadline at half the cost,
        # which counts at one answer per press.
        self._timer = None if read is None else loop.call_later(read, _time_out, waiter)
        try:
            return await waiter
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._waiter is waiter:  # timed out or cancelled: the connection is spoilt
                self._waiter = self._response = None
                self.close()


def _time_out(waiter: asyncio.Future[tuple[int, bytes, bool]]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no response within the read timeout"))


class KeepAlivePool:
    """Connections per origin, reused; the caller bounds the requests in flight."""

    def __init__(
        self, user_agent: str, max_idle: int, tls: ssl.SSLContext | None = None
    ) -> None:
        self._agent = user_agent.encode()
        self._max_idle = max_idle
        self._idle: dict[Origin, list[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._tls = tls  # the system's trusted roots unless given
        self._heads: dict[tuple[str, str], tuple[Origin, bytes]] = {}

    @property
    def connections(self) -> int:
        """Connections open now, busy or idle."""
        return len(self._all)

    async def request(
        self, method: str, url: str, body: bytes | None, content_type: str | None, *,
        connect: float | None, read: float | None,
    ) -> tuple[int, bytes]:
        """One exchange: ``TimeoutError`` for a timeout, ``OSError`` for the rest."""
        origin, head = self._heads.get((method, url)) or self._head_for(method, url)
        connection = self._reuse(origin) or await self._connect(origin, connect)
        if body is not None:
            head += b"Content-Type: %s\r\nContent-Length: %d\r\n" % (
                (content_type or "application/octet-stream").encode(), len(body))
        try:
            status, payload, keep_alive = await connection.exchange(
                head + b"\r\n" + (body or b""), read)
        except BaseException:
            self._forget(connection)
            raise
        self._give_back(origin, connection, keep_alive)
        return status, payload

    def _head_for(self, method: str, url: str) -> tuple[Origin, bytes]:
        """The request line and fixed headers of a call, made once per method and URL."""
        origin, target = split_url(url)
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n" % (
            method.encode(), target.encode(), _host_header(origin), self._agent)
        if len(self._heads) >= MAX_HEADS:
            self._heads.clear()
        self._heads[(method, url)] = (origin, head)
        return origin, head

    def _reuse(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.usable and now - connection.idle_since < IDLE_SECONDS:
                return connection
            self._forget(connection)
        return None

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if origin.tls else None
        async with asyncio.timeout(timeout):
            _, connection = await loop.create_connection(
                _Connection, origin.host, origin.port, ssl=tls,
                server_hostname=origin.host if tls else None,
            )
        self._all.add(connection)
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _give_back(self, origin: Origin, connection: _Connection, keep_alive: bool) -> None:
        idle = self._idle.setdefault(origin, [])
        if not keep_alive or not connection.usable or len(idle) >= self._max_idle:
            self._forget(connection)
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    def _forget(self, connection: _Connection) -> None:
        self._all.discard(connection)
        connection.close()

    async def close(self) -> None:
        """Close every connection, idle or busy (a busy request then fails)."""
        connections, self._all, self._idle = self._all, set(), {}
        for connection in connections:
            connection.close()
        await asyncio.sleep(0)  # let the transports run their close callbacks


def _host_header(origin: Origin) -> bytes:
    default = 443 if origin.tls else 80
    host = f"[{origin.host}]".encode() if ":" in origin.host else origin.host.encode("idna")
    return host if origin.port == default else b"%s:%d" % (host, origin.port)

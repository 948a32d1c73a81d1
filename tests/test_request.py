"""The bot's HTTP client against real HTTP servers on loopback.

Error behaviour is checked on PTB's own ``HTTPXRequest`` too: ours must raise
what it raises, where it raises it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.loopback_api import free_port
from bot.answering import answer_parameters
from bot.request import AiohttpRequest

CLIENTS: dict[str, Callable[..., BaseRequest]] = {"aiohttp": AiohttpRequest, "httpx": HTTPXRequest}


@dataclass
class Echo:
    """An aiohttp server that answers every POST with what it received."""

    url: str
    bodies: list[bytes] = field(default_factory=list)


@pytest.fixture
async def echo() -> AsyncIterator[Echo]:
    received: list[bytes] = []

    async def handle(request: web.Request) -> web.Response:
        raw = b"" if request.content_type == "multipart/form-data" else await request.read()
        received.append(raw)
        delay = float(request.query.get("delay", 0))
        if delay:
            await asyncio.sleep(delay)
        if request.path.endswith("/blob"):
            return web.Response(body=_BLOB, content_type="application/octet-stream")
        reply: dict[str, Any] = {"content_type": request.content_type,
                                 "user_agent": request.headers.get("User-Agent", "")}
        if request.content_type == "multipart/form-data":
            form = await request.post()
            files = {name: {"filename": value.filename, "content_type": value.content_type,
                            "sha256": hashlib.sha256(value.file.read()).hexdigest()}
                     for name, value in form.items() if isinstance(value, web.FileField)}
            fields = {name: value for name, value in form.items() if isinstance(value, str)}
            reply.update(files=files, fields=fields)
        else:
            reply["raw"] = raw.decode()
        return web.json_response({"ok": True, "result": reply})

    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Echo(f"http://127.0.0.1:{port}", received)
    await runner.cleanup()


_BLOB = os.urandom(700_000)


class _Counting(asyncio.Protocol):
    """A bare HTTP/1.1 keep-alive server that counts its open connections."""

    open: set[_Counting]
    answer: bool
    seen: list[bytes]

    def __init__(self, open_: set[_Counting], answer: bool, seen: list[bytes]) -> None:
        self.open, self.answer, self.seen, self.buffer = open_, answer, seen, b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.open.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, rest = self.buffer.split(b"\r\n\r\n", 1)
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.seen.append(head.split(b"\r\n")[0])
            if self.answer:
                body = b'{"ok":true,"result":true}'
                self.transport.write(  # type: ignore[attr-defined]
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


@dataclass
class Raw:
    url: str
    open: set[_Counting]
    seen: list[bytes]


async def _raw_server(answer: bool) -> tuple[Raw, asyncio.AbstractServer]:
    open_: set[_Counting] = set()
    seen: list[bytes] = []
    server = await asyncio.get_running_loop().create_server(
        lambda: _Counting(open_, answer, seen), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return Raw(f"http://127.0.0.1:{port}", open_, seen), server


def _data(**params: Any) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in params.items()])


async def test_a_form_call_round_trips_byte_for_byte(echo: Echo) -> None:
    data = _data(chat_id=-100123, text="红包 <b>¥1.00</b> & more=yes",
                 reply_markup={"inline_keyboard": [[{"text": "Open", "callback_data": "o:x"}]]})
    async with AiohttpRequest() as request:
        result = await request.post(f"{echo.url}/bot1:X/sendMessage", data)
        status, blob = await request.do_request(f"{echo.url}/blob", "POST")
    assert echo.bodies[0] == urlencode(data.json_parameters).encode()
    assert result["raw"] == urlencode(data.json_parameters)
    assert result["content_type"] == "application/x-www-form-urlencoded"
    assert result["user_agent"] == BaseRequest.USER_AGENT
    assert (status, blob) == (200, _BLOB)


async def test_a_press_answer_form_goes_out_as_encoded(echo: Echo) -> None:
    form = answer_parameters("4242", "🧧 你抢到 ¥1.00 & more=yes +1", True)
    async with AiohttpRequest() as request:
        result = await request.post(f"{echo.url}/bot1:X/answerCallbackQuery", form)
    assert echo.bodies == [form.body] and result["raw"] == form.body.decode()
    assert result["content_type"] == "application/x-www-form-urlencoded"


async def test_a_press_answer_form_through_a_proxy() -> None:
    raw, server = await _raw_server(answer=True)
    try:
        async with AiohttpRequest(proxy=raw.url) as request:
            form = answer_parameters("4242", "红包 ¥1.00", False)
            assert await request.post(
                "http://api.telegram.invalid/bot1:X/answerCallbackQuery", form) is True
        assert raw.seen == [b"POST http://api.telegram.invalid/bot1:X/answerCallbackQuery HTTP/1.1"]
    finally:
        server.close()


async def test_a_photo_upload_round_trips_byte_for_byte(echo: Echo) -> None:
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(300_000)
    async with AiohttpRequest() as ours, HTTPXRequest() as theirs:
        # PTB's own multipart parameters, sent by each client, parsed by the server
        results = []
        for request in (ours, theirs):
            data = _data(chat_id=-100, caption="stats 📊", photo=_input_file(png))
            results.append(await request.post(f"{echo.url}/bot1:X/sendPhoto", data))
    for result in results:
        assert result["content_type"] == "multipart/form-data"
        (upload,) = result["files"].values()
        assert upload["sha256"] == hashlib.sha256(png).hexdigest()
        assert upload["content_type"] == "image/png"
        assert result["fields"]["caption"] == "stats 📊" and result["fields"]["chat_id"] == "-100"


def _input_file(content: bytes) -> Any:
    from telegram import InputFile

    return InputFile(content, filename="stats.png", attach=True)


async def test_json_payload_through_the_bot(echo: Echo) -> None:
    async with AiohttpRequest() as request:
        bot = Bot("1:X", base_url=f"{echo.url}/bot", request=request)
        result = await bot._post("sendMessage", {"chat_id": 5, "text": "hi"})
    assert json.loads(json.dumps(result))["raw"] == "chat_id=5&text=hi"


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_refused_connection_is_a_network_error(client: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/bot1:X/getMe"  # nothing listens there
    async with CLIENTS[client]() as request:
        with pytest.raises(NetworkError) as raised:
            await request.post(url)
    assert not isinstance(raised.value, TimedOut)


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_server_that_never_answers_times_out(client: str) -> None:
    raw, server = await _raw_server(answer=False)
    try:
        async with CLIENTS[client](read_timeout=0.3) as request:
            with pytest.raises(TimedOut):
                # the guard only keeps a hang from blocking the suite
                await asyncio.wait_for(request.post(f"{raw.url}/bot1:X/getMe"), 30)
            with pytest.raises(TimedOut):  # a per-call read timeout wins over the default
                await asyncio.wait_for(
                    request.post(f"{raw.url}/bot1:X/getMe", read_timeout=0.2), 30)
    finally:
        server.close()


@pytest.mark.parametrize("client", CLIENTS)
async def test_per_call_timeouts_override_the_defaults(client: str, echo: Echo) -> None:
    async with CLIENTS[client](read_timeout=0.05) as request:
        with pytest.raises(TimedOut):
            await request.post(f"{echo.url}/bot1:X/getMe?delay=0.5")
        assert await request.post(f"{echo.url}/bot1:X/getMe?delay=0.5", read_timeout=10)
        assert await request.post(f"{echo.url}/bot1:X/getMe?delay=0.5", read_timeout=None)


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_full_pool_times_out_with_the_pool_message(client: str, echo: Echo) -> None:
    async with CLIENTS[client](connection_pool_size=1, pool_timeout=0.1) as request:
        slow = asyncio.ensure_future(request.post(f"{echo.url}/bot1:X/getMe?delay=1"))
        await asyncio.sleep(0.2)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await request.post(f"{echo.url}/bot1:X/getMe")
        assert await slow


@pytest.mark.parametrize("client", CLIENTS)
async def test_after_shutdown_a_request_is_refused_until_initialized(
    client: str, echo: Echo
) -> None:
    request = CLIENTS[client]()
    await request.initialize()
    await request.shutdown()
    await request.shutdown()  # twice is fine
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{echo.url}/bot1:X/getMe", "POST")
    await request.initialize()
    assert await request.post(f"{echo.url}/bot1:X/getMe")
    await request.shutdown()


async def test_shutdown_closes_every_connection() -> None:
    raw, server = await _raw_server(answer=True)
    try:
        request = AiohttpRequest(connection_pool_size=64, pool_timeout=None)
        await request.initialize()
        await asyncio.gather(*(request.post(f"{raw.url}/bot1:X/getMe") for _ in range(200)))
        assert len(raw.open) > 1  # kept alive, several in parallel
        await request.shutdown()
        for _ in range(200):
            if not raw.open:
                break
            await asyncio.sleep(0.01)
        assert not raw.open
    finally:
        server.close()


async def test_an_http_proxy_carries_the_request() -> None:
    raw, server = await _raw_server(answer=True)
    try:
        async with AiohttpRequest(proxy=raw.url) as request:
            assert await request.post("http://api.telegram.invalid/bot1:X/getMe") is True
        assert raw.seen == [b"POST http://api.telegram.invalid/bot1:X/getMe HTTP/1.1"]
    finally:
        server.close()


async def test_two_thousand_concurrent_calls_all_complete(echo: Echo) -> None:
    async with AiohttpRequest(connection_pool_size=256, pool_timeout=None) as request:
        results = await asyncio.gather(*(
            request.post(f"{echo.url}/bot1:X/answerCallbackQuery",
                         _data(callback_query_id=str(i)))
            for i in range(2000)
        ))
    assert sorted(r["raw"] for r in results) == sorted(
        f"callback_query_id={i}" for i in range(2000))


def test_the_standalone_bot_uses_it_and_a_host_keeps_its_own(tmp_path: Any) -> None:
    from telegram.ext import Application

    from bot.app import build_application, install
    from bot.settings import load_settings

    settings = load_settings(env_file=None, telegram_bot_token="123:ABC",
                             database_url=f"sqlite:///{tmp_path / 'a.db'}",
                             telegram_proxy_url="http://127.0.0.1:3128")
    standalone = build_application(settings)
    calls, updates = standalone.bot._request[1], standalone.bot._request[0]
    assert isinstance(calls, AiohttpRequest) and isinstance(updates, AiohttpRequest)
    assert calls is not updates and updates.connection_pool_size == 1
    assert calls._proxy == "http://127.0.0.1:3128"

    host = Application.builder().token("123:ABC").build()
    install(host, settings)
    assert all(isinstance(r, HTTPXRequest) for r in host.bot._request)


def test_a_proxy_url_must_be_http() -> None:
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="TELEGRAM_PROXY_URL must be empty or an http"):
        load_settings(env_file=None, telegram_proxy_url="socks5://user:secret@host:1080")
    try:
        load_settings(env_file=None, telegram_proxy_url="socks5://user:secret@host:1080")
    except SettingsError as error:
        assert "secret" not in str(error)

"""The loopback Bot API behaves like Telegram where our bot and tests depend on it."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, NetworkError, RetryAfter
from telegram.request import HTTPXRequest

from bot.loopback_api import LoopbackHandle, free_port, serve_in_process, serve_in_thread

TOKEN = "123456:ABCdef"


@pytest.fixture
def api() -> Iterator[LoopbackHandle]:
    handle = serve_in_thread(token=TOKEN)
    yield handle
    handle.stop()


def _bot(api: LoopbackHandle) -> Bot:
    return Bot(TOKEN, base_url=api.api_base_url,
               request=HTTPXRequest(connection_pool_size=8),
               get_updates_request=HTTPXRequest(read_timeout=10))


def _press(query_id: str, chat_id: int = -100, message_id: int = 1) -> dict[str, Any]:
    user = {"id": 7, "is_bot": False, "first_name": "Bo"}
    return {"callback_query": {
        "id": query_id, "from": user, "chat_instance": "ci", "data": "x",
        "message": {"message_id": message_id, "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "supergroup", "title": "g"}},
    }}


async def test_messages_grow_edits_refuse_no_change_and_calls_are_recorded(
    api: LoopbackHandle,
) -> None:
    async with _bot(api) as bot:
        assert (await bot.get_me()).username == "rp_bot"
        first = await bot.send_message(-100, "hello")
        second = await bot.send_message(-100, "again",
                                        reply_markup=InlineKeyboardMarkup(
                                            [[InlineKeyboardButton("Open", callback_data="o:1")]]))
        assert (first.message_id, second.message_id) == (1, 2)
        assert second.chat.type == "supergroup" and second.date.year >= 2024
        edited = await bot.edit_message_text("changed", chat_id=-100, message_id=1)
        assert edited.text == "changed"
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("changed", chat_id=-100, message_id=1)
        with pytest.raises(BadRequest, match="not found"):
            await bot.edit_message_text("x", chat_id=-100, message_id=99)
        assert await bot.delete_message(-100, 2)
    calls = api.control.calls("sendMessage")
    assert [c["params"]["text"] for c in calls] == ["hello", "again"]
    markup = calls[1]["params"]["reply_markup"]
    assert markup["inline_keyboard"][0][0]["callback_data"] == "o:1"
    (message,) = [m for m in api.control.messages(-100) if m["message_id"] == 1]
    assert message["text"] == "changed" and message["edits"] == 1


async def test_a_query_is_answered_once_and_only_when_delivered(api: LoopbackHandle) -> None:
    api.control.enqueue(_press("q1"))
    async with _bot(api) as bot:
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query("never-delivered")
        assert await bot.answer_callback_query("q1", text="You got ¥1.00", show_alert=True)
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query("q1", text="again")
    answers = api.control.answers()
    assert [(a["id"], a["text"], a["show_alert"]) for a in answers["answers"]] == [
        ("q1", "You got ¥1.00", True)]
    assert answers["answers"][0]["answered_at"] >= answers["answers"][0]["available_at"]
    assert api.control.answer_counts() == (1, 0)


async def test_answer_counts_follow_the_queries(api: LoopbackHandle) -> None:
    api.control.enqueue(_press("a"), _press("b"))
    api.control.allow_queries(["c"])
    assert api.control.answer_counts() == (0, 3)
    async with _bot(api) as bot:
        assert await bot.answer_callback_query("a")
        assert await bot.answer_callback_query("c", text="x")
    assert api.control.answer_counts() == (2, 1)
    api.control.allow_queries(["a"])  # the same id delivered again: waits for its answer
    assert api.control.answer_counts() == (1, 2)
    api.control.reset()
    assert api.control.answer_counts() == (0, 0)


async def test_unconfirmed_updates_are_delivered_again_to_a_restarted_poller(
    api: LoopbackHandle,
) -> None:
    api.control.enqueue(_press("a"), _press("b"), _press("c"))
    async with _bot(api) as bot:
        first = await bot.get_updates(timeout=0)
        assert [u.callback_query.id for u in first] == ["a", "b", "c"]
        # confirms a only; b and c were fetched but not confirmed
        again = await bot.get_updates(offset=first[1].update_id, timeout=0)
    assert [u.callback_query.id for u in again] == ["b", "c"]
    async with _bot(api) as restarted:
        assert [u.callback_query.id for u in await restarted.get_updates(timeout=0)] == ["b", "c"]
        waiting = asyncio.ensure_future(
            restarted.get_updates(offset=again[-1].update_id + 1, timeout=5))
        await asyncio.sleep(0.3)
        api.control.enqueue(_press("d"))
        late = await waiting
        assert [u.callback_query.id for u in late] == ["d"]  # long polling returns on arrival
    assert api.control.state()["pending_updates"] == 1


async def test_a_second_poller_ends_the_first_with_conflict(api: LoopbackHandle) -> None:
    async with _bot(api) as one, _bot(api) as two:
        older = asyncio.ensure_future(one.get_updates(timeout=5))
        await asyncio.sleep(0.3)
        newer = asyncio.ensure_future(two.get_updates(timeout=1))
        with pytest.raises(Conflict):
            await older
        assert await newer == ()


async def test_faults_429_5xx_drop_and_latency_then_normal(api: LoopbackHandle) -> None:
    control = api.control
    control.fault("sendMessage", "429", retry_after=3)
    control.fault("sendMessage", "5xx", status=502)
    control.fault("sendMessage", "drop")
    control.fault("getMe", "latency", seconds=0.5)
    async with _bot(api) as bot:
        with pytest.raises(RetryAfter) as too_many:
            await bot.send_message(1, "x")
        assert too_many.value.retry_after in (3, dt.timedelta(seconds=3))
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(1, "x")
        with pytest.raises(NetworkError):
            await bot.send_message(1, "x")
        assert (await bot.send_message(1, "now")).text == "now"
    statuses = [c["status"] for c in control.calls("sendMessage")]
    assert statuses == [429, 502, 0, 200]
    assert [c.get("fault") for c in control.calls("getMe")] == ["latency"]  # Bot.initialize


async def test_photos_are_taken_as_multipart(api: LoopbackHandle) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    async with _bot(api) as bot:
        sent = await bot.send_photo(-100, png, caption="stats")
    assert sent.photo and sent.caption == "stats"
    (call,) = api.control.calls("sendPhoto")
    assert call["files"][0]["sha256"] == hashlib.sha256(png).hexdigest()
    assert call["files"][0]["size"] == len(png)


async def test_a_wrong_token_is_unauthorized(api: LoopbackHandle) -> None:
    from telegram.error import InvalidToken

    bot = Bot("1:WRONG", base_url=api.api_base_url)
    with pytest.raises(InvalidToken):
        await bot.get_me()


async def test_a_webhook_gets_updates_pushed_with_its_secret() -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    failures = {"left": 1}

    async def hook(request: web.Request) -> web.Response:
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)  # pushed again later
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    api = serve_in_process(token=TOKEN)
    try:
        api.control.deliver_webhook_to(f"http://127.0.0.1:{port}/hook")
        async with _bot(api) as bot:
            await bot.set_webhook("https://example.invalid/hook", secret_token="s3")
            with pytest.raises(Conflict):
                await bot.get_updates(timeout=0)
            api.control.enqueue(_press("w1"))
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.05)
            assert received and received[0][0] == "s3"
            assert received[0][1]["callback_query"]["id"] == "w1"
            assert api.control.state()["pending_updates"] == 0
            await bot.delete_webhook()
            assert await bot.get_updates(timeout=0) == ()
    finally:
        api.stop()
        await runner.cleanup()

"""bot/ratelimit.py through the real Application and the recording request: a chat's
edits go before its other messages, 429s are waited out, queues are bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.app import build_application, start, stop
from bot.ratelimit import Overloaded, PriorityRateLimiter
from tests.conftest import FakeClock
from tests.telegram.bot_harness import GROUP_ID, bot_settings
from tests.telegram.fake_telegram import RecordingRequest


@asynccontextmanager
async def limited_app(tmp_path: Path, limiter: PriorityRateLimiter,
                      req: RecordingRequest) -> AsyncIterator[Any]:
    app = build_application(bot_settings(tmp_path), request=req, clock=FakeClock(),
                            rate_limiter=limiter)
    async with app:
        await start(app)
        try:
            yield app
        finally:
            await stop(app)


async def queued(limiter: PriorityRateLimiter, chat_id: int, n: int) -> None:
    """Until ``n`` calls wait for ``chat_id`` (each needs a few event-loop turns to get there)."""
    while len(getattr(limiter._chats.get(chat_id), "waiting", [])) < n:
        await asyncio.sleep(0.01)


def sent_texts(req: RecordingRequest) -> list[tuple[str, str]]:
    return [(c.method, str(c.params.get("text"))) for c in req.calls
            if c.method in ("sendMessage", "editMessageText")]


async def test_the_packet_edit_goes_before_error_replies_waiting_in_the_same_chat(
    tmp_path: Path,
) -> None:
    req = RecordingRequest()
    limiter = PriorityRateLimiter(group_limit=1, group_seconds=1.0)
    async with limited_app(tmp_path, limiter, req) as app:
        packet = await app.bot.send_message(GROUP_ID, "packet: 0/3 taken")
        replies = [asyncio.ensure_future(app.bot.send_message(GROUP_ID, f"error {n}"))
                   for n in range(3)]
        await queued(limiter, GROUP_ID, 3)  # the replies are queued first
        final = app.bot.edit_message_text("packet: 3/3 taken", GROUP_ID, packet.message_id)
        await asyncio.gather(final, *replies)
    assert sent_texts(req) == [
        ("sendMessage", "packet: 0/3 taken"), ("editMessageText", "packet: 3/3 taken"),
        ("sendMessage", "error 0"), ("sendMessage", "error 1"), ("sendMessage", "error 2"),
    ]


async def test_a_429_pauses_the_chat_and_the_call_is_tried_again(tmp_path: Path) -> None:
    req = RecordingRequest()
    async with limited_app(tmp_path, PriorityRateLimiter(), req) as app:
        packet = await app.bot.send_message(GROUP_ID, "packet")
        req.fail_next("editMessageText", 429, "Too Many Requests: retry after 1", retry_after=1)
        await app.bot.edit_message_text("final", GROUP_ID, packet.message_id)
    assert [code for _, code, _ in req.errors] == [429]
    assert [c.params["text"] for c in req.calls if c.method == "editMessageText"] == [
        "final", "final"]
    assert req.message(GROUP_ID, packet.message_id)["text"] == "final"


async def test_waiting_is_bounded_and_calls_outside_chats_are_not_held(tmp_path: Path) -> None:
    req = RecordingRequest()
    limiter = PriorityRateLimiter(group_limit=1, group_seconds=3600, max_waiting=2)
    async with limited_app(tmp_path, limiter, req) as app:
        await app.bot.send_message(GROUP_ID, "the chat's budget is spent")
        waiting = [asyncio.ensure_future(app.bot.send_message(GROUP_ID, f"w{n}"))
                   for n in range(2)]
        await queued(limiter, GROUP_ID, 2)
        try:
            await app.bot.send_message(GROUP_ID, "one too many")
        except Overloaded:
            pass
        else:
            raise AssertionError("a third waiting message was accepted")
        # Other chats and non-message calls go on.
        await app.bot.send_message(-100555, "another group")
        await app.bot.get_chat_member(GROUP_ID, 1)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        assert limiter._chats[GROUP_ID].waiting == []  # cancelled calls leave the queue
    assert ("sendMessage", "one too many") not in sent_texts(req)
    assert ("sendMessage", "another group") in sent_texts(req)

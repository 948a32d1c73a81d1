"""/shake through the real PTB Application and the recording fake Telegram."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

import bot.app as app_module
from bot.app import build_application
from bot.context import BotContext, bot_context, start, stop
from bot.handlers import shake as shake_feature
from bot.settings import load_settings
from core.packets import Member
from core.shake_service import ShakeService
from tests.conftest import FakeClock, RedisServer, assert_audit_clean, free_port
from tests.telegram.bot_harness import database_url
from tests.telegram.fake_telegram import RecordingRequest, UpdateFactory

GROUP = -1_001_000_000_777
ADMIN = {"id": 4242, "is_bot": False, "first_name": "Ada", "language_code": "en"}
NOBODY = {"id": 5151, "is_bot": False, "first_name": "Nob", "language_code": "en"}
AnyApp = Any


class Lucky(random.Random):
    def random(self) -> float:
        return 0.0


def member(i: int, lang: str = "en") -> dict[str, Any]:
    return {"id": 10_000 + i, "is_bot": False, "first_name": f"M{i}", "language_code": lang}


@pytest.fixture(autouse=True)
def only_shake(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shake feature alone: these tests must not depend on the others' handlers.
    monkeypatch.setattr(app_module, "FEATURES", [shake_feature])


def make_app(req: RecordingRequest, db: str, clock: FakeClock, redis_url: str,
             bot_admins: str = "") -> AnyApp:
    """The bot on database URL ``db`` (``database_url``: the test's engine)."""
    settings = load_settings(
        env_file=None, telegram_bot_token="123:ABC", redis_url=redis_url, database_url=db,
        bot_admin_ids=bot_admins, shake_interval_seconds=0, shake_max_wins=1,
        welcome_bonus="0", expiry_sweep_seconds=30,
    )
    return build_application(settings, request=req, clock=clock, rate_limiter=False)


@pytest.fixture
def redis_url(redis_server: RedisServer | None) -> str:
    return redis_server.url if redis_server is not None else ""


@pytest.fixture
async def app(
    recording_request: RecordingRequest, tmp_path: Path, clock: FakeClock, redis_url: str
) -> AsyncIterator[AnyApp]:
    application = make_app(recording_request, database_url(tmp_path, "bot.db"), clock, redis_url)
    async with application:
        ctx = await start(application)
        assert ctx.engine is not None and ctx.engine.gate is not None
        await ctx.engine.gate.client.flushdb()
        shakes(application).rng = Lucky()
        await ctx.store.credit(Member(ADMIN["id"], "Ada"), 1_000_00, kind="grant", key="g",
                               memo="", now_ms=1)
        yield application
        await stop(application)


def shakes(application: AnyApp) -> ShakeService:
    engine = bot_context(application).engine
    assert engine is not None and engine.shake is not None
    return engine.shake


async def send(application: AnyApp, raw: dict[str, Any]) -> None:
    await application.process_update(Update.de_json(raw, application.bot))


async def drain(application: AnyApp) -> None:
    await bot_context(application).drain()


def replies(req: RecordingRequest) -> list[str]:
    return [str(p["text"]) for p in req.calls_of("sendMessage", chat_id=GROUP)]


async def start_campaign(application: AnyApp, req: RecordingRequest, updates: UpdateFactory,
                         text: str = "/shake start 100 20 10m") -> tuple[str, int]:
    req.set_member(GROUP, ADMIN["id"], "administrator")
    await send(application, updates.command(updates.group(id=GROUP), ADMIN, text))
    sent = req.last("sendMessage", chat_id=GROUP)
    button = sent["reply_markup"]
    data = (button if isinstance(button, dict) else button.to_dict())["inline_keyboard"][0][0][
        "callback_data"
    ]
    message_id = max(mid for (chat, mid) in req.messages if chat == GROUP)
    return data, message_id


@pytest.mark.on_postgres
async def test_the_whole_campaign_through_telegram(
    app: AnyApp, recording_request: RecordingRequest, updates: UpdateFactory
) -> None:
    req, group = recording_request, updates.group(id=GROUP)
    ctx: BotContext = bot_context(app)

    await send(app, updates.command(group, NOBODY, "/shake start 100 20"))
    assert "Only chat admins and bot admins" in replies(req)[-1]
    assert await shakes(app).status(GROUP) is None

    data, message_id = await start_campaign(app, req, updates)
    assert data.startswith("sk:") and len(data.encode()) <= 64
    assert "Prizes left: 20/20" in req.plain_text(GROUP, message_id)
    assert await ctx.store.balance(ADMIN["id"]) == 900_00

    await send(app, updates.command(group, ADMIN, "/shake start 50 10"))
    assert "already running" in replies(req)[-1]
    await send(app, updates.command(group, NOBODY, "/shake stop"))
    assert "Only chat admins" in replies(req)[-1]

    # Four presses win: the figure is edited at 18 and 16 only, not on every win.
    req.clear()
    for i in range(4):
        await send(app, updates.callback(group, member(i), message_id, data))
        await drain(app)
    answers = req.calls_of("answerCallbackQuery")
    assert len(answers) == 4 and all(a.get("show_alert") for a in answers)
    assert all("You won ¥" in str(a["text"]) for a in answers)
    edits = req.calls_of("editMessageText", chat_id=GROUP)
    assert len(edits) == 2
    assert "Prizes left: 16/20" in req.plain_text(GROUP, message_id)

    # A second press by a winner, a typed /shake, and a forged button.
    await send(app, updates.callback(group, member(0), message_id, data))
    assert "most anyone can" in str(req.calls_of("answerCallbackQuery")[-1]["text"])
    await send(app, updates.command(group, member(9), "/shake"))
    assert "M9 shook and won ¥" in replies(req)[-1]
    other = updates.group(id=GROUP - 1)
    await send(app, updates.callback(other, member(8), message_id, data))
    assert "no longer valid" in str(req.calls_of("answerCallbackQuery")[-1]["text"])
    await send(app, updates.callback(group, member(8), message_id, "sk:not-an-id"))
    assert "no longer valid" in str(req.calls_of("answerCallbackQuery")[-1]["text"])

    await send(app, updates.command(group, member(3), "/shake status"))
    assert "15/20 prizes left" in replies(req)[-1]

    # The end: the message lists the winners and the refund; the funder is told.
    await send(app, updates.command(group, ADMIN, "/shake stop"))
    await drain(app)
    final = req.plain_text(GROUP, message_id)
    assert "Shake campaign stopped" in final and "5 of 20 prizes won" in final
    for i in (0, 1, 2, 3, 9):
        assert f"M{i} — ¥" in final
    wins = await shakes(app).wins(data[3:])
    refund = 100_00 - sum(w.amount for w in wins)
    assert "went back to Ada" in final and f"¥{refund // 100}.{refund % 100:02d}" in final
    assert not req.buttons(GROUP, message_id)
    notice = req.last("sendMessage", chat_id=ADMIN["id"])
    assert "Your shake campaign is over" in str(notice["text"])
    assert await ctx.store.balance(ADMIN["id"]) == 900_00 + refund
    assert not req.errors

    await assert_audit_clean(ctx.packets)
    assert (await shakes(app).audit(repair=False)).ok


async def test_the_last_prize_ends_the_campaign_and_a_403_funder_is_skipped(
    app: AnyApp, recording_request: RecordingRequest, updates: UpdateFactory
) -> None:
    req, group = recording_request, updates.group(id=GROUP)
    req.never_started(ADMIN["id"])
    data, message_id = await start_campaign(app, req, updates, "/shake start 30 3 bounded")
    await asyncio.gather(
        *(send(app, updates.callback(group, member(i), message_id, data)) for i in range(6))
    )
    await drain(app)
    texts = [str(a["text"]) for a in req.calls_of("answerCallbackQuery")]
    assert sum("You won" in t for t in texts) == 3
    assert sum("over" in t for t in texts) == 3
    final = req.plain_text(GROUP, message_id)
    assert "every prize was won" in final and "3 of 3 prizes won" in final
    assert [e for e in req.errors if e[1] == 403]  # the notice was refused, quietly
    ctx = bot_context(app)
    await assert_audit_clean(ctx.packets)
    assert (await shakes(app).audit(repair=False)).ok


@pytest.mark.on_postgres
async def test_a_campaign_survives_a_restart_and_ends_on_time(
    recording_request: RecordingRequest, updates: UpdateFactory, tmp_path: Path,
    clock: FakeClock, redis_url: str,
) -> None:
    req, db = recording_request, database_url(tmp_path, "restart.db")
    first = make_app(req, db, clock, redis_url)
    async with first:
        ctx = await start(first)
        assert ctx.engine is not None and ctx.engine.gate is not None
        await ctx.engine.gate.client.flushdb()
        await ctx.store.credit(Member(ADMIN["id"], "Ada"), 100_00, kind="grant", key="g",
                               memo="", now_ms=1)
        data, message_id = await start_campaign(first, req, updates, "/shake start 40 5 2m")
        await stop(first)

    clock.advance(121)  # the bot was down when the time ran out
    second = make_app(req, db, clock, redis_url)
    async with second:
        ctx = await start(second)  # the start-up sweep ends it from the database
        await drain(second)
        final = req.plain_text(GROUP, message_id)
        assert "time is up" in final and "Nobody won" in final and "¥40.00 went back" in final
        assert await ctx.store.balance(ADMIN["id"]) == 100_00
        await send(second, updates.callback(updates.group(id=GROUP), member(1), message_id, data))
        assert "over" in str(req.calls_of("answerCallbackQuery")[-1]["text"])
        await assert_audit_clean(ctx.packets)
        await stop(second)


async def test_overload_answers_not_this_time(
    app: AnyApp, recording_request: RecordingRequest, updates: UpdateFactory
) -> None:
    req, group = recording_request, updates.group(id=GROUP)
    data, message_id = await start_campaign(app, req, updates)
    shakes(app).max_in_flight = 0
    await send(app, updates.callback(group, member(1), message_id, data))
    await send(app, updates.command(group, member(2), "/shake"))
    assert str(req.calls_of("answerCallbackQuery")[-1]["text"]) == "Not this time — shake again"
    assert replies(req)[-1] == "Not this time — shake again"
    assert (await shakes(app).status(GROUP)).won_count == 0  # type: ignore[union-attr]


async def test_redis_down_answers_not_this_time(
    recording_request: RecordingRequest, updates: UpdateFactory, tmp_path: Path, clock: FakeClock
) -> None:
    req, group = recording_request, updates.group(id=GROUP)
    dead = make_app(req, database_url(tmp_path, "down.db"), clock, f"redis://127.0.0.1:{free_port()}/0")
    async with dead:
        ctx = await start(dead)
        await ctx.store.credit(Member(ADMIN["id"], "Ada"), 100_00, kind="grant", key="g",
                               memo="", now_ms=1)
        data, message_id = await start_campaign(dead, req, updates)
        await send(dead, updates.callback(group, member(1), message_id, data))
        answer = req.calls_of("answerCallbackQuery")[-1]
        assert answer["text"] == "Not this time — shake again" and not answer.get("show_alert")
        await send(dead, updates.command(group, ADMIN, "/shake stop"))
        await drain(dead)
        assert await ctx.store.balance(ADMIN["id"]) == 100_00
        await assert_audit_clean(ctx.packets)
        await stop(dead)


async def test_bad_input_is_answered_in_the_members_language(
    app: AnyApp, recording_request: RecordingRequest, updates: UpdateFactory
) -> None:
    req, group = recording_request, updates.group(id=GROUP)
    req.set_member(GROUP, ADMIN["id"], "creator")
    admin_zh = {**ADMIN, "language_code": "zh-hans"}
    await send(app, updates.command(group, admin_zh, "/shake start 10 20"))
    assert "份奖品至少需要 ¥40.00" in replies(req)[-1]
    await send(app, updates.command(group, ADMIN, "/shake start 1.234 2"))
    assert "two decimals" in replies(req)[-1]
    await send(app, updates.command(group, ADMIN, "/shake start 100"))
    assert replies(req)[-1].startswith("Usage: /shake start POOL COUNT")
    await send(app, updates.command(group, ADMIN, "/shake start 99999999 2"))
    await send(app, updates.command(group, member(1), "/shake"))
    assert "No shake campaign is running here" in replies(req)[-1]
    await send(app, updates.private_command(member(1), "/shake"))
    assert "use /shake in a group chat" in str(req.last("sendMessage", chat_id=member(1)["id"])["text"])
    assert await shakes(app).status(GROUP) is None
    assert await bot_context(app).store.balance(ADMIN["id"]) == 1_000_00
    assert not req.errors


async def test_a_bot_admin_may_run_a_campaign_in_any_chat(
    recording_request: RecordingRequest, updates: UpdateFactory, tmp_path: Path,
    clock: FakeClock, redis_url: str,
) -> None:
    req, group = recording_request, updates.group(id=GROUP)
    application = make_app(req, database_url(tmp_path, "admins.db"), clock, redis_url, bot_admins=str(NOBODY["id"]))
    async with application:
        ctx = await start(application)
        assert ctx.engine is not None and ctx.engine.gate is not None
        await ctx.engine.gate.client.flushdb()
        await ctx.store.credit(Member(NOBODY["id"], "Nob"), 50_00, kind="grant", key="g",
                               memo="", now_ms=1)
        await send(application, updates.command(group, NOBODY, "/shake start 20 5"))
        assert (await shakes(application).status(GROUP)) is not None
        assert not req.calls_of("getChatMember")  # a bot admin needs no Telegram lookup
        await send(application, updates.command(group, NOBODY, "/shake stop"))
        await drain(application)
        assert await ctx.store.balance(NOBODY["id"]) == 50_00
        await assert_audit_clean(ctx.packets)
        await stop(application)

"""Plugin install, coalesced edits under flood limits, notices, menu, start-up and errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.app import bot_context, install, start, stop
from bot.settings import SettingsError
from tests.conftest import FakeClock
from tests.telegram.bot_harness import GROUP_ID, Bot, bot_settings, running_bot
from tests.telegram.fake_telegram import RecordingRequest, UpdateFactory, application_builder
from tests.telegram.test_bot_answers import send_packet


async def test_plugin_installs_beside_the_hosts_own_handlers(tmp_path: Path) -> None:
    req, updates, clock = RecordingRequest(), UpdateFactory(), FakeClock()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("host echo", parse_mode=None)

    async def host_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("host button")

    app = application_builder(req).build()
    app.add_handler(CommandHandler("echo", echo))
    install(app, bot_settings(tmp_path), clock=clock)
    app.add_handler(CallbackQueryHandler(host_button, pattern="^host:"))  # added after us
    group = updates.group(id=GROUP_ID)
    alice, bob = updates.user(1, "Alice"), updates.user(2, "Bob")

    async def process(raw: dict[str, Any]) -> None:
        await app.process_update(Update.de_json(raw, app.bot))
        await bot_context(app).drain()

    async with app:  # no run_polling: the first update opens the engine lazily
        await process(updates.command(group, alice, "/echo hi"))
        assert req.last("sendMessage")["text"] == "host echo"
        await process(updates.command(group, alice, "/hongbao 2 2"))
        draft = req.messages_in(GROUP_ID)[-1]["message_id"]
        await process(updates.callback(group, alice, draft, "d:s"))
        (packet,) = await bot_context(app).store.all_packets()
        press = updates.callback(group, bob, draft, f"o:{packet.id}")
        await process(press)
        answers = req.calls_of("answerCallbackQuery", callback_query_id=press["callback_query"]["id"])
        assert len(answers) == 1 and answers[0]["text"].startswith("🧧 You got")
        # The host has no Defaults(parse_mode=HTML): our messages still say HTML.
        ours = [c for c in req.calls if c[0] in ("sendMessage", "editMessageText")
                and c[1].get("text") != "host echo"]
        assert ours and all(params.get("parse_mode") == "HTML" for _, params in ours)
        host = updates.callback(group, bob, draft, "host:1")
        await process(host)
        assert req.last("answerCallbackQuery")["text"] == "host button"
        await stop(app)
    assert bot_context(app).engine is None


@pytest.mark.on_postgres
async def test_busy_packet_edits_coalesce_and_the_final_edit_is_made(tmp_path: Path) -> None:
    async with running_bot(tmp_path, edit_interval_seconds=3600) as bot:
        alice = bot.updates.user(1, "Alice")
        packet_id, message_id = await send_packet(bot, alice, "/hongbao 30 30 busy")
        bot.req.clear()
        presses = [
            bot.updates.callback(bot.group, bot.updates.user(10 + i, f"M{i}"), message_id,
                                 f"o:{packet_id}")
            for i in range(40)
        ]
        await asyncio.gather(
            *(bot.app.process_update(Update.de_json(p, bot.app.bot)) for p in presses)
        )
        await bot.ctx.drain()
        edits = bot.req.calls_of("editMessageText", message_id=message_id)
        assert 1 <= len(edits) <= 2  # at most one per interval, plus the final one
        assert "30 shares, taken in" in bot.text(message_id)
        assert all(len(bot.req.calls_of("answerCallbackQuery", callback_query_id=p[
            "callback_query"]["id"])) == 1 for p in presses)
        await bot.audit()


async def test_429_waits_and_still_makes_the_final_edit(tmp_path: Path) -> None:
    req = RecordingRequest()
    async with running_bot(tmp_path, req=req) as bot:
        alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
        packet_id, message_id = await send_packet(bot, alice, "/fixed 1 1 flood")
        req.fail_next("editMessageText", 429, "Too Many Requests: retry after 1", retry_after=1)
        await bot.press(bob, message_id, f"o:{packet_id}")
        assert [code for _, code, _ in req.errors] == [429]
        assert bot.text(message_id).endswith("1 share, ¥1.00 in all")
        await bot.audit()


async def test_rate_limiter_build_and_not_modified_is_fine(tmp_path: Path) -> None:
    from bot.app import build_application

    req = RecordingRequest()
    app = build_application(bot_settings(tmp_path), request=req, clock=FakeClock(),
                            rate_limiter=True)  # the composition root's own limiter
    async with app:
        await start(app)
        ctx = bot_context(app)
        sent = await app.bot.send_message(GROUP_ID, "x")
        assert await ctx.editor.edit(GROUP_ID, sent.message_id, "y", None)
        assert await ctx.editor.edit(GROUP_ID, sent.message_id, "y", None)  # not modified
        assert [d for _, _, d in req.errors][-1].startswith("Bad Request: message is not modified")
        await stop(app)


async def test_notices_are_skipped_quietly_when_the_sender_never_started_the_bot(bot: Bot) -> None:
    alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
    bot.req.never_started(1)
    packet_id, message_id = await send_packet(bot, alice, "/hongbao 1 1 quiet")
    await bot.press(bob, message_id, f"o:{packet_id}")
    assert bot.ctx.notifier.skipped == 1 and bot.ctx.notifier.sent == 0
    assert bot.text(message_id).startswith("🧧 Alice sent a lucky red packet")
    assert await bot.balance(2) == 101_00
    await bot.audit()


async def test_menu_in_english_and_chinese_and_start_pays_the_welcome_bonus(bot: Bot) -> None:
    menus = bot.req.calls_of("setMyCommands")
    english = next(m for m in menus if "language_code" not in m)
    chinese = next(m for m in menus if m.get("language_code") == "zh")
    names = [c["command"] for c in english["commands"]]
    assert names[:3] == ["hongbao", "fixed", "help"]
    assert {"balance", "lang"} <= set(names) and len(names) == len(set(names))
    assert chinese["commands"][0] == {"command": "hongbao", "description": "发拼手气红包"}
    newcomer = bot.updates.user(7, "Nia")
    await bot.private(newcomer, "/start")
    text = bot.text(bot.last_bot_message(7)["message_id"], 7)
    assert text.startswith("🧧 Hi Nia!") and "🎁 You got a welcome bonus of ¥100.00." in text
    await bot.private(newcomer, "/start")
    assert "welcome bonus" not in bot.text(bot.last_bot_message(7)["message_id"], 7)
    assert await bot.balance(7) == 100_00
    await bot.private(newcomer, "/help")
    assert "/hongbao TOTAL COUNT" in bot.text(bot.last_bot_message(7)["message_id"], 7)
    await bot.audit()


async def test_handler_errors_are_answered_politely(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
    packet_id, message_id = await send_packet(bot, alice, "/hongbao 2 2")
    await bot.ctx.store.close()  # the database goes away under the bot
    answer = await bot.press(bob, message_id, f"o:{packet_id}")
    assert answer["text"] in {"Something went wrong — please try again.",
                              "Not this time — try again"}
    await bot.command(alice, "/balance")
    assert bot.text(bot.last_bot_message()["message_id"]) == (
        "Something went wrong — please try again."
    )
    await bot.ctx.store.open()


def test_runner_refuses_a_missing_token_in_one_line(tmp_path: Path) -> None:
    from bot.runner import run

    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN is empty"):
        run(bot_settings(tmp_path, telegram_bot_token=""))
    with pytest.raises(SettingsError, match="malformed"):
        run(bot_settings(tmp_path, telegram_bot_token="not a token"))


def test_token_is_redacted_from_logs() -> None:
    import logging

    from bot.runner import RedactToken

    record = logging.LogRecord("httpx", logging.WARNING, "", 0,
                               "POST https://api.telegram.org/bot%s/getMe", ("123:SECRET",), None)
    RedactToken("123:SECRET").filter(record)
    assert "SECRET" not in record.getMessage() and "<token>" in record.getMessage()


@pytest.mark.sqlite_only("about the token; the runner closes the event loop it ran on")
def test_runner_turns_a_refused_token_into_one_line(tmp_path: Path) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from bot.runner import run

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.dumps({"ok": False, "error_code": 401,
                               "description": "Unauthorized"}).encode()
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = bot_settings(
            tmp_path, telegram_bot_token="123:SECRETtoken",
            telegram_api_base_url=f"http://127.0.0.1:{server.server_port}/bot",
        )
        with pytest.raises(SettingsError, match="refused by Telegram") as refused:
            run(settings)
        assert "\n" not in str(refused.value) and "SECRET" not in str(refused.value)
    finally:
        server.shutdown()


async def test_help_names_every_command_of_the_menu_in_both_languages(bot: Bot) -> None:
    menus = bot.req.calls_of("setMyCommands")
    names = [c["command"] for c in next(m for m in menus if "language_code" not in m)["commands"]]
    for lang in ("en", "zh"):
        help_text = bot.ctx.text(lang, "help.text")
        missing = [name for name in names if f"/{name}" not in help_text and name != "help"]
        assert not missing, (lang, missing)

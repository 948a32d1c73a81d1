"""The packet message ends showing the truth: under 5xx and 429 runs, after a restart,
with two processes, and whatever happened to the response that posted a message."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from tests.conftest import FakeClock, RedisServer
from tests.telegram.bot_harness import GROUP_ID, Bot, running_bot
from tests.telegram.fake_telegram import JSON, RecordingRequest, TelegramReply
from tests.telegram.test_bot_answers import send_packet

NOT_FOUND = "Bad Request: message to edit not found"


def final_text(bot: Bot, message_id: int) -> bool:
    return "shares, ¥" in bot.text(message_id) or "shares, taken in" in bot.text(message_id)


async def row(bot: Bot, message_id: int) -> tuple[int, int, int]:
    return tuple(await bot.ctx.store.fetchone(
        "SELECT wanted, shown, gone FROM packet_messages WHERE chat_id = ? AND message_id = ?",
        (GROUP_ID, message_id),
    ))


async def test_the_final_edit_outlasts_5xx_answers_and_a_run_of_429s(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        alice, bob, carol = (bot.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"),
                                                                  (3, "Carol")))
        packet_id, message_id = await send_packet(bot, alice, "/fixed 1 2 storm")
        await bot.press(bob, message_id, f"o:{packet_id}")
        bot.req.fail_next("editMessageText", 502, "Bad Gateway", times=2)
        bot.req.fail_next("editMessageText", 500, "Internal Server Error")
        bot.req.fail_next("editMessageText", 429, "Too Many Requests: retry after 1",
                          retry_after=1, times=2)
        await bot.press(carol, message_id, f"o:{packet_id}")
        assert [code for _, code, _ in bot.req.errors] == [502, 502, 500, 429, 429]
        assert bot.text(message_id).endswith("2 shares, ¥2.00 in all")
        assert [label for label, _ in bot.buttons(message_id)] == ["Details"]
        wanted, shown, gone = await row(bot, message_id)
        assert shown == wanted and not gone
        await bot.audit()


@pytest.mark.on_postgres
async def test_a_message_telegram_says_is_gone_is_given_up_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as bot:
        alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
        packet_id, message_id = await send_packet(bot, alice, "/fixed 1 1 gone")
        bot.req.fail_next("editMessageText", 400, NOT_FOUND, times=50)
        with caplog.at_level(logging.INFO, logger="bot"):
            await bot.press(bob, message_id, f"o:{packet_id}")
            await bot.press(bot.updates.user(3, "Carol"), message_id, f"o:{packet_id}")
        edits = bot.req.calls_of("editMessageText", message_id=message_id)
        assert len(edits) == 2  # the draft turned into the packet, then the final: refused
        assert (await row(bot, message_id))[2] == 1
        gone = [r for r in caplog.records if "is gone" in r.getMessage()]
        assert len(gone) == 1 and gone[0].exc_info is None
        await bot.audit()


@pytest.mark.on_postgres
async def test_a_restart_makes_the_final_edit_the_last_run_could_not(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_bot(tmp_path, clock=clock) as bot:
        alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
        packet_id, message_id = await send_packet(bot, alice, "/hongbao 3 1 crash")
        bot.req.fail_next("editMessageText", 502, "Bad Gateway", times=1000)
        raw = bot.updates.callback(bot.group, bob, message_id, f"o:{packet_id}")
        await bot.app.process_update(Update.de_json(raw, bot.app.bot))
        await bot.ctx.editor.flush(timeout=0.3)  # the bot stops while Telegram is down
        assert not final_text(bot, message_id)
        wanted, shown, _ = await row(bot, message_id)
        assert shown < wanted  # the database knows the message is behind
    async with running_bot(tmp_path, clock=clock) as again:  # same database, Telegram back
        await again.ctx.drain()
        assert again.text(message_id).startswith("🧧 Alice sent a lucky red packet")
        assert "1 share, taken in" in again.text(message_id)
        wanted, shown, _ = await row(again, message_id)
        assert shown == wanted
        await again.audit()


@pytest.mark.on_postgres
async def test_a_press_on_a_finished_packet_whose_message_is_stale_edits_it(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        alice, bob, carol = (bot.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"),
                                                                  (3, "Carol")))
        packet_id, message_id = await send_packet(bot, alice, "/fixed 1 1 late")
        await bot.press(bob, message_id, f"o:{packet_id}")
        final = bot.text(message_id)
        # As a message left behind by a process that died mid-edit:
        bot.req.message(GROUP_ID, message_id)["text"] = "🧧 0/1 taken"
        await bot.ctx.store.write(lambda conn: conn.execute(
            "UPDATE packet_messages SET shown = wanted - 1"))
        slow = await bot.press(carol, message_id, f"o:{packet_id}")
        assert slow["text"] == "Too slow — all shares have been taken"
        assert bot.text(message_id) == final
        await bot.audit()


def _two_bots(tmp_path: Path, req: RecordingRequest, redis: RedisServer | None) -> Any:
    """Two bots on one database and one Redis, as two processes would be."""
    if redis is None:
        pytest.skip("two bots share a gate only through a real redis-server")
    clock = FakeClock()
    first = running_bot(tmp_path, req=req, clock=clock, redis_url=redis.url)
    second = running_bot(tmp_path, req=req, clock=clock, redis_url=redis.url)
    return first, second


@pytest.mark.on_postgres
async def test_two_processes_a_stale_edit_never_lands_after_the_final_one(
    tmp_path: Path, redis_server: RedisServer | None,
) -> None:
    req = RecordingRequest()
    first, second = _two_bots(tmp_path, req, redis_server)
    async with first as a, second as b:
        b.updates = a.updates  # one Telegram: one sequence of update and query ids
        alice, bob, carol = (a.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"),
                                                                (3, "Carol")))
        packet_id, message_id = await send_packet(a, alice, "/hongbao 2 2 race")
        req.fail_next("editMessageText", 429, "Too Many Requests: retry after 1", retry_after=1)
        # A takes a share and starts its edit ("1/2 taken"), which has to wait out a 429…
        press_a = a.updates.callback(a.group, bob, message_id, f"o:{packet_id}")
        await a.app.process_update(Update.de_json(press_a, a.app.bot))
        await asyncio.sleep(0.1)
        # … while B takes the last share.
        await b.press(carol, message_id, f"o:{packet_id}")
        await a.ctx.drain()
        await b.ctx.drain()
        texts = [c["text"] for c in req.calls_of("editMessageText", message_id=message_id)
                 if c is not None]
        finals = [i for i, t in enumerate(texts) if "2 shares, taken in" in t]
        assert finals, texts
        assert all("2 shares, taken in" in t for t in texts[finals[0]:]), texts
        assert "2 shares, taken in" in a.text(message_id)
        await a.audit()


@pytest.mark.on_postgres
async def test_after_send_again_in_one_process_the_other_takes_presses_on_the_new_message(
    tmp_path: Path, redis_server: RedisServer | None,
) -> None:
    req = RecordingRequest()
    first, second = _two_bots(tmp_path, req, redis_server)
    async with first as a, second as b:
        b.updates = a.updates
        alice, bob, carol = (a.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"),
                                                                (3, "Carol")))
        packet_id, old = await send_packet(a, alice, "/hongbao 3 3 moved")
        # B learns where the packet is (a press on the first message) …
        assert (await b.press(bob, old, f"o:{packet_id}"))["text"].startswith("🧧 You got")
        # … then A posts it again.
        await a.private(alice, f"/start p_{packet_id}")
        view = a.last_bot_message(1)["message_id"]
        done = await a.press(alice, view, f"r:{packet_id}", chat=a.updates.private_chat(alice))
        assert done["text"] == "Posted again in the group"
        new = a.last_bot_message()["message_id"]
        assert (await b.press(carol, new, f"o:{packet_id}"))["text"].startswith("🧧 You got")
        await a.audit()


def _lose_the_first_response(req: RecordingRequest, method: str = "sendMessage") -> list[JSON]:
    """The first ``method`` call is carried out, but its answer never arrives (a 502)."""
    served: list[JSON] = []
    original = req._served[method]

    def serve(params: JSON) -> Any:
        result = original(params)
        served.append(result)
        if len(served) == 1:
            raise TelegramReply(502, "Bad Gateway")
        return result

    req.serve(method, serve)
    return served


async def test_a_draft_whose_posting_response_was_lost_still_sends(tmp_path: Path) -> None:
    req = RecordingRequest()
    async with running_bot(tmp_path, req=req) as bot:
        alice = bot.updates.user(1, "Alice")
        posted = _lose_the_first_response(req)
        await bot.command(alice, "/hongbao 5 2 lost")
        assert len(posted) == 2  # tried again: the draft is in the chat twice
        ghost = posted[0]  # the copy the bot never heard of
        press = bot.updates.callback(
            bot.group, alice, ghost["message_id"], ghost["reply_markup"]["inline_keyboard"][1][0][
                "callback_data"], reply_markup=ghost["reply_markup"],
        )
        await bot.process(press)
        assert bot.answer_of(press)["text"] == "Sent!"
        (packet,) = await bot.ctx.store.all_packets()
        assert packet.message_id == ghost["message_id"]
        assert bot.text(ghost["message_id"]).startswith("🧧 Alice sent a lucky red packet")
        # The other copy is the same draft: pressing Send there sends nothing more.
        other = posted[1]
        again = await bot.press(alice, other["message_id"],
                                other["reply_markup"]["inline_keyboard"][1][0]["callback_data"])
        assert again["text"] == "This red packet was already sent."
        assert len(await bot.ctx.store.all_packets()) == 1
        await bot.audit()


async def test_a_forged_draft_button_on_another_message_is_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        alice = bot.updates.user(1, "Alice")
        command = await bot.command(alice, "/hongbao 5 2 mine")
        draft = bot.last_bot_message()["message_id"]
        data = bot.buttons(draft)[1][1]
        await bot.command(alice, "/hongbao 1 1 other")
        other = bot.last_bot_message()["message_id"]
        assert other != draft and command
        forged = await bot.press(alice, other, data)  # no such button on that message
        assert forged["text"] == "This draft is no longer valid: send the command again."
        assert await bot.ctx.store.all_packets() == []


async def test_a_packet_message_whose_response_was_lost_opens_and_ends_final(
    tmp_path: Path,
) -> None:
    req = RecordingRequest()
    async with running_bot(tmp_path, req=req) as bot:
        alice, bob, carol = (bot.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"),
                                                                  (3, "Carol")))
        packet_id, old = await send_packet(bot, alice, "/hongbao 2 2 ghost")
        await bot.private(alice, f"/start p_{packet_id}")
        view = bot.last_bot_message(1)["message_id"]
        posted = _lose_the_first_response(req)
        done = await bot.press(alice, view, f"r:{packet_id}", chat=bot.updates.private_chat(alice))
        assert done["text"] == "Posted again in the group"
        ghost = posted[0]
        press = bot.updates.callback(bot.group, bob, ghost["message_id"], f"o:{packet_id}",
                                     reply_markup=ghost["reply_markup"])
        await bot.process(press)
        assert bot.answer_of(press)["text"].startswith("🧧 You got")
        await bot.press(carol, posted[1]["message_id"], f"o:{packet_id}")
        for message_id in (old, ghost["message_id"], posted[1]["message_id"]):
            assert "2 shares, taken in" in bot.text(message_id), message_id
        await bot.audit()


async def test_a_command_whose_posts_all_fail_is_one_log_line_and_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as bot:
        alice = bot.updates.user(1, "Alice")
        bot.req.fail_next("sendMessage", 502, "Bad Gateway", times=4)
        with caplog.at_level(logging.WARNING):
            await bot.command(alice, "/hongbao 5 2 down")
        assert not [r for r in caplog.records if r.exc_info]
        (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert warning.startswith("posting the draft of command") and "Bad Gateway" in warning
        # Telegram is back: the apology went out.
        assert bot.req.last("sendMessage")["text"] == "Something went wrong — please try again."
        assert len(await bot.ctx.store.all_packets()) == 0


async def test_an_answer_lost_to_a_5xx_is_sent_again(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
        packet_id, message_id = await send_packet(bot, alice, "/fixed 1 1 answer")
        bot.req.fail_next("answerCallbackQuery", 502, "Bad Gateway")
        raw = bot.updates.callback(bot.group, bob, message_id, f"o:{packet_id}")
        await bot.process(raw)
        query_id = raw["callback_query"]["id"]
        calls = bot.req.calls_of("answerCallbackQuery", callback_query_id=query_id)
        assert len(calls) == 2 and calls[-1]["text"].startswith("🧧 You got ¥1.00")
        assert query_id in bot.req.answered
        await bot.audit()

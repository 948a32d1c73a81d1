"""What stays off a press's way in a crowd: the presser's first-contact write,
and the answer to a press Telegram no longer takes (bot.arrivals)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator

import pytest
from telegram import Update

from bot.arrivals import ANSWER_WINDOW_MS
from storage.sqlite import keys
from tests.telegram.bot_harness import Bot

TOO_SLOW = "Too slow — all shares have been taken"


async def _sent_packet(bot: Bot, shares: int) -> tuple[int, str]:
    alice = bot.updates.user(1, "Alice")
    await bot.command(alice, f"/hongbao {shares} {shares} hi")
    message = bot.last_bot_message()["message_id"]
    assert (await bot.press(alice, message, "d:s"))["text"] == "Sent!"
    (packet,) = await bot.ctx.store.all_packets()
    return message, packet.id


@contextlib.asynccontextmanager
async def database_busy(bot: Bot) -> AsyncIterator[None]:
    """The database busy writing (one write holding the writer) until the block ends."""
    entered, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        entered.set()
        release.wait(30)

    held = asyncio.ensure_future(bot.store.write(hold))
    try:
        assert await asyncio.to_thread(entered.wait, 10)
        yield
    finally:
        release.set()
        await held


async def _welcomes(bot: Bot, member_id: int) -> int:
    row = await bot.store.fetchone(
        "SELECT COUNT(*) FROM transfers WHERE key = ?", (keys.WELCOME(member_id),)
    )
    return int(row[0])


@pytest.mark.on_postgres
async def test_a_new_members_press_is_answered_while_its_welcome_write_waits(bot: Bot) -> None:
    message, packet_id = await _sent_packet(bot, 1)
    first = bot.updates.user(2, "First")
    assert (await bot.press(first, message, f"o:{packet_id}"))["show_alert"] is True
    newcomer = bot.updates.user(3, "Newcomer")

    async with database_busy(bot):
        taps = [bot.updates.callback(bot.group, newcomer, message, f"o:{packet_id}")
                for _ in range(2)]  # a double tap, too
        for raw in taps:
            # Handled to the end while no write can land (it would hang here before).
            await asyncio.wait_for(bot.app.process_update(Update.de_json(raw, bot.app.bot)), 10)
            assert bot.answer_of(raw)["text"] == TOO_SLOW
        assert await bot.balance(3) == 0  # the welcome bonus is still on its way
    await bot.ctx.drain()
    assert await bot.balance(3) == 100_00
    assert (await bot.press(newcomer, message, f"o:{packet_id}"))["text"] == TOO_SLOW
    assert await bot.balance(3) == 100_00 and await _welcomes(bot, 3) == 1  # paid once
    await bot.audit()


async def test_a_command_waits_for_the_welcome_its_members_press_started(bot: Bot) -> None:
    message, packet_id = await _sent_packet(bot, 1)
    newcomer = bot.updates.user(3, "Newcomer")
    await bot.app.process_update(Update.de_json(
        bot.updates.callback(bot.group, newcomer, message, f"o:{packet_id}"), bot.app.bot))
    # Straight after the press, before anything drained: the welcome is paid first.
    await bot.command(newcomer, "/hongbao 50 2 next")
    assert "Your balance: ¥101.00" in bot.text(bot.last_bot_message()["message_id"])
    assert await _welcomes(bot, 3) == 1
    await bot.audit()


async def test_a_press_that_waited_past_the_answer_window_takes_its_share_unanswered(
    bot: Bot,
) -> None:
    message, packet_id = await _sent_packet(bot, 2)
    prompt, late = bot.updates.user(2, "Prompt"), bot.updates.user(3, "Latecomer")
    assert (await bot.press(prompt, message, f"o:{packet_id}"))["show_alert"] is True

    raw = bot.updates.callback(bot.group, late, message, f"o:{packet_id}")
    update = Update.de_json(raw, bot.app.bot)
    queue = bot.app.update_queue
    queue.put_nowait(update)  # it reaches the bot ...
    assert queue.get_nowait() is update
    bot.clock.advance(ANSWER_WINDOW_MS + 1)  # ... and waits behind a crowd
    await bot.app.update_processor.process_update(update, bot.app.process_update(update))
    await bot.ctx.drain()

    query_id = raw["callback_query"]["id"]
    assert bot.req.calls_of("answerCallbackQuery", callback_query_id=query_id) == []
    shares = {s.member_id: s.amount for s in await bot.ctx.store.shares(packet_id)}
    assert set(shares) == {2, 3}  # its share is taken, and the packet message shows it
    assert "Latecomer" in bot.text(message)
    assert await bot.balance(3) == 100_00 + shares[3]
    await bot.audit()


async def _crowd_presses(bot: Bot, message: int, packet_id: str, first_id: int,
                         count: int) -> list[dict]:
    crowd = [bot.updates.user(first_id + n, f"m{n}") for n in range(count)]
    raws = [bot.updates.callback(bot.group, user, message, f"o:{packet_id}") for user in crowd]
    await asyncio.gather(*(bot.app.process_update(Update.de_json(raw, bot.app.bot))
                           for raw in raws))
    return raws


@pytest.mark.on_postgres
async def test_a_crowd_of_newcomers_is_welcomed_in_a_few_writes(bot: Bot) -> None:
    message, packet_id = await _sent_packet(bot, 3)
    writer = getattr(bot.store, "writer", None)
    before = writer.writes if writer is not None else 0
    raws = await _crowd_presses(bot, message, packet_id, 100, 60)
    assert all(bot.answer_of(raw) for raw in raws)  # every press answered, once
    await bot.ctx.drain()
    if writer is not None:  # 60 welcomes and 3 shares: far fewer writes than members
        assert writer.writes - before <= 10
    for n in range(60):
        assert await bot.balance(100 + n) >= 100_00
        assert await _welcomes(bot, 100 + n) == 1
    assert bot.ctx.greeter.waiting == 0
    await bot.audit()


async def test_past_the_waiting_bound_a_press_greets_in_line(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import greeter

    monkeypatch.setattr(greeter, "MAX_WAITING", 2)
    message, packet_id = await _sent_packet(bot, 2)
    raws = await _crowd_presses(bot, message, packet_id, 200, 12)
    assert all(bot.answer_of(raw) for raw in raws)
    await bot.ctx.drain()
    for n in range(12):
        assert await _welcomes(bot, 200 + n) == 1
    assert bot.ctx.greeter.waiting == 0
    await bot.audit()


async def test_start_mentions_the_bonus_once_to_a_member_welcomed_with_a_crowd(bot: Bot) -> None:
    message, packet_id = await _sent_packet(bot, 1)
    await _crowd_presses(bot, message, packet_id, 300, 5)
    await bot.ctx.drain()
    member = bot.updates.user(302, "m2")
    await bot.private(member, "/start")
    assert "You got a welcome bonus of ¥100.00." in bot.last_reply(302)
    await bot.private(member, "/start")
    assert "welcome bonus" not in bot.last_reply(302)
    await bot.audit()


async def test_a_welcome_write_cut_short_leaves_no_one_waiting(bot: Bot) -> None:
    """The greeter's task ends mid-write (cancelled at shutdown, or failed): every
    member it held is released, so no update waits for a bonus that is not coming."""
    message, packet_id = await _sent_packet(bot, 1)
    taker = bot.updates.user(2, "Taker")
    assert (await bot.press(taker, message, f"o:{packet_id}"))["show_alert"] is True
    async with database_busy(bot):
        raws = await _crowd_presses(bot, message, packet_id, 500, 3)  # too slow: no write
        await asyncio.sleep(0.05)  # their welcome write has started: it waits for the database
        raws += await _crowd_presses(bot, message, packet_id, 510, 3)  # wait for the next one
        assert all(bot.answer_of(raw)["text"] == TOO_SLOW for raw in raws)
        greeter = bot.ctx.greeter
        landed = [greeter.landed(500 + n) for n in range(3)]
        landed += [greeter.landed(510 + n) for n in range(3)]
        assert greeter.waiting == 6 and all(f is not None and not f.done() for f in landed)
        assert greeter._task is not None
        greeter._task.cancel()
        await asyncio.sleep(0.05)
        assert greeter.waiting == 0 and all(f is not None and f.done() for f in landed)
    await bot.ctx.drain()
    await bot.command(bot.updates.user(501, "m1"), "/balance")  # greets again, in line
    assert await _welcomes(bot, 501) == 1
    await bot.audit()

"""Send and Cancel pressed together: exactly one wins, decided in the database, and
both answers and the draft message tell that one truth."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from telegram import Update

from core.drafts import DraftStatus
from tests.telegram.bot_harness import GROUP_ID, Bot, running_bot

SENT = "Sent!"
CANCELLED = "Cancelled"
CANCELLED_TEXT = "Red packet cancelled: nothing was sent or debited."


async def _together(bot: Bot, *raws: dict) -> None:  # type: ignore[type-arg]
    await asyncio.gather(*(bot.app.process_update(Update.de_json(r, bot.app.bot)) for r in raws))
    await bot.ctx.drain()


@pytest.mark.parametrize("first", ["send", "cancel"])
@pytest.mark.on_postgres
async def test_send_and_cancel_together_one_truth(tmp_path: Path, first: str) -> None:
    async with running_bot(tmp_path) as bot:
        alice = bot.updates.user(1, "Alice")
        await bot.command(alice, "/hongbao 10 3 race")
        draft = bot.last_bot_message()["message_id"]
        send = bot.updates.callback(bot.group, alice, draft, "d:s")
        cancel = bot.updates.callback(bot.group, alice, draft, "d:c")
        await _together(bot, *((send, cancel) if first == "send" else (cancel, send)))

        sent, cancelled = bot.answer_of(send)["text"], bot.answer_of(cancel)["text"]
        packets = await bot.ctx.store.all_packets()
        found = await bot.ctx.drafts.by_message(GROUP_ID, draft)
        assert found is not None
        if packets:  # Send won: Cancel says so, the message is the packet
            (packet,) = packets
            assert sent == SENT, (sent, cancelled)
            assert cancelled in {"This red packet was already sent.",
                                 "This red packet is being sent"}
            assert found.status == "sent" and found.packet_id == packet.id
            assert bot.buttons(draft)[0][1] == f"o:{packet.id}"
            assert CANCELLED_TEXT not in bot.text(draft)
            assert await bot.balance(1) == 90_00
        else:  # Cancel won: nothing was debited, and Send does not claim otherwise
            assert cancelled == CANCELLED, (sent, cancelled)
            assert sent.startswith("This draft is no longer valid")
            assert found.status == "cancelled"
            assert bot.text(draft) == CANCELLED_TEXT and bot.buttons(draft) == []
            assert await bot.balance(1) == 100_00
        await bot.audit()


async def test_a_send_refused_for_balance_leaves_the_draft_open(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        alice = bot.updates.user(1, "Alice")
        await bot.command(alice, "/hongbao 150 3 too much")
        draft = bot.last_bot_message()["message_id"]
        refused = await bot.press(alice, draft, "d:s")
        assert "balance" in refused["text"].lower()
        found = await bot.ctx.drafts.by_message(GROUP_ID, draft)
        assert found is not None and found.status == "open"
        assert (await bot.press(alice, draft, "d:c"))["text"] == CANCELLED
        assert bot.text(draft) == CANCELLED_TEXT
        assert await bot.balance(1) == 100_00
        await bot.audit()


async def test_a_send_stranded_by_a_crash_is_finished_by_the_next_press(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        alice = bot.updates.user(1, "Alice")
        await bot.command(alice, "/hongbao 10 2 crash")
        draft = bot.last_bot_message()["message_id"]
        found = await bot.ctx.drafts.by_message(GROUP_ID, draft)
        assert found is not None
        assert await bot.ctx.drafts.claim(found, DraftStatus.SENT)  # then a crash
        assert (await bot.press(alice, draft, "d:c"))["text"] == "This red packet is being sent"
        assert (await bot.press(alice, draft, "d:s"))["text"] == SENT
        (packet,) = await bot.ctx.store.all_packets()
        assert bot.buttons(draft)[0][1] == f"o:{packet.id}"
        assert await bot.balance(1) == 90_00
        await bot.audit()


@pytest.mark.parametrize("first", ["send", "cancel"])
async def test_send_refused_for_balance_and_cancel_together(tmp_path: Path, first: str) -> None:
    async with running_bot(tmp_path) as bot:
        alice = bot.updates.user(1, "Alice")
        await bot.command(alice, "/hongbao 150 3 too much")
        draft = bot.last_bot_message()["message_id"]
        send = bot.updates.callback(bot.group, alice, draft, "d:s")
        cancel = bot.updates.callback(bot.group, alice, draft, "d:c")
        await _together(bot, *((send, cancel) if first == "send" else (cancel, send)))
        # Nothing can be sent; Cancel cancels, whatever came first, and the message says so.
        assert bot.answer_of(cancel)["text"] == CANCELLED
        assert bot.text(draft) == CANCELLED_TEXT and bot.buttons(draft) == []
        found = await bot.ctx.drafts.by_message(GROUP_ID, draft)
        assert found is not None and found.status == "cancelled"
        assert await bot.ctx.store.all_packets() == [] and await bot.balance(1) == 100_00
        await bot.audit()

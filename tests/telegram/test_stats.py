"""/stats: admins get numbers and a PNG chart, others a polite refusal; turned-away presses."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from bot.app import stop
from bot.charts import PNG_SIGNATURE
from bot.handlers.stats import flush_turned_away
from bot.stats_cli import print_stats
from core.packets import Member
from storage.sqlite.records import Records
from storage.stores import store_for
from tests.telegram.bot_harness import ADMIN_ID, GROUP_ID, Bot

ALICE, BOB, CAROL = Member(1, "Alice <b>"), Member(2, "Bob"), Member(3, "Carol")
ADMIN = {"id": ADMIN_ID, "is_bot": False, "first_name": "Root", "language_code": "en"}


def user(m: Member, lang: str = "en") -> dict[str, object]:
    return {"id": m.id, "is_bot": False, "first_name": m.name, "language_code": lang}


async def test_chat_admin_gets_stats_and_a_png_chart(wallet_bot: Bot) -> None:
    bot = wallet_bot
    await bot.lucky_packet(ALICE, 6_00, [BOB, CAROL])
    await bot.lucky_packet(ALICE, 1_00, [BOB], count=3)
    await bot.lucky_packet(CAROL, 5_00, [ALICE], chat_id=-42)  # another chat
    bot.packets.turned_away[GROUP_ID] += 3
    bot.req.set_member(GROUP_ID, BOB.id, "administrator")

    await bot.command_in(bot.updates.group(id=GROUP_ID), user(BOB), "/stats")
    text = bot.last_reply(GROUP_ID)
    assert text.startswith("📊 Red packet stats for this chat")
    assert "Packets sent: 2 · ¥7.00" in text and "Shares taken: 3 ·" in text
    assert "Finished: 1 · median 2 s · fastest 2 s" in text
    assert "Presses that came too late: 3" in text
    assert "1. Alice <b> — ¥7.00 · packets: 2" in text
    assert "Luckiest members:" in text and "Shake campaigns: 0" in text
    assert "&lt;b&gt;" in bot.req.last("sendMessage", chat_id=GROUP_ID)["text"]

    photo = bot.req.last("sendPhoto", chat_id=GROUP_ID)
    assert "share sizes" in photo["caption"]
    uploads = [data for method, _, data in bot.req.uploads if method == "sendPhoto"]
    assert len(uploads) == 1 and uploads[0].startswith(PNG_SIGNATURE)

    # Flushed to the table, the count stays the same; new presses add to it.
    assert await flush_turned_away(bot.ctx) == 3
    bot.packets.turned_away[GROUP_ID] += 1
    await bot.command_in(bot.updates.group(id=GROUP_ID), user(BOB), "/stats")
    assert "Presses that came too late: 4" in bot.last_reply(GROUP_ID)
    await bot.audit()


async def test_non_admin_gets_a_refusal_and_no_photo(wallet_bot: Bot) -> None:
    bot = wallet_bot
    await bot.lucky_packet(ALICE, 2_00, [BOB])
    await bot.command_in(bot.updates.group(id=GROUP_ID), user(CAROL, "zh"), "/stats")
    assert bot.last_reply(GROUP_ID) == "抱歉，只有群管理员和机器人管理员可以查看统计。"
    await bot.private(user(CAROL), "/stats")
    assert "only chat admins and bot admins" in bot.last_reply(CAROL.id)
    assert not bot.req.calls_of("sendPhoto") and not bot.req.uploads
    await bot.audit()


@pytest.mark.on_postgres
async def test_bot_admin_in_private_sees_all_chats_and_cli_agrees(
    wallet_bot: Bot, tmp_path: Path
) -> None:
    bot = wallet_bot
    await bot.lucky_packet(ALICE, 2_00, [BOB])
    await bot.lucky_packet(BOB, 3_00, [ALICE], chat_id=-42)
    await bot.process(bot.updates.private_command(ADMIN, "/stats"))
    text = bot.last_reply(ADMIN_ID)
    assert text.startswith("📊 Red packet stats for all chats") and "Packets sent: 2 · ¥5.00" in text
    assert bot.req.last("sendPhoto", chat_id=ADMIN_ID)

    bot.packets.turned_away[-42] += 2
    await flush_turned_away(bot.ctx)
    console = Console(record=True, width=100)
    await print_stats(bot.database_url, console=console)
    printed = console.export_text()
    assert "Packets sent" in printed and "¥5.00" in printed and "2" in printed
    console = Console(record=True, width=100)
    await print_stats(bot.database_url, chat_id=-42, console=console)
    printed = console.export_text()
    assert "¥3.00" in printed and "Presses the gate turned away" in printed
    await bot.audit()


@pytest.mark.on_postgres
async def test_turned_away_counts_are_saved_at_shutdown(wallet_bot: Bot) -> None:
    bot = wallet_bot
    bot.packets.turned_away[GROUP_ID] += 5
    url = bot.database_url
    await stop(bot.app)
    async with store_for(url) as store:
        assert await Records(store).turned_away(GROUP_ID) == 5

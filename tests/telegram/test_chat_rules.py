"""/settings: a chat picks its lucky split rule and when to skip the draft."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.telegram.bot_harness import running_bot

ADMIN = 1


@pytest.mark.on_postgres
async def test_an_admin_sets_the_rule_and_the_skip_and_packets_follow(tmp_path: Path) -> None:
    async with running_bot(tmp_path, bot_admin_ids=str(ADMIN)) as bot:
        admin, member = bot.updates.user(ADMIN, "Ada"), bot.updates.user(2, "Bob")

        await bot.command(member, "/settings")
        assert bot.text(bot.last_bot_message()["message_id"]).splitlines()[:3] == [
            "⚙️ Red packet settings of this chat",
            "Lucky packets split by: double mean (WeChat's rule)",
            "Every packet shows a draft first",
        ]
        await bot.command(member, "/settings skip 5")
        assert bot.text(bot.last_bot_message()["message_id"]) == (
            "Only chat admins can change this chat's settings."
        )
        await bot.command(admin, "/settings skip 1,5")
        assert bot.text(bot.last_bot_message()["message_id"]) == (
            "Write the amount without separators or spaces, like 1000 or 1000.50."
        )

        await bot.command(admin, "/settings rule segment")
        await bot.command(admin, "/settings skip 5")
        assert bot.text(bot.last_bot_message()["message_id"]).splitlines()[1:3] == [
            "Lucky packets split by: line segments (every position equally lucky)",
            "Packets under ¥5.00 are sent without a draft",
        ]

        await bot.command(member, "/hongbao 2 2 quick")  # under the chat's line: no draft
        (packet,) = await bot.ctx.store.all_packets()
        assert packet.rule == "segment"
        assert bot.text(bot.last_bot_message()["message_id"]).startswith("🧧 Bob sent a lucky")

        await bot.command(admin, "/settings rule default")
        await bot.command(admin, "/settings skip off")
        await bot.command(member, "/hongbao 2 2 drafted")
        assert bot.text(bot.last_bot_message()["message_id"]).startswith("🧧 Draft:")
        await bot.audit()


async def test_settings_speak_chinese(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        li = bot.updates.user(3, "李雷", language_code="zh-hans")
        await bot.command(li, "/settings")
        assert bot.text(bot.last_bot_message()["message_id"]).splitlines()[1] == (
            "拼手气红包分配方式：二倍均值法（微信的规则）"
        )

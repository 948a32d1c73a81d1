"""Callback data is untrusted: each button acts only on the message the bot posted it
on. Forged onto another bot message, it is refused and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.telegram.bot_harness import GROUP_ID, Bot, running_bot
from tests.telegram.test_bot_answers import send_packet

INVALID = "This button is no longer valid"


def _edits_of(bot: Bot, message_id: int, chat_id: int = GROUP_ID) -> int:
    return len([c for c in bot.req.calls_of("editMessageText", chat_id=chat_id)
                if c.get("message_id") == message_id])


@pytest.mark.on_postgres
async def test_a_forged_language_button_on_a_packet_changes_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        alice, tom = bot.updates.user(1, "Alice"), bot.updates.user(3, "Tom")
        packet_id, message = await send_packet(bot, alice, "/hongbao 10 3 keep me")
        before, edits = bot.text(message), _edits_of(bot, message)
        bot.req.set_member(GROUP_ID, 3, "administrator")
        forged = await bot.press(tom, message, "l:zh")  # an admin, but not on a /lang picker
        assert forged["text"] == INVALID
        assert _edits_of(bot, message) == edits and bot.text(message) == before
        assert bot.buttons(message)[0][1] == f"o:{packet_id}"
        assert await bot.ctx.chats.lang(GROUP_ID) is None

        await bot.command(tom, "/lang")  # the real picker still works
        picker = bot.last_bot_message()["message_id"]
        assert (await bot.press(tom, picker, "l:zh"))["text"] == "语言：中文"
        assert await bot.ctx.chats.lang(GROUP_ID) == "zh"
        await bot.audit()


async def test_lang_tells_members_who_may_not_choose_the_setting(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        han = bot.updates.user(4, "Han")
        await bot.command(han, "/lang")
        told = bot.last_bot_message()
        assert bot.text(told["message_id"]) == (
            "Language of this chat: each member's own Telegram language. "
            "Only chat admins can change it with /lang."
        )
        assert bot.buttons(told["message_id"]) == []
        await bot.ctx.chats.set_lang(GROUP_ID, "zh", bot.clock.now_ms())
        await bot.command(han, "/lang")
        assert bot.text(bot.last_bot_message()["message_id"]) == (
            "本群语言：中文。只有群管理员可以用 /lang 修改。"
        )


@pytest.mark.on_postgres
async def test_forged_records_and_result_buttons_are_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
        packet_id, message = await send_packet(bot, alice, "/hongbao 10 3 views")
        await bot.private(alice, f"/start p_{packet_id}")
        view = bot.last_bot_message(1)["message_id"]
        private = bot.updates.private_chat(alice)
        view_text = bot.text(view, 1)
        assert (await bot.press(alice, view, "rec:1", chat=private))["text"] == INVALID
        assert bot.text(view, 1) == view_text  # the result view was not overwritten

        await bot.private(alice, "/records")
        records = bot.last_bot_message(1)["message_id"]
        assert (await bot.press(alice, records, "rec:0", chat=private))["text"] != INVALID

        sent_before = len(bot.req.calls_of("sendMessage", chat_id=GROUP_ID))
        assert (await bot.press(bob, message, "my"))["text"] == INVALID
        assert (await bot.press(alice, message, f"r:{packet_id}"))["text"] == INVALID
        assert len(bot.req.calls_of("sendMessage", chat_id=GROUP_ID)) == sent_before
        await bot.audit()


async def test_a_shake_button_forged_onto_another_message_is_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path, bot_admin_ids="1") as bot:
        alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
        _, packet_message = await send_packet(bot, alice, "/hongbao 10 3 not a campaign")
        await bot.command(alice, "/shake start 50 10 10m")
        campaign_message = bot.last_bot_message()["message_id"]
        ((_, data), *_) = bot.buttons(campaign_message)
        assert data.startswith("sk:")
        forged = await bot.press(bob, packet_message, data)
        assert forged["text"] == "This button is no longer valid."
        assert (await bot.press(bob, campaign_message, data))["text"] != forged["text"]
        await bot.audit()

"""/records: the private view with links and page buttons, the group summary, forged pages."""

from __future__ import annotations

import pytest

from core.packets import Member
from tests.telegram.fake_telegram import BOT_USERNAME
from tests.telegram.bot_harness import GROUP_ID, Bot

ALICE, BOB, CAROL = Member(1, "Alice"), Member(2, "Bob"), Member(3, "Carol")


def user(m: Member, lang: str = "en") -> dict[str, object]:
    return {"id": m.id, "is_bot": False, "first_name": m.name, "language_code": lang}


@pytest.mark.on_postgres
async def test_records_private_view_pages_and_links(wallet_bot: Bot) -> None:
    bot = wallet_bot
    sent = [await bot.lucky_packet(ALICE, 3_00, [BOB, CAROL]) for _ in range(4)]
    received = await bot.lucky_packet(BOB, 2_00, [ALICE, CAROL])
    await bot.lucky_packet(CAROL, 1_00, [ALICE])
    bob_best = await bot.store.fetchone(
        "SELECT COUNT(*) FROM shares s WHERE s.member_id = ? AND s.amount = "
        "(SELECT MAX(amount) FROM shares o WHERE o.packet_id = s.packet_id)", (BOB.id,))
    await bot.private(user(BOB), "/records")

    message = bot.req.messages_in(BOB.id)[-1]
    text = bot.req.plain_text(BOB.id, message["message_id"])
    assert "Red packets sent: 1 · ¥2.00 in all" in text
    assert "Shares received: 4 ·" in text and f"best luck: {bob_best[0]}" in text
    assert "Recent (page 1/1):" in text
    assert f'href="https://t.me/{BOT_USERNAME}?start=f_{received}"' in message["text"]
    assert all(f"start=f_{pid}" in message["text"] for pid in sent)
    assert "reply_markup" not in message  # five items fit one page

    await bot.private(user(ALICE), "/records")
    message = bot.req.messages_in(ALICE.id)[-1]
    mid = message["message_id"]
    text = bot.req.plain_text(ALICE.id, mid)
    assert "Red packets sent: 4 · ¥12.00 in all" in text and "Recent (page 1/2):" in text
    assert [b["text"] for b in bot.req.buttons(ALICE.id, mid)] == ["Older ›"]
    older = bot.req.buttons(ALICE.id, mid)[0]["callback_data"]

    chat = bot.updates.private_chat(user(ALICE))
    await bot.process(bot.updates.callback(chat, user(ALICE), mid, older))
    assert bot.req.last("answerCallbackQuery")["text"] == "Page 2/2"
    text = bot.req.plain_text(ALICE.id, mid)
    assert "Recent (page 2/2):" in text and f"start=f_{sent[0]}" in bot.req.text(ALICE.id, mid)
    assert [b["text"] for b in bot.req.buttons(ALICE.id, mid)] == ["‹ Newer"]

    # Forged data: a page far away is clamped; garbage and other chats are refused.
    await bot.process(bot.updates.callback(chat, user(ALICE), mid, "rec:9999"))
    assert bot.req.last("answerCallbackQuery")["text"] == "Page 2/2"
    # Telegram refuses the unchanged edit; the member just sees the page again.
    assert [d for _, _, d in bot.req.errors if "not modified" not in d] == []
    for data in ("rec:x", "rec:-1", "rec:99999"):
        await bot.process(bot.updates.callback(chat, user(ALICE), mid, data))
        assert bot.req.last("answerCallbackQuery")["show_alert"] is True
    group = bot.updates.group(id=GROUP_ID)
    await bot.process(bot.updates.callback(group, user(ALICE), 5, "rec:1"))
    answer = bot.req.last("answerCallbackQuery")
    assert "private chat" in answer["text"] and not bot.req.calls_of(
        "editMessageText", chat_id=GROUP_ID)
    await bot.audit()


async def test_records_in_a_group_is_a_short_summary(wallet_bot: Bot) -> None:
    bot = wallet_bot
    await bot.lucky_packet(ALICE, 1_00, [BOB])
    await bot.command_in(bot.updates.group(id=GROUP_ID), user(BOB, "zh"), "/records")
    sent = bot.req.last("sendMessage", chat_id=GROUP_ID)
    assert "reply_markup" not in sent
    text = bot.last_reply(GROUP_ID)
    assert text.startswith("🧧 Bob：发出 0 个（¥0.00），收到 1 个（¥1.00），手气最佳 0 次")
    await bot.audit()


async def test_records_empty(wallet_bot: Bot) -> None:
    bot = wallet_bot
    await bot.private(user(CAROL), "/records")
    assert "No red packets yet" in bot.last_reply(CAROL.id)

"""The private result view (docs/rules.md §5 rules 1–8), the kind switch, and user text rendering."""

from __future__ import annotations

import pytest

from tests.telegram.bot_harness import GROUP_ID, Bot
from tests.telegram.fake_telegram import JSON, html_error
from tests.telegram.test_bot_answers import send_packet


async def view(bot: Bot, user: JSON, packet_id: str) -> tuple[str, list[tuple[str, str]]]:
    """The private result view ``user`` gets from the Details deep link."""
    await bot.private(user, f"/start p_{packet_id}")
    message_id = bot.last_bot_message(user["id"])["message_id"]
    return without_fairness(bot.text(message_id, user["id"])), bot.buttons(message_id, user["id"])


def without_fairness(text: str) -> str:
    """The view without its last paragraph, the seal or seed (tests/telegram/test_fairness.py)."""
    body, _, last = text.rpartition("\n\n")
    return body if last.startswith(("🔒", "🔓")) else text


async def test_rules_of_the_result_view(bot: Bot) -> None:
    alice, bob, carol, dave = (
        bot.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"), (3, "Carol"), (4, "Dave"))
    )
    fixed_id, fixed_msg = await send_packet(bot, alice, "/fixed 2 3 tea")
    bot.clock.advance(2)
    await bot.press(bob, fixed_msg, f"o:{fixed_id}")

    text, buttons = await view(bot, alice, fixed_id)  # rules 2, 5, 7 (sender sees the list)
    assert text == (
        "🧧 Alice sent a red packet\ntea\n\n1/3 taken, ¥2.00/¥6.00\n\nBob · ¥2.00 · 2 s"
    )
    assert buttons == [("Send again", f"r:{fixed_id}")]
    text, buttons = await view(bot, bob, fixed_id)  # rules 1, 3, 5, 7 (no list for others)
    assert text == (
        "🧧 Alice sent a red packet\ntea\nYou got ¥2.00. It is in your balance: send red "
        "packets with it, or see /balance.\n\n1/3 taken"
    )
    assert buttons == [("My red packets", "my")]
    text, buttons = await view(bot, dave, fixed_id)
    assert text == "🧧 Alice sent a red packet\ntea\n\n1/3 taken" and buttons == []

    bot.clock.advance(3)
    await bot.press(carol, fixed_msg, f"o:{fixed_id}")
    await bot.press(dave, fixed_msg, f"o:{fixed_id}")
    for user in (alice, bob):  # rule 4, fixed: no duration, no best luck (rule 8)
        text, _ = await view(bot, user, fixed_id)
        assert "3 shares, ¥6.00 in all" in text and "👑" not in text
    text, buttons = await view(bot, alice, fixed_id)
    assert buttons == []  # finished: no Send again

    lucky_id, lucky_msg = await send_packet(bot, alice, "/hongbao 0.03 3 tie")
    for second, user in enumerate((bob, carol, dave), start=1):
        bot.clock.advance(1)
        await bot.press(user, lucky_msg, f"o:{lucky_id}")
    text, _ = await view(bot, alice, lucky_id)  # rule 4 sender, rule 8 tie -> the earliest
    assert text == (
        "🧧 Alice sent a lucky red packet\ntie\n\n3 shares, ¥0.03 in all, taken in 3 s\n"
        "👑 Best luck: Bob ¥0.01\n\n👑 Bob · ¥0.01 · 1 s\nCarol · ¥0.01 · 2 s\n"
        "Dave · ¥0.01 · 3 s"
    )
    text, _ = await view(bot, carol, lucky_id)  # rule 4 others, rule 7: lucky list for all
    assert "3 shares, taken in 3 s" in text and "Dave · ¥0.01 · 3 s" in text

    personal_id, _ = await send_packet(bot, alice, "/hongbao 5", reply_to=bob)
    text, buttons = await view(bot, alice, personal_id)  # rule 6
    assert text == (
        "🧧 Alice sent a red packet to Bob\nBest wishes!\n\n¥5.00, waiting for Bob"
    )
    assert buttons == [("Send again", f"r:{personal_id}")]
    text, _ = await view(bot, carol, personal_id)
    assert text.endswith("For Bob")

    await bot.private(bob, "/start p_NOSUCHPACK")
    assert bot.text(bot.last_bot_message(2)["message_id"], 2) == "This red packet does not exist."
    await bot.audit()


@pytest.mark.on_postgres
async def test_send_again_reposts_and_the_old_message_points_to_the_new_one(bot: Bot) -> None:
    alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
    carol = bot.updates.user(3, "Carol")
    packet_id, old = await send_packet(bot, alice, "/hongbao 4 2 again")
    await bot.private(alice, f"/start p_{packet_id}")
    view_msg = bot.last_bot_message(1)["message_id"]
    private = bot.updates.private_chat(alice)
    await bot.private(bob, f"/start p_{packet_id}")  # Bob's own view of the packet
    bob_view = bot.last_bot_message(2)["message_id"]
    refused = await bot.press(bob, bob_view, f"r:{packet_id}", chat=bot.updates.private_chat(bob))
    assert refused["text"] == "Only the sender can post it again"
    done = await bot.press(alice, view_msg, f"r:{packet_id}", chat=private)
    assert done["text"] == "Posted again in the group"
    new = bot.last_bot_message()["message_id"]
    assert new != old and bot.buttons(new)[0] == ("🧧 Open", f"o:{packet_id}")
    # The old message points to the new one, shows no count that could go stale,
    # and its Open still opens the packet.
    assert bot.text(old).splitlines()[-1] == (
        "⬇️ Sent again below, where you can follow it. Open works here too."
    )
    assert "taken" not in bot.text(old)
    assert bot.buttons(old)[0] == ("🧧 Open", f"o:{packet_id}")
    assert (await bot.press(bob, old, f"o:{packet_id}"))["text"].startswith("🧧 You got")
    assert bot.text(new).endswith("1/2 taken\n\n" + bot.text(new).splitlines()[-1])
    assert (await bot.press(carol, new, f"o:{packet_id}"))["text"].startswith("🧧 You got")
    for message in (old, new):  # at the end every message of the packet tells the end
        assert "2 shares, taken in" in bot.text(message)
        assert [label for label, _ in bot.buttons(message)] == ["Details"]
    my = await bot.press(bob, view_msg, "my", chat=bot.updates.private_chat(bob))
    assert "text" not in my  # answered empty; the list comes as a message
    listing = bot.req.plain_text(2, bot.last_bot_message(2)["message_id"])
    assert listing.startswith("🧧 Your red packets") and "from Alice" in listing  # /records' view
    await bot.audit()


async def test_kind_switch_keeps_what_was_typed_both_ways(bot: Bot) -> None:
    alice = bot.updates.user(1, "Alice")
    await bot.command(alice, "/hongbao 10 3 split")
    draft = bot.last_bot_message()["message_id"]
    to_fixed = await bot.press(alice, draft, "d:k")
    assert to_fixed["text"] == "Switched: the total is ¥9.99."
    assert bot.text(draft).splitlines()[:3] == [
        "🧧 Draft: a red packet of ¥3.33 × 3 = ¥9.99",
        "split",
        "Each share was rounded down to ¥3.33: the total is now ¥9.99 (was ¥10.00).",
    ]
    assert bot.buttons(draft)[0][0] == "Switch to lucky"
    await bot.press(alice, draft, "d:k")
    assert bot.text(draft).splitlines()[:2] == [
        "🧧 Draft: a lucky red packet of ¥9.99 in 3 shares", "split"
    ]
    assert "rounded" not in bot.text(draft)

    await bot.command(alice, "/fixed 2.50 4 even")
    draft = bot.last_bot_message()["message_id"]
    await bot.press(alice, draft, "d:k")  # fixed -> lucky: total = each × count
    assert bot.text(draft).startswith("🧧 Draft: a lucky red packet of ¥10.00 in 4 shares")
    await bot.press(alice, draft, "d:k")  # and back: 10.00 / 4 divides, total unchanged
    assert bot.text(draft).startswith("🧧 Draft: a red packet of ¥2.50 × 4 = ¥10.00")
    assert "rounded" not in bot.text(draft)
    await bot.press(alice, draft, "d:s")
    (packet,) = await bot.ctx.store.all_packets()
    assert (packet.kind, packet.total, packet.count) == ("fixed", 10_00, 4)
    await bot.audit()


HOSTILE = '<script>alert("x")</script> & <b>bold</b> <a href="javascript:1">x</a>'


async def test_injection_rtl_and_emoji_are_shown_as_typed(bot: Bot) -> None:
    evil = bot.updates.user(1, '<b>Mallory</b> & "co" </i>')
    rtl = bot.updates.user(2, "مرحبا بالعالم")
    emoji = bot.updates.user(3, "🐉 Dragon 🧧")
    packet_id, message_id = await send_packet(bot, evil, f"/hongbao 3 3 {HOSTILE}")
    text = bot.req.text(GROUP_ID, message_id)
    assert html_error(text) is None and "<script>" not in text
    assert bot.text(message_id).splitlines()[:2] == [
        '🧧 <b>Mallory</b> & "co" </i> sent a lucky red packet', HOSTILE
    ]
    for user in (rtl, emoji):
        bot.clock.advance(1)
        await bot.press(user, message_id, f"o:{packet_id}")
    plain = bot.text(message_id)
    assert "مرحبا بالعالم · ¥" in plain and "🐉 Dragon 🧧 · ¥" in plain
    assert html_error(bot.req.text(GROUP_ID, message_id)) is None
    greeting = "שלום 🧧 <u>عيد سعيد</u>"
    packet_2, message_2 = await send_packet(bot, rtl, f"/fixed 1 2 {greeting}")
    assert bot.text(message_2).splitlines()[1] == greeting
    notice_user = bot.updates.user(4, "Eve")
    await bot.press(notice_user, message_id, f"o:{packet_id}")
    notice = bot.req.text(1, bot.last_bot_message(1)["message_id"])
    assert html_error(notice) is None and "&lt;script&gt;" in notice
    for error in bot.req.errors:
        assert "parse entities" not in error[2]
    await bot.audit()


@pytest.mark.on_postgres
async def test_chinese_rendering_and_lang_override(bot: Bot) -> None:
    li = bot.updates.user(1, "李雷", language_code="zh-hans")
    han = bot.updates.user(2, "韩梅梅", language_code="zh")
    tom = bot.updates.user(3, "Tom", language_code="en")
    await bot.command(li, "/hongbao 8.88 2 恭喜发财")
    draft = bot.last_bot_message()["message_id"]
    assert bot.text(draft).splitlines()[0] == "🧧 红包草稿：拼手气红包，共 ¥8.88，2个"
    assert bot.buttons(draft)[0][0] == "改为普通红包"
    assert (await bot.press(li, draft, "d:s"))["text"] == "已发出！"
    (packet,) = await bot.ctx.store.all_packets()
    assert bot.text(draft) == "🧧 李雷 发了一个拼手气红包\n恭喜发财\n\n已领取0/2个"
    assert bot.buttons(draft)[0] == ("🧧 開", f"o:{packet.id}")
    got = await bot.press(han, draft, f"o:{packet.id}")
    assert got["text"].startswith("🧧 你抢到了 ¥")
    english = await bot.press(tom, draft, f"o:{packet.id}")  # answers follow the presser
    assert english["text"].startswith("🧧 You got ¥")
    assert "2个红包，0秒被抢光" in bot.text(draft)  # the group message keeps its language

    bot.req.set_member(GROUP_ID, 3, "administrator")
    await bot.command(tom, "/lang")
    chooser = bot.last_bot_message()["message_id"]
    assert [label for label, _ in bot.buttons(chooser)] == [
        "English", "中文", "Auto (each member's Telegram language)"
    ]
    refused = await bot.press(han, chooser, "l:en")
    assert refused["text"] == "只有群管理员可以修改本群语言"
    assert (await bot.press(tom, chooser, "l:zh"))["text"] == "语言：中文"
    await bot.command(tom, "/balance")  # the group reads the pointer in its language
    assert bot.text(bot.last_bot_message()["message_id"]) == "你的余额已私信发给你。"
    await bot.press(tom, chooser, "l:auto")
    await bot.command(tom, "/balance")
    assert bot.text(bot.last_bot_message()["message_id"]) == (
        "I sent your balance to you in a private message.")
    # the direct message speaks the member's own language
    assert bot.text(bot.last_bot_message(3)["message_id"], 3).startswith("💰 Your balance: ¥")
    await bot.audit()

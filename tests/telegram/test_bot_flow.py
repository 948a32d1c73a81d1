"""A lucky packet in a group of 30, from draft to best luck, through the real Application."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from telegram import Update

from tests.telegram.bot_harness import GROUP_ID, Bot, money, running_bot
from tests.telegram.fake_telegram import BOT_USERNAME


@pytest.mark.on_postgres
async def test_group_of_30_from_draft_to_best_luck(bot: Bot) -> None:
    bot.req.set_member_count(GROUP_ID, 30)
    alice = bot.updates.user(1, "Alice", "alice")
    members = [bot.updates.user(100 + i, f"Member {i}") for i in range(1, 30)]

    command = await bot.command(alice, "/hongbao 50 20 Happy new year")
    draft, own_id = bot.last_bot_message()["message_id"], command["message"]["message_id"]
    assert bot.text(draft) == (
        "🧧 Draft: a lucky red packet of ¥50.00 in 20 shares\n"
        "Happy new year\n"
        "Your balance: ¥100.00\n"
        "Nothing is debited until Alice presses Send."
    )
    assert bot.buttons(draft) == [
        ("Switch to fixed", f"d:k:{own_id}"), ("Send ¥50.00", f"d:s:{own_id}"),
        ("Cancel", f"d:c:{own_id}"),
    ]  # the draft's buttons name the draft itself (its command), not a message id
    assert await bot.balance(1) == 100_00  # the welcome bonus; nothing debited yet

    stranger = await bot.press(members[0], draft, "d:s")
    assert stranger["text"] == "Only Alice can use these buttons"
    assert await bot.balance(1) == 100_00

    sent = await bot.press(alice, draft, "d:s")
    assert sent["text"] == "Sent!"
    assert await bot.balance(1) == 50_00
    (packet,) = await bot.ctx.store.all_packets()
    assert bot.text(draft) == "🧧 Alice sent a lucky red packet\nHappy new year\n\n0/20 taken"
    assert bot.buttons(draft) == [
        ("🧧 Open", f"o:{packet.id}"),
        ("Details", f"https://t.me/{BOT_USERNAME}?start=p_{packet.id}"),
    ]

    header = "🧧 Alice sent a lucky red packet\nHappy new year\n\n"
    alerts = []
    for second, member in enumerate(members, start=1):
        bot.clock.advance(1)
        alerts.append(await bot.press(member, draft, f"o:{packet.id}"))
        shares = await bot.ctx.store.shares(packet.id)
        if second < 20:
            lines = [f"{s.member_name} · {money(s.amount)} · {s.position} s" for s in shares]
            assert bot.text(draft) == header + f"{second}/20 taken\n\n" + "\n".join(lines)
            assert bot.buttons(draft)[0] == ("🧧 Open", f"o:{packet.id}")

    shares = await bot.ctx.store.shares(packet.id)
    assert sum(s.amount for s in shares) == 50_00
    by_member = {s.member_id: s.amount for s in shares}
    for member, alert in zip(members, alerts, strict=True):
        if member["id"] in by_member:
            assert alert["show_alert"] is True
            assert alert["text"] == (
                f"🧧 You got {money(by_member[member['id']])}! It is in your balance: "
                "use it to send red packets, or see /balance."
            )
            assert await bot.balance(member["id"]) == 100_00 + by_member[member["id"]]
        else:
            assert alert["text"] == "Too slow — all shares have been taken"
            assert await bot.balance(member["id"]) == 100_00
    assert len(by_member) == 20

    best = max(shares, key=lambda s: (s.amount, -s.position))
    lines = [
        f"{'👑 ' if s is best else ''}{s.member_name} · {money(s.amount)} · {s.position} s"
        for s in shares
    ]
    assert bot.text(draft) == (
        header + "20 shares, taken in 20 s\n"
        f"👑 Best luck: {best.member_name} {money(best.amount)}\n\n" + "\n".join(lines)
    )
    assert bot.buttons(draft) == [
        ("Details", f"https://t.me/{BOT_USERNAME}?start=p_{packet.id}")
    ]
    notice = bot.req.last("sendMessage", chat_id=1)
    assert bot.req.plain_text(1, bot.last_bot_message(1)["message_id"]) == (
        "🧧 Your red packet “Happy new year” was taken in 20 s: 20 shares, ¥50.00 in all."
    )
    assert notice["reply_markup"]["inline_keyboard"][0][0]["url"].endswith(f"p_{packet.id}")
    await bot.audit()


@pytest.mark.on_postgres
async def test_restart_refunds_packets_that_expired_while_down(tmp_path: Path) -> None:
    alice_raw = None
    async with running_bot(tmp_path, packet_ttl_seconds=60) as bot:
        alice_raw = bot.updates.user(1, "Alice")
        bob = bot.updates.user(2, "Bob")
        await bot.command(alice_raw, "/hongbao 10 3 before the outage")
        draft = bot.last_bot_message()["message_id"]
        await bot.press(alice_raw, draft, "d:s")
        (packet,) = await bot.ctx.store.all_packets()
        await bot.press(bob, draft, f"o:{packet.id}")
        taken = (await bot.ctx.store.shares(packet.id))[0].amount
        clock, req = bot.clock, bot.req
    clock.advance(3600)  # the bot is down while the packet expires
    req.clear()
    async with running_bot(tmp_path, req=req, clock=clock, packet_ttl_seconds=60) as bot:
        await bot.ctx.drain()
        (packet,) = await bot.ctx.store.all_packets()
        assert packet.status == "expired" and packet.refunded == 10_00 - taken
        assert await bot.balance(1) == 100_00 - taken
        assert bot.text(draft) == (
            "🧧 Alice sent a lucky red packet\nbefore the outage\n\n"
            f"Expired: 1/3 taken\n\nBob · {money(taken)} · 0 s"
        )
        assert bot.buttons(draft) == [
            ("Details", f"https://t.me/{BOT_USERNAME}?start=p_{packet.id}")
        ]
        assert bot.req.plain_text(1, bot.last_bot_message(1)["message_id"]) == (
            "⌛ Your red packet “before the outage” expired with 1/3 taken: "
            f"{money(10_00 - taken)} went back to your balance."
        )
        await bot.audit()


async def test_send_and_cancel_pressed_together_leave_a_packet_people_can_see(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        alice = bot.updates.user(1, "Alice")
        await bot.command(alice, "/hongbao 10 3 race")
        draft = bot.last_bot_message()["message_id"]
        send = bot.updates.callback(bot.group, alice, draft, "d:s")
        cancel = bot.updates.callback(bot.group, alice, draft, "d:c")
        await asyncio.gather(*(
            bot.app.process_update(Update.de_json(raw, bot.app.bot)) for raw in (send, cancel)
        ))
        await bot.ctx.drain()
        packets = await bot.ctx.store.all_packets()
        found = await bot.ctx.drafts.by_message(GROUP_ID, draft)
        assert found is not None
        if packets:  # Send won: the draft says so and the group sees the packet
            assert found.status == "sent"
            assert bot.buttons(draft)[0][1] == f"o:{packets[0].id}"
        else:
            assert found.status == "cancelled" and await bot.balance(1) == 100_00
        await bot.audit()

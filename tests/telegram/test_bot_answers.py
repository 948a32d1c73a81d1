"""Every docs/rules.md §3 answer as one callback answer; replays, double taps and forged data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from telegram import Update

from tests.conftest import RedisServer, free_port
from tests.telegram.bot_harness import GROUP_ID, Bot, running_bot
from tests.telegram.fake_telegram import JSON


async def send_packet(bot: Bot, sender: JSON, command: str, **kwargs: object) -> tuple[str, int]:
    """Draft then Send; returns (packet id, message id)."""
    await bot.command(sender, command, **kwargs)
    message_id = bot.last_bot_message()["message_id"]
    assert (await bot.press(sender, message_id, "d:s"))["text"] == "Sent!"
    packet = max(await bot.ctx.store.all_packets(), key=lambda p: (p.created_at, p.message_id))
    assert packet.message_id == message_id
    return packet.id, message_id


@pytest.mark.on_postgres
async def test_got_then_already_both_alerts_with_the_amount(bot: Bot) -> None:
    alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
    packet_id, message_id = await send_packet(bot, alice, "/fixed 2 3 lunch")
    got = await bot.press(bob, message_id, f"o:{packet_id}")
    assert got == {
        "callback_query_id": got["callback_query_id"], "show_alert": True,
        "text": "🧧 You got ¥2.00! It is in your balance: use it to send red packets, "
                "or see /balance.",
    }
    again = await bot.press(bob, message_id, f"o:{packet_id}")
    assert again["text"] == "You already got ¥2.00 from this red packet." and again["show_alert"]
    assert await bot.balance(2) == 102_00
    await bot.audit()


@pytest.mark.on_postgres
async def test_too_slow_expired_and_not_for_you(bot: Bot) -> None:
    alice, bob, carol = (bot.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"), (3, "Carol")))
    packet_id, message_id = await send_packet(bot, alice, "/hongbao 1 1")
    await bot.press(bob, message_id, f"o:{packet_id}")
    slow = await bot.press(carol, message_id, f"o:{packet_id}")
    assert slow["text"] == "Too slow — all shares have been taken"
    assert not slow.get("show_alert")

    personal_id, personal_message = await send_packet(bot, alice, "/hongbao 5 thanks", reply_to=bob)
    for presser in (carol, alice):  # the sender may not take their own personal packet
        refused = await bot.press(presser, personal_message, f"o:{personal_id}")
        assert refused["text"] == "This red packet is for Bob"
    assert (await bot.press(bob, personal_message, f"o:{personal_id}"))["text"].startswith(
        "🧧 You got ¥5.00!"
    )

    late_id, late_message = await send_packet(bot, alice, "/hongbao 3 3 late")
    bot.clock.advance(24 * 3600 + 1)
    expired = await bot.press(carol, late_message, f"o:{late_id}")
    assert expired["text"] == "This red packet has expired"
    await bot.ctx.drain()  # the press noticed the expiry: refund and edit at once
    assert bot.text(late_message).endswith("Expired: 0/3 taken")
    assert await bot.balance(1) == 100_00 - 1_00 - 5_00
    await bot.audit()


async def test_redis_down_answers_not_this_time(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with running_bot(tmp_path, redis_url=dead) as bot:
        alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
        packet_id, message_id = await send_packet(bot, alice, "/hongbao 3 3")
        answer = await bot.press(bob, message_id, f"o:{packet_id}")
        assert answer["text"] == "Not this time — try again"
        assert await bot.balance(2) == 100_00
        assert await bot.ctx.store.shares(packet_id) == []


@pytest.mark.on_postgres
async def test_real_redis_gate(tmp_path: Path, redis_server: RedisServer | None) -> None:
    if redis_server is None:
        pytest.skip("no redis-server")
    async with running_bot(tmp_path, redis_url=redis_server.url) as bot:
        alice = bot.updates.user(1, "Alice")
        packet_id, message_id = await send_packet(bot, alice, "/hongbao 5 2")
        users = [bot.updates.user(10 + i, f"U{i}") for i in range(5)]
        answers = [await bot.press(u, message_id, f"o:{packet_id}") for u in users]
        assert sum(a["text"].startswith("🧧 You got") for a in answers) == 2
        assert sum(a["text"].startswith("Too slow") for a in answers) == 3
        await bot.audit()


@pytest.mark.on_postgres
async def test_replayed_command_and_send_make_one_packet(bot: Bot) -> None:
    alice = bot.updates.user(1, "Alice")
    command = await bot.command(alice, "/hongbao 10 2")
    await bot.process(bot.updates.replay(command))
    drafts = [m for m in bot.req.messages_in(GROUP_ID)]
    assert len(drafts) == 1
    message_id = drafts[0]["message_id"]
    press = bot.updates.callback(bot.group, alice, message_id, "d:s")
    await bot.process(press)
    await bot.process(bot.updates.replay(press))  # same update_id, same query
    double = [bot.updates.callback(bot.group, alice, message_id, "d:s") for _ in range(3)]
    await asyncio.gather(*(bot.app.process_update(Update.de_json(r, bot.app.bot)) for r in double))
    await bot.ctx.drain()
    assert len(await bot.ctx.store.all_packets()) == 1
    assert await bot.balance(1) == 90_00
    for raw in double:
        assert bot.answer_of(raw)["text"] in {"Sent!", "This red packet was already sent."}
    await bot.audit()


@pytest.mark.on_postgres
async def test_double_tap_and_replay_of_open_pay_once(bot: Bot) -> None:
    alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
    packet_id, message_id = await send_packet(bot, alice, "/hongbao 10 5")
    taps = [bot.updates.callback(bot.group, bob, message_id, f"o:{packet_id}") for _ in range(4)]
    await asyncio.gather(*(bot.app.process_update(Update.de_json(r, bot.app.bot)) for r in taps))
    await bot.process(bot.updates.replay(taps[0]))
    await bot.ctx.drain()
    shares = await bot.ctx.store.shares(packet_id)
    assert len(shares) == 1 and await bot.balance(2) == 100_00 + shares[0].amount
    texts = sorted(bot.answer_of(r)["text"] for r in taps)
    assert texts[0].startswith("You already got") or texts[0].startswith("🧧 You got")
    assert sum(t.startswith("🧧 You got") for t in texts) == 1
    await bot.audit()


async def test_forged_callback_data_moves_nothing(bot: Bot) -> None:
    alice, bob, carol = (bot.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"), (3, "Carol")))
    packet_a, message_a = await send_packet(bot, alice, "/hongbao 4 2 A")
    packet_b, message_b = await send_packet(bot, alice, "/hongbao 4 2 B")
    personal, personal_message = await send_packet(bot, alice, "/hongbao 3", reply_to=bob)
    other_group = {"id": -100777, "type": "supergroup", "title": "elsewhere"}
    forged = [
        (message_a, f"o:{packet_b}", None),  # another packet's data on this message
        (message_a, f"o:{personal}", None),  # someone else's personal packet
        (personal_message, f"o:{packet_a}", None),
        (message_a, f"o:{packet_a}", other_group),  # the right data, another chat
        (message_a, "o:AAAAAAAAAA", None),  # no such packet
        (message_a, "o:" + "x" * 62, None),  # 64 bytes, wrong shape
        (message_a, "o:" + packet_a + "z" * 60, None),  # over 64 bytes
        (message_a, "garbage", None),
        (message_a, "o:../../etc", None),
        (message_a, "r:" + "!" * 10, None),
        (message_a, "l:fr", None),
        (message_a, "d:zz", None),
    ]
    await bot.command(carol, "/balance")  # first contact: her welcome bonus, before we count
    before = [await bot.balance(u) for u in (1, 2, 3)]
    for message_id, data, chat in forged:
        answer = await bot.press(carol, message_id, data, chat=chat)
        assert answer["text"] == "This button is no longer valid", data
    assert [await bot.balance(u) for u in (1, 2, 3)] == before
    for pid in (packet_a, packet_b, personal):
        assert await bot.ctx.store.shares(pid) == []
    # a personal packet pressed through its own message by someone else
    assert (await bot.press(carol, personal_message, f"o:{personal}"))["text"] == (
        "This red packet is for Bob"
    )
    draft_answer = await bot.press(carol, message_b, "d:s")  # a packet message is no draft
    assert draft_answer["text"] in {"This red packet was already sent.",
                                    "Only Alice can use these buttons"}
    assert len(await bot.ctx.store.all_packets()) == 3
    await bot.audit()


async def test_insufficient_balance_shows_balance_and_how_to_get_more(bot: Bot) -> None:
    alice = bot.updates.user(1, "Alice")
    await bot.command(alice, "/hongbao 150 3")
    draft = bot.last_bot_message()["message_id"]
    text = bot.text(draft)
    assert "Not enough balance: you have ¥100.00 and this red packet needs ¥150.00." in text
    assert "How to get more:" in text and "/daily" in text
    refused = await bot.press(alice, draft, "d:s")
    assert refused["show_alert"] and refused["text"].startswith("Not enough balance")
    assert len(refused["text"]) <= 200
    assert await bot.balance(1) == 100_00 and await bot.ctx.store.all_packets() == []
    cancelled = await bot.press(alice, draft, "d:c")
    assert cancelled["text"] == "Cancelled"
    assert bot.text(draft) == "Red packet cancelled: nothing was sent or debited."
    assert bot.buttons(draft) == []
    assert (await bot.press(alice, draft, "d:s"))["text"].startswith("This draft is no longer")
    await bot.audit()


async def test_bad_input_answers_what_is_allowed(bot: Bot) -> None:
    alice = bot.updates.user(1, "Alice", "alice")
    cases = {
        "/hongbao": "Send a lucky red packet: /hongbao TOTAL COUNT [greeting]",
        "/hongbao 10": "Send a lucky red packet",
        "/hongbao 10.555 3": "At most two decimals",
        "/hongbao 10 0": "The number of shares is a whole number from 1 to 100.",
        "/hongbao 0.02 3": "¥0.02 cannot be split into 3 shares: every share is at least ¥0.01",
        "/hongbao 0 3": "The amount must be more than zero: the smallest is ¥0.01.",
        "/fixed 300 2": "A share can be at most ¥200.00",
        "/hongbao 5 @nobody_here": "I don't know @nobody_here yet",
        "/hongbao 5 @redpacket_test_bot": "Bots cannot receive red packets.",
        "/hongbao 5 2 @alice": "A personal red packet has exactly one share",
        "/hongbao 5 @alice": "You cannot send a personal red packet to yourself.",
        "/hongbao 1,000 3": "Write the amount without separators",
    }
    for command, expected in cases.items():
        await bot.command(alice, command)
        assert expected in bot.text(bot.last_bot_message()["message_id"]), command
    await bot.private(alice, "/hongbao 10 2")
    assert "add me to a group" in bot.req.plain_text(1, bot.last_bot_message(1)["message_id"])
    assert await bot.ctx.store.all_packets() == []
    assert (await bot.balance(1)) == 100_00


@pytest.mark.on_postgres
async def test_personal_packets_by_username_and_text_mention(bot: Bot) -> None:
    alice = bot.updates.user(1, "Alice")
    bob = bot.updates.user(2, "Bob", "bobby_b")
    carol = bot.updates.user(3, "Carol")  # no username: only a text mention names her
    await bot.command(bob, "/balance")  # the bot has seen Bob, so @bobby_b resolves
    bob_packet, bob_message = await send_packet(bot, alice, "/hongbao 3 @BOBBY_B for you")
    assert bot.text(bob_message).splitlines()[:2] == [
        "🧧 Alice sent a red packet to Bob", "for you"
    ]
    carol_packet, carol_message = await send_packet(
        bot, alice, "/hongbao 2 Carol thanks", text_mentions=[carol]
    )
    assert bot.text(carol_message).splitlines()[:2] == [
        "🧧 Alice sent a red packet to Carol", "thanks"
    ]
    assert (await bot.press(bob, carol_message, f"o:{carol_packet}"))["text"] == (
        "This red packet is for Carol"
    )
    assert (await bot.press(carol, carol_message, f"o:{carol_packet}"))["text"].startswith(
        "🧧 You got ¥2.00!"
    )
    assert (await bot.press(bob, bob_message, f"o:{bob_packet}"))["text"].startswith(
        "🧧 You got ¥3.00!"
    )
    await bot.audit()


async def test_small_amounts_skip_the_draft(tmp_path: Path) -> None:
    async with running_bot(tmp_path, draft_skip_below="5") as bot:
        alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob")
        command = await bot.command(alice, "/hongbao 2 2 quick")
        await bot.process(bot.updates.replay(command))
        (packet,) = await bot.ctx.store.all_packets()
        message_id = bot.last_bot_message()["message_id"]
        assert bot.text(message_id) == "🧧 Alice sent a lucky red packet\nquick\n\n0/2 taken"
        assert (await bot.press(bob, message_id, f"o:{packet.id}"))["text"].startswith("🧧 You")
        await bot.command(alice, "/hongbao 10 2 big")  # at or above the line: a draft
        assert bot.text(bot.last_bot_message()["message_id"]).startswith("🧧 Draft:")
        assert await bot.balance(1) == 98_00
        await bot.audit()


async def test_a_command_redelivered_after_a_failed_post_posts_its_packet(tmp_path: Path) -> None:
    async with running_bot(tmp_path, draft_skip_below="5") as bot:
        alice = bot.updates.user(1, "Alice")
        bot.req.fail_next("sendMessage", 400, "Bad Request: chat write forbidden for a moment")
        command = await bot.command(alice, "/hongbao 2 2 lost")
        (packet,) = await bot.ctx.store.all_packets()  # debited, but nobody can see it
        assert packet.message_id is None
        await bot.process(bot.updates.replay(command))  # Telegram delivers it again
        (packet,) = await bot.ctx.store.all_packets()
        assert packet.message_id == bot.last_bot_message()["message_id"]
        assert bot.text(packet.message_id) == "🧧 Alice sent a lucky red packet\nlost\n\n0/2 taken"
        assert await bot.balance(1) == 98_00
        await bot.audit()

"""Who may open, through the real Application: password packets, newcomers, Premium
only, the daily limit, personal packets, bots, blocking, and the /settings view."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from core.packets import Packet
from tests.conftest import FakeClock
from tests.telegram.bot_harness import GROUP_ID, Bot, running_bot
from tests.telegram.fake_telegram import BOT_USER, JSON, RecordingRequest

ADMIN = 1
HOUR = 3600


def user(bot: Bot, id: int, name: str, username: str | None = None, *,
         premium: bool = False, lang: str = "en") -> JSON:
    member = bot.updates.user(id, name, username, language_code=lang)
    if premium:
        member["is_premium"] = True
    return member


async def send(bot: Bot, sender: JSON, command: str) -> tuple[int, Packet]:
    """``command`` shows a draft; Send it. Returns the packet message and the packet."""
    before = {p.id for p in await bot.ctx.store.all_packets()}
    await bot.command(sender, command)
    draft = bot.last_bot_message()["message_id"]
    answer = await bot.press(sender, draft, "d:s")
    assert answer["text"] == "Sent!", answer
    (packet,) = [p for p in await bot.ctx.store.all_packets() if p.id not in before]
    return draft, packet


async def reply(bot: Bot, member: JSON, message_id: int, text: str) -> JSON:
    """``member`` replies ``text`` to the bot's message ``message_id``."""
    replied = bot.req.message(GROUP_ID, message_id)
    return await bot.process(bot.updates.text(bot.group, member, text, reply_to=replied))


async def join(bot: Bot, *members: JSON) -> None:
    """The "X joined the group" service message."""
    message = bot.updates.message(bot.group, members[0], "")
    del message["text"]
    message["new_chat_members"] = [dict(m) for m in members]
    await bot.process(bot.updates._update(message=message))


async def tickets(bot: Bot, packet_id: str) -> tuple[int, frozenset[int]]:
    gate = bot.ctx.packets.gate
    assert gate is not None
    state = await gate.state(packet_id)
    assert state is not None
    return state.tickets, state.holders


def reply_text(bot: Bot) -> str:
    return bot.text(bot.last_bot_message()["message_id"])


# -- password packets ------------------------------------------------------------------


@pytest.mark.on_postgres
async def test_a_password_packet_opens_only_after_the_right_reply(tmp_path: Path) -> None:
    clock = FakeClock()
    req = RecordingRequest()
    reactions: list[JSON] = []
    async with running_bot(tmp_path, req=req, clock=clock) as bot:
        alice = user(bot, 1, "Alice")
        bob, carol, dave = user(bot, 2, "Bob"), user(bot, 3, "Carol"), user(bot, 4, "Dave")

        await bot.command(alice, "/password 9 3 Open, Sesame!")
        draft = bot.last_bot_message()["message_id"]
        assert "🔑 Password: «Open, Sesame!»" in bot.text(draft)
        switched = await bot.press(alice, draft, "d:k")  # to fixed, like any draft
        assert switched["text"] == "Switched: the total is ¥9.00."
        assert "🔑 Password: «Open, Sesame!»" in bot.text(draft)
        assert (await bot.press(alice, draft, "d:s"))["text"] == "Sent!"
        (packet,) = await bot.ctx.store.all_packets()
        assert packet.phrase == "Open, Sesame!" and packet.kind == "fixed"
        assert bot.text(draft).splitlines()[2] == (
            "🔑 Reply to this message with «Open, Sesame!», then press Open"
        )

        early = await bot.press(bob, draft, f"o:{packet.id}")
        assert early["text"] == (
            "Reply to this red packet with «Open, Sesame!» first, then press Open."
        )
        assert await bot.ctx.store.shares(packet.id) == []
        assert await bot.balance(2) == 100_00
        assert await tickets(bot, packet.id) == (3, frozenset())

        req.serve("setMessageReaction", lambda p: reactions.append(p) or True)
        req.clear()
        await reply(bot, bob, draft, "open sesame please")  # wrong: nothing at all
        assert req.methods() == []
        assert (await bot.press(bob, draft, f"o:{packet.id}"))["text"].startswith("Reply to")

        req.clear()
        unlock = await reply(bot, bob, draft, " ＯＰＥＮ　ｓｅｓａｍｅ！！ ")  # width, case
        assert req.methods() == ["setMessageReaction"]
        assert reactions[-1]["chat_id"] == GROUP_ID
        assert reactions[-1]["message_id"] == unlock["message"]["message_id"]
        assert "👌" in str(reactions[-1]["reaction"])

        del req._custom["setMessageReaction"]  # reactions refused: unlocked all the same
        req.clear()
        await reply(bot, carol, draft, "open    sesame")
        assert [c.method for c in req.calls] == ["setMessageReaction"]
        assert req.errors  # refused by Telegram, and nobody was told
        assert await bot.ctx.store.shares(packet.id) == []
        await bot.audit()

    async with running_bot(tmp_path, req=req, clock=clock) as bot:  # a restart, same DB
        got = await bot.press(bob, draft, f"o:{packet.id}")
        assert got["text"].startswith("🧧 You got ¥3.00!") and got["show_alert"] is True
        assert (await bot.press(carol, draft, f"o:{packet.id}"))["text"].startswith("🧧 You got")
        refused = await bot.press(dave, draft, f"o:{packet.id}")
        assert refused["text"].startswith("Reply to this red packet")
        assert await bot.balance(4) == 100_00
        assert await tickets(bot, packet.id) == (1, frozenset({2, 3}))
        # Forged data: the packet's id on another message opens nothing.
        forged = await bot.press(dave, draft + 50, f"o:{packet.id}")
        assert forged["text"] == "This button is no longer valid"
        await bot.audit()


async def test_a_password_is_refused_when_empty_or_too_long_and_escaped(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        alice = user(bot, 1, "Alice")
        await bot.command(alice, "/password 9 3")
        assert reply_text(bot).startswith("Send a password red packet: /password TOTAL COUNT")
        await bot.command(alice, "/password 9 3 !!! ...")
        assert reply_text(bot).startswith("The password is empty")
        await bot.command(alice, "/kouling 9 3 " + "x" * 33)
        assert reply_text(bot) == "The password is 33 characters long; at most 32 are allowed."
        assert await bot.ctx.store.all_packets() == []

        draft, packet = await send(bot, alice, "/kouling 9 3 <b>&amp;</b>")
        assert packet.phrase == "<b>&amp;</b>"
        assert "«<b>&amp;</b>»" in bot.text(draft)  # shown as typed, not as markup
        assert "&lt;b&gt;&amp;amp;" in bot.req.text(GROUP_ID, draft)
        bob = user(bot, 2, "Bob")
        await reply(bot, bob, draft, "<B>&AMP;</B>")
        assert (await bot.press(bob, draft, f"o:{packet.id}"))["text"].startswith("🧧 You got")
        await bot.audit()


async def test_the_chinese_menu_names_password_packets(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        zh = bot.req.calls_of("setMyCommands", language_code="zh")
        assert zh and "口令红包" in str(zh[-1]["commands"])
        li = user(bot, 5, "李雷", lang="zh-hans")
        await bot.command(li, "/kouling 8 2 芝麻开门")
        assert "🔑 口令：「芝麻开门」" in reply_text(bot)


# -- newcomers -----------------------------------------------------------------------


@pytest.mark.on_postgres
async def test_a_newcomer_is_refused_and_an_established_member_paid(tmp_path: Path) -> None:
    async with running_bot(tmp_path, bot_admin_ids=str(ADMIN)) as bot:
        admin, old = user(bot, ADMIN, "Ada"), user(bot, 2, "Olga")
        newbie, other = user(bot, 3, "Nina"), user(bot, 4, "Otto")
        await bot.command(admin, "/settings newcomers 2")
        assert "New members may open, send and shake 2 h after" in reply_text(bot)
        await join(bot, newbie)
        draft, packet = await send(bot, old, "/hongbao 10 2")

        refused = await bot.press(newbie, draft, f"o:{packet.id}")
        assert refused["text"] == (
            "New members can open red packets 2 h after joining: 2 h 0 min to go. "
            "(Chat rule; admins change it with /settings newcomers.)"
        )
        assert await bot.balance(3) == 100_00
        assert await tickets(bot, packet.id) == (2, frozenset())
        assert (await bot.press(admin, draft, f"o:{packet.id}"))["text"].startswith("🧧 You got")

        await bot.command(newbie, "/hongbao 5 2")
        assert reply_text(bot).startswith("New members can send red packets 2 h after joining")
        assert len(await bot.ctx.store.all_packets()) == 1

        # A chat_member update (the bot is an admin and asked for them) is a join too.
        await bot.process(bot.updates._update(chat_member={
            "chat": bot.group, "from": dict(other), "date": 1_700_000_000,
            "old_chat_member": {"status": "left", "user": dict(other)},
            "new_chat_member": {"status": "member", "user": dict(other)},
        }))
        bot.clock.advance(HOUR + 30 * 60)
        assert (await bot.press(newbie, draft, f"o:{packet.id}"))["text"].startswith(
            "New members can open red packets 2 h after joining: 0 h 30 min to go."
        )
        assert (await bot.press(other, draft, f"o:{packet.id}"))["text"].startswith("New members")
        bot.clock.advance(HOUR)
        assert (await bot.press(newbie, draft, f"o:{packet.id}"))["text"].startswith("🧧 You got")
        assert await tickets(bot, packet.id) == (0, frozenset({ADMIN, 3}))
        await bot.command(admin, "/settings newcomers off")
        assert "New members may open red packets at once" in reply_text(bot)
        await bot.audit()


# -- Premium only ----------------------------------------------------------------------


async def test_premium_only_on_and_off(tmp_path: Path) -> None:
    async with running_bot(tmp_path, bot_admin_ids=str(ADMIN)) as bot:
        admin, plain = user(bot, ADMIN, "Ada"), user(bot, 2, "Pat")
        star = user(bot, 3, "Star", premium=True)
        draft, packet = await send(bot, admin, "/hongbao 10 3")
        await bot.command(admin, "/settings premium on")
        assert "Only Telegram Premium members may open red packets and shake" in reply_text(bot)

        refused = await bot.press(plain, draft, f"o:{packet.id}")
        assert refused["text"].startswith(
            "Only Telegram Premium members can open red packets or shake in this chat."
        )
        assert "/settings premium off" in refused["text"]
        assert await bot.ctx.store.share_of(packet.id, 2) is None
        assert await tickets(bot, packet.id) == (3, frozenset())
        assert (await bot.press(star, draft, f"o:{packet.id}"))["text"].startswith("🧧 You got")

        await bot.command(admin, "/settings premium off")  # applies to the next press
        assert (await bot.press(plain, draft, f"o:{packet.id}"))["text"].startswith("🧧 You got")
        await bot.audit()


async def test_premium_only_refuses_a_shake(tmp_path: Path) -> None:
    async with running_bot(tmp_path, bot_admin_ids=str(ADMIN)) as bot:
        admin, plain = user(bot, ADMIN, "Ada"), user(bot, 2, "Pat")
        await bot.command(admin, "/settings premium on")
        await bot.command(admin, "/shake start 10 5 1h")
        campaign = bot.last_bot_message()["message_id"]
        (label, data), = bot.buttons(campaign)
        refused = await bot.press(plain, campaign, data)
        assert refused["text"].startswith("Only Telegram Premium members can open")
        await bot.command(plain, "/shake")
        assert reply_text(bot).startswith("Only Telegram Premium members can open")
        engine = await bot.ctx.ready()
        assert engine.shake is not None
        (live,) = await engine.shake.live_campaigns()
        assert await engine.shake.wins(live.id) == []
        await bot.audit()


# -- the daily sending limit -------------------------------------------------------------


@pytest.mark.on_postgres
async def test_the_daily_limit_holds_for_two_drafts_sent_at_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, bot_admin_ids=str(ADMIN)) as bot:
        admin, alice = user(bot, ADMIN, "Ada"), user(bot, 2, "Alice")
        await bot.command(admin, "/settings daily 10")
        assert "Each member may send at most ¥10.00 in red packets per UTC day" in reply_text(bot)
        await bot.command(alice, "/hongbao 6 2 one")
        first = bot.last_bot_message()["message_id"]
        await bot.command(alice, "/hongbao 6 2 two")
        second = bot.last_bot_message()["message_id"]

        presses = [bot.updates.callback(bot.group, alice, m, "d:s") for m in (first, second)]
        await asyncio.gather(*(
            bot.app.process_update(Update.de_json(raw, bot.app.bot)) for raw in presses
        ))
        await bot.ctx.drain()
        answers = sorted(bot.answer_of(raw)["text"] for raw in presses)
        assert answers == [
            "Sent!",
            "This chat lets each member send at most ¥10.00 in red packets per UTC day; "
            "you have sent ¥6.00 today, so ¥4.00 is left. "
            "(Admins change it with /settings daily.)",
        ]
        assert len(await bot.ctx.store.all_packets()) == 1
        assert await bot.balance(2) == 94_00

        await bot.command(alice, "/hongbao 5 2")  # the draft says so at once
        assert reply_text(bot).startswith("This chat lets each member send at most ¥10.00")
        await bot.command(alice, "/hongbao 4 2")  # what is left still fits
        assert reply_text(bot).startswith("🧧 Draft:")

        bot.clock.advance(24 * HOUR)  # a new UTC day
        await send(bot, alice, "/hongbao 9 2")
        assert await bot.balance(2) == 85_00
        await bot.audit()


# -- personal packets and bots ------------------------------------------------------------


async def test_personal_packets_off_and_never_to_a_bot(tmp_path: Path) -> None:
    async with running_bot(tmp_path, bot_admin_ids=str(ADMIN)) as bot:
        admin, alice, bob = user(bot, ADMIN, "Ada"), user(bot, 2, "Alice"), user(bot, 3, "Bob")
        other_bot = {"id": 777, "is_bot": True, "first_name": "Helper", "username": "helper_bot"}
        await bot.command(admin, "/settings personal off")
        assert "Personal red packets are turned off" in reply_text(bot)
        await bot.command(alice, "/hongbao 5 for you", reply_to=bob)
        assert reply_text(bot).startswith("Personal red packets are turned off in this chat")
        assert "/settings personal on" in reply_text(bot)
        await bot.command(alice, "/hongbao 6 2 for all")  # a packet for everyone is fine
        assert reply_text(bot).startswith("🧧 Draft:")

        await bot.command(admin, "/settings personal on")
        await bot.command(alice, "/hongbao 5 for you", reply_to=bob)
        assert reply_text(bot).startswith("🧧 Draft:")

        for refused in (
            bot.updates.command(bot.group, alice, "/hongbao 5", reply_to=other_bot),
            bot.updates.command(bot.group, alice, "/hongbao 5 Helper", text_mentions=[other_bot]),
            bot.updates.command(bot.group, alice, "/hongbao 5 @redpacket_test_bot"),
            bot.updates.command(bot.group, alice, "/hongbao 5",
                                reply_to=bot.req.message(GROUP_ID, 1)),
        ):
            await bot.process(refused)
            assert reply_text(bot) == "Bots cannot receive red packets."
        assert await bot.ctx.store.all_packets() == []
        assert await bot.balance(2) == 100_00
        await bot.audit()


# -- blocking -------------------------------------------------------------------------


@pytest.mark.on_postgres
async def test_block_and_unblock(tmp_path: Path) -> None:
    async with running_bot(tmp_path, bot_admin_ids=str(ADMIN)) as bot:
        admin, alice = user(bot, ADMIN, "Ada"), user(bot, 2, "Alice")
        bob = user(bot, 3, "Bob", "bobby")
        draft, packet = await send(bot, alice, "/hongbao 10 3")
        await bot.press(bob, draft, f"o:{packet.id}")  # Bob is known now (and paid)
        draft, packet = await send(bot, alice, "/hongbao 10 3")

        await bot.command(alice, "/block", reply_to=bob)
        assert reply_text(bot) == "Only chat admins can block or unblock members."
        await bot.command(admin, "/block")
        assert reply_text(bot).startswith("Reply to one of the member's messages with /block")
        await bot.command(admin, "/block", reply_to=BOT_USER)
        assert reply_text(bot).startswith("Bots never open red packets")
        await bot.command(admin, "/block @nobody_here")
        assert reply_text(bot).startswith("I don't know @nobody_here yet")

        await bot.command(admin, "/block", reply_to=bob)
        assert reply_text(bot) == (
            "Bob can no longer open red packets or shake in this chat. /unblock undoes it."
        )
        await bot.command(admin, "/block @bobby")
        assert reply_text(bot) == "Bob is blocked already."
        await bot.command(alice, "/settings")
        assert "Blocked from opening red packets here (1): Bob" in reply_text(bot)

        balance = await bot.balance(3)
        refused = await bot.press(bob, draft, f"o:{packet.id}")
        assert refused["text"].startswith("You can't open red packets in this chat")
        assert "/unblock" in refused["text"]
        assert await bot.balance(3) == balance
        assert await tickets(bot, packet.id) == (3, frozenset())

        await bot.command(admin, "/unblock @bobby")
        assert reply_text(bot) == "Bob can open red packets in this chat again."
        await bot.command(admin, "/unblock", reply_to=bob)
        assert reply_text(bot) == "Bob was not blocked."
        assert (await bot.press(bob, draft, f"o:{packet.id}"))["text"].startswith("🧧 You got")
        await bot.command(alice, "/settings")
        assert "Nobody is blocked" in reply_text(bot)
        await bot.audit()


# -- the /settings view -------------------------------------------------------------------


async def test_settings_show_every_rule_in_both_languages(tmp_path: Path) -> None:
    overrides: dict[str, Any] = {"newcomer_hours": 12, "premium_only": True,
                                 "daily_send_limit": "50", "personal_packets": False}
    async with running_bot(tmp_path, bot_admin_ids=str(ADMIN), **overrides) as bot:
        en, zh = user(bot, 2, "Ed"), user(bot, 3, "李雷", lang="zh-hans")
        await bot.command(en, "/settings")
        lines = reply_text(bot).splitlines()
        for line in (
            "New members may open, send and shake 12 h after the bot saw them join "
            "(members who were here before count as established)",
            "Only Telegram Premium members may open red packets and shake",
            "Each member may send at most ¥50.00 in red packets per UTC day",
            "Personal red packets are turned off",
            "Bots never open or receive red packets",
            "Nobody is blocked",
        ):
            assert line in lines
        await bot.command(zh, "/settings")
        text = reply_text(bot)
        for words in (
            "12 小时后才能领、发红包和摇一摇", "只有 Telegram Premium 会员",
            "每人每天（UTC）最多发 ¥50.00 红包", "已关闭专属红包", "没有被禁止领红包的成员",
        ):
            assert words in text

        admin = user(bot, ADMIN, "Ada")
        for wrong in ("/settings premium maybe", "/settings newcomers soon", "/settings daily 1,5"):
            await bot.command(admin, wrong)
            assert "🧧" not in reply_text(bot)
        await bot.command(admin, "/settings newcomers soon")
        assert reply_text(bot) == "Newcomer hours are a whole number from 1 to 8760, or off."
        await bot.command(admin, "/settings premium default")  # back to .env: still on
        assert "Only Telegram Premium members may open red packets and shake" in reply_text(bot)
        await bot.command(admin, "/settings premium off")
        assert "Everyone may open red packets, Premium or not" in reply_text(bot)


async def test_a_command_redelivered_at_the_daily_limit_still_posts_its_packet(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, draft_skip_below="5", daily_send_limit="2") as bot:
        alice = user(bot, 2, "Alice")
        bot.req.fail_next("sendMessage", 400, "Bad Request: chat write forbidden for a moment")
        command = await bot.command(alice, "/hongbao 2 2 lost")  # debited, not posted
        await bot.process(bot.updates.replay(command))  # the limit is reached by itself
        (packet,) = await bot.ctx.store.all_packets()
        assert packet.message_id == bot.last_bot_message()["message_id"]
        assert bot.text(packet.message_id).startswith("🧧 Alice sent a lucky red packet")
        await bot.command(alice, "/hongbao 1 1")
        assert reply_text(bot).startswith("This chat lets each member send at most ¥2.00")
        assert await bot.balance(2) == 98_00
        await bot.audit()

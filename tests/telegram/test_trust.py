"""/suspects (the grabber report, admins) and /top (the leaderboard, anyone), through
the real Application; time is driven by the fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram.constants import ReactionEmoji

from bot.once_per_minute import OncePerMinute
from tests.telegram.bot_harness import GROUP_ID, Bot, running_bot
from tests.telegram.fake_telegram import JSON, TelegramReply


async def send_packet(bot: Bot, sender: JSON, command: str) -> tuple[str, int]:
    """Draft then Send, in any language; returns (packet id, message id)."""
    await bot.command(sender, command)
    message_id = bot.last_bot_message()["message_id"]
    await bot.press(sender, message_id, "d:s")
    packet = max(await bot.ctx.store.all_packets(), key=lambda p: (p.created_at, p.message_id))
    assert packet.message_id == message_id
    return packet.id, message_id

ALLOWED_REACTIONS = {emoji.value for emoji in ReactionEmoji}


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path) as running:
        running.reactions: list[JSON] = []  # type: ignore[attr-defined]

        def react(params: JSON) -> bool:
            reaction = params.get("reaction") or []
            if any(r.get("emoji") not in ALLOWED_REACTIONS for r in reaction):
                raise TelegramReply(400, "Bad Request: REACTION_INVALID")
            running.reactions.append(params)  # type: ignore[attr-defined]
            return True

        running.req.serve("setMessageReaction", react)
        yield running


def reactions(bot: Bot) -> list[JSON]:
    return bot.reactions  # type: ignore[attr-defined,no-any-return]


def group_texts(bot: Bot) -> list[str]:
    return [bot.text(m["message_id"]) for m in bot.req.messages_in(GROUP_ID) if "text" in m]


async def five_packets(bot: Bot, sender: JSON, members: list[JSON]) -> None:
    """Five packets, each pressed by every member 1-3 s after it was posted; they take
    turns at being first."""
    for round_ in range(5):
        packet_id, message_id = await send_packet(bot, sender, f"/hongbao 4 {len(members)}")
        turn = members[round_ % len(members):] + members[:round_ % len(members)]
        for member in turn:
            bot.clock.advance(1 + round_ * 0.1)
            answer = await bot.press(member, message_id, f"o:{packet_id}")
            assert answer["show_alert"] is True
        bot.clock.advance(60)


@pytest.mark.on_postgres
async def test_a_script_pressing_within_50_ms_is_listed_and_people_are_not(bot: Bot) -> None:
    alice = bot.updates.user(1, "Alice")
    admin = bot.updates.user(9, "Admin")
    script = bot.updates.user(66, "FastFinger")
    humans = [bot.updates.user(10 + i, f"Human {i}") for i in range(3)]
    bot.req.set_member(GROUP_ID, admin["id"], "administrator")
    for round_ in range(5):  # a script presses 20-44 ms after each packet, people after 1-3 s
        packet_id, message_id = await send_packet(bot, alice, "/hongbao 4 4")
        posted = bot.clock.now
        bot.clock.advance(0.02 + round_ * 0.006)
        await bot.press(script, message_id, f"o:{packet_id}")
        for i, human in enumerate(humans[round_ % 3:] + humans[:round_ % 3]):
            bot.clock.now = posted + 1000 + i * 900 + round_ * 20
            await bot.press(human, message_id, f"o:{packet_id}")
        bot.clock.advance(30)
    delays = await bot.ctx.store.fetchall("SELECT member_id, press_delay_ms FROM shares")
    assert all(d < 50 for m, d in delays if m == script["id"])
    assert all(1000 <= d <= 3000 for m, d in delays if m != script["id"])

    command = await bot.command(admin, "/suspects")
    report = bot.req.plain_text(admin["id"], bot.last_bot_message(admin["id"])["message_id"])
    assert "FastFinger: median 0.03 s after the red packet appeared, first in 5 of 5 (100 %)" in (
        report
    )
    assert "Human" not in report and "Alice" not in report
    assert "0.5 s" in report and "60 %" in report and "not a verdict" in report
    # The group sees a 👌 on the command, not the report.
    assert [r["message_id"] for r in reactions(bot)] == [command["message"]["message_id"]]
    assert not any("🕵️" in text or "median" in text for text in group_texts(bot))
    await bot.audit()


async def test_nobody_listed_is_said_plainly(bot: Bot) -> None:
    alice, admin = bot.updates.user(1, "Alice"), bot.updates.user(9, "管理员", language_code="zh")
    bot.req.set_member(GROUP_ID, admin["id"], "creator")
    humans = [bot.updates.user(10 + i, f"Human {i}") for i in range(3)]
    await five_packets(bot, alice, humans)
    await bot.command(admin, "/suspects")
    report = bot.req.plain_text(admin["id"], bot.last_bot_message(admin["id"])["message_id"])
    assert "没有可疑成员：3 位领得够多的成员里" in report
    await bot.audit()


async def test_non_admins_are_refused_suspects(bot: Bot) -> None:
    alice = bot.updates.user(1, "Alice")
    bob_zh = bot.updates.user(2, "Bob", language_code="zh")
    await send_packet(bot, alice, "/hongbao 1 1")
    await bot.command(alice, "/suspects")
    assert group_texts(bot)[-1] == "Sorry, only chat admins and bot admins can see /suspects."
    await bot.command(bob_zh, "/suspects")
    assert group_texts(bot)[-1] == "抱歉，只有群管理员和机器人管理员可以查看 /suspects。"
    assert not bot.req.messages_in(alice["id"]) and not bot.req.messages_in(bob_zh["id"])
    await bot.private(alice, "/suspects")
    assert "use it in the group" in bot.text(bot.last_bot_message(1)["message_id"], 1)
    await bot.audit()


async def test_an_admin_who_never_started_the_bot_is_told_how(bot: Bot) -> None:
    admin = bot.updates.user(9, "Admin")
    bot.req.set_member(GROUP_ID, admin["id"], "administrator")
    bot.req.never_started(admin["id"])
    await bot.command(admin, "/suspects")
    assert "press Start, then send /suspects here again" in group_texts(bot)[-1]
    await bot.audit()


async def leaderboard_packets(bot: Bot, lang: str) -> dict[str, Any]:
    alice = bot.updates.user(1, "Alice", language_code=lang)
    bob = bot.updates.user(2, "Bob", language_code=lang)
    carol = bot.updates.user(3, "Carol", language_code=lang)
    old_id, old_msg = await send_packet(bot, carol, "/hongbao 30 2")  # last week
    for member in (alice, bob):
        await bot.press(member, old_msg, f"o:{old_id}")
    bot.clock.advance(8 * 86_400)
    for command in ("/hongbao 5 2", "/fixed 1 2"):
        packet_id, message_id = await send_packet(bot, alice, command)
        for member in (bob, carol):
            bot.clock.advance(1)
            await bot.press(member, message_id, f"o:{packet_id}")
    return {"alice": alice, "bob": bob, "carol": carol}


@pytest.mark.on_postgres
async def test_top_in_english_with_this_week_and_all_time(bot: Bot) -> None:
    people = await leaderboard_packets(bot, "en")
    await bot.command(people["bob"], "/top")
    text = group_texts(bot)[-1]
    week, ever = text.split("All time")
    assert "This week" in week and "1. Alice — ¥7.00 given in 2 red packet(s)" in week
    assert "Carol — ¥30.00" not in week
    assert "1. Carol — ¥30.00 given in 1 red packet(s)" in ever
    assert "2. Alice — ¥7.00 given in 2 red packet(s)" in ever
    shares = await bot.ctx.store.fetchall(
        "SELECT s.member_name, s.amount FROM shares s JOIN packets p ON p.id = s.packet_id"
        " WHERE p.kind = 'lucky' ORDER BY p.created_at, s.amount DESC, s.position"
    )
    old_best, new_best = shares[0], shares[2]
    assert f"1. {new_best[0]} — best luck 1 time(s), ¥{new_best[1] / 100:.2f}" in week
    if old_best[0] == new_best[0]:
        total = old_best[1] + new_best[1]
        assert f"1. {new_best[0]} — best luck 2 time(s), ¥{total / 100:.2f}" in ever
    else:
        assert f"{old_best[0]} — best luck 1 time(s), ¥{old_best[1] / 100:.2f}" in ever
    await bot.audit()


async def test_top_in_chinese(bot: Bot) -> None:
    people = await leaderboard_packets(bot, "zh")
    await bot.command(people["carol"], "/top")
    text = group_texts(bot)[-1]
    assert text.startswith("🏆 本群红包排行榜")
    assert "本周" in text and "总榜" in text
    assert "1. Alice — 发出 2 个红包，被领 ¥7.00" in text
    assert "1. Carol — 发出 1 个红包，被领 ¥30.00" in text
    assert "手气王 1 次" in text
    await bot.audit()


async def test_top_is_posted_once_a_minute_per_chat(bot: Bot) -> None:
    people = await leaderboard_packets(bot, "en")
    bob = people["bob"]
    await bot.command(bob, "/top")
    posted = len(group_texts(bot))
    first = bot.last_bot_message()["message_id"]

    bot.clock.advance(20)
    second = await bot.command(people["carol"], "/top")
    assert len(group_texts(bot)) == posted  # no new message...
    assert reactions(bot)[-1]["message_id"] == second["message"]["message_id"]  # ...a 👌
    assert reactions(bot)[-1]["reaction"] == [{"type": "emoji", "emoji": "👌"}]

    # Where reactions are off, one short pointer to the leaderboard, then silence.
    bot.req.fail_next("setMessageReaction", 400, "Bad Request: REACTION_INVALID", times=2)
    bot.clock.advance(20)
    await bot.command(bob, "/top")
    await bot.command(bob, "/top")
    assert len(group_texts(bot)) == posted + 1
    pointer = bot.req.last("sendMessage", chat_id=GROUP_ID)
    assert "posted a moment ago" in pointer["text"]
    assert first == pointer["reply_parameters"]["message_id"]

    bot.clock.advance(21)  # a minute after the first: a fresh leaderboard
    await bot.command(bob, "/top")
    assert len(group_texts(bot)) == posted + 2
    assert group_texts(bot)[-1].startswith("🏆")

    other = bot.updates.group(id=-4242)  # another chat has its own minute
    await bot.process(bot.updates.command(other, bob, "/top"))
    assert bot.text(bot.last_bot_message(-4242)["message_id"], -4242).startswith("🏆 No red")
    await bot.audit()


def test_the_minute_limiter_remembers_a_bounded_number_of_chats() -> None:
    limiter = OncePerMinute(interval_ms=60_000, max_chats=3)
    for chat in range(10):
        limiter.reserve(chat, 1_000)
    assert len(limiter) == 3
    assert limiter.recent(9, 2_000) is not None and limiter.recent(0, 2_000) is None
    assert limiter.recent(9, 61_000) is None


async def test_top_and_suspects_are_in_both_command_menus(bot: Bot) -> None:
    menus = bot.req.calls_of("setMyCommands")
    english = next(m for m in menus if "language_code" not in m)["commands"]
    chinese = next(m for m in menus if m.get("language_code") == "zh")["commands"]
    assert {"command": "top", "description": "This chat's top senders and best luck"} in english
    assert {"command": "top", "description": "本群发红包排行和手气王"} in chinese
    assert {c["command"] for c in chinese} >= {"suspects", "top"}


@pytest.mark.on_postgres
async def test_a_password_packets_delay_counts_from_each_members_unlock(bot: Bot) -> None:
    alice, bob, carol = (bot.updates.user(i, n) for i, n in ((1, "Alice"), (2, "Bob"),
                                                               (3, "Carol")))
    packet_id, message_id = await send_packet(bot, alice, "/password 6 3 sesame")

    async def unlock(member: JSON) -> None:
        replied = bot.req.message(GROUP_ID, message_id)
        await bot.process(bot.updates.text(bot.group, member, "sesame", reply_to=replied))

    bot.clock.advance(1)
    await unlock(carol)
    bot.clock.advance(4)
    await unlock(bob)  # five seconds after the post...
    bot.clock.advance(0.03)
    await bot.press(bob, message_id, f"o:{packet_id}")  # ...and 30 ms after his unlock
    bot.clock.advance(2)
    await bot.press(carol, message_id, f"o:{packet_id}")
    delays = dict(await bot.ctx.store.fetchall(
        "SELECT member_id, press_delay_ms FROM shares WHERE packet_id = ?", (packet_id,)
    ))
    assert delays == {2: 30, 3: 6030}
    await bot.audit()

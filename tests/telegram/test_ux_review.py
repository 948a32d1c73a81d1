"""Regressions from the UX review: what members read, word for word, in English and Chinese."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bot.i18n import translate
from tests.telegram.bot_harness import Bot
from tests.telegram.test_bot_views import without_fairness
from tests.telegram.fake_telegram import JSON


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    return {"bot_admin_ids": "1", "shake_interval_seconds": 0, "shake_max_wins": 1}


def people(bot: Bot, lang: str) -> tuple[JSON, JSON, JSON]:
    code = "zh-hans" if lang == "zh" else "en"
    return (bot.updates.user(1, "Alice <&>", "alice", code),
            bot.updates.user(2, "Bob", "bobby", code),
            bot.updates.user(3, "Carol", "carol", code))


async def greet_all(bot: Bot, *users: JSON) -> None:
    for user in users:
        await bot.private(user, "/start")


def private_text(bot: Bot, user: JSON) -> str:
    """The last private message, a result view without its seal (see test_fairness.py)."""
    return without_fairness(bot.text(bot.last_bot_message(user["id"])["message_id"], user["id"]))


# -- /start ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang, first_lines", [
    ("en", ("🧧 Hi Alice <&>! I run WeChat-style red packets for Telegram groups. Add me to a "
           "group and send /hongbao 10 5 to share ¥10.00 in 5 lucky shares.\n"
           "🎁 You got a welcome bonus of ¥100.00.\n")),
    ("zh", ("🧧 Alice <&>，你好！我可以在 Telegram 群里发微信式红包。把我加进群，发送 "
           "/hongbao 10 5 即可把 ¥10.00 分成 5 个拼手气红包。\n"
           "🎁 你获得了新人红包 ¥100.00。\n")),
])
async def test_welcome_names_money_with_the_currency_symbol(
    bot: Bot, lang: str, first_lines: str
) -> None:
    alice, _, _ = people(bot, lang)
    await bot.private(alice, "/start")
    assert private_text(bot, alice).startswith(first_lines)
    assert "&lt;" in bot.last_bot_message(1)["text"]  # the name is escaped in the HTML


# -- a lucky packet of one share ---------------------------------------------------------


@pytest.mark.parametrize("lang, draft, public, sender", [
    ("en", ("🧧 Draft: a lucky red packet of ¥1.00 in 1 share\nBest wishes!\n"
           "Your balance: ¥100.00\nNothing is debited until Alice <&> presses Send."),
     "🧧 Alice <&> sent a lucky red packet\nBest wishes!\n\n0/1 taken",
     "🧧 Alice <&> sent a lucky red packet\nBest wishes!\n\n0/1 taken, ¥0.00/¥1.00"),
    ("zh", ("🧧 红包草稿：拼手气红包，共 ¥1.00，1个\n恭喜发财，大吉大利\n"
           "你的余额：¥100.00\nAlice <&> 点击“塞钱进红包”前不会扣款。"),
     "🧧 Alice <&> 发了一个拼手气红包\n恭喜发财，大吉大利\n\n已领取0/1个",
     "🧧 Alice <&> 发了一个拼手气红包\n恭喜发财，大吉大利\n\n已领取0/1个，共¥0.00/¥1.00"),
])
async def test_one_share_lucky_packet_has_no_empty_waiting_for(
    bot: Bot, lang: str, draft: str, public: str, sender: str
) -> None:
    alice, bob, _ = people(bot, lang)
    await greet_all(bot, alice, bob)
    await bot.command(alice, "/hongbao 1 1")
    message = bot.last_bot_message()["message_id"]
    assert bot.text(message) == draft
    await bot.press(alice, message, "d:s")
    (packet,) = await bot.ctx.store.all_packets()
    assert bot.text(message) == public
    await bot.private(alice, f"/start p_{packet.id}")
    assert private_text(bot, alice) == sender
    await bot.press(bob, message, f"o:{packet.id}")
    assert bot.text(message).split("\n")[3] == ("1 share, taken in 0 s" if lang == "en"
                                                else "1个红包，0秒被抢光")
    await bot.audit()


# -- not enough balance ------------------------------------------------------------------


@pytest.mark.parametrize("lang, expected", [
    ("en", ("🧧 Draft: a lucky red packet of ¥500.00 in 3 shares\nBest wishes!\n"
           "Not enough balance: you have ¥100.00 and this red packet needs ¥500.00. "
           "Send at most ¥100.00, or add to your balance first.\n"
           "How to get more:\n• take red packets in your groups\n"
           "• claim the daily bonus of ¥10.00 with /daily\n• ask a bot admin for a grant")),
    ("zh", ("🧧 红包草稿：拼手气红包，共 ¥500.00，3个\n恭喜发财，大吉大利\n"
           "余额不足：你的余额为 ¥100.00，这个红包需要 ¥500.00。最多可发 ¥100.00，或先增加余额再发。\n"
           "如何获得更多：\n• 在群里抢红包\n• 发送 /daily 领取每日红包 ¥10.00\n• 请机器人管理员发放")),
])
async def test_insufficient_balance_draft_states_the_balance_once(
    bot: Bot, lang: str, expected: str
) -> None:
    _, bob, _ = people(bot, lang)
    await bot.private(bob, "/start")
    await bot.command(bob, "/hongbao 500 3")
    draft = bot.last_bot_message()["message_id"]
    assert bot.text(draft) == expected
    refused = await bot.press(bob, draft, "d:s")
    assert refused["show_alert"] is True and len(refused["text"]) <= 200
    assert bot.text(draft) == expected
    assert await bot.balance(2) == 100_00 and await bot.ctx.store.all_packets() == []
    await bot.audit()


# -- mentions ----------------------------------------------------------------------------


async def test_a_mention_inside_the_greeting_keeps_the_packet_lucky(bot: Bot) -> None:
    alice, bob, carol = people(bot, "en")
    await greet_all(bot, alice, bob, carol)
    await bot.command(alice, "/hongbao 10 3 thanks @carol for lunch")
    assert bot.text(bot.last_bot_message()["message_id"]) == (
        "🧧 Draft: a lucky red packet of ¥10.00 in 3 shares\nthanks @carol for lunch\n"
        "Your balance: ¥100.00\nNothing is debited until Alice <&> presses Send."
    )
    await bot.command(alice, "/hongbao 5 hi @carol", reply_to=bob)
    assert bot.text(bot.last_bot_message()["message_id"]) == (
        "🧧 Draft: a red packet of ¥5.00 for Bob\nhi @carol\n"
        "Your balance: ¥100.00\nNothing is debited until Alice <&> presses Send."
    )
    await bot.command(alice, "/hongbao 10 5 @carol")
    assert bot.text(bot.last_bot_message()["message_id"]) == (
        "A personal red packet has exactly one share: /hongbao AMOUNT @username [greeting]."
    )
    await bot.command(alice, "/hongbao 10 @carol hi")
    assert bot.text(bot.last_bot_message()["message_id"]).startswith(
        "🧧 Draft: a red packet of ¥10.00 for Carol\nhi\n"
    )
    assert await bot.balance(1) == 100_00


# -- shake -------------------------------------------------------------------------------


class _AlwaysWins(random.Random):
    def random(self) -> float:
        return 0.0


class _NeverWins(random.Random):
    def random(self) -> float:
        return 0.999999


@pytest.mark.parametrize("lang, refused, how, lost, maxed", [
    ("en", ("Not enough balance to fund this campaign: you have ¥100.00 and the pool needs "
           "¥1000.00. Use a smaller pool, or add to your balance first."),
     "Press Shake (or type /shake) to try your luck.", "No luck this time — shake again!",
     "You have already won once in this campaign, the most anyone can."),
    ("zh", ("余额不足，无法发起这个活动：你的余额为 ¥100.00，奖池需要 ¥1000.00。"
           "请减少奖池金额，或先增加余额。"),
     "点“摇一摇”（或发送 /shake）试试手气。", "这次没摇中，再摇一次！",
     "你在本次活动中已摇中 1 次，已达上限。"),
])
async def test_shake_words(
    bot: Bot, lang: str, refused: str, how: str, lost: str, maxed: str
) -> None:
    alice, bob, _ = people(bot, lang)
    await greet_all(bot, alice, bob)
    await bot.command(alice, "/shake start 1000 2")
    assert bot.text(bot.last_bot_message()["message_id"]) == refused
    assert await bot.balance(1) == 100_00
    await bot.command(alice, "/shake start 10 1")
    campaign = bot.last_bot_message()["message_id"]
    lines = bot.text(campaign).split("\n")
    assert lines[1] == ("¥10.00 in 1 prize" if lang == "en" else "奖池 ¥10.00，共 1 份奖品")
    assert lines[-1] == how
    assert bot.ctx.engine is not None and bot.ctx.engine.shake is not None
    bot.ctx.engine.shake.rng = _NeverWins()
    (_, data), = bot.buttons(campaign)
    assert (await bot.press(bob, campaign, data))["text"] == lost
    await bot.command(alice, "/shake stop")
    await bot.command(alice, "/shake start 10 2")
    campaign = bot.last_bot_message()["message_id"]
    bot.ctx.engine.shake.rng = _AlwaysWins()
    (_, data), = bot.buttons(campaign)
    assert (await bot.press(bob, campaign, data))["show_alert"] is True
    assert (await bot.press(bob, campaign, data))["text"] == maxed
    await bot.command(alice, "/shake stop")
    await bot.audit()


# -- catalogs ----------------------------------------------------------------------------


def test_singular_forms_follow_count_as_well_as_n() -> None:
    assert translate("en", "shake.error.pool_too_small", count=1, minimum="¥2.00",
                     prize="¥2.00") == (
        "1 prize needs a pool of at least ¥2.00 (each prize is at least ¥2.00)."
    )
    assert translate("en", "shake.error.pool_too_small", count=3, minimum="¥6.00",
                     prize="¥2.00") == (
        "3 prizes need a pool of at least ¥6.00 (each prize is at least ¥2.00)."
    )
    # ``n`` decides when both are given: "1 of 2 prizes won" stays plural.
    assert translate("en", "shake.end.summary", n=1, count=2, amount="¥3.00") == (
        "1 of 2 prizes won, ¥3.00 in all"
    )


async def test_the_draft_shows_the_greeting_as_the_packet_will(bot: Bot) -> None:
    alice, bob, _ = people(bot, "en")
    greeting = "🎉 " + "long wishes " * 20
    await bot.command(alice, f"/hongbao 2 2 {greeting}")
    draft = bot.last_bot_message()["message_id"]
    drafted = bot.text(draft).splitlines()[1]
    await bot.press(alice, draft, "d:s")
    assert bot.text(draft).splitlines()[1] == drafted
    assert drafted.endswith("…") and len(drafted) == bot.ctx.packets.limits.greeting_chars
    await bot.audit()

"""What members of a busy group see (issue 11): who is told, what is advertised, where
replies go, and that the words are the same in English and Chinese."""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from bot.short_lived import DELETE_JOB_PREFIX
from core.shake import DEFAULT_TIERS, JACKPOT, MIN_PRIZE, Mode, prize, prize_range
from tests.telegram.bot_harness import GROUP_ID, Bot, running_bot
from tests.telegram.fake_telegram import JSON


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(
        tmp_path, bot_admin_ids="1", shake_interval_seconds=5, shake_max_wins=1
    ) as running:
        yield running


def people(bot: Bot, lang: str) -> tuple[JSON, JSON, JSON]:
    code = "zh-hans" if lang == "zh" else "en"
    return (bot.updates.user(1, "Alice", "alice", code),
            bot.updates.user(2, "Bob", "bobby", code),
            bot.updates.user(3, "Carol", None, code))


async def greet_all(bot: Bot, *users: JSON) -> None:
    for user in users:
        await bot.private(user, "/start")


def sent_to(bot: Bot, chat_id: int) -> list[JSON]:
    return bot.req.calls_of("sendMessage", chat_id=chat_id)


def replied_to(bot: Bot, message: JSON) -> int | None:
    """The message a bot message was sent in reply to (its sendMessage reply_parameters)."""
    (call,) = [c for c in bot.req.calls_of("sendMessage", chat_id=message["chat"]["id"])
               if c.get("text") == message.get("text")][-1:]
    parameters = call.get("reply_parameters")
    if isinstance(parameters, str):
        parameters = json.loads(parameters)
    return int(parameters["message_id"]) if parameters else None


class _NeverWins(random.Random):
    def random(self) -> float:
        return 0.999999


# -- 2: a campaign advertises only what its pool can pay ---------------------------------


@pytest.mark.parametrize("lang, command, line", [
    ("en", "/shake start 20 5", "Prizes from ¥2.00 to ¥12.00"),
    ("zh", "/shake start 20 5", "奖品 ¥2.00 到 ¥12.00"),
    ("en", "/shake start 10 5", "Prizes of ¥2.00"),
    ("zh", "/shake start 10 5", "奖品每份 ¥2.00"),
    ("en", "/shake start 700 5", "Prizes from ¥2.00 to ¥49.99, and a rare ¥618.00 jackpot"),
    ("zh", "/shake start 700 5", "奖品 ¥2.00 到 ¥49.99，另有稀有大奖 ¥618.00"),
    ("en", "/shake start 20 5 bounded", "Prizes from ¥2.00"),
])
async def test_a_campaign_advertises_only_prizes_its_pool_can_pay(
    bot: Bot, lang: str, command: str, line: str
) -> None:
    alice, _, _ = people(bot, lang)
    await greet_all(bot, alice)
    await _fund(bot, alice, 1000_00)
    await bot.command(alice, command)
    campaign = bot.last_bot_message()["message_id"]
    assert bot.text(campaign).split("\n")[2] == line
    await bot.command(alice, "/shake stop")
    await bot.audit()


def _member(user: JSON):  # noqa: ANN202
    from core.packets import Member
    return Member(user["id"], user["first_name"], user.get("username"))


async def _fund(bot: Bot, user: JSON, cents: int) -> None:
    await bot.ctx.store.credit(_member(user), cents, kind="grant", key=f"fund:{user['id']}",
                               memo="", now_ms=1)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(0, 200_000), st.sampled_from(list(Mode)),
       st.binary(min_size=8, max_size=8))
def test_every_prize_drawn_lies_in_the_advertised_range(
    count: int, extra: int, mode: Mode, seed: bytes
) -> None:
    remaining = MIN_PRIZE * count + extra
    shown = prize_range(mode, DEFAULT_TIERS, remaining, count)
    amount, jackpot = prize(mode, DEFAULT_TIERS, seed, 1, remaining, count)
    if jackpot:
        assert shown.jackpot and amount == JACKPOT
    else:
        assert shown.low <= amount and (shown.high is None or amount <= shown.high)


# -- 4: a typed /shake answers the member, and says a thing once --------------------------


@pytest.mark.parametrize("lang, refused", [
    ("en", "No luck this time — shake again in 5 s.\n"
           "Tip: press Shake on the campaign message: only you see its answers."),
    ("zh", "这次没摇中，5秒后再摇。\n小提示：点活动消息上的“摇一摇”，结果只有你自己看得到。"),
])
async def test_a_typed_shake_is_a_reply_to_the_member_and_goes_away(
    bot: Bot, lang: str, refused: str
) -> None:
    alice, bob, _ = people(bot, lang)
    await greet_all(bot, alice, bob)
    await _fund(bot, alice, 100_00)
    await bot.command(alice, "/shake start 20 5")
    assert bot.ctx.engine is not None and bot.ctx.engine.shake is not None
    bot.ctx.engine.shake.rng = _NeverWins()
    typed = await bot.command(bob, "/shake")
    reply = bot.last_bot_message()
    assert replied_to(bot, reply) == typed["message"]["message_id"]
    assert bot.text(reply["message_id"]) == refused
    assert bot.app.job_queue is not None
    (job,) = bot.app.job_queue.get_jobs_by_name(
        f"{DELETE_JOB_PREFIX}{GROUP_ID}:{reply['message_id']}")
    await job.run(bot.app)
    assert bot.req.calls_of("deleteMessage", message_id=reply["message_id"])
    await bot.command(alice, "/shake stop")
    await bot.audit()


async def test_shake_stop_turns_the_campaign_message_into_the_result_and_says_nothing_else(
    bot: Bot,
) -> None:
    alice, _, _ = people(bot, "en")
    await greet_all(bot, alice)
    await _fund(bot, alice, 100_00)
    await bot.command(alice, "/shake start 20 5")
    campaign = bot.last_bot_message()["message_id"]
    bot.req.clear()
    await bot.command(alice, "/shake stop")
    assert sent_to(bot, GROUP_ID) == []
    assert "¥20.00 went back to Alice" in bot.text(campaign)
    await bot.audit()


# -- 5: a typed mistake gets one reply with the right syntax, and it goes away ---------------


@pytest.mark.parametrize("lang, refused", [
    ("en", "The number of shares is a whole number from 1 to 100.\n"
           "Type it as /hongbao TOTAL COUNT [greeting], e.g. /hongbao 10 5."),
    ("zh", "红包个数应为 1 到 100 之间的整数。\n格式：/hongbao 总金额 个数 [祝福语]，例如 /hongbao 10 5。"),
])
async def test_a_typo_gets_one_brief_reply_with_the_right_syntax(
    bot: Bot, lang: str, refused: str
) -> None:
    alice, _, _ = people(bot, lang)
    await greet_all(bot, alice)
    bot.req.clear()
    typed = await bot.command(alice, "/hongbao 10 five")
    (call,) = sent_to(bot, GROUP_ID)
    reply = bot.last_bot_message()
    assert replied_to(bot, reply) == typed["message"]["message_id"]
    assert bot.text(reply["message_id"]) == refused
    assert bot.app.job_queue is not None
    assert bot.app.job_queue.get_jobs_by_name(
        f"{DELETE_JOB_PREFIX}{GROUP_ID}:{reply['message_id']}")


# -- 10: the share cap counts people, not the bot ------------------------------------------


@pytest.mark.parametrize("lang, refused", [
    ("en", "This chat has 7 members, so a red packet can have at most 7 shares (you asked for 8)."),
    ("zh", "本群共 7 人，红包个数不可超过 7 个（你填写了 8 个）。"),
])
async def test_the_share_cap_does_not_count_the_bot(bot: Bot, lang: str, refused: str) -> None:
    alice, _, _ = people(bot, lang)
    await greet_all(bot, alice)
    bot.req.set_member_count(GROUP_ID, 8)  # seven people and this bot
    await bot.command(alice, "/hongbao 10 8")
    text = bot.text(bot.last_bot_message()["message_id"])
    assert text == refused
    await bot.command(alice, "/hongbao 10 7")
    assert bot.buttons(bot.last_bot_message()["message_id"])[-1][1].startswith("d:c:")  # a draft


# -- 11: each refusal names that command's problem ------------------------------------------


@pytest.mark.parametrize("lang, private, to_bot", [
    ("en", "/settings changes a group's red-packet rules: send it in that group "
           "(admins can change them, everyone can look).",
     "Bots cannot receive red packets."),
    ("zh", "/settings 用来设置群里的红包规则：请在那个群里发送（管理员可以修改，所有人都可以查看）。",
     "机器人不能收红包。"),
])
async def test_refusals_answer_the_question_asked(
    bot: Bot, lang: str, private: str, to_bot: str
) -> None:
    alice, _, _ = people(bot, lang)
    await greet_all(bot, alice)
    await bot.private(alice, "/settings")
    assert bot.text(bot.last_bot_message(1)["message_id"], 1) == private
    bot_message = {"message_id": 7, "date": 0, "chat": bot.group,
                   "from": {"id": 999, "is_bot": True, "first_name": "Red Packet"},
                   "text": "🧧"}
    await bot.command(alice, "/hongbao 1 thanks", reply_to=bot_message)
    assert bot.text(bot.last_bot_message()["message_id"]) == to_bot
    await bot.command(alice, "/hongbao 1 thanks", reply_to=alice)
    assert bot.text(bot.last_bot_message()["message_id"]) != to_bot  # "not to yourself"
    await bot.command(alice, "/hongbao 10 2", reply_to=bot_message)  # a lucky one is fine
    assert bot.buttons(bot.last_bot_message()["message_id"])[-1][1].startswith("d:c:")


# -- 6: balances stay private ----------------------------------------------------------------


@pytest.mark.parametrize("lang, pointer, button", [
    ("en", "Your balance is private: open a chat with me and I will show it there.",
     "Show my balance"),
    ("zh", "余额只给你自己看：打开和我的私聊，我在那里告诉你。", "查看我的余额"),
])
async def test_balance_of_a_member_who_never_started_the_bot_is_a_button(
    bot: Bot, lang: str, pointer: str, button: str
) -> None:
    _, _, carol = people(bot, lang)
    bot.req.never_started(carol["id"])
    await bot.command(carol, "/balance")
    reply = bot.last_bot_message()
    assert bot.text(reply["message_id"]) == pointer
    assert bot.buttons(reply["message_id"]) == [
        (button, "https://t.me/redpacket_test_bot?start=balance")]
    assert "¥" not in bot.text(reply["message_id"])
    bot.req.unreachable.discard(carol["id"])
    await bot.private(carol, "/start balance")
    assert bot.text(bot.last_bot_message(3)["message_id"], 3).startswith(
        "💰 Your balance: ¥" if lang == "en" else "💰 你的余额：¥")


@pytest.mark.parametrize("lang, public, told", [
    ("en", "✅ Granted ¥50.00 to Bob.", "💰 You received ¥50.00 from Alice. Your balance: ¥150.00."),
    ("zh", "✅ 已向 Bob 发放 ¥50.00。", "💰 Alice 给你发放了 ¥50.00。你的余额：¥150.00。"),
])
async def test_a_grant_in_a_group_keeps_the_balance_private_and_tells_the_member(
    bot: Bot, lang: str, public: str, told: str
) -> None:
    alice, bob, _ = people(bot, lang)
    await greet_all(bot, alice, bob)
    await bot.command(alice, "/grant 50", reply_to=bob)
    assert bot.text(bot.last_bot_message()["message_id"]) == public
    assert bot.text(bot.last_bot_message(2)["message_id"], 2) == told
    await bot.audit()


# -- 1: a personal packet's addressee is mentioned and told ---------------------------------


@pytest.mark.parametrize("lang, told", [
    ("en", "🧧 Alice sent you a red packet of ¥5.00: “thanks”. Open it on the group message."),
    ("zh", "🧧 Alice 给你发了一个 ¥5.00 的专属红包：“thanks”。请到群消息上领取。"),
])
async def test_the_addressee_is_mentioned_by_id_and_told_privately(
    bot: Bot, lang: str, told: str
) -> None:
    alice, bob, _ = people(bot, lang)
    await greet_all(bot, alice, bob)
    await bot.command(alice, "/hongbao 5 thanks", reply_to=bob)
    draft = bot.last_bot_message()["message_id"]
    await bot.press(alice, draft, "d:s")
    assert '<a href="tg://user?id=2">Bob</a>' in bot.req.text(GROUP_ID, draft)
    dm = bot.last_bot_message(2)
    assert bot.text(dm["message_id"], 2) == told
    (go,) = bot.buttons(dm["message_id"], 2)
    assert go[1] == f"https://t.me/c/{str(GROUP_ID)[4:]}/{draft}"
    await bot.audit()


@pytest.mark.parametrize("lang, ping", [
    ("en", "🧧 {name}, this red packet is for you: press Open."),
    ("zh", "🧧 {name}，这个红包是给你的，点“開”领取。"),
])
async def test_an_addressee_who_never_started_the_bot_is_pinged_once_in_the_group(
    bot: Bot, lang: str, ping: str
) -> None:
    alice, _, carol = people(bot, lang)
    await greet_all(bot, alice)
    bot.req.never_started(carol["id"])
    await bot.command(alice, "/hongbao 5", reply_to=carol)
    draft = bot.last_bot_message()["message_id"]
    bot.req.clear()
    await bot.press(alice, draft, "d:s")
    ping_text = ping
    (ping,) = sent_to(bot, GROUP_ID)  # type: ignore[assignment]
    assert ping["text"] == ping_text.format(name='<a href="tg://user?id=3">Carol</a>')
    assert replied_to(bot, bot.last_bot_message()) == draft
    await bot.audit()


# -- 8: a draft over the balance says so on every state, and offers money instead of Send ----


@pytest.mark.parametrize("lang, short, buttons", [
    ("en", "Not enough balance: you have ¥100.00 and this red packet needs ¥150.00.",
     [("Switch to fixed", "d:k"), ("🎁 Daily bonus ¥10.00", "d:b"),
      ("🔄 Check my balance", "d:f"), ("Cancel", "d:c")]),
    ("zh", "余额不足：你的余额为 ¥100.00，这个红包需要 ¥150.00。",
     [("改为普通红包", "d:k"), ("🎁 领每日红包 ¥10.00", "d:b"),
      ("🔄 刷新余额", "d:f"), ("取消", "d:c")]),
])
async def test_a_draft_over_the_balance_offers_money_not_send(
    bot: Bot, lang: str, short: str, buttons: list[tuple[str, str]]
) -> None:
    alice, bob, _ = people(bot, lang)
    await greet_all(bot, alice, bob)
    await bot.command(bob, "/hongbao 150 3")
    draft = bot.last_bot_message()["message_id"]
    assert short in bot.text(draft)
    # Each button names the draft (its command's message id) after the button.
    assert [(label, data.rsplit(":", 1)[0]) for label, data in bot.buttons(draft)] == buttons
    await bot.press(bob, draft, "d:k")  # Switch kind: still short, still no Send
    assert "¥100.00" in bot.text(draft)
    assert not [d for d in dict(bot.buttons(draft)).values() if d.startswith("d:s")]
    assert ("余额不足" if lang == "zh" else "Not enough balance") in bot.text(draft)
    await bot.press(bob, draft, "d:k")
    answer = await bot.press(bob, draft, "d:b")
    assert answer["text"] == ("🎁 Daily bonus: ¥10.00 added. Your balance: ¥110.00." if lang == "en"
                              else "🎁 每日红包 ¥10.00 已到账，你的余额：¥110.00。")
    assert "¥110.00" in bot.text(draft)
    await bot.command(alice, "/grant 50", reply_to=bob)
    await bot.press(bob, draft, "d:f")  # look again: now it can be sent
    assert ("Send ¥150.00" if lang == "en" else "塞钱进红包 ¥150.00") in dict(bot.buttons(draft))
    await bot.press(bob, draft, "d:s")
    assert await bot.balance(2) == 10_00
    await bot.audit()


# -- 12: one records view, paged and dated, naming your own packets as yours ---------------


@pytest.mark.parametrize("lang, own", [
    ("en", "from your own red packet · ¥1.00"), ("zh", "来自自己发的红包 · ¥1.00"),
])
async def test_my_red_packets_is_the_records_view_and_names_your_own_share(
    bot: Bot, lang: str, own: str
) -> None:
    alice, bob, _ = people(bot, lang)
    await greet_all(bot, alice, bob)
    for _ in range(12):  # more than one page
        await bot.command(alice, "/fixed 1 2")
        draft = bot.last_bot_message()["message_id"]
        await bot.press(alice, draft, "d:s")
        (open_data,) = [d for _, d in bot.buttons(draft) if d.startswith("o:")]
        await bot.press(alice, draft, open_data)
        bot.clock.advance(60)
    await bot.private(alice, "/records")
    records = bot.last_bot_message(1)
    lines = bot.text(records["message_id"], 1).split("\n")
    assert any(own in line and line[:5].count("-") == 1 for line in lines)
    assert not any("Alice" in line for line in lines[3:])
    assert [data for _, data in bot.buttons(records["message_id"], 1)] == ["rec:1"]

    await bot.press(bob, draft, open_data)
    await bot.private(bob, f"/start p_{open_data[2:]}")
    view = bot.last_bot_message(2)["message_id"]
    assert "my" in [d for _, d in bot.buttons(view, 2)]
    answer = await bot.press(bob, view, "my", chat=bot.updates.private_chat(bob))
    assert not answer.get("show_alert")
    mine = bot.last_bot_message(2)
    await bot.private(bob, "/records")
    records = bot.last_bot_message(2)
    assert bot.text(mine["message_id"], 2) == bot.text(records["message_id"], 2)
    assert re.search(r"\n\d\d-\d\d \d\d:\d\d (from|来自) Alice", bot.text(mine["message_id"], 2))
    await bot.audit()


# -- 3: the /stats chart speaks the admin's language ------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_chart_draws_every_character_of_its_labels(bot_free_ctx: object, lang: str) -> None:
    import os
    import warnings

    from bot.charts import PNG_SIGNATURE, cjk_font, render_stats_chart
    from bot.handlers.stats import chart_labels
    from core.records import DayActivity

    if lang == "zh" and cjk_font() is None:
        if os.environ.get("REQUIRE_CJK_FONT"):
            pytest.fail("no CJK font installed (.ci/run installs fonts-wqy-microhei)")
        pytest.skip("no CJK font installed")
    labels = chart_labels(bot_free_ctx, lang)  # type: ignore[arg-type]
    assert (labels.title == "红包统计") is (lang == "zh")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_stats_chart(
            [DayActivity("2026-11-20", 3, 45_00), DayActivity("2026-11-23", 1, 2_00)],
            {5: 2, 10: 4, 31: 1}, labels=labels, money=lambda c: f"¥{c / 100:.2f}",
        )
    assert png.startswith(PNG_SIGNATURE)
    assert not [w for w in caught if "missing from" in str(w.message)]  # no empty boxes


@pytest.fixture
def bot_free_ctx() -> object:
    """Just enough of BotContext for the chart's words: the catalogs."""
    from bot.i18n import get_translator

    class Words:
        translator = get_translator()

        def text(self, lang: str, key: str, **params: object) -> str:
            return self.translator.translate(lang, key, **params)

    return Words()


# -- 13: one way to say a duration; a cooldown in plain words --------------------------------


@pytest.mark.parametrize("lang, finished, cooldown", [
    ("en", "2 shares, taken in 5.1 s", "Not so fast: you can shake again in 5 s."),
    ("zh", "2个红包，5.1秒被抢光", "别急，5秒后才能再摇。"),
])
async def test_durations_read_one_way_and_a_cooldown_reads_plainly(
    bot: Bot, lang: str, finished: str, cooldown: str
) -> None:
    alice, bob, carol = people(bot, lang)
    await greet_all(bot, alice, bob, carol)
    await bot.command(alice, "/hongbao 2 2")
    draft = bot.last_bot_message()["message_id"]
    await bot.press(alice, draft, "d:s")
    (open_data,) = [d for _, d in bot.buttons(draft) if d.startswith("o:")]
    bot.clock.advance(2)
    await bot.press(bob, draft, open_data)
    bot.clock.advance(3.1)
    await bot.press(carol, draft, open_data)
    assert finished in bot.text(draft)

    await _fund(bot, alice, 100_00)
    await bot.command(alice, "/shake start 20 5")
    campaign = bot.last_bot_message()["message_id"]
    assert bot.ctx.engine is not None and bot.ctx.engine.shake is not None
    bot.ctx.engine.shake.rng = _NeverWins()
    (_, shake), = bot.buttons(campaign)
    await bot.press(bob, campaign, shake)
    assert (await bot.press(bob, campaign, shake))["text"] == cooldown
    await bot.command(alice, "/shake stop")
    await bot.audit()


@pytest.mark.parametrize("lang, caption", [
    ("en", "📈 Activity per day and share sizes relative to the mean"),
    ("zh", "📈 每日活动与红包金额相对平均值的分布"),
])
async def test_stats_sends_the_chart_in_the_admins_language(
    bot: Bot, lang: str, caption: str
) -> None:
    alice, bob, _ = people(bot, lang)
    await greet_all(bot, alice, bob)
    await bot.command(alice, "/hongbao 2 2")
    draft = bot.last_bot_message()["message_id"]
    await bot.press(alice, draft, "d:s")
    bot.req.set_member(GROUP_ID, 1, "administrator")
    await bot.command(alice, "/stats")
    (photo,) = bot.req.calls_of("sendPhoto", chat_id=GROUP_ID)
    assert photo["caption"] == caption
    await bot.command(bob, "/stats")  # not an admin: a brief refusal
    refusal = bot.last_bot_message()["message_id"]
    assert bot.app.job_queue is not None
    assert bot.app.job_queue.get_jobs_by_name(f"{DELETE_JOB_PREFIX}{GROUP_ID}:{refusal}")
    await bot.audit()

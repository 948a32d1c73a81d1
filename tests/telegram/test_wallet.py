"""/balance, /daily, /grant and Telegram Stars top-ups through the real PTB application."""

from __future__ import annotations

import pytest

from core.packets import Member
from bot.payments import topup_payload
from tests.telegram.bot_harness import ADMIN_ID, GROUP_ID, Bot

ALICE = Member(1, "Alice", "alice")
BOB = Member(2, "Bob <&> B", "bob_b")


def user(m: Member, lang: str = "en") -> dict[str, object]:
    return {"id": m.id, "is_bot": False, "first_name": m.name, "language_code": lang,
            **({"username": m.username} if m.username else {})}


@pytest.mark.on_postgres
async def test_balance_shows_ledger_lines_in_plain_words(wallet_bot: Bot) -> None:
    bot = wallet_bot
    await bot.lucky_packet(BOB, 5_00, [ALICE], count=1)
    share = await bot.balance(ALICE.id) - 100_00
    await bot.private(user(ALICE), "/balance")

    assert len(bot.req.calls_of("sendMessage", chat_id=ALICE.id)) == 1  # exactly one reply
    sent = bot.req.last("sendMessage", chat_id=ALICE.id)
    assert sent["parse_mode"] == "HTML"
    assert "Bob &lt;&amp;&gt; B" in sent["text"]
    text = bot.last_reply(ALICE.id)
    assert f"Your balance: ¥{(100_00 + share) / 100:.2f}" in text
    assert f"Lucky packet from Bob <&> B +¥{share / 100:.2f}" in text
    assert "Welcome bonus +¥100.00" in text
    assert "/daily" in text

    await bot.private(user(BOB, "zh"), "/balance")
    text = bot.last_reply(BOB.id)
    assert "发出拼手气红包 −¥5.00" in text and "新人红包 +¥100.00" in text
    await bot.audit()


async def test_balance_in_a_group_goes_by_direct_message(wallet_bot: Bot) -> None:
    bot = wallet_bot
    await bot.lucky_packet(BOB, 5_00, [ALICE], count=1)
    await bot.command_in(bot.updates.group(id=GROUP_ID), user(ALICE), "/balance")
    assert bot.last_reply(GROUP_ID) == "I sent your balance to you in a private message."
    private = bot.last_reply(ALICE.id)
    assert private.startswith(f"💰 Your balance: ¥{await bot.balance(ALICE.id) / 100:.2f}")
    assert "Welcome bonus" in private  # the ledger lines, between member and bot
    await bot.audit()


@pytest.mark.on_postgres
async def test_daily_bonus_twice_in_one_day_pays_once(wallet_bot: Bot) -> None:
    bot = wallet_bot
    chat = bot.updates.group(id=GROUP_ID)
    await bot.command_in(chat, user(ALICE), "/daily")
    assert "Daily bonus: ¥10.00 added" in bot.last_reply(GROUP_ID)
    assert await bot.balance(ALICE.id) == 110_00

    raw = await bot.private(user(ALICE), "/daily")
    assert "already claimed" in bot.last_reply(ALICE.id)
    await bot.process(bot.updates.replay(raw))
    assert await bot.balance(ALICE.id) == 110_00

    bot.clock.advance(86_400)
    await bot.private(user(ALICE), "/daily")
    assert await bot.balance(ALICE.id) == 120_00
    rows = await bot.store.fetchall("SELECT key FROM transfers WHERE kind = 'daily'")
    assert all(key.startswith(f"daily:{ALICE.id}:") for (key,) in rows) and len(rows) == 2
    await bot.audit()


async def test_daily_bonus_off_when_zero(wallet_bot: Bot) -> None:
    bot = wallet_bot
    bot.ctx.settings = bot.ctx.settings.model_copy(update={"daily_bonus": 0})
    await bot.private(user(ALICE), "/daily")
    assert "no daily bonus" in bot.last_reply(ALICE.id)
    assert await bot.balance(ALICE.id) == 100_00
    await bot.audit()


async def test_grant_by_a_non_admin_is_refused_and_moves_nothing(wallet_bot: Bot) -> None:
    bot = wallet_bot
    chat = bot.updates.group(id=GROUP_ID)
    await bot.packets.greet(ALICE)
    await bot.packets.greet(BOB)
    before = (await bot.transfers(), await bot.balance(ALICE.id), await bot.balance(BOB.id))
    await bot.command_in(chat, user(ALICE), "/grant @bob_b 50")
    assert bot.last_reply(GROUP_ID) == "Only bot admins can grant money."
    await bot.command_in(chat, user(ALICE), "/grant 50", reply_to=user(BOB))
    await bot.command_in(chat, user(ALICE), "/grant @alice 50")
    assert bot.replies(GROUP_ID) == ["Only bot admins can grant money."] * 3
    after = (await bot.transfers(), await bot.balance(ALICE.id), await bot.balance(BOB.id))
    assert after == before
    await bot.audit()


@pytest.mark.on_postgres
async def test_grant_by_reply_username_and_id(wallet_bot: Bot) -> None:
    bot = wallet_bot
    chat = bot.updates.group(id=GROUP_ID)
    admin = {"id": ADMIN_ID, "is_bot": False, "first_name": "Root", "language_code": "en"}
    await bot.command_in(chat, user(ALICE), "/balance")  # Alice is known

    raw = await bot.command_in(chat, admin, "/grant 12.50", reply_to=user(BOB))
    assert "Granted ¥12.50 to Bob <&> B" in bot.last_reply(GROUP_ID)
    await bot.process(bot.updates.replay(raw))
    assert "already made" in bot.last_reply(GROUP_ID)
    assert await bot.balance(BOB.id) == 12_50  # no welcome bonus: Bob never wrote

    await bot.command_in(chat, admin, "/grant @ALICE 1")
    await bot.command_in(chat, admin, f"/grant {ALICE.id} 2.5")
    assert await bot.balance(ALICE.id) == 100_00 + 1_00 + 2_50
    memo = await bot.store.fetchone("SELECT memo FROM transfers WHERE kind = 'grant' LIMIT 1")
    assert "Root" in memo[0] and str(ADMIN_ID) in memo[0]

    transfers = await bot.transfers()
    await bot.command_in(chat, admin, "/grant @nobody_here 5")
    assert "I do not know @nobody_here yet" in bot.last_reply(GROUP_ID)
    await bot.command_in(chat, admin, "/grant @alice 1.234")
    assert "At most two decimals" in bot.last_reply(GROUP_ID)
    await bot.command_in(chat, admin, "/grant @alice")
    assert "Usage: /grant" in bot.last_reply(GROUP_ID)
    await bot.command_in(chat, admin, "/grant @alice -5")
    assert await bot.transfers() == transfers
    await bot.audit()


@pytest.mark.on_postgres
async def test_topup_invoice_checkout_and_a_replayed_payment(wallet_bot: Bot) -> None:
    bot = wallet_bot
    alice = user(ALICE)
    await bot.private(alice, "/topup 50")
    invoice = bot.req.last("sendInvoice", chat_id=ALICE.id)
    assert invoice["currency"] == "XTR" and invoice.get("provider_token", "") == ""
    assert invoice["payload"] == topup_payload(ALICE.id, 50)
    assert [p["amount"] for p in invoice["prices"]] == [50]

    await bot.process(bot.updates.pre_checkout_query(alice, invoice["payload"], 50))
    assert bot.req.last("answerPreCheckoutQuery")["ok"] is True
    await bot.process(bot.updates.pre_checkout_query(alice, invoice["payload"], 49))
    refused = bot.req.last("answerPreCheckoutQuery")
    assert refused["ok"] is False and "no longer valid" in refused["error_message"]
    await bot.process(bot.updates.pre_checkout_query(user(BOB), invoice["payload"], 50))
    assert bot.req.last("answerPreCheckoutQuery")["ok"] is False
    await bot.process(bot.updates.pre_checkout_query(alice, "topup:1:0", 0))
    assert bot.req.last("answerPreCheckoutQuery")["ok"] is False
    answered = len(bot.req.calls_of("answerPreCheckoutQuery"))
    await bot.process(bot.updates.pre_checkout_query(alice, "someone-else:1", 5))
    assert len(bot.req.calls_of("answerPreCheckoutQuery")) == answered  # a host's invoice

    paid = bot.updates.successful_payment(alice, invoice["payload"], 50, charge_id="ch-1")
    await bot.process(paid)
    assert await bot.balance(ALICE.id) == 100_00 + 50 * 2
    assert "¥1.00 was added" in bot.last_reply(ALICE.id)
    await bot.process(bot.updates.replay(paid))
    again = bot.updates.successful_payment(alice, invoice["payload"], 50, charge_id="ch-1")
    await bot.process(again)
    assert await bot.balance(ALICE.id) == 100_00 + 50 * 2
    await bot.audit()


async def test_topup_refusals(wallet_bot: Bot) -> None:
    bot = wallet_bot
    await bot.private(user(ALICE), "/topup lots")
    assert "Usage: /topup" in bot.last_reply(ALICE.id)
    await bot.command_in(bot.updates.group(id=GROUP_ID), user(ALICE), "/topup 5")
    assert "private chat" in bot.last_reply(GROUP_ID)
    bot.ctx.settings = bot.ctx.settings.model_copy(update={"topup_enabled": False})
    await bot.private(user(ALICE), "/topup 5")
    assert "not enabled" in bot.last_reply(ALICE.id)
    await bot.process(bot.updates.pre_checkout_query(user(ALICE), topup_payload(ALICE.id, 5), 5))
    assert bot.req.last("answerPreCheckoutQuery")["ok"] is False
    assert not bot.req.calls_of("sendInvoice")
    await bot.audit()


async def test_the_full_bot_answers_balance_with_the_ledger_once(wallet_bot: Bot) -> None:
    bot = wallet_bot
    await bot.private(user(ALICE), "/balance")
    sent = bot.req.calls_of("sendMessage", chat_id=ALICE.id)
    assert len(sent) == 1 and "Welcome bonus" in sent[0]["text"]
    await bot.audit()

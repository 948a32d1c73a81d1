"""/balance, /daily, /grant and /topup (docs/rules.md §8): the wallet and money coming in."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.ext import (
    Application,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from core.errors import DomainError
from core.amount import Amount
from core.money import format_cents, parse_amount
from core.packets import Member
from core.records import (
    Entry,
    claim_daily,
    credit_topup,
    describe,
    grant,
    next_utc_midnight_ms,
)
from storage.sqlite.records import Records

from bot.context import BotContext, bot_context
from bot.handlers.common import (
    guarded,
    member_of,
    refuse,
    reply_html,
    sender_of,
    turn_of,
    update_lang,
)
from bot.payments import (
    MAX_TOPUP_STARS,
    TOPUP_CURRENCY,
    is_topup_payload,
    topup_acceptable,
    topup_payload,
)
from bot.render import duration, how_to_get_more
from bot.words import Markup
from bot.short_lived import reply_briefly

_log = logging.getLogger(__name__)

BALANCE_LINES = 10
# ``/start balance``: the deep link a group's /balance offers to members who never started the bot.
BALANCE_START = "balance"
# A grant larger than this is surely a typo (the packet limit is MAX_TOTAL).
GRANT_LIMIT_FACTOR = 100


# --- /balance -------------------------------------------------------------------


def signed_money(ctx: BotContext, cents: int) -> str:
    sign = "+" if cents > 0 else "−" if cents < 0 else ""
    return f"{sign}{ctx.settings.currency_symbol}{format_cents(abs(cents))}"


def entry_line(ctx: BotContext, lang: str, entry: Entry) -> str:
    when = datetime.fromtimestamp(entry.at / 1000, UTC).strftime("%m-%d %H:%M")
    words = ctx.html(lang, entry.key, **entry.params)
    return f"<code>{when}</code> {words} <b>{signed_money(ctx, entry.amount)}</b>"


async def balance_text(ctx: BotContext, records: Records, member: Member, lang: str) -> str:
    balance = await ctx.store.balance(member.id)
    lines = [ctx.html(lang, "balance.show", balance=Amount(balance))]
    entries = [describe(line) for line in await records.wallet_lines(member.id, BALANCE_LINES)]
    lines.append("")
    if entries:
        lines.append(ctx.html(lang, "wallet.balance.recent"))
        lines.extend(entry_line(ctx, lang, entry) for entry in entries)
    else:
        lines.append(ctx.html(lang, "wallet.balance.empty"))
    lines += ["", how_to_get_more(ctx.words, ctx.settings, lang)]
    return "\n".join(lines)


async def show_balance(ctx: BotContext, message: Message, member: Member, lang: str) -> None:
    """The private balance view (``/balance`` in private, ``/start balance``)."""
    await message.reply_text(await balance_text(ctx, ctx.records, member, lang),
                             parse_mode=ParseMode.HTML)


@guarded
async def balance(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await turn_of(update, context)
    if turn is None:
        return
    ctx, member, lang = turn.ctx, turn.member, turn.lang
    text = await balance_text(ctx, ctx.records, member, lang)
    if turn.message.chat.type == ChatType.PRIVATE:
        await reply_html(update, text)
        return
    # A balance is nobody else's business: it goes by direct message, and the
    # group sees only a short pointer that disappears (or a button to start the bot).
    private_lang = ctx.lang(turn.message.from_user.language_code if turn.message.from_user
                            else None)
    if private_lang != lang:
        text = await balance_text(ctx, ctx.records, member, private_lang)
    if await ctx.notifier.send(member.id, text, None):
        await reply_briefly(ctx, turn.message, ctx.html(lang, "ux.balance.sent_privately"))
        return
    button = InlineKeyboardMarkup([[InlineKeyboardButton(
        ctx.text(lang, "ux.balance.open_private"),
        url=f"https://t.me/{ctx.bot_username}?start={BALANCE_START}",
    )]])
    await reply_briefly(ctx, turn.message, ctx.html(lang, "ux.balance.start_first"), button)


# --- /daily ---------------------------------------------------------------------


@guarded
async def daily(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await turn_of(update, context)
    if turn is None:
        return
    ctx, member, lang = turn.ctx, turn.member, turn.lang
    amount = ctx.settings.daily_bonus
    if amount <= 0:
        await refuse(turn, ctx.html(lang, "wallet.daily.off"))
        return
    now = ctx.clock.now_ms()
    if await claim_daily(ctx.store, member, amount, now):
        balance = await ctx.store.balance(member.id)
        text = ctx.html(lang, "wallet.daily.paid", amount=Amount(amount), balance=Amount(balance))
    else:
        minutes = -(-(next_utc_midnight_ms(now) - now) // 60_000)
        wait = duration(ctx.words, lang, minutes * 60_000)
        text = ctx.html(lang, "wallet.daily.already", wait=Markup(html.escape(wait)))
    await reply_html(update, text)


async def draft_bonus_answer(ctx: BotContext, member: Member, lang: str) -> str:
    """The daily bonus claimed from a draft's button: the press's answer (plain text)."""
    amount = ctx.settings.daily_bonus
    if amount <= 0:
        return ctx.text(lang, "wallet.daily.off")
    now = ctx.clock.now_ms()
    if await claim_daily(ctx.store, member, amount, now):
        balance = await ctx.store.balance(member.id)
        return ctx.text(lang, "ux.draft.bonus_paid", amount=Amount(amount),
                        balance=Amount(balance))
    minutes = -(-(next_utc_midnight_ms(now) - now) // 60_000)
    return ctx.text(lang, "wallet.daily.already", wait=duration(ctx.words, lang, minutes * 60_000))


# --- /grant ---------------------------------------------------------------------


def _grant_parts(message: Message, args: list[str]) -> tuple[str | User | None, str] | None:
    """(who, amount text) from ``/grant WHO AMOUNT`` or a reply with ``/grant AMOUNT``."""
    mentioned = [
        entity.user for entity in message.entities
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None
    ]
    if len(args) >= 2 and mentioned:
        return mentioned[0], args[-1]
    if len(args) == 2:
        return args[0], args[1]
    replied = message.reply_to_message
    if len(args) == 1 and replied is not None and replied.from_user is not None:
        return replied.from_user, args[0]
    return None


async def _grantee(records: Records, who: str | User) -> Member | str | None:
    """The member named by ``who``; a ``str`` is the name we could not find."""
    if isinstance(who, User):
        if who.is_bot:
            return None
        return member_of(who)
    if who.startswith("@"):
        return await records.find_member_by_username(who) or who
    if who.isascii() and who.isdigit():
        return await records.find_member(int(who)) or who
    return who


@guarded
async def grant_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await turn_of(update, context)
    if turn is None:
        return
    ctx, message, admin, lang = turn.ctx, turn.message, turn.member, turn.lang
    if admin.id not in ctx.settings.bot_admin_ids:
        await refuse(turn, ctx.html(lang, "wallet.grant.not_admin"))
        return
    parts = _grant_parts(message, list(context.args or []))
    if parts is None:
        await refuse(turn, ctx.html(lang, "wallet.grant.usage"))
        return
    who, amount_text = parts
    try:
        amount = parse_amount(
            amount_text, maximum=ctx.settings.max_total * GRANT_LIMIT_FACTOR
        )
    except DomainError as error:
        await refuse(turn, ctx.html(lang, error.key, **error.params))
        return
    records = ctx.records
    grantee = await _grantee(records, who) if who is not None else None
    if grantee is None:
        await refuse(turn, ctx.html(lang, "wallet.grant.no_bots"))
        return
    if isinstance(grantee, str):
        await refuse(turn, ctx.html(lang, "wallet.grant.unknown_member", who=grantee))
        return
    key = f"grant:{message.chat_id}:{message.message_id}"
    paid = await grant(
        ctx.store, grantee, amount, key=key, granted_by=admin, now_ms=ctx.clock.now_ms()
    )
    balance = await ctx.store.balance(grantee.id)
    if not paid:
        await reply_html(update, ctx.html(lang, "wallet.grant.already", amount=Amount(amount),
                                          name=grantee.name))
        return
    # The balance is the grantee's business: the group reads only what was granted.
    done = "wallet.grant.done" if message.chat.type == ChatType.PRIVATE else "ux.grant.done_group"
    await reply_html(
        update,
        ctx.html(lang, done, amount=Amount(amount), name=grantee.name, balance=Amount(balance)),
    )
    grantee_lang = ctx.lang(who.language_code) if isinstance(who, User) else lang
    await ctx.notifier.send(grantee.id, ctx.html(
        grantee_lang, "ux.grant.received", amount=Amount(amount), name=admin.name,
        balance=Amount(balance),
    ), None)


# --- /topup and Telegram Stars payments -------------------------------------------------


@guarded
async def topup(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await turn_of(update, context)
    if turn is None:
        return
    ctx, message, member, lang = turn.ctx, turn.message, turn.member, turn.lang
    settings = ctx.settings
    if not settings.topup_enabled:
        await refuse(turn, ctx.html(lang, "wallet.topup.off"))
        return
    if message.chat.type != ChatType.PRIVATE:
        await refuse(turn, ctx.html(lang, "wallet.topup.private_only"))
        return
    args = list(context.args or [])
    raw = args[0] if len(args) == 1 else ""
    stars = int(raw) if raw.isascii() and raw.isdigit() else 0
    if not 1 <= stars <= MAX_TOPUP_STARS:
        await reply_html(update, ctx.html(
            lang, "wallet.topup.usage", maximum=MAX_TOPUP_STARS,
            rate=Amount(settings.topup_cents_per_star),
        ))
        return
    await message.reply_invoice(
        title=ctx.text(lang, "wallet.topup.title"),
        description=ctx.text(
            lang, "wallet.topup.description", stars=stars,
            amount=Amount(stars * settings.topup_cents_per_star),
        ),
        payload=topup_payload(member.id, stars),
        # Stars need no provider token. Not "": with ``Defaults`` set, PTB 22.8's
        # ExtBot turns any empty sequence argument into [] (its InputPollOption step).
        provider_token=None,
        currency=TOPUP_CURRENCY,
        prices=[LabeledPrice(ctx.text(lang, "wallet.topup.label"), stars)],
    )


@guarded
async def pre_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.pre_checkout_query
    if query is None or not is_topup_payload(query.invoice_payload):
        return  # not our invoice: a host application may answer it
    ctx = bot_context(context)
    ok = ctx.settings.topup_enabled and topup_acceptable(
        query.invoice_payload, currency=query.currency, total_amount=query.total_amount,
        payer_id=query.from_user.id,
    )
    if ok:
        await query.answer(ok=True)
    else:
        lang = ctx.lang(query.from_user.language_code)
        await query.answer(ok=False, error_message=ctx.text(lang, "wallet.topup.invalid"))


@guarded
async def successful_payment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, member = update.effective_message, sender_of(update)
    if message is None or member is None or message.successful_payment is None:
        return
    payment = message.successful_payment
    if not is_topup_payload(payment.invoice_payload) or payment.currency != TOPUP_CURRENCY:
        return  # not our invoice
    ctx = bot_context(context)
    await ctx.ready()
    # Telegram took these Stars: credit them even if top-ups were switched off
    # since, and credit what was paid, keyed by the charge so a replay pays nothing.
    stars = payment.total_amount
    paid = await credit_topup(
        ctx.store, member, stars, ctx.settings.topup_cents_per_star,
        charge_id=payment.telegram_payment_charge_id, now_ms=ctx.clock.now_ms(),
    )
    if not paid:
        _log.info("payment %s was already credited", payment.telegram_payment_charge_id)
        return
    lang = await update_lang(ctx, update)
    balance = await ctx.store.balance(member.id)
    await reply_html(update, ctx.html(
        lang, "wallet.topup.paid", amount=Amount(stars * ctx.settings.topup_cents_per_star),
        balance=Amount(balance),
    ))


def register(application: Application[Any, Any, Any, Any, Any, Any], ctx: BotContext) -> None:
    group = ctx.group
    application.add_handler(CommandHandler("balance", balance), group)
    application.add_handler(CommandHandler("daily", daily), group)
    application.add_handler(CommandHandler("grant", grant_command), group)
    application.add_handler(CommandHandler("topup", topup), group)
    application.add_handler(PreCheckoutQueryHandler(pre_checkout), group)
    application.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, successful_payment), group)
    ctx.commands.append("balance")
    if ctx.settings.daily_bonus > 0:
        ctx.commands.append("daily")
    if ctx.settings.topup_enabled:
        ctx.commands.append("topup")

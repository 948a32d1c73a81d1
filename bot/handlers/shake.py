"""/shake: the shake-lottery campaign in Telegram (docs/rules.md §7, §9, §11).

``/shake start|stop|status`` for chat admins and bot admins; ``/shake`` alone
or the **Shake** button is one shake. The prizes-left figure on the campaign
message is edited in steps (``bot.edit_budget``), never on every win;
the end (all prizes won, stopped, or time up) edits the message into the
result and tells the funder by direct message.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from core.errors import DomainError, InsufficientFunds
from core.amount import Amount
from core.shake import JACKPOT, Campaign, CampaignStatus, Ended, prize_range
from core.shake_service import ShakeAnswer, ShakeResult, ShakeService

from bot import callbacks
from bot.admins import is_admin
from bot.callbacks import Action
from bot.edit_budget import shows_new_figure
from bot.shake_command import parse_start
from bot.app import BotContext, bot_context
from bot.handlers.common import answer, guarded, member_of, traits_of
from bot.render import duration
from bot.jobs import repeat, stop_repeating
from bot.short_lived import reply_briefly

_log = logging.getLogger(__name__)

SWEEP_JOB = "shake-sweep"

CALLBACK = callbacks.FORMATS[Action.SHAKE]
MAX_WINNER_LINES = 30
FINISHED_REMEMBERED = 1_000  # ended campaigns whose message must not be edited back
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def shake_button(campaign_id: str) -> str:
    return callbacks.shake(campaign_id)


class CampaignMessages:
    """Where each campaign's message is, in which language, and the figure it shows."""

    def __init__(self) -> None:
        self.langs: dict[str, str] = {}
        self.shown_left: dict[str, int] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.finished: OrderedDict[str, None] = OrderedDict()  # oldest first

    def lock(self, campaign_id: str) -> asyncio.Lock:
        return self.locks.setdefault(campaign_id, asyncio.Lock())

    def mark_finished(self, campaign_id: str) -> None:
        """Remember that a campaign ended; the oldest ended ones are forgotten."""
        self.finished[campaign_id] = None
        while len(self.finished) > FINISHED_REMEMBERED:
            old, _ = self.finished.popitem(last=False)
            self.langs.pop(old, None)


def messages_of(ctx: BotContext) -> CampaignMessages:
    return ctx.extra.setdefault("shake", CampaignMessages())


async def service_of(ctx: BotContext) -> ShakeService:
    engine = await ctx.ready()
    assert engine.shake is not None, "the engine has no shake service"
    return engine.shake


# -- rendering ---------------------------------------------------------------


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def campaign_text(ctx: BotContext, campaign: Campaign, lang: str) -> str:
    lines = [
        ctx.html(lang, "shake.message.title", funder=campaign.funder_name),
        ctx.html(lang, "shake.message.pool", pool=Amount(campaign.pool), count=campaign.count),
        prizes_line(ctx, campaign, lang),
        "",
        ctx.html(lang, "shake.message.left", left=campaign.prizes_left, count=campaign.count),
        ctx.html(lang, "shake.message.ends", time=_utc(campaign.ends_at)),
        _how(ctx, campaign, lang),
    ]
    return "\n".join(lines)


def prizes_line(ctx: BotContext, campaign: Campaign, lang: str) -> str:
    """Only what the pool left can pay: the allocator's own rule (``core.shake.prize_range``)."""
    shown = prize_range(campaign.mode, campaign.tiers, campaign.money_left,
                        max(campaign.prizes_left, 1))
    if shown.high is None:
        key = "ux.shake.prizes_from"
    elif shown.high == shown.low:
        key = "ux.shake.prizes_each"
    else:
        key = "ux.shake.prizes_range"
    line = ctx.html(lang, key, low=Amount(shown.low), high=Amount(shown.high or shown.low))
    if shown.jackpot:
        line += ctx.html(lang, "ux.shake.and_jackpot", jackpot=Amount(JACKPOT))
    return line


def _how(ctx: BotContext, campaign: Campaign, lang: str) -> str:
    seconds = _seconds(campaign.interval_ms)
    if seconds <= 0:  # no cooldown configured: "every 0 s" reads like a bug
        return ctx.html(lang, "shake.message.how_any")
    return ctx.html(lang, "shake.message.how", wait=duration(ctx, lang, seconds * 1000))


def campaign_keyboard(ctx: BotContext, campaign: Campaign, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(ctx.text(lang, "shake.button"), callback_data=shake_button(campaign.id))]]
    )


def end_text(ctx: BotContext, ended: Ended, lang: str) -> str:
    campaign = ended.campaign
    title = {
        CampaignStatus.FINISHED: "shake.end.finished",
        CampaignStatus.STOPPED: "shake.end.stopped",
    }.get(campaign.status, "shake.end.expired")
    lines = [
        ctx.html(lang, title),
        ctx.html(lang, "shake.end.summary", n=len(ended.wins), count=campaign.count,
                 amount=Amount(campaign.won_amount)),
    ]
    for win in ended.jackpots:
        lines.append(ctx.html(lang, "shake.end.jackpot", name=win.member_name,
                              amount=Amount(win.amount)))
    if ended.wins:
        lines += ["", ctx.html(lang, "shake.end.winners")]
        for win in ended.wins[:MAX_WINNER_LINES]:
            lines.append(f"{win.position}. {html.escape(win.member_name, quote=False)} — "
                         f"{ctx.money(win.amount)}")
        if len(ended.wins) > MAX_WINNER_LINES:
            lines.append(ctx.html(lang, "shake.end.more", n=len(ended.wins) - MAX_WINNER_LINES))
    else:
        lines.append(ctx.html(lang, "shake.end.no_winners"))
    lines += ["", ctx.html(lang, "shake.end.refund", amount=Amount(campaign.refunded),
                           funder=campaign.funder_name)]
    return "\n".join(lines)


def result_text(ctx: BotContext, result: ShakeResult, lang: str, *, public: bool, name: str = "") -> str:
    """What a shake answers: an alert for a button press, a reply for a typed /shake."""
    campaign = result.campaign
    interval = _seconds(campaign.interval_ms) if campaign else 0
    if result.answer is ShakeAnswer.WON and result.win is not None:
        amount = Amount(result.win.amount)
        if public:
            key = "shake.answer.jackpot_public" if result.win.jackpot else "shake.answer.won_public"
            return ctx.html(lang, key, name=name, amount=amount)
        key = "shake.answer.jackpot" if result.win.jackpot else "shake.answer.won"
        return ctx.text(lang, key, amount=amount)
    render = ctx.html if public else ctx.text
    if result.answer is ShakeAnswer.LOST:
        if interval <= 0:
            return render(lang, "shake.answer.lost_now")
        return render(lang, "shake.answer.lost", wait=duration(ctx, lang, interval * 1000))
    if result.answer is ShakeAnswer.COOLDOWN:
        wait = max(1, -(-result.wait_ms // 1000)) * 1000  # whole seconds, rounded up
        return render(lang, "shake.answer.cooldown", wait=duration(ctx, lang, wait))
    if result.answer is ShakeAnswer.MAXED:
        return render(lang, "shake.answer.maxed", n=campaign.max_wins if campaign else 1)
    if result.answer is ShakeAnswer.OVER:
        return render(lang, "shake.answer.over")
    if result.answer is ShakeAnswer.NO_CAMPAIGN:
        return render(lang, "shake.none")
    if result.answer is ShakeAnswer.REFUSED and result.refusal is not None:  # a chat rule
        return render(lang, result.refusal.key, **result.refusal.params)
    return render(lang, "shake.answer.not_this_time")


def _seconds(ms: int) -> int:
    return -(-ms // 1000)


# -- the campaign message ------------------------------------------------------


async def _lang_of_campaign(ctx: BotContext, campaign: Campaign) -> str:
    known = messages_of(ctx).langs.get(campaign.id)
    return known or await ctx.lang_of(campaign.chat_id, None)


async def _edit(ctx: BotContext, chat_id: int, message_id: int, text: str,
                markup: InlineKeyboardMarkup | None) -> bool:
    return await ctx.editor.edit(chat_id, message_id, text, markup)


async def refresh_figure(ctx: BotContext, campaign: Campaign) -> None:
    """Show a new prizes-left figure; an older figure never overwrites a newer one."""
    if campaign.message_id is None:
        return
    book = messages_of(ctx)
    async with book.lock(campaign.id):
        if campaign.id in book.finished:
            return
        shown = book.shown_left.get(campaign.id, campaign.count)
        if campaign.prizes_left >= shown:
            return
        lang = await _lang_of_campaign(ctx, campaign)
        if await _edit(ctx, campaign.chat_id, campaign.message_id,
                       campaign_text(ctx, campaign, lang), campaign_keyboard(ctx, campaign, lang)):
            book.shown_left[campaign.id] = campaign.prizes_left


async def finish(ctx: BotContext, ended: Ended, reply_to: Message | None = None) -> None:
    """The end: the message shows winners, jackpot and refund; the funder is told."""
    campaign = ended.campaign
    book = messages_of(ctx)
    lang = await _lang_of_campaign(ctx, campaign)
    async with book.lock(campaign.id):
        book.mark_finished(campaign.id)
        message_id = campaign.message_id
        if message_id is None:  # ended by a win, whose row was read before the message was set
            fresh = await (await service_of(ctx)).get(campaign.id)
            message_id = fresh.message_id if fresh else None
        text = end_text(ctx, ended, lang)
        if message_id is None or not await _edit(ctx, campaign.chat_id, message_id, text, None):
            # the campaign message is gone: post the result (under the /shake stop, if any)
            if reply_to is None or await _reply(reply_to, text) is None:
                await _post(ctx, campaign.chat_id, text)
    book.shown_left.pop(campaign.id, None)
    book.locks.pop(campaign.id, None)
    paid = campaign.won_amount
    notice = ctx.html(lang, "shake.notify.ended", n=len(ended.wins), count=campaign.count,
                      paid=Amount(paid), refund=Amount(campaign.refunded))
    if ctx.notifier is not None:
        await ctx.notifier.send(campaign.funder_id, notice, None)


def _after(ctx: BotContext, result: ShakeResult) -> None:
    """Edits and the end run in the background: the press is answered first."""
    if result.ended is not None:
        ctx.spawn(finish(ctx, result.ended))
    elif shows_new_figure(result) and result.campaign is not None:
        ctx.spawn(refresh_figure(ctx, result.campaign))


# -- commands ------------------------------------------------------------------


async def on_shake(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or user.is_bot:
        return
    lang = await ctx.lang_of(chat.id, user.language_code)
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        await reply_briefly(ctx, message, ctx.html(lang, "shake.error.group_only"))
        return
    args = context.args or []
    word = args[0].lower() if args else ""
    if word in ("start", "stop"):
        if not await is_admin(context.bot, chat.id, user.id, ctx.settings.bot_admin_ids):
            await reply_briefly(ctx, message, ctx.html(lang, "shake.error.admins_only"))
            return
    if word == "start":
        await _start(ctx, context, message, args[1:], lang)
    elif word == "stop":
        await _stop(ctx, message, lang)
    elif word == "status":
        await _status(ctx, message, lang)
    elif word in ("help", "?"):
        await reply_briefly(ctx, message, ctx.html(lang, "shake.usage"))
    elif args:
        await reply_briefly(ctx, message, ctx.html(lang, "shake.error.usage"))
    else:
        await _typed_shake(ctx, message, lang)


async def _start(ctx: BotContext, context: ContextTypes.DEFAULT_TYPE, message: Message,
                 args: list[str], lang: str) -> None:
    assert message.from_user is not None
    service = await service_of(ctx)
    funder = member_of(message.from_user)
    try:
        request = parse_start(args, message.chat.id, funder, service.limits)
        campaign = await service.start(request, f"shake:{message.chat.id}:{message.message_id}")
    except InsufficientFunds as error:  # the generic wording speaks of a red packet
        await reply_briefly(ctx, message, ctx.html(lang, "shake.error.insufficient_funds",
                                                   **error.params))
        return
    except DomainError as error:
        await reply_briefly(ctx, message, ctx.html(lang, error.key, **error.params))
        return
    if campaign.message_id is not None:
        return  # a replayed update: the campaign and its message exist
    book = messages_of(ctx)
    book.langs[campaign.id] = lang
    book.shown_left[campaign.id] = campaign.count
    sent = await _reply(message, campaign_text(ctx, campaign, lang),
                        campaign_keyboard(ctx, campaign, lang))
    if sent is not None:
        await service.store.set_campaign_message(campaign.id, sent.message_id)
    schedule_end(context.application, campaign)


async def _stop(ctx: BotContext, message: Message, lang: str) -> None:
    service = await service_of(ctx)
    ended = await service.stop(message.chat.id)
    if ended is None:
        await reply_briefly(ctx, message, ctx.html(lang, "shake.none"))
        return
    # The campaign message turns into the result (refund included): that is the answer.
    await finish(ctx, ended, reply_to=message)


async def _status(ctx: BotContext, message: Message, lang: str) -> None:
    campaign = await (await service_of(ctx)).status(message.chat.id)
    if campaign is None:
        await reply_briefly(ctx, message, ctx.html(lang, "shake.none"))
        return
    await _reply(message, ctx.html(
        lang, "shake.status", funder=campaign.funder_name, left=campaign.prizes_left,
        count=campaign.count, money=Amount(campaign.money_left), time=_utc(campaign.ends_at),
    ))


async def _typed_shake(ctx: BotContext, message: Message, lang: str) -> None:
    assert message.from_user is not None
    member = member_of(message.from_user)
    result = await (await service_of(ctx)).shake_in_chat(
        message.chat.id, member, traits_of(message.from_user)
    )
    text = result_text(ctx, result, lang, public=True, name=member.name)
    if result.answer is ShakeAnswer.WON:
        await _reply(message, text, quote=True)  # a win is news for the group: it stays
    else:
        if result.campaign is not None and result.answer is not ShakeAnswer.OVER:
            text += "\n" + ctx.html(lang, "ux.shake.use_button")
        await reply_briefly(ctx, message, text)
    _after(ctx, result)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    query = update.callback_query
    if query is None:
        return
    user = query.from_user
    chat_id = query.message.chat.id if query.message is not None else None
    lang = await ctx.lang_of(chat_id, user.language_code)
    match = CALLBACK.fullmatch(query.data or "")
    service = await service_of(ctx)
    campaign = await service.lookup(match.group(1)) if match else None
    # Callback data can be forged: the campaign must belong to this very chat and
    # message (a cached copy may predate its message id: then ask the database).
    message_id = query.message.message_id if query.message is not None else None
    if campaign is not None and campaign.message_id != message_id:
        campaign = await service.get(campaign.id)
    if (campaign is None or campaign.chat_id != chat_id or campaign.message_id != message_id
            or user.is_bot):
        await answer(ctx, query, ctx.text(lang, "shake.answer.gone"))
        return
    result = await service.shake(campaign.id, member_of(user), traits_of(user))
    text = result_text(ctx, result, lang, public=False)
    await answer(ctx, query, text, alert=result.answer in (ShakeAnswer.WON, ShakeAnswer.REFUSED))
    _after(ctx, result)


async def _post(ctx: BotContext, chat_id: int, text: str) -> None:
    assert ctx.application is not None
    try:
        await ctx.application.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    except TelegramError as error:
        _log.info("campaign end not posted in chat %s: %s", chat_id, error)


async def _reply(message: Message, text: str,
                 markup: InlineKeyboardMarkup | None = None, *, quote: bool = False,
                 ) -> Message | None:
    try:
        return await message.reply_text(
            text, reply_markup=markup, do_quote=quote, parse_mode=ParseMode.HTML
        )
    except TelegramError as error:
        _log.info("reply in chat %s failed: %s", message.chat.id, error)
        return None


# -- the end, from the database ------------------------------------------------


async def sweep(context: ContextTypes.DEFAULT_TYPE) -> None:
    """End every campaign past its time (also those missed while the bot was down)."""
    ctx = bot_context(context)
    for ended in await (await service_of(ctx)).end_due():
        await finish(ctx, ended)


async def end_on_time(context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    job = context.job
    campaign_id = job.data if job is not None else None
    if not isinstance(campaign_id, str):
        return
    ended = await (await service_of(ctx)).end_if_due(campaign_id)
    if ended is not None:
        await finish(ctx, ended)


def schedule_end(application: AnyApplication, campaign: Campaign) -> None:
    queue = application.job_queue
    if queue is None:
        return  # the repeating sweep (or the next start) ends it
    when = datetime.fromtimestamp(campaign.ends_at / 1000, UTC)
    queue.run_once(end_on_time, when=when, data=campaign.id, name=f"shake-end:{campaign.id}")


async def on_start(application: AnyApplication, ctx: BotContext) -> None:
    """At start: end what is overdue, and schedule the end of every live campaign."""
    # Scheduled first: a failing first sweep must not leave campaigns without an end.
    repeat(application, _guarded_job(sweep), ctx.settings.expiry_sweep_seconds, SWEEP_JOB)
    service = await service_of(ctx)
    for ended in await service.end_due():
        await finish(ctx, ended)
    if application.job_queue is None:
        return
    for campaign in await service.live_campaigns():
        schedule_end(application, campaign)


async def on_stop(application: AnyApplication, ctx: BotContext) -> None:
    stop_repeating(application, SWEEP_JOB)


def _guarded_job(job: Any) -> Any:
    async def run(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await job(context)
        except Exception:
            _log.exception("shake job %s failed", job.__name__)

    run.__name__ = job.__name__
    return run


def register(application: AnyApplication, ctx: BotContext) -> None:
    application.add_handler(CommandHandler("shake", guarded(on_shake)), ctx.group)
    application.add_handler(CallbackQueryHandler(guarded(on_press), pattern=callbacks.PATTERNS[Action.SHAKE]), ctx.group)
    ctx.on_start.append(on_start)
    ctx.on_stop.append(on_stop)
    if "shake" not in ctx.commands:
        ctx.commands.append("shake")

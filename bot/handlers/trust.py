"""/suspects (the grabber report, for chat admins) and /top (the leaderboard, for anyone).

/suspects goes to the admin's private chat, so a report about members is not
posted in front of them; the group only sees a 👌 on the command. /top is
posted in the group at most once a minute per chat: later ones within the
minute get a 👌 reaction (or, where reactions are off, one short pointer to the
last leaderboard), so the group's message budget is not spent on it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from telegram import Message, ReplyParameters, Update
from telegram.constants import ChatType, ParseMode, ReactionEmoji
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes

from core.amount import Amount
from core.trust import (
    SUSPECT_WINDOW_DAYS,
    Leaderboard,
    MemberPresses,
    SuspectReport,
    SuspectThresholds,
    find_suspects,
    suspect_window_start,
    week_start_ms,
)
from storage.sqlite.trust import SqliteTrust

from bot.admins import is_admin
from bot.app import BotContext
from bot.handlers.common import guarded
from bot.handlers.wallet import reply_html, turn_of

_log = logging.getLogger(__name__)

TOP = 5
TOP_INTERVAL_MS = 60_000
TOP_CHATS_REMEMBERED = 10_000
ACK = ReactionEmoji.OK_HAND_SIGN  # on Telegram's list of reactions a bot may set


# --- the once-a-minute /top ----------------------------------------------------------


@dataclass(slots=True)
class _Posted:
    at_ms: int
    message_id: int | None = None  # None while the leaderboard is being posted
    pointed: bool = False  # a short pointer was sent in this minute already


class OncePerMinute:
    """The last /top of each chat; at most ``max_chats`` chats remembered (oldest go)."""

    def __init__(self, interval_ms: int = TOP_INTERVAL_MS,
                 max_chats: int = TOP_CHATS_REMEMBERED) -> None:
        self.interval_ms = interval_ms
        self.max_chats = max_chats
        self._chats: OrderedDict[int, _Posted] = OrderedDict()

    def recent(self, chat_id: int, now_ms: int) -> _Posted | None:
        posted = self._chats.get(chat_id)
        if posted is None or now_ms - posted.at_ms >= self.interval_ms:
            return None
        return posted

    def reserve(self, chat_id: int, now_ms: int) -> _Posted:
        """Claim this minute for a new leaderboard (before any await, so two at once
        cannot both post)."""
        posted = _Posted(now_ms)
        self._chats[chat_id] = posted
        self._chats.move_to_end(chat_id)
        while len(self._chats) > self.max_chats:
            self._chats.popitem(last=False)
        return posted

    def release(self, chat_id: int, posted: _Posted) -> None:
        if self._chats.get(chat_id) is posted:
            del self._chats[chat_id]

    def __len__(self) -> int:
        return len(self._chats)


def top_limiter(ctx: BotContext) -> OncePerMinute:
    limiter = ctx.extra.get("top")
    if limiter is None:
        limiter = ctx.extra["top"] = OncePerMinute()
    return limiter


def leader_lines(ctx: BotContext, lang: str, key: str, leaders: Any) -> list[str]:
    lines = [
        ctx.html(lang, key, rank=rank, name=leader.name, count=leader.count,
                 amount=Amount(leader.amount))
        for rank, leader in enumerate(leaders, start=1)
    ]
    return lines or [ctx.html(lang, "top.nobody")]


def board_lines(ctx: BotContext, lang: str, heading: str, board: Leaderboard) -> list[str]:
    return [
        ctx.html(lang, heading),
        ctx.html(lang, "top.senders"),
        *leader_lines(ctx, lang, "top.sender_line", board.senders),
        ctx.html(lang, "top.best_luck"),
        *leader_lines(ctx, lang, "top.lucky_line", board.best_luck),
    ]


def top_text(ctx: BotContext, lang: str, week: Leaderboard, ever: Leaderboard) -> str:
    if ever.is_empty:
        return ctx.html(lang, "top.empty")
    return "\n".join([
        ctx.html(lang, "top.title"), "",
        *board_lines(ctx, lang, "top.week", week), "",
        *board_lines(ctx, lang, "top.all_time", ever),
    ])


async def react(context: ContextTypes.DEFAULT_TYPE, message: Message) -> bool:
    try:
        await context.bot.set_message_reaction(message.chat.id, message.message_id, ACK)
    except TelegramError as error:
        _log.info("could not react in chat %s: %s", message.chat.id, error)
        return False
    return True


@guarded
async def top_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await turn_of(update, context)
    if turn is None:
        return
    ctx, message, lang = turn.ctx, turn.message, turn.lang
    if message.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        await reply_html(update, ctx.html(lang, "top.group_only"))
        return
    chat_id, now = message.chat.id, ctx.clock.now_ms()
    limiter = top_limiter(ctx)
    last = limiter.recent(chat_id, now)
    if last is not None:
        if not await react(context, message) and not last.pointed:
            last.pointed = True
            target = last.message_id or message.message_id
            await context.bot.send_message(
                chat_id, ctx.html(lang, "top.see_above"), parse_mode=ParseMode.HTML,
                reply_parameters=ReplyParameters(target, allow_sending_without_reply=True),
            )
        return
    posted = limiter.reserve(chat_id, now)
    try:
        reader = SqliteTrust(ctx.store)
        week = await reader.leaderboard(chat_id, week_start_ms(now), TOP)
        ever = await reader.leaderboard(chat_id, None, TOP)
        sent = await reply_html(update, top_text(ctx, lang, week, ever))
    except BaseException:
        limiter.release(chat_id, posted)  # nothing was posted: the next /top may try
        raise
    posted.message_id = sent.message_id if sent is not None else None


# --- /suspects ----------------------------------------------------------------------


def thresholds_of(ctx: BotContext) -> SuspectThresholds:
    return SuspectThresholds(
        median_ms=round(ctx.settings.suspect_median_seconds * 1000),
        first_percent=ctx.settings.suspect_first_percent,
    )


def seconds(ms: float) -> str:
    return f"{ms / 1000:.2f}"


def suspect_line(ctx: BotContext, lang: str, member: MemberPresses) -> str:
    params = dict(name=member.name, firsts=member.firsts, shares=member.shares,
                  percent=f"{member.first_percent:.0f}")
    if member.median_delay_ms is None:
        return ctx.html(lang, "suspects.line_unmeasured", **params)
    return ctx.html(lang, "suspects.line", median=seconds(member.median_delay_ms), **params)


def suspects_text(ctx: BotContext, lang: str, chat_title: str, report: SuspectReport) -> str:
    rules = report.thresholds
    lines = [
        ctx.html(lang, "suspects.title", chat=chat_title),
        ctx.html(lang, "suspects.rules", shares=rules.min_shares, days=SUSPECT_WINDOW_DAYS,
                 median=f"{rules.median_ms / 1000:g}", percent=f"{rules.first_percent:g}"),
        "",
    ]
    if report.suspects:
        lines += [suspect_line(ctx, lang, member) for member in report.suspects]
    else:
        lines.append(ctx.html(lang, "suspects.none", examined=report.examined))
    lines += ["", ctx.html(lang, "suspects.verdict")]
    return "\n".join(lines)


async def suspects_report(ctx: BotContext, chat_id: int) -> SuspectReport:
    facts = await SqliteTrust(ctx.store).press_facts(
        chat_id, suspect_window_start(ctx.clock.now_ms())
    )
    return find_suspects(facts, thresholds_of(ctx))


@guarded
async def suspects_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await turn_of(update, context)
    if turn is None:
        return
    ctx, message, member, lang = turn.ctx, turn.message, turn.member, turn.lang
    if message.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        await reply_html(update, ctx.html(lang, "suspects.group_only"))
        return
    if not await is_admin(context.bot, message.chat.id, member.id, ctx.settings.bot_admin_ids):
        await reply_html(update, ctx.html(lang, "suspects.not_admin"))
        return
    report = await suspects_report(ctx, message.chat.id)
    text = suspects_text(ctx, lang, message.chat.title or str(message.chat.id), report)
    try:
        await context.bot.send_message(member.id, text, parse_mode=ParseMode.HTML)
    except Forbidden:
        await reply_html(update, ctx.html(lang, "suspects.cannot_write"))
        return
    if not await react(context, message):
        await reply_html(update, ctx.html(lang, "suspects.sent_privately"))


def register(application: Application[Any, Any, Any, Any, Any, Any], ctx: BotContext) -> None:
    application.add_handler(CommandHandler("top", top_command), ctx.group)
    application.add_handler(CommandHandler("suspects", suspects_command), ctx.group)
    ctx.commands.extend(["top", "suspects"])


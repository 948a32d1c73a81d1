"""Shared handler plumbing: members from users and updates, a command's turn, replies,
one answer per press, polite failures."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Message, Update, User
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.answering import answer_callback
from bot.arrivals import past_answer_window
from bot.context import BotContext, bot_context
from bot.retry import backoff, is_transient, post
from bot.short_lived import reply_briefly
from core.eligibility import Traits
from core.packets import Member

_log = logging.getLogger("bot.handlers")

CALLBACK_ANSWER_LIMIT = 200
ANSWER_ATTEMPTS = 3  # within Telegram's answer window of about 15 s

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[Any]]


def member_of(user: User) -> Member:
    return Member(user.id, user.full_name or str(user.id), user.username)


def sender_of(update: Update) -> Member | None:
    """The member who sent ``update``; None for a bot or an update without a user."""
    user = update.effective_user
    return None if user is None or user.is_bot else member_of(user)


async def member_by_username(ctx: BotContext, username: str) -> Member | None:
    """A member the bot has seen, by @username (case-insensitive, ``@`` optional)."""
    assert ctx.records is not None, "engine not open: await ctx.ready() first"
    return await ctx.records.find_member_by_username(username)


async def update_lang(ctx: BotContext, update: Update) -> str:
    """The chat's /lang override if any, else the user's Telegram language."""
    chat, user = update.effective_chat, update.effective_user
    return await ctx.lang_of(chat.id if chat else None, user.language_code if user else None)


async def reply_html(update: Update, text: str, **kwargs: Any) -> Message | None:
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_text(text, parse_mode=ParseMode.HTML, **kwargs)


@dataclass(frozen=True, slots=True)
class Turn:
    """What a command handler starts from."""

    ctx: BotContext
    message: Message
    member: Member
    lang: str


async def turn_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Turn | None:
    """The context, message, member and language of a command; None if it has none."""
    ctx = bot_context(context)
    message, member = update.effective_message, sender_of(update)
    if message is None or member is None:
        return None
    await ctx.ready()
    return Turn(ctx, message, member, await update_lang(ctx, update))


async def refuse(turn: Turn, text: str) -> None:
    """A typed command's refusal: a reply to it, gone after a while in a group."""
    await reply_briefly(turn.ctx, turn.message, text)


def traits_of(user: User) -> Traits:
    """What the chat rules look at (core.eligibility)."""
    return Traits(user.id, is_premium=bool(user.is_premium), is_bot=user.is_bot)


def clip_answer(text: str) -> str:
    """Telegram refuses callback answers over 200 characters."""
    return text if len(text) <= CALLBACK_ANSWER_LIMIT else text[: CALLBACK_ANSWER_LIMIT - 1] + "…"


async def answer(
    ctx: BotContext, query: CallbackQuery, text: str | None = None, *, alert: bool = False
) -> None:
    """Answer a press once; a second call for the same press does nothing.

    A press that waited in the bot past Telegram's answer window is not
    answered: Telegram would refuse it, and sending it only delays the presses
    behind (``bot.arrivals``).
    """
    if query.id in ctx.answered:
        return
    ctx.answered.mark(query.id)
    if past_answer_window():
        _log.debug("press %s waited past the answer window: not answered", query.id)
        return
    for attempt in range(ANSWER_ATTEMPTS):
        try:
            await answer_callback(
                query.get_bot(), query.id, clip_answer(text) if text else None, alert
            )
            return
        except TelegramError as error:
            # A 5xx or a lost connection: once more (if the first did land, the
            # second is refused, which is harmless). Too old, or refused: lost anyway.
            if not is_transient(error) or attempt + 1 == ANSWER_ATTEMPTS:
                _log.info("answer to press %s failed: %s", query.id, error)
                return
            await asyncio.sleep(backoff(attempt))


async def apologize(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an update whose handler failed, so nobody is left waiting."""
    if not isinstance(update, Update):
        return
    ctx = bot_context(context)
    user = update.effective_user
    lang = ctx.lang(user.language_code if user else None)
    if update.callback_query is not None:
        await answer(ctx, update.callback_query, ctx.text(lang, "error.generic"), alert=True)
    elif update.effective_message is not None:
        await apologize_in(ctx, update.effective_message, lang)


async def apologize_in(ctx: BotContext, message: Message, lang: str) -> None:
    """Say "something went wrong" in the message's chat; tries again after a brief
    outage, and a failure is one log line (``post`` logs it)."""
    assert ctx.application is not None
    bot = ctx.application.bot
    await post(
        lambda: bot.send_message(
            message.chat.id, ctx.html(lang, "error.generic"), parse_mode=ParseMode.HTML
        ),
        f"the apology in {message.chat.id}",
    )


def guarded(handler: Callback) -> Callback:
    """Log any failure of ``handler`` and answer the user politely.

    Telegram unreachable (a 5xx, a timeout, a lost connection) is not a bug:
    one line, no traceback.
    """

    @functools.wraps(handler)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Any:
        try:
            return await handler(update, context)
        except ApplicationHandlerStop:
            raise
        except Exception as error:
            name, update_id = handler.__name__, getattr(update, "update_id", "?")
            if isinstance(error, TelegramError) and is_transient(error):
                _log.warning("handler %s on update %s: Telegram unreachable: %s",
                             name, update_id, error)
            else:
                _log.exception("handler %s failed on update %s", name, update_id)
            await apologize(update, context)
            return None

    return run


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The application's error handler (standalone): log, then answer politely."""
    error, update_id = context.error, getattr(update, "update_id", update)
    if isinstance(error, TelegramError) and is_transient(error):
        _log.warning("update %s: Telegram unreachable: %s", update_id, error)
    else:
        _log.error("update %s failed", update_id, exc_info=error)
    await apologize(update, context)

"""Shared handler plumbing: members from users, one answer per press, polite failures."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import CallbackQuery, Update, User
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.app import BotContext, bot_context
from core.eligibility import Traits
from core.packets import Member

_log = logging.getLogger("bot.handlers")

CALLBACK_ANSWER_LIMIT = 200

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[Any]]


def member_of(user: User) -> Member:
    return Member(user.id, user.full_name or str(user.id), user.username)


def traits_of(user: User) -> Traits:
    """What the chat rules look at (core.eligibility)."""
    return Traits(user.id, is_premium=bool(user.is_premium), is_bot=user.is_bot)


def clip_answer(text: str) -> str:
    """Telegram refuses callback answers over 200 characters."""
    return text if len(text) <= CALLBACK_ANSWER_LIMIT else text[: CALLBACK_ANSWER_LIMIT - 1] + "…"


async def answer(
    ctx: BotContext, query: CallbackQuery, text: str | None = None, *, alert: bool = False
) -> None:
    """Answer a press once; a second call for the same press does nothing."""
    if ctx.was_answered(query.id):
        return
    ctx.mark_answered(query.id)
    try:
        await query.answer(clip_answer(text) if text else None, show_alert=alert)
    except TelegramError as error:  # too old, or Telegram refused: the press is lost anyway
        _log.info("answer to press %s failed: %s", query.id, error)


async def apologize(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an update whose handler failed, so nobody is left waiting."""
    if not isinstance(update, Update):
        return
    ctx = bot_context(context)
    user = update.effective_user
    lang = ctx.lang(user.language_code if user else None)
    text = ctx.text(lang, "error.generic")
    try:
        if update.callback_query is not None:
            await answer(ctx, update.callback_query, text, alert=True)
        elif update.effective_message is not None and update.effective_chat is not None:
            await context.bot.send_message(
                update.effective_chat.id, text, parse_mode=ParseMode.HTML
            )
    except TelegramError:
        pass


def guarded(handler: Callback) -> Callback:
    """Log any failure of ``handler`` and answer the user politely."""

    @functools.wraps(handler)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Any:
        try:
            return await handler(update, context)
        except ApplicationHandlerStop:
            raise
        except Exception:
            _log.exception("handler %s failed on update %s", handler.__name__,
                           getattr(update, "update_id", "?"))
            await apologize(update, context)
            return None

    return run


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The application's error handler (standalone): log, then answer politely."""
    _log.error("update %s failed", getattr(update, "update_id", update), exc_info=context.error)
    await apologize(update, context)

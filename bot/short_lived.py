"""Replies that matter for a moment: usage errors and refusals to typed commands.

A busy group shares Telegram's budget of about twenty bot messages a minute
with its packets, so such a reply quotes the member's message (they see it is
for them), says what to type instead, and is deleted after a while so the chat
is not left with a trail of "that was wrong".
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

if TYPE_CHECKING:
    from bot.app import BotContext

_log = logging.getLogger(__name__)

# Long enough to read, short enough not to pile up.
SHORT_LIVED_SECONDS = 90
DELETE_JOB_PREFIX = "short-lived:"


async def reply_briefly(
    ctx: BotContext, message: Message, text: str, markup: InlineKeyboardMarkup | None = None,
    *, seconds: float = SHORT_LIVED_SECONDS,
) -> Message | None:
    """Reply quoting ``message``; in a group, delete the reply after ``seconds``."""
    try:
        sent = await message.reply_text(
            text, reply_markup=markup, do_quote=True, parse_mode=ParseMode.HTML
        )
    except TelegramError as error:
        _log.info("reply in chat %s failed: %s", message.chat.id, error)
        return None
    if message.chat.type != ChatType.PRIVATE:
        delete_later(ctx, sent, seconds)
    return sent


def delete_later(ctx: BotContext, sent: Message, seconds: float) -> None:
    application = ctx.application
    queue = application.job_queue if application is not None else None
    if queue is None or seconds <= 0:
        return  # no job queue (a host app without one): the reply stays
    queue.run_once(
        _delete, when=seconds, data=(sent.chat_id, sent.message_id),
        name=f"{DELETE_JOB_PREFIX}{sent.chat_id}:{sent.message_id}",
    )


async def _delete(context: ContextTypes.DEFAULT_TYPE) -> None:
    job = context.job
    if job is None or not isinstance(job.data, tuple):
        return
    chat_id, message_id = job.data
    try:
        await context.bot.delete_message(chat_id, message_id)
    except TelegramError as error:  # already gone, or too old to delete
        _log.info("short-lived reply %s in %s not deleted: %s", message_id, chat_id, error)

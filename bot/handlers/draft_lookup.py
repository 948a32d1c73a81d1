"""Which draft a draft button acts on, whatever happened to the response that posted it.

A draft's buttons carry the draft's own id (its command's message id), not the
id of the message showing it: when Telegram's answer to the post is lost, the
bot never learns that message id, yet the draft must still work. The press
proves which message shows the draft: Telegram delivers the pressed message
with its keyboard, and only the bot puts this draft's buttons there.
"""

from __future__ import annotations

from dataclasses import replace

from telegram import CallbackQuery, Message

from core.drafts import Draft

from bot import callbacks
from bot.app import BotContext
from bot.handlers.send import send_key


async def draft_of_press(
    ctx: BotContext, query: CallbackQuery, command_id: int | None
) -> Draft | None:
    """The draft the pressed button belongs to, with ``message_id`` the pressed message."""
    message = query.message
    if not isinstance(message, Message) or ctx.drafts is None:
        return None
    chat_id = message.chat.id
    if command_id is None:  # a draft posted before drafts named themselves
        return await ctx.drafts.by_message(chat_id, message.message_id)
    draft = await ctx.drafts.by_command(chat_id, command_id)
    if draft is None:
        return None
    if draft.message_id == message.message_id:
        return draft
    if not _shows_button(ctx, message, query.data):
        return None  # forged: this message does not carry the draft's buttons
    if draft.message_id is None:
        await ctx.drafts.attach_message(chat_id, command_id, message.message_id)
    return replace(draft, message_id=message.message_id)


def draft_send_key(draft: Draft, query: CallbackQuery) -> str:
    """One packet per command, whichever copy of its draft is pressed; drafts posted
    before keep the key they had (their message's id)."""
    parsed = callbacks.parse(query.data)
    legacy = parsed is None or callbacks.draft_parts(parsed.arg)[1] is None
    if legacy and draft.message_id is not None:
        return send_key(draft.chat_id, draft.message_id)
    return send_key(draft.chat_id, draft.command_message_id)


def _shows_button(ctx: BotContext, message: Message, data: str | None) -> bool:
    assert ctx.application is not None
    author, markup = message.from_user, message.reply_markup
    if author is None or author.id != ctx.application.bot.id or markup is None or not data:
        return False
    return any(b.callback_data == data for row in markup.inline_keyboard for b in row)

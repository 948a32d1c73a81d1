"""Password packets (口令红包): ``/password TOTAL COUNT PHRASE`` (alias ``/kouling``).

The packet message shows the phrase; a member unlocks it by replying to that
message with the phrase (with privacy mode on, replies to the bot's own
messages still reach it). Matching ignores width, case, punctuation and extra
spaces (``core.eligibility.phrase_matches``). The unlock is stored for good and
confirmed with a reaction on the reply, never a group message; a wrong phrase
gets no answer at all. Open refuses members who have not unlocked (core).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from core.eligibility import phrase_matches

from bot.app import BotContext, bot_context
from bot.handlers.common import guarded
from bot.handlers.send import password_command

_log = logging.getLogger(__name__)

UNLOCKED_REACTION = "👌"  # on Telegram's fixed list of reaction emoji


@guarded
async def password(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await password_command(update, context)


@guarded
async def on_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply to one of the bot's messages: does it unlock a password packet?"""
    ctx = bot_context(context)
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot or not message.text:
        return
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return
    engine = await ctx.ready()
    if engine.standing is None or engine.eligibility is None:
        return
    packet_id = await engine.standing.packet_at(message.chat.id, replied.message_id)
    if packet_id is None and ctx.drafts is not None:  # the first message of a reposted packet
        draft = await ctx.drafts.by_message(message.chat.id, replied.message_id)
        packet_id = draft.packet_id if draft is not None else None
    if packet_id is None:
        return
    packet = await ctx.store.get_packet(packet_id)
    if packet is None or not packet.phrase or not phrase_matches(packet.phrase, message.text):
        return  # not a password packet, or a wrong phrase: say nothing
    await engine.eligibility.unlock(packet.id, user.id)
    try:
        await context.bot.set_message_reaction(
            message.chat.id, message.message_id, reaction=UNLOCKED_REACTION
        )
    except TelegramError as error:  # no reaction rights, or reactions off: stay silent
        _log.info("could not react to an unlock in %s: %s", message.chat.id, error)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler(["password", "kouling"], password), group=ctx.group)
    replies = filters.ChatType.GROUPS & filters.REPLY & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(replies, on_reply), group=ctx.group)
    ctx.commands.append("password")

"""/block and /unblock (chat admins): a blocked member's presses and shakes in the
chat are refused and move nothing (core.eligibility). The member is named as a
reply, an @username the bot has seen, or a text mention."""

from __future__ import annotations

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, ContextTypes

from core.errors import DomainError
from core.packets import Member
from storage.sqlite.chats import member_by_username

from bot.admins import is_admin
from bot.app import BotContext, bot_context
from bot.handlers.common import guarded, member_of
from bot.handlers.send import error_html


async def target_of(ctx: BotContext, message: Message) -> Member:
    """Who the command names; ``DomainError`` if nobody, or a bot."""
    mentions = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    for entity, text in sorted(mentions.items(), key=lambda item: item[0].offset):
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
            if entity.user.is_bot:
                raise DomainError("rules.block_bot")
            return member_of(entity.user)
        if entity.type == MessageEntity.MENTION:
            found = await member_by_username(ctx.store, text)
            if found is None:
                raise DomainError("rules.block_unknown", username=text)
            return found
    replied = message.reply_to_message
    if replied is not None and message.is_topic_message and (
        replied.message_id == message.message_thread_id
    ):
        replied = None  # in a forum topic every message "replies" to the topic's first one
    if replied is not None and replied.from_user is not None:
        if replied.from_user.is_bot:
            raise DomainError("rules.block_bot")
        return member_of(replied.from_user)
    raise DomainError("rules.block_usage")


async def _blocking(update: Update, context: ContextTypes.DEFAULT_TYPE, block: bool) -> None:
    ctx = bot_context(context)
    engine = await ctx.ready()
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or engine.eligibility is None:
        return
    lang = await ctx.lang_of(chat.id, user.language_code)
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        await message.reply_html(ctx.html(lang, "error.group_only"))
        return
    if not await is_admin(context.bot, chat.id, user.id, ctx.settings.bot_admin_ids):
        await message.reply_html(ctx.html(lang, "rules.block_admins_only"))
        return
    try:
        target = await target_of(ctx, message)
    except DomainError as error:
        await message.reply_html(error_html(ctx, lang, error))
        return
    if block:
        changed = await engine.eligibility.block(chat.id, target.id, target.name, user.id)
        key = "rules.blocked" if changed else "rules.already_blocked"
    else:
        changed = await engine.eligibility.unblock(chat.id, target.id)
        key = "rules.unblocked" if changed else "rules.not_blocked"
    await message.reply_html(ctx.html(lang, key, name=target.name))


@guarded
async def block(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _blocking(update, context, block=True)


@guarded
async def unblock(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _blocking(update, context, block=False)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("block", block), group=ctx.group)
    application.add_handler(CommandHandler("unblock", unblock), group=ctx.group)
    ctx.commands.extend(["block", "unblock"])

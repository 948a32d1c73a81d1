"""/lang: the chat's language override (English, Chinese, or each member's own)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import callbacks
from bot.admins import is_admin
from bot.app import BotContext, bot_context
from bot.callbacks import Action
from bot.handlers.common import answer, guarded
from bot.keyboards import lang_keyboard


@guarded
async def lang_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    lang = await ctx.lang_of(chat.id, user.language_code)
    await message.reply_html(ctx.html(lang, "lang.choose"), reply_markup=lang_keyboard(ctx, lang))


@guarded
async def on_lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    parsed = callbacks.parse(query.data)
    message = query.message
    lang = ctx.lang(user.language_code)
    if parsed is None or parsed.action is not Action.LANG or message is None:
        await answer(ctx, query, ctx.text(lang, "press.invalid"))
        return
    chat = message.chat
    if chat.type != ChatType.PRIVATE and not await is_admin(
        context.bot, chat.id, user.id, ctx.settings.bot_admin_ids
    ):
        await answer(ctx, query, ctx.text(lang, "lang.admins_only"), alert=True)
        return
    choice = None if parsed.arg == "auto" else parsed.arg
    await ctx.chats.set_lang(chat.id, choice, ctx.clock.now_ms())
    shown = choice or ctx.lang(user.language_code)
    done = ctx.text(shown, "lang.set" if choice else "lang.set_auto")
    await answer(ctx, query, done)
    await ctx.editor.edit(chat.id, message.message_id, ctx.html(shown, "lang.set" if choice
                                                                 else "lang.set_auto"), None)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("lang", lang_command), group=ctx.group)
    application.add_handler(
        CallbackQueryHandler(on_lang, pattern=callbacks.PATTERNS[Action.LANG]), group=ctx.group
    )
    ctx.commands.append("lang")

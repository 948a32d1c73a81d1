"""/lang: the chat's language override (English, Chinese, or each member's own).

In a group only chat admins (and the bot admins) may choose: they get the
picker; everyone else is told the current setting and who can change it. The
picker's buttons act only on a picker message the bot recorded when it posted
it: ``l:<lang>`` forged onto any other bot message is refused.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from storage.sqlite.keyboards import Keyboard

from bot import callbacks
from bot.admins import is_admin
from bot.app import BotContext, bot_context
from bot.callbacks import Action
from bot.handlers.common import answer, guarded
from bot.keyboards import lang_keyboard


async def _may_choose(context: ContextTypes.DEFAULT_TYPE, ctx: BotContext, chat_type: str,
                      chat_id: int, user_id: int) -> bool:
    return chat_type == ChatType.PRIVATE or await is_admin(
        context.bot, chat_id, user_id, ctx.settings.bot_admin_ids
    )


@guarded
async def lang_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    assert ctx.chats is not None and ctx.keyboards is not None
    lang = await ctx.lang_of(chat.id, user.language_code)
    if not await _may_choose(context, ctx, chat.type, chat.id, user.id):
        current = await ctx.chats.lang(chat.id) or "auto"
        await message.reply_html(ctx.html(
            lang, "lang.current_chat", setting=ctx.text(lang, f"lang.name.{current}")
        ))
        return
    sent = await message.reply_html(ctx.html(lang, "lang.choose"),
                                    reply_markup=lang_keyboard(ctx, lang))
    await ctx.keyboards.remember(chat.id, sent.message_id, Keyboard.LANG, user.id,
                                 ctx.clock.now_ms())


@guarded
async def on_lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    assert ctx.chats is not None and ctx.keyboards is not None
    parsed = callbacks.parse(query.data)
    message = query.message
    lang = ctx.lang(user.language_code)
    if parsed is None or parsed.action is not Action.LANG or message is None or not (
        await ctx.keyboards.is_a(message.chat.id, message.message_id, Keyboard.LANG,
                                 ctx.clock.now_ms())
    ):
        await answer(ctx, query, ctx.text(lang, "press.invalid"))
        return
    chat = message.chat
    if not await _may_choose(context, ctx, chat.type, chat.id, user.id):
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

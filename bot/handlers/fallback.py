"""Standalone only: a press whose data no feature claimed is answered, never left hanging."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.context import BotContext, bot_context
from bot.handlers.common import answer, error_handler, guarded


@guarded
async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    query, user = update.callback_query, update.effective_user
    if query is None:
        return
    lang = ctx.lang(user.language_code if user else None)
    await answer(ctx, query, ctx.text(lang, "press.invalid"))


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(unknown_button), group=ctx.group)
    application.add_error_handler(error_handler)

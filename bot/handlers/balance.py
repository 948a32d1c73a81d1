"""/balance: the member's balance and how to get more (SPEC §8).

Kept small on purpose: ``bot/handlers/wallet.py`` may replace ``balance`` with a
richer view (ledger lines); ``how_to_get_more`` is shared with the draft.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from core.money import Amount

from bot.app import BotContext, bot_context
from bot.handlers.common import guarded


def how_to_get_more(ctx: BotContext, lang: str) -> str:
    lines = [ctx.html(lang, "balance.get_more"), ctx.html(lang, "balance.way_packets")]
    if ctx.settings.daily_bonus > 0:
        lines.append(ctx.html(lang, "balance.way_daily", amount=Amount(ctx.settings.daily_bonus)))
    lines.append(ctx.html(lang, "balance.way_grant"))
    if ctx.settings.topup_enabled:
        lines.append(ctx.html(lang, "balance.way_topup"))
    return "\n".join(lines)


async def balance_text(ctx: BotContext, user_id: int, lang: str) -> str:
    cents = await ctx.store.balance(user_id)
    return ctx.html(lang, "balance.show", balance=Amount(cents)) + "\n\n" + how_to_get_more(ctx, lang)


@guarded
async def balance(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is None or chat is None or message is None:
        return
    lang = await ctx.lang_of(chat.id, user.language_code)
    await message.reply_html(await balance_text(ctx, user.id, lang))


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("balance", balance), group=ctx.group)
    ctx.commands.append("balance")

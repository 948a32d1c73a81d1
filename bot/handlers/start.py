"""/start (deep links ``p_<packet>`` open the private result view) and /help."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, ContextTypes

from core.amount import Amount

from bot.context import BotContext, bot_context
from bot.handlers.common import guarded, member_of
from bot.handlers.result import packet_id_of, show_result, wants_full_commitment
from bot.handlers.wallet import BALANCE_START, show_balance
from bot.keyboards import TOPUP_START
from bot.payments import MAX_TOPUP_STARS


@guarded
async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    payload = context.args[0] if context.args else ""
    packet_id = packet_id_of(payload)
    if packet_id is not None and chat.type == ChatType.PRIVATE:
        await show_result(
            ctx, message, user, packet_id, full_commitment=wants_full_commitment(payload)
        )
        return
    lang = await ctx.lang_of(chat.id, user.language_code)
    if payload == BALANCE_START and chat.type == ChatType.PRIVATE:
        await show_balance(ctx, message, member_of(user), lang)
        return
    if payload == TOPUP_START and chat.type == ChatType.PRIVATE and ctx.settings.topup_enabled:
        await message.reply_html(ctx.html(
            lang, "wallet.topup.usage", maximum=MAX_TOPUP_STARS,
            rate=Amount(ctx.settings.topup_cents_per_star)))
        return
    lines = [ctx.html(lang, "start.welcome", name=user.first_name, amount=Amount(10_00))]
    if ctx.greeter.take_fresh(user.id) and ctx.settings.welcome_bonus > 0:
        lines.append(ctx.html(lang, "start.bonus", amount=Amount(ctx.settings.welcome_bonus)))
    lines += ["", ctx.words.translator.translate(lang, "help.text")]
    await message.reply_html("\n".join(lines))


@guarded
async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None:
        return
    lang = await ctx.lang_of(chat.id, user.language_code if user else None)
    await message.reply_html(ctx.words.translator.translate(lang, "help.text"))


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("start", start_command), group=ctx.group)
    application.add_handler(CommandHandler("help", help_command), group=ctx.group)
    ctx.commands.append("help")

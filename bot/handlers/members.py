"""First contact: open the engine if needed and pay the welcome bonus once (SPEC §10)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from core.errors import StoreUnavailable

from bot.app import BotContext, bot_context
from bot.handlers.common import guarded, member_of

GREET_GROUP = -1  # runs before every other handler of the update


@guarded
async def greet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    user = update.effective_user
    if user is None or user.is_bot:
        return
    try:
        fresh = await ctx.packets.greet(member_of(user))
    except StoreUnavailable:
        return  # greeted on a later update; this one's own handler still answers
    if fresh:
        ctx.fresh_members.add(user.id)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(TypeHandler(Update, greet), group=min(GREET_GROUP, ctx.group - 1))

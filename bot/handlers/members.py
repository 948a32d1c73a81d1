"""First contact: open the engine if needed and pay the welcome bonus once (docs/rules.md §10);
and the joins the bot witnesses, per chat, for the newcomer rule (core.eligibility).

A join is seen in the "X joined" service message (privacy mode lets it through)
or in a ``chat_member`` update (only when the bot is an admin and asks for them
in ``allowed_updates``). Members whose join the bot never saw count as established.
"""

from __future__ import annotations

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.constants import ChatType
from telegram.ext import Application, ContextTypes, TypeHandler

from core.errors import StoreUnavailable

from bot.app import BotContext, bot_context
from bot.handlers.common import guarded, member_of

GREET_GROUP = -1  # runs before every other handler of the update

_OUTSIDE = frozenset({ChatMember.LEFT, ChatMember.BANNED})


@guarded
async def greet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    await _record_joins(ctx, update)
    user = update.effective_user
    if user is None or user.is_bot:
        return
    try:
        fresh = await ctx.packets.greet(member_of(user))
    except StoreUnavailable:
        return  # greeted on a later update; this one's own handler still answers
    if fresh:
        ctx.fresh_members.add(user.id)


def joined_ids(update: Update) -> tuple[int, list[int]] | None:
    """The chat and the (non-bot) members this update says just joined it."""
    message = update.message
    if message is not None and message.new_chat_members:
        if message.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            return None
        return message.chat.id, [u.id for u in message.new_chat_members if not u.is_bot]
    change = update.chat_member
    if change is not None and _is_join(change) and not change.new_chat_member.user.is_bot:
        return change.chat.id, [change.new_chat_member.user.id]
    return None


def _is_member(member: ChatMember) -> bool:
    if member.status == ChatMember.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return member.status not in _OUTSIDE


def _is_join(change: ChatMemberUpdated) -> bool:
    return not _is_member(change.old_chat_member) and _is_member(change.new_chat_member)


async def _record_joins(ctx: BotContext, update: Update) -> None:
    joined = joined_ids(update)
    engine = ctx.engine
    if joined is None or engine is None or engine.eligibility is None:
        return
    chat_id, member_ids = joined
    for member_id in member_ids:
        await engine.eligibility.record_join(chat_id, member_id)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(TypeHandler(Update, greet), group=min(GREET_GROUP, ctx.group - 1))

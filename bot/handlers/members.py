"""First contact: open the engine if needed and pay the welcome bonus once (docs/rules.md §10);
and the joins the bot witnesses, per chat, for the newcomer rule (core.eligibility).

A join is seen in the "X joined" service message (privacy mode lets it through)
or in a ``chat_member`` update (only when the bot is an admin and asks for them
in ``allowed_updates``). Members whose join the bot never saw count as established.

A press (Open, Shake) is answered before its presser's first-contact write
lands: the welcome write runs beside the press instead of in front of it, in
one write with the crowd's other newcomers (``bot.greeter``). A press only pays
the presser, so nothing it does needs the bonus first; every other update (a
command that spends, a draft button) still waits for it.
"""

from __future__ import annotations

import asyncio

from telegram import ChatMember, ChatMemberUpdated, Update, User
from telegram.constants import ChatType
from telegram.ext import Application, ContextTypes, TypeHandler

from core.errors import StoreUnavailable

from bot import callbacks
from bot.callbacks import Action
from bot.context import BotContext, bot_context
from bot.handlers.common import guarded, member_of

GREET_GROUP = -1  # runs before every other handler of the update
_PRESSES = frozenset({Action.OPEN, Action.SHAKE})

_OUTSIDE = frozenset({ChatMember.LEFT, ChatMember.BANNED})


@guarded
async def greet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    await _record_joins(ctx, update)
    user = update.effective_user
    if user is None or user.is_bot or ctx.packets.greeted(user.id):
        return
    greeter = ctx.greeter
    if _is_press(update) and greeter.beside(ctx.packets, member_of(user), ctx.spawn):
        return  # written with the crowd's others (bot.greeter)
    landed = greeter.landed(user.id)
    if landed is not None:
        await asyncio.shield(landed)  # this update may spend: the bonus lands first
        return
    await _greet(ctx, user)


def _is_press(update: Update) -> bool:
    query = update.callback_query
    parsed = callbacks.parse(query.data) if query is not None else None
    return parsed is not None and parsed.action in _PRESSES


async def _greet(ctx: BotContext, user: User) -> None:
    try:
        fresh = await ctx.packets.greet(member_of(user))
    except StoreUnavailable:
        return  # greeted on a later update; this one's own handler still answers
    if fresh:
        ctx.greeter.note_fresh({user.id})


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

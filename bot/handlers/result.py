"""The private result view (docs/rules.md §5 rules 1–8) and its buttons.

Reached by the Details deep link ``/start p_<packet>``. **Send again** re-posts
a live packet in its chat (sender only; the old message points to the new
one, its Open still works, and it shows the final state at the end);
**My red packets** lists what the member received.
"""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot import callbacks
from bot.app import BotContext, bot_context
from bot.callbacks import Action
from bot.handlers.common import answer, guarded, member_of
from bot.fairness_view import fairness_lines
from bot.keyboards import (
    DEEP_LINK_PREFIX,
    FULL_DEEP_LINK_PREFIX,
    packet_keyboard,
    result_keyboard,
)
from bot.render import packet_text
from bot.retry import post
from core.views import packet_view



def packet_id_of(payload: str) -> str | None:
    """``p_<packet id>`` or ``f_<packet id>`` -> the id, else ``None``."""
    if not payload.startswith((DEEP_LINK_PREFIX, FULL_DEEP_LINK_PREFIX)):
        return None
    candidate = payload.split("_", 1)[1]
    parsed = callbacks.parse(f"o:{candidate}")
    return parsed.arg if parsed else None


def wants_full_commitment(payload: str) -> bool:
    return payload.startswith(FULL_DEEP_LINK_PREFIX)


async def show_result(
    ctx: BotContext, message: Message, user: User, packet_id: str, *, full_commitment: bool = False
) -> None:
    """Reply with ``user``'s view of the packet (or "does not exist")."""
    lang = await ctx.lang_of(message.chat.id, user.language_code)
    found = await ctx.packets.packet_and_shares(packet_id)
    if found is None:
        await message.reply_html(ctx.html(lang, "start.not_found"))
        return
    packet, shares = found
    now = ctx.clock.now_ms()
    view = packet_view(packet, shares, user.id, now)
    fairness = "\n\n" + "\n".join(fairness_lines(ctx, packet, lang, now, full=full_commitment))
    text = packet_text(ctx, view, lang, public=False, reserve=len(fairness)) + fairness
    await message.reply_html(text, reply_markup=result_keyboard(ctx, view, lang))


def _in_own_private_chat(query: CallbackQuery, user: User) -> bool:
    """The result view (the only message with these buttons) is in the member's
    private chat with the bot; data forged onto any other message is refused."""
    message = query.message
    return message is not None and message.chat.type == ChatType.PRIVATE and (
        message.chat.id == user.id
    )


@guarded
async def on_send_again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    lang = ctx.lang(user.language_code)
    parsed = callbacks.parse(query.data)
    found = (
        await ctx.packets.packet_and_shares(parsed.arg)
        if parsed and parsed.action is Action.SEND_AGAIN and _in_own_private_chat(query, user)
        else None
    )
    if found is None:
        await answer(ctx, query, ctx.text(lang, "press.invalid"))
        return
    packet, shares = found
    if packet.sender_id != user.id:
        await answer(ctx, query, ctx.text(lang, "again.not_sender"))
        return
    view = packet_view(packet, shares, None, ctx.clock.now_ms())
    if view.is_over:
        await answer(ctx, query, ctx.text(lang, "again.not_live"))
        return
    group_lang = await ctx.packet_lang(packet.id, packet.chat_id)
    posted = await post(
        lambda: context.bot.send_message(
            packet.chat_id, packet_text(ctx, view, group_lang, public=True),
            reply_markup=packet_keyboard(ctx, packet, group_lang, ctx.bot_username, live=True),
            parse_mode=ParseMode.HTML,
        ),
        f"sending packet {packet.id} again in {packet.chat_id}",
    )
    if posted is None:
        await answer(ctx, query, ctx.text(lang, "error.generic"), alert=True)
        return
    # The new message is the packet's (presses count from now); the old ones now
    # point to it, and still open it.
    await ctx.editor.posted(
        packet, packet.chat_id, posted.message_id, posted_at_ms=ctx.clock.now_ms()
    )
    await answer(ctx, query, ctx.text(lang, "again.done"))


@guarded
async def on_my_packets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.message is None:
        return
    lang = await ctx.lang_of(query.message.chat.id, user.language_code)
    if not _in_own_private_chat(query, user):  # forged onto a group message: post nothing
        await answer(ctx, query, ctx.text(lang, "press.invalid"))
        return
    # One records view everywhere: /records' paged list, with dates, sent privately.
    from bot.handlers.records import send_records

    if await send_records(ctx, member_of(user), lang):
        await answer(ctx, query)
    else:
        await answer(ctx, query, ctx.text(lang, "ux.records.start_first"), alert=True)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(
        CallbackQueryHandler(on_send_again, pattern=callbacks.PATTERNS[Action.SEND_AGAIN]),
        group=ctx.group,
    )
    application.add_handler(
        CallbackQueryHandler(on_my_packets, pattern=callbacks.PATTERNS[Action.MY_PACKETS]),
        group=ctx.group,
    )

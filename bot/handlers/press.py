"""The Open button (docs/rules.md §3): grab then open, answer once with the result, edit later.

The press is answered before any edit is awaited; the group message is edited
by the coalescing ``PacketEditor``. Callback data is untrusted: the packet must
be one this very message shows, else "This button is no longer valid".
"""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from core.amount import Amount
from core.packets import Status
from core.services import PressAnswer, PressResult

from bot import callbacks
from bot.arrivals import past_answer_window
from bot.context import BotContext, bot_context
from bot.callbacks import Action
from bot.handlers.common import answer, guarded, member_of, traits_of
from bot.handlers.expiry import sweep_soon

_ALERT = frozenset({PressAnswer.GOT, PressAnswer.ALREADY, PressAnswer.REFUSED})


def answer_text(ctx: BotContext, result: PressResult, lang: str) -> str:
    """The docs/rules.md §3 answer for a press result, plain text."""
    if result.answer is PressAnswer.GOT and result.share is not None:
        personal = result.packet is not None and result.packet.is_personal
        key = "ux.press.got_personal" if personal else "press.got"
        return ctx.text(lang, key, amount=Amount(result.share.amount))
    if result.answer is PressAnswer.ALREADY and result.share is not None:
        return ctx.text(lang, "press.already", amount=Amount(result.share.amount))
    if result.answer is PressAnswer.TOO_SLOW:
        return ctx.text(lang, "press.too_slow")
    if result.answer is PressAnswer.EXPIRED:
        return ctx.text(lang, "press.expired")
    if result.answer is PressAnswer.NOT_FOR_YOU and result.packet is not None:
        return ctx.text(lang, "press.not_for_you", name=result.packet.recipient_name or "")
    if result.answer is PressAnswer.NOT_FOUND:
        return ctx.text(lang, "press.invalid")
    if result.answer is PressAnswer.REFUSED and result.refusal is not None:  # a chat rule
        return ctx.text(lang, result.refusal.key, **result.refusal.params)
    return ctx.text(lang, "press.not_this_time")


async def _is_this_message(ctx: BotContext, query: CallbackQuery, packet_id: str) -> bool:
    """Open counts on any message of the packet (Send again leaves older ones behind)."""
    message = query.message
    if not isinstance(message, Message):
        return False
    return await ctx.editor.belongs(packet_id, message)


@guarded
async def on_open(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    pressed_at_ms = ctx.clock.now_ms()  # a callback query carries no time of its own
    await ctx.ready()
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    chat_id = query.message.chat.id if query.message is not None else None
    parsed = callbacks.parse(query.data)
    if parsed is None or parsed.action is not Action.OPEN or not await _is_this_message(
        ctx, query, parsed.arg
    ):
        lang = await ctx.lang_of(chat_id, user.language_code)
        await answer(ctx, query, ctx.text(lang, "press.invalid"))
        return
    result = await ctx.packets.press(
        parsed.arg, member_of(user), traits_of(user), pressed_at_ms=pressed_at_ms
    )
    if past_answer_window():  # Telegram would refuse the answer; the packet message shows a share
        await answer(ctx, query)
    else:
        lang = await ctx.lang_of(chat_id, user.language_code)
        await answer(ctx, query, answer_text(ctx, result, lang), alert=result.answer in _ALERT)
    packet = result.packet
    if result.answer is PressAnswer.GOT and packet is not None:
        ctx.editor.touch(packet.id, final=result.finished)
        if result.finished:
            ctx.spawn(ctx.notifier.finished(packet))
        return
    if result.answer is PressAnswer.EXPIRED and packet is not None and packet.status is Status.LIVE:
        sweep_soon(ctx)  # expired before the sweep came round: refund and show it now
    elif packet is not None:
        ctx.editor.check(packet.id)  # a message left behind (a crash, another process)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(
        CallbackQueryHandler(on_open, pattern=callbacks.PATTERNS[Action.OPEN]), group=ctx.group
    )

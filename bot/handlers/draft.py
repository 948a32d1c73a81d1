"""The draft's buttons: switch kind, Send, Cancel (docs/rules.md §2). Only the sender's presses count.

Send debits through ``RedPackets.send`` with the key ``send:<chat>:<draft message>``,
so a replayed update or a double tap finds the packet already made. Send and
Cancel each first claim the open draft in one conditional UPDATE: exactly one of
two presses made together wins, and the other is told what won.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from telegram import CallbackQuery, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from core.errors import DomainError, InsufficientFunds
from core.amount import Amount
from core.drafts import Draft, DraftStatus
from core.packets import switch_kind

from bot import callbacks
from bot.app import BotContext, bot_context
from bot.callbacks import Action, DraftButton
from bot.handlers.common import answer, guarded
from bot.handlers.draft_lookup import draft_of_press, draft_send_key
from bot.handlers.send import error_text, insufficient_note
from bot.keyboards import draft_keyboard
from bot.render import draft_text

# How long a press that lost to a Send still on its way waits for its outcome.
SEND_WAIT_TURNS = 40
SEND_WAIT_S = 0.05


@guarded
async def on_draft_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    await ctx.ready()
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    message = query.message
    lang = ctx.lang(user.language_code)
    parsed = callbacks.parse(query.data)
    if parsed is None or parsed.action is not Action.DRAFT or message is None:
        await answer(ctx, query, ctx.text(lang, "press.invalid"))
        return
    lang = await ctx.lang_of(message.chat.id, user.language_code)
    button, command_id = callbacks.draft_parts(parsed.arg)
    draft = await draft_of_press(ctx, query, command_id)
    if draft is None:
        await answer(ctx, query, ctx.text(lang, "draft.expired"), alert=True)
        return
    if user.id != draft.sender.id:
        await answer(ctx, query, ctx.text(lang, "draft.only_sender", name=draft.sender.name))
        return
    if draft.sending and button is DraftButton.SEND:
        await _send(ctx, query, draft, lang, claimed=True)  # finish what a Send began
        return
    if draft.status is not DraftStatus.OPEN:
        text, alert = _closed_answer(ctx, draft, lang)
        await answer(ctx, query, text, alert=alert)
        return
    if button is DraftButton.SWITCH:
        await _switch(ctx, query, draft, lang)
    elif button is DraftButton.CANCEL:
        await _cancel(ctx, query, draft, lang)
    elif button in (DraftButton.BONUS, DraftButton.REFRESH):
        await money_button(ctx, query, draft, lang, button)
    else:
        await _send(ctx, query, draft, lang)


def _closed_answer(ctx: BotContext, draft: Draft, lang: str) -> tuple[str, bool]:
    """What a press on a draft that Send or Cancel already decided is told (text, alert)."""
    if draft.sending:
        return ctx.text(lang, "draft.sending"), False
    if draft.status is DraftStatus.SENT:
        return ctx.text(lang, "draft.already_sent"), False
    return ctx.text(lang, "draft.expired"), True  # cancelled: nothing was sent


async def _lost_the_race(
    ctx: BotContext, query: CallbackQuery, draft: Draft, lang: str, button: DraftButton
) -> None:
    """Another press decided the draft first: tell what it decided. A Send still on
    its way is waited for a moment, so the answer is its outcome, not "being sent"."""
    assert draft.message_id is not None
    now = await _again(ctx, draft)
    for _ in range(SEND_WAIT_TURNS):
        if now is None or not now.sending:
            break
        await asyncio.sleep(SEND_WAIT_S)
        now = await _again(ctx, draft)
    if now is None:
        await answer(ctx, query, ctx.text(lang, "draft.expired"), alert=True)
        return
    if now.status is DraftStatus.OPEN:  # the Send was refused (balance): this press acts
        await (_cancel if button is DraftButton.CANCEL else _send)(ctx, query, now, lang)
        return
    text, alert = _closed_answer(ctx, now, lang)
    await answer(ctx, query, text, alert=alert)


async def _again(ctx: BotContext, draft: Draft) -> Draft | None:
    """The draft as stored now, shown on the message that was pressed."""
    now = await ctx.drafts.by_command(draft.chat_id, draft.command_message_id)
    return None if now is None else replace(now, message_id=draft.message_id)


async def _switch(ctx: BotContext, query: CallbackQuery, draft: Draft, lang: str) -> None:
    if draft.recipient is not None:  # a personal packet has one kind
        await answer(ctx, query, ctx.text(lang, "press.invalid"))
        return
    switched = switch_kind(draft.request)
    updated = draft.with_request(switched.request, switched.total_changed)
    if not await ctx.drafts.update_open(updated):
        await answer(ctx, query, ctx.text(lang, "draft.expired"), alert=True)
        return
    await answer(ctx, query, ctx.text(lang, "draft.kind_switched", total=Amount(updated.total)))
    await _show(ctx, updated, draft.lang, was_total=draft.total if switched.total_changed else None)


async def _cancel(ctx: BotContext, query: CallbackQuery, draft: Draft, lang: str) -> None:
    if not await ctx.drafts.claim(draft, DraftStatus.CANCELLED):
        await _lost_the_race(ctx, query, draft, lang, DraftButton.CANCEL)  # Send won
        return
    await answer(ctx, query, ctx.text(lang, "draft.cancelled_answer"))
    assert draft.message_id is not None
    await ctx.editor.edit(draft.chat_id, draft.message_id,
                          ctx.html(draft.lang, "draft.cancelled"), None)


async def _send(
    ctx: BotContext, query: CallbackQuery, draft: Draft, lang: str, *, claimed: bool = False
) -> None:
    """Send wins only by claiming the open draft; Cancel then cannot, and nothing is
    debited unless the claim was ours. The same key makes a resumed send idempotent."""
    assert draft.message_id is not None
    if not claimed and not await ctx.drafts.claim(draft, DraftStatus.SENT):
        await _lost_the_race(ctx, query, draft, lang, DraftButton.SEND)
        return
    try:
        rules = await ctx.chats.rules(draft.chat_id)
        packet = await ctx.packets.send(
            draft.request, draft_send_key(draft, query), lucky_rule=rules.lucky_rule
        )
    except InsufficientFunds as error:
        # Shown before the draft reopens: a Cancel waiting on this Send edits after us.
        note = await insufficient_note(ctx, draft.lang, error)
        await _show(ctx, draft, draft.lang, balance=error.balance, note=note)
        await ctx.drafts.reopen(draft)
        await answer(ctx, query, error_text(ctx, lang, error), alert=True)
        return
    except DomainError as error:
        await ctx.drafts.reopen(draft)
        await answer(ctx, query, error_text(ctx, lang, error), alert=True)
        return
    first = packet.message_id is None  # not a replay or a double tap
    await ctx.drafts.sent_as(draft, packet.id)
    ctx.remember_packet_lang(packet.id, draft.lang)
    # The draft becomes the packet message: presses count from now.
    await ctx.editor.posted(
        packet, draft.chat_id, draft.message_id, up_to_date=False,
        posted_at_ms=ctx.clock.now_ms() if first else None,
    )
    await answer(ctx, query, ctx.text(lang, "draft.sent"))
    if first and packet.is_personal:  # an edit notifies nobody: tell the addressee
        ctx.spawn(ctx.notifier.personal(packet, draft.message_id, ping=True))


async def money_button(
    ctx: BotContext, query: CallbackQuery, draft: Draft, lang: str, button: DraftButton
) -> None:
    """Daily bonus / look again, on a draft over the balance: answer, then show it anew."""
    from bot.handlers.wallet import draft_bonus_answer

    if button is DraftButton.BONUS:
        text = await draft_bonus_answer(ctx, draft.sender, lang)
    else:
        balance = await ctx.store.balance(draft.sender.id)
        text = ctx.text(lang, "ux.draft.balance_now", balance=Amount(balance))
    await answer(ctx, query, text)
    await _show(ctx, draft, draft.lang)


async def _show(
    ctx: BotContext, draft: Draft, lang: str, *, balance: int | None = None,
    was_total: int | None = None, note: str | None = None,
) -> None:
    assert draft.message_id is not None
    if balance is None:
        balance = await ctx.store.balance(draft.sender.id)
    text = draft_text(ctx, draft, lang, balance=balance, was_total=was_total, note=note)
    await ctx.editor.edit(draft.chat_id, draft.message_id, text,
                          draft_keyboard(ctx, draft, lang, balance=balance))


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    application.add_handler(
        CallbackQueryHandler(on_draft_button, pattern=callbacks.PATTERNS[Action.DRAFT]),
        group=ctx.group,
    )

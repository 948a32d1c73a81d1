"""Inline keyboards: packet message, draft, result view, language choice."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.amount import Amount
from core.drafts import Draft
from core.packets import Kind, Packet
from core.views import PacketView

from bot import callbacks
from bot.app import BotContext
from bot.callbacks import DraftButton

DEEP_LINK_PREFIX = "p_"
# ``/start topup``: the deep link a draft over the balance offers when top-ups are on.
TOPUP_START = "topup"
# The same view opened from /records: it shows the whole commitment (SHA-256).
FULL_DEEP_LINK_PREFIX = "f_"


def details_url(bot_username: str, packet_id: str, *, full: bool = False) -> str:
    """The deep link that opens a packet's private result view."""
    prefix = FULL_DEEP_LINK_PREFIX if full else DEEP_LINK_PREFIX
    return f"https://t.me/{bot_username}?start={prefix}{packet_id}"


def packet_keyboard(
    ctx: BotContext, packet: Packet, lang: str, bot_username: str, *, live: bool
) -> InlineKeyboardMarkup:
    details = InlineKeyboardButton(
        ctx.text(lang, "button.details"), url=details_url(bot_username, packet.id)
    )
    if not live:
        return InlineKeyboardMarkup([[details]])
    open_button = InlineKeyboardButton(
        ctx.text(lang, "button.open"), callback_data=callbacks.open_packet(packet.id)
    )
    return InlineKeyboardMarkup([[open_button, details]])


def draft_keyboard(
    ctx: BotContext, draft: Draft, lang: str, *, balance: int | None = None
) -> InlineKeyboardMarkup:
    """Send and Cancel; a draft the sender cannot afford offers ways to get money instead."""
    cancel = InlineKeyboardButton(
        ctx.text(lang, "button.cancel"),
        callback_data=callbacks.draft(DraftButton.CANCEL, draft.command_message_id),
    )
    rows: list[list[InlineKeyboardButton]] = []
    if draft.recipient is None:
        key = "button.to_fixed" if draft.kind is Kind.LUCKY else "button.to_lucky"
        rows.append([InlineKeyboardButton(
            ctx.text(lang, key),
            callback_data=callbacks.draft(DraftButton.SWITCH, draft.command_message_id),
        )])
    if balance is not None and balance < draft.total:
        ways: list[InlineKeyboardButton] = []
        if ctx.settings.daily_bonus > 0:
            ways.append(InlineKeyboardButton(
                ctx.text(lang, "ux.draft.button_daily", amount=Amount(ctx.settings.daily_bonus)),
                callback_data=callbacks.draft(DraftButton.BONUS, draft.command_message_id),
            ))
        if ctx.settings.topup_enabled:
            ways.append(InlineKeyboardButton(
                ctx.text(lang, "ux.draft.button_topup"),
                url=f"https://t.me/{ctx.bot_username}?start={TOPUP_START}",
            ))
        if ways:
            rows.append(ways)
        rows.append([InlineKeyboardButton(
            ctx.text(lang, "ux.draft.button_refresh"),
            callback_data=callbacks.draft(DraftButton.REFRESH, draft.command_message_id),
        ), cancel])
        return InlineKeyboardMarkup(rows)
    send = InlineKeyboardButton(
        ctx.text(lang, "button.send", total=Amount(draft.total)),
        callback_data=callbacks.draft(DraftButton.SEND, draft.command_message_id),
    )
    rows.append([send, cancel])
    return InlineKeyboardMarkup(rows)


def result_keyboard(ctx: BotContext, view: PacketView, lang: str) -> InlineKeyboardMarkup | None:
    row: list[InlineKeyboardButton] = []
    if view.send_again:
        row.append(InlineKeyboardButton(
            ctx.text(lang, "button.send_again"), callback_data=callbacks.send_again(view.packet.id)
        ))
    if view.my_packets:
        row.append(InlineKeyboardButton(
            ctx.text(lang, "button.my_packets"), callback_data=callbacks.my_packets()
        ))
    return InlineKeyboardMarkup([row]) if row else None


def lang_keyboard(ctx: BotContext, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton("English", callback_data=callbacks.lang("en")),
         InlineKeyboardButton("中文", callback_data=callbacks.lang("zh"))],
        [InlineKeyboardButton(ctx.text(lang, "lang.auto"), callback_data=callbacks.lang("auto"))],
    ])

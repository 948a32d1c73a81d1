"""Direct messages to a packet's sender: finished, expired and refunded (docs/rules.md §6).

A bot cannot message someone who never started it (403): the notice is then
skipped quietly. Money never depends on a notice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.edits import retry_seconds
from bot.keyboards import details_url
from bot.app import Markup
from bot.render import duration, mention
from core.amount import Amount
from core.packets import Packet
from core.ports import Refund

if TYPE_CHECKING:
    from bot.app import BotContext

_log = logging.getLogger(__name__)


def message_link(chat_id: int, message_id: int | None) -> str | None:
    """``t.me/c/…`` link to a supergroup message (members can open it); None otherwise."""
    digits = str(chat_id)
    if message_id is None or not digits.startswith("-100"):
        return None
    return f"https://t.me/c/{digits[4:]}/{message_id}"


class Notifier:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.sent = 0
        self.skipped = 0

    async def finished(self, packet: Packet) -> None:
        """Tell the sender their packet was taken ("taken in 12 s")."""
        ctx = self.ctx
        lang = await ctx.packet_lang(packet.id, packet.chat_id)
        greeting = packet.greeting or ctx.text(lang, "packet.default_greeting")
        if packet.is_personal:
            text = ctx.html(lang, "notify.taken_personal", name=packet.recipient_name or "",
                            greeting=greeting, total=Amount(packet.total))
        else:
            taken = duration(ctx, lang, packet.duration_ms() or 0)
            text = ctx.html(lang, "notify.finished", greeting=greeting, duration=taken,
                            n=packet.count, total=Amount(packet.total))
        await self.send(packet.sender_id, text, self._details(packet, lang))

    async def personal(self, packet: Packet, message_id: int | None, *, ping: bool) -> None:
        """Tell a personal packet's addressee by direct message; if they never started
        the bot and ``ping`` (the group message was edited in, which notifies nobody),
        one reply in the group mentions them instead."""
        ctx = self.ctx
        if packet.recipient_id is None:
            return
        lang = await ctx.packet_lang(packet.id, packet.chat_id)
        greeting = packet.greeting or ctx.text(lang, "packet.default_greeting")
        text = ctx.html(lang, "ux.notify.personal", sender=packet.sender_name,
                        total=Amount(packet.total), greeting=greeting)
        link = message_link(packet.chat_id, message_id)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(
            ctx.text(lang, "ux.notify.personal_open"), url=link)]]) if link else None
        if await self.send(packet.recipient_id, text, markup) or not ping or message_id is None:
            return
        assert ctx.application is not None
        try:
            await ctx.application.bot.send_message(
                packet.chat_id,
                ctx.html(lang, "ux.notify.personal_ping",
                         name=Markup(mention(packet.recipient_id, packet.recipient_name))),
                parse_mode=ParseMode.HTML,
                reply_parameters=ReplyParameters(message_id, allow_sending_without_reply=True),
            )
        except TelegramError as error:
            _log.info("personal packet %s: addressee not pinged: %s", packet.id, error)

    async def expired(self, refund: Refund) -> None:
        """Tell the sender their packet expired and what came back."""
        ctx, packet = self.ctx, refund.packet
        lang = await ctx.packet_lang(packet.id, packet.chat_id)
        greeting = packet.greeting or ctx.text(lang, "packet.default_greeting")
        text = ctx.html(lang, "notify.expired", greeting=greeting, x=packet.claimed_count,
                        y=packet.count, refund=Amount(refund.amount))
        await self.send(packet.sender_id, text, self._details(packet, lang))

    def _details(self, packet: Packet, lang: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton(
            self.ctx.text(lang, "button.details"),
            url=details_url(self.ctx.bot_username, packet.id),
        )]])

    async def send(self, user_id: int, text: str, markup: InlineKeyboardMarkup | None) -> bool:
        assert self.ctx.application is not None
        bot = self.ctx.application.bot
        for _ in range(3):
            try:
                await bot.send_message(
                    user_id, text, reply_markup=markup, parse_mode=ParseMode.HTML
                )
                self.sent += 1
                return True
            except Forbidden:
                self.skipped += 1  # never started the bot, or blocked it
                return False
            except RetryAfter as error:
                await asyncio.sleep(retry_seconds(error))
            except TelegramError as error:
                _log.info("notice to %s not delivered: %s", user_id, error)
                self.skipped += 1
                return False
        return False

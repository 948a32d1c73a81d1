"""Direct messages to a packet's sender: finished, expired and refunded (docs/rules.md §6).

A bot cannot message someone who never started it (403): the notice is then
skipped quietly. Money never depends on a notice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.edits import retry_seconds
from bot.keyboards import details_url
from bot.render import duration
from core.amount import Amount
from core.packets import Packet
from core.ports import Refund

if TYPE_CHECKING:
    from bot.app import BotContext

_log = logging.getLogger(__name__)


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

"""Direct messages to a packet's sender: finished, expired and refunded (docs/rules.md §6).

A bot cannot message someone who never started it (403): the notice is then
skipped quietly. Money never depends on a notice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.edits import retry_seconds
from bot.keyboards import details_url
from bot.render import duration, mention
from bot.words import Markup, Words
from core.amount import Amount
from core.packets import Packet
from core.ports import Refund

_log = logging.getLogger(__name__)


def message_link(chat_id: int, message_id: int | None) -> str | None:
    """``t.me/c/…`` link to a supergroup message (members can open it); None otherwise."""
    digits = str(chat_id)
    if message_id is None or not digits.startswith("-100"):
        return None
    return f"https://t.me/c/{digits[4:]}/{message_id}"


PacketLang = Callable[[str, int], Awaitable[str]]


class Notifier:
    """Writes notices from ``words`` in the language of the packet's message
    (``packet_lang(packet_id, chat_id)``) and sends them through ``bot()``."""

    def __init__(self, words: Words, packet_lang: PacketLang, bot: Callable[[], Bot]) -> None:
        self.words = words
        self.packet_lang = packet_lang
        self.bot = bot
        self.sent = 0
        self.skipped = 0

    async def finished(self, packet: Packet) -> None:
        """Tell the sender their packet was taken ("taken in 12 s")."""
        words = self.words
        lang = await self.packet_lang(packet.id, packet.chat_id)
        greeting = packet.greeting or words.text(lang, "packet.default_greeting")
        if packet.is_personal:
            text = words.html(lang, "notify.taken_personal", name=packet.recipient_name or "",
                              greeting=greeting, total=Amount(packet.total))
        else:
            taken = duration(words, lang, packet.duration_ms() or 0)
            text = words.html(lang, "notify.finished", greeting=greeting, duration=taken,
                              n=packet.count, total=Amount(packet.total))
        await self.send(packet.sender_id, text, self._details(packet, lang))

    async def personal(self, packet: Packet, message_id: int | None, *, ping: bool) -> None:
        """Tell a personal packet's addressee by direct message; if they never started
        the bot and ``ping`` (the group message was edited in, which notifies nobody),
        one reply in the group mentions them instead."""
        words = self.words
        if packet.recipient_id is None:
            return
        lang = await self.packet_lang(packet.id, packet.chat_id)
        greeting = packet.greeting or words.text(lang, "packet.default_greeting")
        text = words.html(lang, "ux.notify.personal", sender=packet.sender_name,
                          total=Amount(packet.total), greeting=greeting)
        link = message_link(packet.chat_id, message_id)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(
            words.text(lang, "ux.notify.personal_open"), url=link)]]) if link else None
        if await self.send(packet.recipient_id, text, markup) or not ping or message_id is None:
            return
        try:
            await self.bot().send_message(
                packet.chat_id,
                words.html(lang, "ux.notify.personal_ping",
                           name=Markup(mention(packet.recipient_id, packet.recipient_name))),
                parse_mode=ParseMode.HTML,
                reply_parameters=ReplyParameters(message_id, allow_sending_without_reply=True),
            )
        except TelegramError as error:
            _log.info("personal packet %s: addressee not pinged: %s", packet.id, error)

    async def expired(self, refund: Refund) -> None:
        """Tell the sender their packet expired and what came back."""
        words, packet = self.words, refund.packet
        lang = await self.packet_lang(packet.id, packet.chat_id)
        greeting = packet.greeting or words.text(lang, "packet.default_greeting")
        text = words.html(lang, "notify.expired", greeting=greeting, x=packet.claimed_count,
                          y=packet.count, refund=Amount(refund.amount))
        await self.send(packet.sender_id, text, self._details(packet, lang))

    def _details(self, packet: Packet, lang: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton(
            self.words.text(lang, "button.details"),
            url=details_url(self.bot().username, packet.id),
        )]])

    async def send(self, user_id: int, text: str, markup: InlineKeyboardMarkup | None) -> bool:
        bot = self.bot()
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

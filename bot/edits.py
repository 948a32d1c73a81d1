"""Coalesced edits of packet messages (docs/rules.md §5, §11).

Telegram allows about 20 edits a minute per group, so a busy packet must not
edit its message on every share. Each packet gets at most one edit in flight;
``touch`` marks the message stale, and the packet's edit task re-reads the
packet from the database and edits at most once every ``EDIT_INTERVAL_SECONDS``.
A final touch (finished, expired) skips the wait, so the last state is always
shown; a 429 waits ``retry_after`` and tries again; "message is not modified"
is success.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.keyboards import packet_keyboard
from bot.render import packet_text
from core.views import packet_view

if TYPE_CHECKING:
    from bot.app import BotContext

_log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore")
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def is_not_modified(error: BadRequest) -> bool:
    return "not modified" in error.message.lower()


@dataclass
class _PacketEdits:
    dirty: bool = False
    final: bool = False
    last_edit: float = float("-inf")
    urgent: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class Location:
    chat_id: int
    message_id: int


class PacketEditor:
    """One coalescing edit loop per packet message; also remembers where packets are."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self._states: dict[str, _PacketEdits] = {}
        self._locations: dict[str, Location] = {}

    @property
    def interval(self) -> float:
        return self.ctx.settings.edit_interval_seconds

    # -- where packet messages are -------------------------------------------

    async def locate(self, packet_id: str) -> Location | None:
        """The packet's current group message (cached; a re-post moves it)."""
        found = self._locations.get(packet_id)
        if found is not None:
            return found
        row = await self.ctx.store.fetchone(
            "SELECT chat_id, message_id FROM packets WHERE id = ?", (packet_id,)
        )
        if row is None or row[1] is None:
            return None
        if len(self._locations) > 50_000:
            self._locations.clear()
        self._locations[packet_id] = Location(row[0], row[1])
        return self._locations[packet_id]

    def moved(self, packet_id: str, chat_id: int, message_id: int) -> None:
        self._locations[packet_id] = Location(chat_id, message_id)

    # -- scheduling ----------------------------------------------------------

    def touch(self, packet_id: str, *, final: bool = False) -> None:
        """The packet changed: its message will be edited soon (now, if ``final``)."""
        state = self._states.setdefault(packet_id, _PacketEdits())
        state.dirty = True
        if final:
            state.final = True
            state.urgent.set()
        if state.task is None or state.task.done():
            state.task = asyncio.ensure_future(self._run(packet_id, state))

    def pending(self) -> set[asyncio.Task[Any]]:
        return {s.task for s in self._states.values() if s.task is not None and not s.task.done()}

    async def flush(self) -> None:
        """Make every pending edit now (shut-down) and wait for them."""
        for state in self._states.values():
            state.urgent.set()
        tasks = self.pending()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, packet_id: str, state: _PacketEdits) -> None:
        try:
            while state.dirty:
                wait = state.last_edit + self.interval - time.monotonic()
                if wait > 0 and not state.final:
                    try:
                        await asyncio.wait_for(state.urgent.wait(), wait)
                    except TimeoutError:
                        pass
                state.dirty = False
                over = await self.edit_now(packet_id)
                state.last_edit = time.monotonic()
                if over:
                    state.final = True
        except Exception:
            _log.exception("editing the message of packet %s failed", packet_id)
        finally:
            if state.final and not state.dirty and self._states.get(packet_id) is state:
                del self._states[packet_id]

    # -- one edit ------------------------------------------------------------

    async def edit_now(self, packet_id: str) -> bool:
        """Edit the packet's group message to its current state; True once it is over."""
        found = await self.ctx.packets.packet_and_shares(packet_id)
        if found is None:
            return True
        packet, shares = found
        if packet.message_id is None:
            return False
        view = packet_view(packet, shares, None, self.ctx.clock.now_ms())
        lang = await self.ctx.packet_lang(packet.id, packet.chat_id)
        text = packet_text(self.ctx, view, lang, public=True)
        markup = packet_keyboard(
            self.ctx, packet, lang, self.ctx.bot_username, live=not view.is_over
        )
        await self.edit(packet.chat_id, packet.message_id, text, markup)
        return view.is_over

    async def edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Edit a message, waiting out 429s; False if Telegram refused it for good."""
        assert self.ctx.application is not None
        bot = self.ctx.application.bot
        for _ in range(MAX_ATTEMPTS):
            try:
                await bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=markup,
                    parse_mode=ParseMode.HTML,
                )
                return True
            except RetryAfter as error:
                await asyncio.sleep(retry_seconds(error))
            except BadRequest as error:
                if is_not_modified(error):
                    return True
                _log.warning("edit of message %s in %s refused: %s", message_id, chat_id, error)
                return False
            except TelegramError as error:
                _log.warning("edit of message %s in %s failed: %s", message_id, chat_id, error)
                return False
        return False

"""Edits of packet messages that survive restarts, Telegram errors and other processes
(docs/rules.md §5, §11).

What every packet message should show is kept in the database
(``storage.sqlite.packet_messages``): a version that grows with each share and
when the packet ends, beside the version Telegram last accepted. So:

* a restart (or a press on a packet whose message is stale) finds every message
  that is behind and edits it;
* an edit is made by one process at a time (a lease, renewed while the edit is
  in flight or waiting), rendered from the database *after* the lease is taken
  and again after every wait, so no process sends a render older than what
  another already sent;
* Telegram's limit of about 20 edits a minute per group is kept across
  processes: a message is edited at most once every ``EDIT_INTERVAL_SECONDS``
  except for its final state, which is sent at once;
* a 429 waits ``retry_after``, a 5xx or a lost connection backs off, as often as
  it takes while the process lives; a message Telegram says is gone is given up
  (logged once).

A message left behind by **Send again** points to the newest one while the
packet is live (its Open still works) and shows the final state at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import RetryAfter, TelegramError

from core.cache import BoundedCache
from bot.keyboards import packet_keyboard
from bot.render import greeting, packet_text, title
from bot.retry import backoff, is_gone, is_not_modified, is_transient, retry_seconds
from core.packets import Packet
from core.views import packet_view
from storage.sqlite.packet_messages import ClaimOutcome, PacketMessages, StaleMessage

if TYPE_CHECKING:
    from bot.app import BotContext

__all__ = ["PacketEditor", "is_not_modified", "retry_seconds"]

_log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # ``edit`` of other messages (drafts, /lang, shake): bounded
FLUSH_SECONDS = 10.0  # at shut-down; what is left is made by the next start
RESYNC_BATCH = 500
HELD_POLL_MS = 1000


def wall_ms() -> int:
    """Leases and edit times are compared across processes: wall-clock milliseconds."""
    return int(time.time() * 1000)


@dataclass
class _PacketEdits:
    dirty: bool = False
    urgent: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class PacketEditor:
    """Keeps every packet message showing its packet; also knows which message is whose."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._states: dict[str, _PacketEdits] = {}
        # (chat, message) -> packet never changes once known; bounded all the same.
        self._packet_of: BoundedCache[tuple[int, int], str] = BoundedCache(50_000, 3600)
        # Packets a press found up to date: looked at again after a second.
        self._checked: BoundedCache[str, bool] = BoundedCache(10_000, 1.0)
        self._flushing = False
        self._stopping = False

    @property
    def interval(self) -> float:
        return self.ctx.settings.edit_interval_seconds

    @property
    def lease_ms(self) -> int:
        return int(self.ctx.settings.edit_lease_seconds * 1000)

    @property
    def messages(self) -> PacketMessages:
        return PacketMessages(self.ctx.store)

    # -- which message is whose ----------------------------------------------

    async def belongs(self, packet_id: str, message: Message) -> bool:
        """Whether ``message`` is one of the packet's messages.

        The database knows the messages we learnt of. A message whose posting
        response was lost is still the packet's if its own keyboard, as
        Telegram delivered it with the press, carries this packet's Open: only
        the bot puts that button there, and only on this packet's messages.
        """
        key = (message.chat.id, message.message_id)
        known = self._packet_of.get(key)
        if known is None:
            known = await self.messages.packet_of(*key)
        if known is None and self._from_us(message) and _carries_open(message, packet_id):
            await self.adopt(packet_id, *key)
            known = packet_id
        if known is not None:
            self._packet_of.put(key, known)
        return known == packet_id

    def _from_us(self, message: Message) -> bool:
        assert self.ctx.application is not None
        author = getattr(message, "from_user", None)
        return author is not None and author.id == self.ctx.application.bot.id

    async def posted(
        self, packet: Packet, chat_id: int, message_id: int, *, up_to_date: bool = True,
        posted_at_ms: int | None = None,
    ) -> None:
        """``message_id`` is now the packet's newest message (older ones point to it).

        ``up_to_date``: it was posted showing ``packet`` as given; otherwise (a
        draft turned into the packet) it is edited to the packet soon.
        ``posted_at_ms``: when presses start to count (the press delays /suspects reads).
        """
        shows = (packet.claimed_count, packet.status.value) if up_to_date else None
        await self.messages.add(chat_id, message_id, packet.id, current=True, shows=shows)
        await self.ctx.store.set_message(packet.id, message_id, posted_at_ms=posted_at_ms)
        self._packet_of.put((chat_id, message_id), packet.id)
        self.touch(packet.id)

    async def locate(self, packet_id: str) -> tuple[int, int] | None:
        """The packet's newest message as (chat, message), from the database."""
        packet = await self.ctx.store.get_packet(packet_id)
        if packet is None or packet.message_id is None:
            return None
        return packet.chat_id, packet.message_id

    def moved(self, packet_id: str, chat_id: int, message_id: int) -> None:
        """Older handlers' way to say ``posted`` (the packet is read from the database)."""
        async def record() -> None:
            packet = await self.ctx.store.get_packet(packet_id)
            if packet is not None:
                await self.posted(packet, chat_id, message_id)

        self.ctx.spawn(record())

    async def adopt(self, packet_id: str, chat_id: int, message_id: int) -> None:
        """A message of the packet we never heard back about: keep it up to date too."""
        packet = await self.ctx.store.get_packet(packet_id)
        if packet is None:
            return
        if packet.message_id is None:
            await self.posted(packet, chat_id, message_id, up_to_date=False)
            return
        await self.messages.add(chat_id, message_id, packet_id, current=False)
        self.touch(packet_id)

    # -- scheduling ----------------------------------------------------------

    def touch(self, packet_id: str, *, final: bool = False) -> None:
        """The packet changed: its stale messages will be edited soon (now, if ``final``)."""
        state = self._states.setdefault(packet_id, _PacketEdits())
        state.dirty = True
        if final:
            state.urgent.set()
        if state.task is None or state.task.done():
            state.task = asyncio.ensure_future(self._run(packet_id, state))

    def check(self, packet_id: str) -> None:
        """A press on the packet: if one of its messages is behind, edit it.

        Presses come by the thousand on a finished packet, so a packet found up
        to date is looked at again only after a second.
        """
        if packet_id in self._states or self._checked.get(packet_id):
            return
        self.touch(packet_id, final=True)
        self._checked.put(packet_id, True)

    async def resync(self) -> int:
        """Edit every message that is behind (start-up, and now and then for messages
        another process left behind when it stopped); returns how many packets."""
        found = await self.messages.stale_packets(RESYNC_BATCH)
        for packet_id in found:
            self.touch(packet_id, final=True)
        return len(found)

    def pending(self) -> set[asyncio.Task[Any]]:
        return {s.task for s in self._states.values() if s.task is not None and not s.task.done()}

    async def flush(self, timeout: float = FLUSH_SECONDS) -> None:
        """Shut-down: make every pending edit now, waiting at most ``timeout`` seconds."""
        self._flushing = True
        for state in self._states.values():
            state.urgent.set()
        tasks = self.pending()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            self._stopping = True
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            if late:
                _log.warning("%d packet messages left for the next start to edit", len(late))
        self._flushing = self._stopping = False

    async def _run(self, packet_id: str, state: _PacketEdits) -> None:
        try:
            while state.dirty and not self._stopping:
                state.dirty = False
                state.urgent.clear()
                retry_at = await self._sync_packet(packet_id)
                if retry_at is not None:
                    state.dirty = True
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            state.urgent.wait(), max(retry_at - time.monotonic(), 0.0)
                        )
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("editing the messages of packet %s failed", packet_id)
        finally:
            if not state.dirty and self._states.get(packet_id) is state:
                del self._states[packet_id]

    async def _sync_packet(self, packet_id: str) -> float | None:
        """Bring each stale message of the packet up to date; when to look again, if ever."""
        retry_at: float | None = None
        for stale in await self.messages.stale(packet_id, self.ctx.clock.now_ms()):
            again = await self._sync_message(stale)
            if again is not None:
                retry_at = again if retry_at is None else min(retry_at, again)
        return retry_at

    # -- one message ---------------------------------------------------------

    async def _sync_message(self, stale: StaleMessage) -> float | None:
        chat_id, message_id = stale.chat_id, stale.message_id
        heartbeat: asyncio.Task[None] | None = None
        failures = 0
        try:
            while not self._stopping:
                final = stale.over or self._flushing
                claim = await self.messages.claim(
                    chat_id, message_id, self.owner, now_ms=wall_ms(), lease_ms=self.lease_ms,
                    interval_ms=0 if final else int(self.interval * 1000),
                )
                if claim.outcome is ClaimOutcome.CLEAN:
                    return None
                if claim.outcome is ClaimOutcome.HELD:
                    if self._flushing:
                        return None  # its holder makes the edit, or the next start does
                    # Its holder edits it; look again soon in case the holder stopped.
                    wait = min(claim.until_ms - wall_ms(), HELD_POLL_MS)
                    return time.monotonic() + max(wait, 0) / 1000
                if claim.outcome is ClaimOutcome.TOO_SOON:
                    return time.monotonic() + max(claim.until_ms - wall_ms(), 0) / 1000
                if heartbeat is None:
                    heartbeat = asyncio.ensure_future(self._keep_lease(chat_id, message_id))
                rendered = await self._render(stale.packet_id, current=claim.current)
                if rendered is None:
                    return None
                text, markup, over = rendered
                stale = StaleMessage(chat_id, message_id, stale.packet_id, over)
                try:
                    await self._send_edit(chat_id, message_id, text, markup)
                except RetryAfter as error:
                    await asyncio.sleep(retry_seconds(error))
                    continue  # claim again: the render after the wait is the newest one
                except TelegramError as error:
                    if is_not_modified(error):
                        pass
                    elif is_gone(error):
                        _log.warning("packet %s: message %s in %s is gone (%s); not editing it"
                                     " any more", stale.packet_id, message_id, chat_id, error)
                        await self.messages.gone(chat_id, message_id)
                        return None
                    elif is_transient(error):
                        if failures == 0:
                            _log.warning("packet %s: edit of message %s in %s failed (%s);"
                                         " trying again until it is made", stale.packet_id,
                                         message_id, chat_id, error)
                        await asyncio.sleep(backoff(failures))
                        failures += 1
                        continue
                    else:  # our request is wrong: this render will never pass
                        _log.error("packet %s: edit of message %s in %s refused: %s",
                                   stale.packet_id, message_id, chat_id, error)
                if failures:
                    _log.info("packet %s: message %s in %s edited after %d failed tries",
                              stale.packet_id, message_id, chat_id, failures)
                    failures = 0
                await self.messages.shown(chat_id, message_id, self.owner, claim.version,
                                          wall_ms())
                # Still behind (a share came meanwhile): go round, the interval applies.
            return None
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
                await self.messages.release(chat_id, message_id, self.owner)

    async def _keep_lease(self, chat_id: int, message_id: int) -> None:
        """Renew the lease while this process works on the message (edits, waits)."""
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                await self.messages.renew(
                    chat_id, message_id, self.owner, wall_ms() + self.lease_ms
                )
            except sqlite3.Error as error:  # busy database: the next renewal tries again
                _log.warning("renewing the edit lease of message %s in %s failed: %s",
                             message_id, chat_id, error)

    async def _render(
        self, packet_id: str, *, current: bool
    ) -> tuple[str, InlineKeyboardMarkup, bool] | None:
        ctx = self.ctx
        found = await ctx.packets.packet_and_shares(packet_id)
        if found is None:
            return None
        packet, shares = found
        view = packet_view(packet, shares, None, ctx.clock.now_ms())
        lang = await ctx.packet_lang(packet.id, packet.chat_id)
        if current or view.is_over:
            text = packet_text(ctx, view, lang, public=True)
        else:
            text = pointer_text(ctx, packet, lang)
        markup = packet_keyboard(ctx, packet, lang, ctx.bot_username, live=not view.is_over)
        return text, markup, view.is_over

    async def _send_edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        assert self.ctx.application is not None
        await self.ctx.application.bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, reply_markup=markup,
            parse_mode=ParseMode.HTML,
        )

    # -- other messages (drafts, /lang, shake) --------------------------------

    async def edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Edit a message that is not a packet's, waiting out 429s and brief outages;
        False if Telegram refused it or stayed unreachable."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                await self._send_edit(chat_id, message_id, text, markup)
                return True
            except RetryAfter as error:
                await asyncio.sleep(retry_seconds(error))
            except TelegramError as error:
                if is_not_modified(error):
                    return True
                if not is_transient(error) or attempt + 1 == MAX_ATTEMPTS:
                    _log.warning("edit of message %s in %s failed: %s", message_id, chat_id,
                                 error)
                    return False
                await asyncio.sleep(backoff(attempt))
        return False


def pointer_text(ctx: BotContext, packet: Packet, lang: str) -> str:
    """A message left behind by Send again, while the packet is live."""
    return "\n".join([
        title(ctx, packet, lang), greeting(ctx, packet.greeting, lang), "",
        ctx.html(lang, "packet.sent_again_below"),
    ])


def _carries_open(message: Message, packet_id: str) -> bool:
    from bot import callbacks

    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return False
    wanted = callbacks.open_packet(packet_id)
    return any(b.callback_data == wanted for row in markup.inline_keyboard for b in row)

"""Telegram's flood limits, with the packet's own edits first.

A group takes about 20 bot messages a minute and a bot about 30 a second in
all. Every message to a group waits its turn here; within one chat, edits
(the packet and campaign messages moving to their final state) go before new
messages (replies, refusals, notices), so a burst of error replies never
delays a packet's final edit. A 429 pauses that chat for ``retry_after`` and
the call is tried again. Queues are bounded: past ``max_waiting`` calls in one
chat, a new low-priority call fails at once (``Overloaded``) instead of piling up.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter

from bot.edits import retry_seconds

_log = logging.getLogger(__name__)

# Methods that change a message already in the chat: they go first.
PRIORITY_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup", "editMessageCaption"})
# Methods that put something in a chat and count against its budget.
COUNTED_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendInvoice", "sendAnimation", "sendVideo",
    "sendSticker", "sendMediaGroup", "copyMessage", "forwardMessage", *PRIORITY_METHODS,
})
EDIT, OTHER = 0, 1
MAX_CHATS = 10_000


class Overloaded(TelegramError):
    """Too many calls already wait for this chat: this one is dropped."""


@dataclass
class _Chat:
    sent: deque[float]
    waiting: list[tuple[int, int]] = field(default_factory=list)  # heap of (priority, ticket)
    paused_until: float = 0.0
    wake: asyncio.Condition = field(default_factory=asyncio.Condition)


class _Window:
    """At most ``limit`` events in any ``seconds``: how long until the next may happen."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.times: deque[float] = deque(maxlen=limit)

    def delay(self, now: float) -> float:
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.seconds - now

    def record(self, now: float) -> None:
        self.times.append(now)


class PriorityRateLimiter(BaseRateLimiter[None]):
    """Per-group and overall limits; edits before other messages in the same chat."""

    def __init__(
        self, *, group_limit: int = 20, group_seconds: float = 60.0, private_limit: int = 1,
        private_seconds: float = 1.0, overall_limit: int = 30, overall_seconds: float = 1.0,
        max_retries: int = 3, max_waiting: int = 200,
    ) -> None:
        self.group = (group_limit, group_seconds)
        self.private = (private_limit, private_seconds)
        self.overall = _Window(overall_limit, overall_seconds)
        self.max_retries = max_retries
        self.max_waiting = max_waiting
        self._chats: dict[int | str, _Chat] = {}
        self._overall_lock = asyncio.Lock()
        self._tickets = itertools.count()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        counted = endpoint in COUNTED_METHODS and chat_id is not None
        priority = EDIT if endpoint in PRIORITY_METHODS else OTHER
        for attempt in range(self.max_retries + 1):
            if counted:
                await self._turn(chat_id, priority)
                await self._overall_turn()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_seconds(error)
                if attempt >= self.max_retries:
                    raise
                _log.info("%s in chat %s: 429, waiting %.1f s", endpoint, chat_id, seconds)
                if counted:
                    chat = self._chat(chat_id)
                    chat.paused_until = max(chat.paused_until, time.monotonic() + seconds)
                else:
                    await asyncio.sleep(seconds)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- one chat --------------------------------------------------------------

    def _chat(self, chat_id: int | str) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= MAX_CHATS:
                self._forget_idle()
            limit, _ = self.group if _is_group(chat_id) else self.private
            chat = self._chats[chat_id] = _Chat(sent=deque(maxlen=limit))
        return chat

    def _forget_idle(self) -> None:
        now = time.monotonic()
        idle = [key for key, chat in self._chats.items()
                if not chat.waiting and self._delay(key, chat, now) <= 0]
        for key in idle[: max(1, len(idle) // 2)]:
            del self._chats[key]

    def _delay(self, chat_id: int | str, chat: _Chat, now: float) -> float:
        limit, seconds = self.group if _is_group(chat_id) else self.private
        window = 0.0 if len(chat.sent) < limit else chat.sent[0] + seconds - now
        return max(window, chat.paused_until - now)

    async def _turn(self, chat_id: int | str, priority: int) -> None:
        chat = self._chat(chat_id)
        if priority != EDIT and len(chat.waiting) >= self.max_waiting:
            raise Overloaded(f"too many messages wait for chat {chat_id}")
        ticket = (priority, next(self._tickets))
        async with chat.wake:
            heapq.heappush(chat.waiting, ticket)
            chat.wake.notify_all()  # a new edit may now be first in line
            try:
                while True:
                    if chat.waiting[0] == ticket:
                        delay = self._delay(chat_id, chat, time.monotonic())
                        if delay <= 0:
                            break
                        try:
                            await asyncio.wait_for(chat.wake.wait(), timeout=delay)
                        except TimeoutError:
                            pass
                    else:
                        await chat.wake.wait()
            except BaseException:
                chat.waiting.remove(ticket)
                heapq.heapify(chat.waiting)
                chat.wake.notify_all()
                raise
            heapq.heappop(chat.waiting)
            chat.sent.append(time.monotonic())
            chat.wake.notify_all()

    # -- all chats -------------------------------------------------------------

    async def _overall_turn(self) -> None:
        async with self._overall_lock:
            while (delay := self.overall.delay(time.monotonic())) > 0:
                await asyncio.sleep(delay)
            self.overall.record(time.monotonic())


def _is_group(chat_id: int | str) -> bool:
    """Group and channel ids are negative; a ``@channel`` username counts as a group."""
    if isinstance(chat_id, str):
        return not chat_id.lstrip("-").isdigit() or chat_id.startswith("-")
    return chat_id < 0

"""How long an update waited in the bot before its handlers started.

Telegram keeps a press answerable for about 15 s (``ANSWER_WINDOW_MS``). In a
crowd of thousands the last presses can wait longer than that in the bot's own
queue; an answer to one of those is refused, so sending it only slows the
presses behind it. The update queue notes when each update entered it, and the
update processor hands that moment to the update's handlers (a context
variable, so it follows the update's task and whatever it spawns):
``waited_ms`` says how long ago it was. An update that did not come through
the queue (a test calling ``process_update``, a host's own queue) has waited 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import SimpleUpdateProcessor

__all__ = [
    "ANSWER_WINDOW_MS",
    "StampedUpdateProcessor",
    "StampingUpdateQueue",
    "past_answer_window",
    "waited_ms",
]

# Telegram refuses a callback answer after about 15 s ("query is too old").
ANSWER_WINDOW_MS = 15_000
MAX_STAMPS = 100_000  # updates queued and not yet started, at most remembered

NowMs = Callable[[], int]

_ARRIVED_MS: ContextVar[int | None] = ContextVar("redpacket_update_arrived_ms", default=None)
_NOW_MS: ContextVar[NowMs | None] = ContextVar("redpacket_update_clock", default=None)


class StampingUpdateQueue(asyncio.Queue[object]):
    """PTB's update queue, noting when each update entered it."""

    def __init__(self, now_ms: NowMs) -> None:
        super().__init__()
        self.now_ms = now_ms
        self.arrived: dict[int, int] = {}

    def put_nowait(self, item: object) -> None:
        if isinstance(item, Update):
            if len(self.arrived) >= MAX_STAMPS:
                del self.arrived[next(iter(self.arrived))]
            self.arrived[item.update_id] = self.now_ms()
        super().put_nowait(item)


class StampedUpdateProcessor(SimpleUpdateProcessor):
    """PTB's concurrent processor; each update's handlers learn when it arrived."""

    __slots__ = ("_queue",)

    def __init__(self, queue: StampingUpdateQueue, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._queue = queue

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, Update):
            _ARRIVED_MS.set(self._queue.arrived.pop(update.update_id, None))
            _NOW_MS.set(self._queue.now_ms)
        await coroutine


def waited_ms() -> int:
    """How long ago the update being handled entered the bot's queue (0 if unknown)."""
    arrived, now_ms = _ARRIVED_MS.get(), _NOW_MS.get()
    return 0 if arrived is None or now_ms is None else max(0, now_ms() - arrived)


def past_answer_window() -> bool:
    """Whether the press being handled has waited too long for Telegram to take an answer."""
    return waited_ms() > ANSWER_WINDOW_MS

"""A bound on requests in flight whose every step is O(1).

``asyncio.Semaphore`` in Python 3.11 looks at every waiter on each
``acquire()`` (its ``locked()`` asks whether any waiter is still waiting): with
a crowd's answers queued for the bot's 256 slots that is work quadratic in the
crowd. Here a waiter is a future in a FIFO queue and a freed slot goes straight
to the first one still waiting.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Slots"]


class Slots:
    """At most ``size`` holders at once; the others wait in arrival order."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one slot")
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        return self._free

    def take_now(self) -> bool:
        """Take a slot if one is free and nobody waits before us."""
        if self._free and not self._waiters:
            self._free -= 1
            return True
        return False

    async def take(self, timeout: float | None) -> None:
        """A slot, waiting at most ``timeout`` seconds (``TimeoutError``)."""
        if self.take_now():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give_back()  # handed a slot as we gave up: pass it on
            raise

    def give_back(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter that gave up is skipped
                waiter.set_result(None)
                return
        self._free += 1

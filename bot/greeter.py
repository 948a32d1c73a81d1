"""First-contact writes for a crowd: many members in one write (issue 8).

The first press of each member of a big group is also that member's first
contact: a member row and a welcome bonus (docs/rules.md §10). One write per
member — its own task, queue entry, savepoint and future — cost the bot about
a third of such a press. Here the presses only note who is waiting; one task
writes everyone waiting in one write (``RedPackets.greet_many``), then the next
ones that came in meanwhile, until nobody waits.

Bounds: at most ``MAX_WAITING`` members wait (past it, a press greets in line,
as any other update does); at most ``MAX_PER_WRITE`` go in one write; the
members told about their bonus by ``/start`` are at most ``MAX_FRESH``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from core.errors import StoreUnavailable
from core.packets import Member
from core.services import RedPackets

__all__ = ["Greeter", "MAX_FRESH", "MAX_PER_WRITE", "MAX_WAITING"]

MAX_WAITING = 2_000
MAX_PER_WRITE = 500
MAX_FRESH = 100_000

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class Greeter:
    """Who waits for a welcome write, and the one task writing them."""

    def __init__(self) -> None:
        self._waiting: dict[int, Member] = {}  # not in a write yet
        self._landed: dict[int, asyncio.Future[None]] = {}  # waiting or being written
        self._fresh: dict[int, None] = {}  # greeted for the first time, oldest first
        self._task: asyncio.Task[Any] | None = None

    def beside(self, packets: RedPackets, member: Member, spawn: Spawn) -> bool:
        """Greet ``member`` in the next write; False if too many wait already."""
        if member.id in self._landed:
            return True
        if len(self._landed) >= MAX_WAITING:
            return False
        self._landed[member.id] = asyncio.get_running_loop().create_future()
        self._waiting[member.id] = member
        if self._task is None:
            self._task = spawn(self._write_all(packets))
        return True

    def landed(self, member_id: int) -> asyncio.Future[None] | None:
        """Done once the member's welcome write has landed (or failed); None if not waiting."""
        return self._landed.get(member_id)

    def note_fresh(self, member_ids: set[int]) -> None:
        for member_id in member_ids:
            self._fresh[member_id] = None
        while len(self._fresh) > MAX_FRESH:
            del self._fresh[next(iter(self._fresh))]

    def take_fresh(self, member_id: int) -> bool:
        """Whether the member was greeted for the first time here and not told yet."""
        return self._fresh.pop(member_id, False) is None

    @property
    def waiting(self) -> int:
        return len(self._landed)

    async def _write_all(self, packets: RedPackets) -> None:
        try:
            while self._waiting:
                ids = list(self._waiting)[:MAX_PER_WRITE]
                batch = [self._waiting.pop(member_id) for member_id in ids]
                try:
                    self.note_fresh(await packets.greet_many(batch))
                except StoreUnavailable:
                    pass  # greeted on a later update; the press was answered all the same
                finally:
                    for member_id in ids:
                        self._land(member_id)
        finally:
            self._task = None
            for member_id in list(self._landed):  # cancelled or failed: nobody waits forever
                self._waiting.pop(member_id, None)
                self._land(member_id)

    def _land(self, member_id: int) -> None:
        landed = self._landed.pop(member_id, None)
        if landed is not None and not landed.done():
            landed.set_result(None)

"""Gate calls in doubt: a call that timed out on our side may still have run.

A stalled Redis runs what it had queued when it wakes, after its callers gave
up: a grab (or a shake's win) may then hold a ticket nobody will settle. Each
member in doubt is settled against the database a few rounds once the gate
answers again, by a caller-supplied round; giving one ticket back too many
only lets one more press reach the database, which has the final say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.errors import GateUnavailable, StoreUnavailable

# Rounds per member: a big batch queued in a stalled Redis may run over several
# of its turns, so one clean look is not proof enough.
ROUNDS = 3
MAX_MEMBERS = 100_000
FIRST_DELAY_S = 0.1
MAX_DELAY_S = 5.0

# One round for one packet or campaign: give back what the members hold in the
# gate without the database knowing; returns False when the gate has no state
# for it (it is rebuilt from the database on the next press).
Round = Callable[[str, list[int]], Awaitable[bool]]


class Doubts:
    """Members in doubt per packet (or campaign), settled in the background."""

    def __init__(self, settle_round: Round, background: set[asyncio.Future[None]]) -> None:
        self._round = settle_round
        self._background = background
        self._members: dict[str, dict[int, int]] = {}
        self._count = 0
        self._settler: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()

    def __contains__(self, key: str) -> bool:
        return key in self._members

    def add(self, key: str, member_id: int) -> None:
        members = self._members.setdefault(key, {})
        if member_id not in members:
            if self._count >= MAX_MEMBERS:
                return  # the periodic audit gives back what is left over
            self._count += 1
        members[member_id] = ROUNDS
        if self._settler is None or self._settler.done():
            self._settler = asyncio.ensure_future(self._settle_all())
            self._background.add(self._settler)
            self._settler.add_done_callback(self._background.discard)

    async def settle(self, key: str) -> None:
        """One round for ``key`` now (rounds never overlap)."""
        async with self._lock:
            members = self._members.get(key)
            if not members:
                self._members.pop(key, None)
                return
            if not await self._round(key, list(members)):
                self._forget(key, list(members))
                return
            spent = [m for m, left in members.items() if left <= 1]
            for member_id in list(members):
                members[member_id] -= 1
            self._forget(key, spent)

    def _forget(self, key: str, member_ids: list[int]) -> None:
        members = self._members.get(key, {})
        for member_id in member_ids:
            if members.pop(member_id, None) is not None:
                self._count -= 1
        if not members:
            self._members.pop(key, None)

    async def _settle_all(self) -> None:
        delay = FIRST_DELAY_S
        while self._members:
            await asyncio.sleep(delay)
            try:
                for key in list(self._members):
                    await self.settle(key)
                delay = min(delay * 2, 1.0)
            except (GateUnavailable, StoreUnavailable):
                delay = min(delay * 2, MAX_DELAY_S)  # still down: try again later

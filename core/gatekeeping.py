"""The machine packets and campaigns share: a cheap gate in front of the database.

A gate (Redis, or embedded) admits or turns away a press or a shake without
touching the database; the database has the final say (docs/rules.md §3, §7).
Both use cases run the same machine and bring their own rules:

- quiet calls: priming, resetting and giving back never fail the caller; a
  slow or dead gate is rebuilt from the database later;
- gate keys outlive their packet or campaign by ``GATE_TTL_MARGIN_MS``;
- ``admit``: at most ``ADMIT_ATTEMPTS`` gate calls, rebuilding a gate that
  knows nothing of the key, giving back a ticket the database never saw;
- tickets in doubt (``core.doubts``): calls that timed out on our side but
  may have run, settled in the background once the gate answers again;
- the gate's part of the audit, into one ``AuditReport``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from core.doubts import Doubts, Round
from core.errors import GateUnavailable
from core.ports import Clock, GateKeys

GATE_TTL_MARGIN_MS = 3_600_000  # gate keys outlive their packet or campaign by an hour
ADMIT_ATTEMPTS = 3  # gate calls per press or shake before "not this time"

Result = TypeVar("Result")
State = TypeVar("State")


class Retry(Enum):
    """What an admission attempt asks the machine to do before the next one."""

    REBUILD = "rebuild"  # the gate knows nothing of the key: rebuild it from the database
    GIVE_BACK = "give_back"  # the gate holds a ticket the database never saw: release it
    AGAIN = "again"  # just try again (the attempt settled something itself)


Attempt = Callable[[], Awaitable[Result | Retry]]
Rebuild = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class AuditReport:
    """What an audit found and what it repaired, for packets, campaigns or both."""

    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    packets: int = 0
    campaigns: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, other: AuditReport) -> None:
        self.problems += other.problems
        self.repaired += other.repaired
        self.packets += other.packets
        self.campaigns += other.campaigns


class Gatekeeper:
    """One use case's gate: quiet calls, admission, doubts and background work.

    ``settle_round``: the use case's rule for giving back tickets in doubt;
    ``rebuild``: how it rebuilds one key's gate from the database.
    """

    def __init__(
        self,
        gate: GateKeys | None,
        *,
        clock: Clock,
        timeout_s: float,
        settle_round: Round,
        rebuild: Rebuild,
    ) -> None:
        self.gate = gate
        self.clock = clock
        self.timeout_s = timeout_s
        self._rebuild = rebuild
        self._background: set[asyncio.Future[None]] = set()
        self.doubts = Doubts(settle_round, self._background)

    # -- background work ------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def idle(self) -> None:
        """Wait until the background work (loads, doubts, leak checks) is done."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop background work before the store closes."""
        pending = list(self._background)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # -- quiet calls ----------------------------------------------------------

    def ttl_ms(self, ends_at: int) -> int:
        """How long a gate key lives: until ``ends_at``, and a margin."""
        return max(ends_at - self.clock.now_ms(), 0) + GATE_TTL_MARGIN_MS

    async def quietly(self, call: Awaitable[None]) -> bool:
        """Run a gate call within the timeout; False if the gate did not answer
        (it is rebuilt from the database when next needed, or its keys expire)."""
        try:
            await asyncio.wait_for(call, self.timeout_s)
        except (GateUnavailable, TimeoutError):
            return False
        return True

    async def release(self, key: str, member_id: int) -> None:
        """Give a member's ticket back; if the gate does not answer, once it does."""
        if self.gate is None:
            return
        if not await self.quietly(self.gate.release(key, member_id)):
            self.doubts.add(key, member_id)

    async def reset(self, key: str) -> None:
        if self.gate is not None:
            await self.quietly(self.gate.reset(key))

    # -- admission ------------------------------------------------------------

    async def admit(self, key: str, member_id: int, attempt: Attempt[Result]) -> Result:
        """Run ``attempt`` until it answers, doing what it asks in between."""
        assert self.gate is not None
        for _ in range(ADMIT_ATTEMPTS):
            step = await attempt()
            if step is Retry.REBUILD:
                await self._rebuild(key)
            elif step is Retry.GIVE_BACK:
                await self.gate.release(key, member_id)
            elif not isinstance(step, Retry):
                return step
        raise GateUnavailable(f"gate of {key} did not settle")

    # -- audit ----------------------------------------------------------------

    async def audit_state(
        self, key: str, read: Awaitable[State | None], report: AuditReport
    ) -> State | None:
        """The gate's state of ``key`` for the audit; None if it has none (it is
        rebuilt on the next press) or did not answer (a problem, reported)."""
        try:
            return await asyncio.wait_for(read, self.timeout_s)
        except (GateUnavailable, TimeoutError) as exc:
            report.problems.append(f"gate unreachable while checking {key}: {exc!r}")
            return None

    async def drifted(self, key: str, note: str, report: AuditReport, *, repair: bool) -> None:
        """The gate of ``key`` disagrees with the database: rebuild it, or report it."""
        assert self.gate is not None
        if not repair:
            report.problems.append(note)
            return
        await self.gate.reset(key)
        await self._rebuild(key)
        report.repaired.append(note + ": rebuilt")

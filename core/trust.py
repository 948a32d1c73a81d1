"""The grabber report (/suspects) and the public leaderboard (/top): pure rules.

Storage answers ``core.ports.TrustReader`` with facts; these functions decide who
is listed. A suspect is a report, not a verdict: admins decide what to do.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.amount import Cents

SUSPECT_WINDOW_DAYS = 30
SUSPECT_MIN_SHARES = 5
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class PressFact:
    """One share a member took in a chat: its position and how fast they pressed."""

    member_id: int
    name: str
    position: int
    delay_ms: int | None  # None: not measured (an older share, or an unknown post time)


@dataclass(frozen=True, slots=True)
class SuspectThresholds:
    median_ms: int = 500  # listed when the median delay is below this
    first_percent: float = 60.0  # or when first in more than this share of their packets
    min_shares: int = SUSPECT_MIN_SHARES


@dataclass(frozen=True, slots=True)
class MemberPresses:
    member_id: int
    name: str
    shares: int
    firsts: int
    median_delay_ms: float | None

    @property
    def first_percent(self) -> float:
        return 100.0 * self.firsts / self.shares if self.shares else 0.0

    def too_fast(self, thresholds: SuspectThresholds) -> bool:
        return self.median_delay_ms is not None and self.median_delay_ms < thresholds.median_ms

    def too_often_first(self, thresholds: SuspectThresholds) -> bool:
        return self.first_percent > thresholds.first_percent

    def is_suspect(self, thresholds: SuspectThresholds) -> bool:
        return self.too_fast(thresholds) or self.too_often_first(thresholds)


@dataclass(frozen=True, slots=True)
class SuspectReport:
    examined: int  # members with enough shares to judge
    suspects: tuple[MemberPresses, ...]
    thresholds: SuspectThresholds


def summarize_presses(facts: Iterable[PressFact]) -> list[MemberPresses]:
    """Per member: shares, how many were first, the median measured delay."""
    by_member: dict[int, list[PressFact]] = {}
    for fact in facts:
        by_member.setdefault(fact.member_id, []).append(fact)
    members = []
    for member_id, mine in by_member.items():
        delays = [f.delay_ms for f in mine if f.delay_ms is not None]
        members.append(MemberPresses(
            member_id=member_id,
            name=mine[-1].name,
            shares=len(mine),
            firsts=sum(1 for f in mine if f.position == 1),
            median_delay_ms=statistics.median(delays) if delays else None,
        ))
    return members


def find_suspects(facts: Iterable[PressFact], thresholds: SuspectThresholds) -> SuspectReport:
    """Members with enough shares whose median press is too fast or who are too often first.

    Fastest first, then the most often first.
    """
    judged = [m for m in summarize_presses(facts) if m.shares >= thresholds.min_shares]
    listed = sorted(
        (m for m in judged if m.is_suspect(thresholds)),
        key=lambda m: (
            m.median_delay_ms if m.median_delay_ms is not None else float("inf"),
            -m.first_percent,
            m.member_id,
        ),
    )
    return SuspectReport(len(judged), tuple(listed), thresholds)


def suspect_window_start(now_ms: int) -> int:
    return now_ms - SUSPECT_WINDOW_DAYS * DAY_MS


# --- the leaderboard -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leader:
    member_id: int
    name: str
    count: int
    amount: Cents


@dataclass(frozen=True, slots=True)
class Leaderboard:
    senders: Sequence[Leader]  # packets sent, money given (taken by members)
    best_luck: Sequence[Leader]  # times best luck (手气王), the amount of those shares

    @property
    def is_empty(self) -> bool:
        return not self.senders and not self.best_luck


def week_start_ms(now_ms: int) -> int:
    """Monday 00:00 UTC of the week containing ``now_ms``."""
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return int(monday.timestamp() * 1000)

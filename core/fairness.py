"""Provably fair packets: the commitment to a packet's seed, when it may be revealed,
and the check of every share against the revealed seed (docs/fairness.md).

While a packet is live its seed must stay secret: whoever knows it can tell which
position pays most. Members see ``commitment(seed)`` (SHA-256) instead; once no
share can be opened any more the seed itself is shown, and anyone can check that
it hashes to the commitment and that ``core.allocation`` recomputes every share.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from core.allocation import MIN_SHARE, Rule, full_split
from core.amount import Cents
from core.packets import Packet, Share, Status

SHORT_COMMITMENT_DIGITS = 16
# A packet past its time is revealed only a minute later, so a process whose clock
# runs a little behind cannot still be opening shares when the seed is shown.
REVEAL_GRACE_MS = 60_000


def commitment(seed: bytes) -> str:
    """SHA-256 of the raw seed bytes, 64 lowercase hex digits."""
    return hashlib.sha256(seed).hexdigest()


def short_commitment(seed: bytes) -> str:
    """The first 16 hex digits of the commitment (what fits on screen)."""
    return commitment(seed)[:SHORT_COMMITMENT_DIGITS]


def may_reveal(packet: Packet, now_ms: int) -> bool:
    """True once no share of ``packet`` can be opened any more."""
    if packet.status is not Status.LIVE:
        return True
    return now_ms >= packet.expires_at + REVEAL_GRACE_MS


def revealed_seed(packet: Packet, now_ms: int) -> str | None:
    """The seed as hex when it may be shown, else ``None``."""
    return packet.seed.hex() if may_reveal(packet, now_ms) else None


def parse_seed(text: str) -> bytes:
    """A seed typed as hex (spaces and a ``0x`` prefix ignored); ``ValueError`` if not."""
    cleaned = "".join(text.split()).lower().removeprefix("0x")
    if not cleaned:
        raise ValueError("the seed is empty")
    try:
        seed = bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError("the seed must be hexadecimal digits, two per byte") from None
    return seed


def check_parameters(rule: Rule, total: Cents, count: int, cap: Cents) -> None:
    """``ValueError`` naming the problem when no packet of ours has these parameters."""
    if count < 1:
        raise ValueError("the count must be at least 1")
    if cap < MIN_SHARE:
        raise ValueError("the cap must be at least 0.01")
    if total < count * MIN_SHARE:
        raise ValueError(f"{count} shares need a total of at least {count * MIN_SHARE} cents")
    if total > count * cap:
        raise ValueError("the total is larger than count × cap: no split is possible")
    if rule is Rule.FIXED and total % count:
        raise ValueError("a fixed packet's total is a whole number of equal shares")


@dataclass(frozen=True, slots=True)
class PositionCheck:
    """One position of a packet: what was paid and what the seed says."""

    position: int
    expected: Cents
    paid: Cents | None  # None: nobody took this position (the packet expired)

    @property
    def taken(self) -> bool:
        return self.paid is not None

    @property
    def agrees(self) -> bool:
        return self.paid is None or self.paid == self.expected


@dataclass(frozen=True, slots=True)
class SplitCheck:
    positions: tuple[PositionCheck, ...]
    stray: tuple[int, ...] = ()  # positions stored that the packet cannot have

    @property
    def differing(self) -> tuple[int, ...]:
        return tuple(p.position for p in self.positions if not p.agrees) + self.stray

    @property
    def all_agree(self) -> bool:
        return not self.differing

    @property
    def not_taken(self) -> tuple[PositionCheck, ...]:
        return tuple(p for p in self.positions if not p.taken)


def check_split(packet: Packet, shares: Sequence[Share]) -> SplitCheck:
    """Compare every stored share with the split the packet's seed determines."""
    expected = full_split(packet.rule, packet.seed, packet.total, packet.count, packet.cap)
    paid = {s.position: s.amount for s in shares}
    positions = tuple(
        PositionCheck(position, amount, paid.get(position))
        for position, amount in enumerate(expected, start=1)
    )
    stray = tuple(sorted(p for p in paid if not 1 <= p <= packet.count))
    return SplitCheck(positions, stray)


def press_delay_ms(appeared_at_ms: int | None, pressed_at_ms: int | None) -> int | None:
    """How long a member took to press after the packet appeared to them.

    ``appeared_at_ms``: when the packet message was posted, or, for a packet a
    member must unlock first (a password packet), when that member unlocked it.
    A press that reached the bot before it learnt its own message was posted
    counts as 0. ``None`` when either moment is unknown.
    """
    if appeared_at_ms is None or pressed_at_ms is None:
        return None
    return max(pressed_at_ms - appeared_at_ms, 0)

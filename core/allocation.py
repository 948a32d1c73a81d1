"""Allocators: how a packet's total is split into shares (docs/rules.md §4).

Every draw comes from a keyed hash of the packet's secret seed and the share's
position, so the k-th open always takes the k-th value and the whole split can
be recomputed for an audit, while members cannot predict it.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from collections.abc import Sequence
from enum import StrEnum

from core.amount import Cents

MIN_SHARE: Cents = 1


class Rule(StrEnum):
    FIXED = "fixed"
    DOUBLE_MEAN = "double_mean"
    SEGMENT = "segment"


def draw(seed: bytes, label: str, low: int, high: int) -> int:
    """A uniform integer in ``[low, high]`` determined by ``seed`` and ``label``."""
    if high < low:
        raise ValueError(f"empty range [{low}, {high}]")
    span = high - low + 1
    digest = hmac.new(seed, label.encode(), hashlib.sha256).digest()
    # 256 random bits reduced modulo a span below 2**64: bias under 2**-190.
    return low + int.from_bytes(digest, "big") % span


def unit_interval(seed: bytes, label: str) -> int:
    """A uniform integer in ``[0, 10_000)``: basis points for probabilities."""
    return draw(seed, label, 0, 9_999)


def double_mean_share(
    seed: bytes, position: int, remaining: Cents, remaining_count: int, cap: Cents
) -> Cents:
    """WeChat's rule: uniform in [0.01, 2 × remaining / remaining_count], clamped.

    The clamps keep every later share payable (at least 0.01, at most ``cap``);
    the last share takes all that remains.
    """
    _check_payable(remaining, remaining_count, cap)
    if remaining_count == 1:
        return remaining
    others = remaining_count - 1
    low = max(MIN_SHARE, remaining - others * cap)
    high = min(2 * remaining // remaining_count, cap, remaining - others * MIN_SHARE)
    return draw(seed, f"dm:{position}", low, max(low, high))


@lru_cache(maxsize=4096)
def segment_split(seed: bytes, total: Cents, count: int, cap: Cents) -> tuple[Cents, ...]:
    """The line-segment rule: ``count - 1`` distinct cut points split ``total``.

    Every position has the same distribution. Splits with a piece above ``cap``
    are redrawn; if the cap is so tight that redraws keep failing, the excess is
    moved to the smallest pieces, deterministically.
    """
    _check_payable(total, count, cap)
    if count == 1:
        return (total,)
    for attempt in range(64):
        pieces = _cut(seed, total, count, attempt)
        if max(pieces) <= cap:
            return tuple(pieces)
    return tuple(_level_to_cap(pieces, cap))


def segment_share(seed: bytes, position: int, total: Cents, count: int, cap: Cents) -> Cents:
    return segment_split(seed, total, count, cap)[position - 1]


def _cut(seed: bytes, total: Cents, count: int, attempt: int) -> list[Cents]:
    # Floyd's algorithm: count-1 distinct cut points in [1, total-1].
    chosen: set[int] = set()
    n, k = total - 1, count - 1
    for j in range(n - k + 1, n + 1):
        t = draw(seed, f"seg:{attempt}:{j}", 1, j)
        chosen.add(j if t in chosen else t)
    cuts = sorted(chosen)
    edges = [0, *cuts, total]
    return [b - a for a, b in zip(edges, edges[1:])]


def _level_to_cap(pieces: list[Cents], cap: Cents) -> list[Cents]:
    pieces = list(pieces)
    excess = sum(p - cap for p in pieces if p > cap)
    pieces = [min(p, cap) for p in pieces]
    while excess:
        i = min(range(len(pieces)), key=lambda j: (pieces[j], j))
        give = min(excess, cap - pieces[i])
        pieces[i] += give
        excess -= give
    return pieces


def _check_payable(total: Cents, count: int, cap: Cents) -> None:
    if count < 1 or total < count * MIN_SHARE or total > count * cap:
        raise ValueError(f"{total} cannot be split into {count} shares of 1..{cap}")


def share_amount(
    rule: Rule,
    seed: bytes,
    position: int,
    *,
    total: Cents,
    count: int,
    claimed_amount: Cents,
    cap: Cents,
) -> Cents:
    """The amount of the share at ``position`` (1-based) of a packet."""
    remaining = total - claimed_amount
    remaining_count = count - position + 1
    if rule is Rule.FIXED:
        return total // count
    if rule is Rule.DOUBLE_MEAN:
        return double_mean_share(seed, position, remaining, remaining_count, cap)
    return segment_share(seed, position, total, count, cap)


def full_split(rule: Rule, seed: bytes, total: Cents, count: int, cap: Cents) -> list[Cents]:
    """Every share of a packet, in opening order: what an audit recomputes."""
    shares: list[Cents] = []
    for position in range(1, count + 1):
        shares.append(
            share_amount(
                rule, seed, position, total=total, count=count,
                claimed_amount=sum(shares), cap=cap,
            )
        )
    return shares


def best_luck(amounts: Sequence[Cents]) -> int | None:
    """Index of the largest share; on a tie the earliest. ``None`` if empty."""
    if not amounts:
        return None
    return max(range(len(amounts)), key=lambda i: (amounts[i], -i))

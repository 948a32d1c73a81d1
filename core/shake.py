"""The shake campaign (摇一摇, docs/rules.md §7): an admin-funded lottery in a chat.

A campaign holds a pool of money for ``count`` prizes. Each shake wins with a
probability set so the prizes are likely to be gone by the end; the k-th prize
is computed when it is won, from the campaign's secret seed and ``k``, so an
audit can recompute every prize.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.allocation import draw, unit_interval
from core.errors import DomainError
from core.amount import Amount, Cents
from core.packets import Member

MIN_PRIZE: Cents = 200
JACKPOT: Cents = 61_800
BOUNDED_JACKPOT_BP = 1  # 0.01 %


class Mode(StrEnum):
    TIERS = "tiers"
    BOUNDED = "bounded"


class CampaignStatus(StrEnum):
    LIVE = "live"
    FINISHED = "finished"  # every prize was won
    STOPPED = "stopped"  # an admin ended it
    EXPIRED = "expired"  # its time ran out


@dataclass(frozen=True, slots=True)
class Tier:
    """Prizes in ``[low, high)`` with ``weight`` basis points; ``low == high``: a fixed prize."""

    low: Cents
    high: Cents
    weight: int

    @property
    def fixed(self) -> bool:
        return self.low == self.high

    def top(self) -> Cents:
        return self.low if self.fixed else self.high - 1


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(200, 500, 8_500),
    Tier(500, 2_000, 1_000),
    Tier(2_000, 5_000, 499),
    Tier(JACKPOT, JACKPOT, 1),
)


def tiers_to_text(tiers: Sequence[Tier]) -> str:
    """``200-500:8500,...,61800:1``: how a campaign's tiers are stored."""
    parts = []
    for tier in tiers:
        span = f"{tier.low}" if tier.fixed else f"{tier.low}-{tier.high}"
        parts.append(f"{span}:{tier.weight}")
    return ",".join(parts)


def tiers_from_text(text: str) -> tuple[Tier, ...]:
    tiers = []
    for part in text.split(","):
        span, weight = part.split(":")
        low, _, high = span.partition("-")
        tiers.append(Tier(int(low), int(high or low), int(weight)))
    return tuple(tiers)


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    chat_id: int
    funder_id: int
    funder_name: str
    pool: Cents
    count: int
    mode: Mode
    tiers: tuple[Tier, ...]
    seed: bytes
    created_at: int
    ends_at: int
    interval_ms: int
    max_wins: int
    status: CampaignStatus = CampaignStatus.LIVE
    won_count: int = 0
    won_amount: Cents = 0
    refunded: Cents = 0
    ended_at: int | None = None
    message_id: int | None = None

    @property
    def is_live(self) -> bool:
        return self.status is CampaignStatus.LIVE

    @property
    def prizes_left(self) -> int:
        return self.count - self.won_count if self.is_live else 0

    @property
    def money_left(self) -> Cents:
        return self.pool - self.won_amount - self.refunded

    @property
    def duration_ms(self) -> int:
        return self.ends_at - self.created_at


@dataclass(frozen=True, slots=True)
class Win:
    campaign_id: str
    position: int
    member_id: int
    member_name: str
    amount: Cents
    jackpot: bool
    at: int


@dataclass(frozen=True, slots=True)
class Ended:
    """A campaign that has just ended, exactly once, and what went back to the funder."""

    campaign: Campaign
    wins: tuple[Win, ...]

    @property
    def refunded(self) -> Cents:
        return self.campaign.refunded

    @property
    def jackpots(self) -> tuple[Win, ...]:
        return tuple(w for w in self.wins if w.jackpot)


# -- allocation --------------------------------------------------------------


def affordable(remaining: Cents, remaining_count: int) -> Cents:
    """The largest prize that still leaves ``MIN_PRIZE`` for every later prize."""
    return remaining - MIN_PRIZE * (remaining_count - 1)


def prize(
    mode: Mode,
    tiers: Sequence[Tier],
    seed: bytes,
    position: int,
    remaining: Cents,
    remaining_count: int,
) -> tuple[Cents, bool]:
    """The ``position``-th prize (1-based) and whether it is the jackpot.

    Never below ``MIN_PRIZE``, never more than the campaign can pay while
    keeping ``MIN_PRIZE`` for every prize still to be given.
    """
    ceiling = affordable(remaining, remaining_count)
    if remaining_count < 1 or ceiling < MIN_PRIZE:
        raise ValueError(f"{remaining} cannot pay {remaining_count} prizes of {MIN_PRIZE}")
    if mode is Mode.BOUNDED:
        return _bounded_prize(seed, position, remaining, remaining_count, ceiling)
    return _tier_prize(tiers, seed, position, ceiling)


def usable_tiers(tiers: Sequence[Tier], ceiling: Cents) -> list[Tier]:
    """The tiers a prize may come from: those the ceiling affords (the others are skipped)."""
    return [t for t in tiers if max(t.low, MIN_PRIZE) <= ceiling]


@dataclass(frozen=True, slots=True)
class PrizeRange:
    """What the next prize can be: from ``low`` to ``high`` (None: no upper bound
    announced), and whether the jackpot is among the possibilities."""

    low: Cents
    high: Cents | None
    jackpot: bool


def prize_range(
    mode: Mode, tiers: Sequence[Tier], remaining: Cents, remaining_count: int
) -> PrizeRange:
    """What the next prize can be, by the very rule ``prize`` draws with."""
    ceiling = affordable(remaining, remaining_count)
    if remaining_count < 1 or ceiling < MIN_PRIZE:
        return PrizeRange(MIN_PRIZE, MIN_PRIZE, False)
    if mode is Mode.BOUNDED:
        return PrizeRange(MIN_PRIZE, None, JACKPOT <= ceiling)
    usable = usable_tiers(tiers, ceiling)
    plain = [t for t in usable if not (t.fixed and t.low >= JACKPOT)]
    if not plain:  # nothing affordable but a fixed jackpot (or nothing: the minimum)
        return PrizeRange(MIN_PRIZE, MIN_PRIZE, False) if not usable else PrizeRange(
            JACKPOT, JACKPOT, True)
    low = min(max(t.low, MIN_PRIZE) for t in plain)
    high = max(min(t.top(), ceiling) for t in plain)
    return PrizeRange(low, high, len(plain) < len(usable))


def _tier_prize(tiers: Sequence[Tier], seed: bytes, position: int, ceiling: Cents) -> tuple[Cents, bool]:
    # Tiers that cannot be afforded are skipped: the others share the draw.
    usable = usable_tiers(tiers, ceiling)
    if not usable:
        return MIN_PRIZE, False
    point = draw(seed, f"tier:{position}", 0, sum(t.weight for t in usable) - 1)
    for tier in usable:
        if point < tier.weight:
            break
        point -= tier.weight
    if tier.fixed:
        return tier.low, tier.low >= JACKPOT
    low = max(tier.low, MIN_PRIZE)
    return draw(seed, f"amount:{position}", low, min(tier.top(), ceiling)), False


def _bounded_prize(
    seed: bytes, position: int, remaining: Cents, remaining_count: int, ceiling: Cents
) -> tuple[Cents, bool]:
    if JACKPOT <= ceiling and unit_interval(seed, f"jackpot:{position}") < BOUNDED_JACKPOT_BP:
        return JACKPOT, True
    high = min(2 * remaining // remaining_count, ceiling)
    return draw(seed, f"amount:{position}", MIN_PRIZE, max(MIN_PRIZE, high)), False


def replay_wins(campaign: Campaign, count: int | None = None) -> list[tuple[Cents, bool]]:
    """The first ``count`` prizes the seed gives (all of them by default): an audit's view."""
    prizes: list[tuple[Cents, bool]] = []
    paid = 0
    for position in range(1, (campaign.count if count is None else count) + 1):
        amount, jackpot = prize(
            campaign.mode, campaign.tiers, campaign.seed, position,
            campaign.pool - paid, campaign.count - position + 1,
        )
        prizes.append((amount, jackpot))
        paid += amount
    return prizes


# -- the win probability -----------------------------------------------------

MIN_OBSERVED_MS = 5_000


def win_probability(prizes_left: int, shakes: int, elapsed_ms: int, remaining_ms: int) -> float:
    """Chance that one shake wins, so the prizes are likely gone when time is up.

    The shakes still to come are estimated from the rate seen so far; the
    chance is the prizes left over that estimate. Early on (or when shakes are
    rare, or time is nearly up) the estimate is small and every shake wins.
    """
    if prizes_left <= 0:
        return 0.0
    if remaining_ms <= 0:
        return 1.0
    rate = shakes / max(elapsed_ms, MIN_OBSERVED_MS)
    expected = rate * remaining_ms
    if expected <= prizes_left:
        return 1.0
    return prizes_left / expected


@dataclass(frozen=True, slots=True)
class ShakeLimits:
    interval_ms: int = 5_000
    max_wins: int = 1
    max_count: int = 1_000
    max_pool: Cents = 2_000_000
    default_duration_ms: int = 3_600_000
    min_duration_ms: int = 60_000
    max_duration_ms: int = 7 * 86_400_000
    name_chars: int = 48


@dataclass(frozen=True, slots=True)
class CampaignRequest:
    chat_id: int
    funder: Member
    pool: Cents
    count: int
    duration_ms: int | None = None
    mode: Mode = Mode.TIERS


def validate_campaign(request: CampaignRequest, limits: ShakeLimits) -> int:
    """Refuse a campaign that cannot run; return its duration in ms."""
    if request.count < 1 or request.count > limits.max_count:
        raise DomainError("shake.error.count", count=request.count, maximum=limits.max_count)
    if request.pool > limits.max_pool:
        raise DomainError("shake.error.pool_too_large", maximum=Amount(limits.max_pool))
    if request.pool < MIN_PRIZE * request.count:
        raise DomainError(
            "shake.error.pool_too_small",
            count=request.count, minimum=Amount(MIN_PRIZE * request.count),
            prize=Amount(MIN_PRIZE),
        )
    duration = request.duration_ms or limits.default_duration_ms
    if not limits.min_duration_ms <= duration <= limits.max_duration_ms:
        raise DomainError(
            "shake.error.duration",
            minimum=limits.min_duration_ms // 60_000, maximum=limits.max_duration_ms // 3_600_000,
        )
    return duration


def campaign_problems(campaign: Campaign, wins: Sequence[Win]) -> list[str]:
    """What is wrong with one campaign's wins, recomputed from its seed."""
    problems: list[str] = []
    ordered = sorted(wins, key=lambda w: w.position)
    if [w.position for w in ordered] != list(range(1, len(ordered) + 1)):
        return [f"campaign {campaign.id}: win positions are not 1..n"]
    expected = replay_wins(campaign, min(len(ordered), campaign.count))
    for win, (amount, jackpot) in zip(ordered, expected):
        if (win.amount, win.jackpot) != (amount, jackpot):
            problems.append(
                f"campaign {campaign.id}: win {win.position} is {win.amount}, "
                f"the seed says {amount}"
            )
    per_member: dict[int, int] = {}
    for win in ordered:
        per_member[win.member_id] = per_member.get(win.member_id, 0) + 1
    over = [m for m, n in per_member.items() if n > campaign.max_wins]
    if over:
        problems.append(f"campaign {campaign.id}: members {over} won more than {campaign.max_wins}")
    if len(ordered) > campaign.count:
        problems.append(f"campaign {campaign.id}: {len(ordered)} wins for {campaign.count} prizes")
    if sum(w.amount for w in ordered) + campaign.refunded > campaign.pool:
        problems.append(f"campaign {campaign.id}: paid out more than its pool")
    if not campaign.is_live and campaign.money_left != 0:
        problems.append(f"campaign {campaign.id}: ended with {campaign.money_left} unrefunded")
    if campaign.status is CampaignStatus.FINISHED and len(ordered) != campaign.count:
        problems.append(f"campaign {campaign.id}: finished with {len(ordered)}/{campaign.count} wins")
    return problems

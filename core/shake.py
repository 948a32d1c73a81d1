"""The shake campaign (摇一摇, SPEC §7): an admin-funded lottery in a chat.

A campaign holds a pool of money for ``count`` prizes. Each shake wins with a
probability set so the prizes are likely to be gone by the end; the k-th prize
is computed when it is won, from the campaign's secret seed and ``k``, so an
audit can recompute every prize.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from random import Random, SystemRandom
from typing import Protocol

from core.allocation import draw, unit_interval
from core.errors import DomainError, GateUnavailable
from core.money import Amount, Cents
from core.packets import Member, clip_text
from core.ports import Clock

MIN_PRIZE: Cents = 200
JACKPOT: Cents = 61_800
BASIS_POINTS = 10_000
BOUNDED_JACKPOT_BP = 1  # 0.01 %
CAMPAIGN_ID_ALPHABET = string.ascii_letters + string.digits
CAMPAIGN_ID_LENGTH = 10
GATE_TTL_MARGIN_MS = 3600 * 1000


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


def _tier_prize(tiers: Sequence[Tier], seed: bytes, position: int, ceiling: Cents) -> tuple[Cents, bool]:
    # Tiers that cannot be afforded are skipped: the others share the draw.
    usable = [t for t in tiers if max(t.low, MIN_PRIZE) <= ceiling]
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


def crosses_step(count: int, prizes_left: int) -> bool:
    """Whether the campaign message should show a new prizes-left figure now.

    Called after each win; true each time the figure reaches a multiple of a
    tenth of the prizes, so the message is edited about ten times, not on
    every win.
    """
    step = max(1, count // 10)
    return prizes_left > 0 and prizes_left % step == 0


# -- commands ----------------------------------------------------------------

_DURATION = re.compile(r"(?P<n>[0-9]+)(?P<unit>[smhd]?)", re.ASCII)
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "": 60_000}


def parse_duration(text: str) -> int | None:
    """``30s``, ``10m``, ``2h``, ``1d`` or a bare number of minutes, in ms; None if not one."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        return None
    return int(match.group("n")) * _UNIT_MS[match.group("unit")]


def parse_mode(text: str) -> Mode | None:
    word = text.strip().lower()
    aliases = {"tiers": Mode.TIERS, "tier": Mode.TIERS, "bounded": Mode.BOUNDED,
               "bound": Mode.BOUNDED}
    return aliases.get(word)


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


def parse_start(args: Sequence[str], chat_id: int, funder: Member, limits: ShakeLimits) -> CampaignRequest:
    """``<pool> <count> [duration] [tiers|bounded]`` (the last two in either order)."""
    from core.money import parse_amount, parse_count

    if len(args) < 2:
        raise DomainError("shake.error.usage")
    pool = parse_amount(args[0], maximum=limits.max_pool)
    count = parse_count(args[1], maximum=limits.max_count)
    duration: int | None = None
    mode: Mode | None = None
    for word in args[2:]:
        if mode is None and (found := parse_mode(word)) is not None:
            mode = found
        elif duration is None and (ms := parse_duration(word)) is not None:
            duration = ms
        else:
            raise DomainError("shake.error.usage")
    return CampaignRequest(chat_id, funder, pool, count, duration, mode or Mode.TIERS)


# -- ports -------------------------------------------------------------------


class Verdict(StrEnum):
    WIN = "win"  # a prize ticket was taken for this member
    LOSE = "lose"  # the shake counted, no prize
    COOLDOWN = "cooldown"  # shook too recently
    MAXED = "maxed"  # already won the most a member may
    EMPTY = "empty"  # no prize left
    MISSING = "missing"  # the gate knows nothing of this campaign: rebuild it


@dataclass(frozen=True, slots=True)
class GateReply:
    verdict: Verdict
    prizes_left: int = 0
    shakes: int = 0
    wait_ms: int = 0


class ShakeGate(Protocol):
    """Prize counter, cooldowns and win counts of a campaign, atomically."""

    async def shake(
        self, campaign_id: str, member_id: int, *, interval_ms: int, max_wins: int, win: bool
    ) -> GateReply: ...

    async def prime(
        self, campaign_id: str, prizes: int, wins: dict[int, int], ttl_ms: int
    ) -> None: ...

    async def release(self, campaign_id: str, member_id: int) -> None: ...

    async def reset(self, campaign_id: str) -> None: ...

    async def state(self, campaign_id: str) -> tuple[int, dict[int, int]] | None: ...


class Settlement(StrEnum):
    WON = "won"
    ENDED = "ended"  # the campaign is over (or past its time)
    MAXED = "maxed"  # the database says this member already won the most
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Settled:
    outcome: Settlement
    campaign: Campaign | None = None
    win: Win | None = None
    ended: Ended | None = None  # this win took the last prize


class CampaignStore(Protocol):
    """Durable truth for campaigns (SQLite)."""

    async def create_campaign(self, campaign: Campaign, key: str) -> Campaign: ...

    async def get_campaign(self, campaign_id: str) -> Campaign | None: ...

    async def live_campaign(self, chat_id: int) -> Campaign | None: ...

    async def live_campaigns(self) -> list[Campaign]: ...

    async def all_campaigns(self) -> list[Campaign]: ...

    async def wins(self, campaign_id: str) -> list[Win]: ...

    async def win_counts(self, campaign_id: str) -> dict[int, int]: ...

    async def settle_win(self, campaign_id: str, member: Member, now_ms: int) -> Settled: ...

    async def end_campaign(
        self, campaign_id: str, status: CampaignStatus, now_ms: int
    ) -> Ended | None: ...

    async def end_due(self, now_ms: int, limit: int) -> list[Ended]: ...

    async def set_campaign_message(self, campaign_id: str, message_id: int) -> None: ...

    async def campaign_problems(self) -> list[str]: ...


# -- the use cases -----------------------------------------------------------


class Answer(StrEnum):
    WON = "won"
    LOST = "lost"
    COOLDOWN = "cooldown"
    MAXED = "maxed"
    OVER = "over"  # no prize left, or the campaign has ended
    NOT_THIS_TIME = "not_this_time"
    NO_CAMPAIGN = "no_campaign"


@dataclass(frozen=True, slots=True)
class ShakeResult:
    answer: Answer
    campaign: Campaign | None = None
    win: Win | None = None
    ended: Ended | None = None  # this shake took the last prize and ended the campaign
    refresh: bool = False  # the prizes-left figure crossed a step: edit the message
    wait_ms: int = 0


@dataclass(slots=True)
class CampaignAudit:
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    campaigns: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


class _SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


def new_campaign_id() -> str:
    return "".join(secrets.choice(CAMPAIGN_ID_ALPHABET) for _ in range(CAMPAIGN_ID_LENGTH))


def is_campaign_id(text: str) -> bool:
    return len(text) == CAMPAIGN_ID_LENGTH and all(c in CAMPAIGN_ID_ALPHABET for c in text)


class ShakeService:
    """Start, shake, stop and end campaigns over a durable store and a gate."""

    def __init__(
        self,
        store: CampaignStore,
        gate: ShakeGate | None,
        *,
        clock: Clock | None = None,
        limits: ShakeLimits = ShakeLimits(),
        rng: Random | None = None,
        gate_timeout_s: float = 1.0,
        max_in_flight: int = 2_000,
    ) -> None:
        self.store = store
        self.gate = gate
        self.clock = clock or _SystemClock()
        self.limits = limits
        self.rng = rng or SystemRandom()
        self.gate_timeout_s = gate_timeout_s
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self._campaigns: dict[str, Campaign] = {}
        self._shakes_seen: dict[str, tuple[int, int]] = {}  # id -> (prizes left, shakes)

    # -- start and stop ------------------------------------------------------

    async def start(self, request: CampaignRequest, key: str) -> Campaign:
        """Debit the funder and open the campaign; the same ``key`` never starts twice."""
        duration = validate_campaign(request, self.limits)
        now = self.clock.now_ms()
        campaign = Campaign(
            id=new_campaign_id(),
            chat_id=request.chat_id,
            funder_id=request.funder.id,
            funder_name=clip_text(request.funder.name, self.limits.name_chars),
            pool=request.pool,
            count=request.count,
            mode=request.mode,
            tiers=DEFAULT_TIERS,
            seed=secrets.token_bytes(16),
            created_at=now,
            ends_at=now + duration,
            interval_ms=self.limits.interval_ms,
            max_wins=self.limits.max_wins,
        )
        stored = await self.store.create_campaign(campaign, key)
        if stored.id == campaign.id:
            await self._prime_quietly(stored, {})
        return stored

    async def stop(self, chat_id: int) -> Ended | None:
        """End the chat's live campaign now and refund what is left; None if none runs."""
        campaign = await self.store.live_campaign(chat_id)
        if campaign is None:
            return None
        return await self._end(campaign.id, CampaignStatus.STOPPED)

    async def status(self, chat_id: int) -> Campaign | None:
        return await self.store.live_campaign(chat_id)

    async def end_due(self, limit: int = 100) -> list[Ended]:
        """End every campaign past its time (also those missed while the bot was down)."""
        ended = await self.store.end_due(self.clock.now_ms(), limit)
        for item in ended:
            await self._forget(item.campaign.id)
        return ended

    async def end_if_due(self, campaign_id: str) -> Ended | None:
        campaign = await self.store.get_campaign(campaign_id)
        if campaign is None or not campaign.is_live or self.clock.now_ms() < campaign.ends_at:
            return None
        return await self._end(campaign_id, CampaignStatus.EXPIRED)

    async def _end(self, campaign_id: str, status: CampaignStatus) -> Ended | None:
        ended = await self.store.end_campaign(campaign_id, status, self.clock.now_ms())
        await self._forget(campaign_id)
        return ended

    async def _forget(self, campaign_id: str) -> None:
        self._campaigns.pop(campaign_id, None)
        self._shakes_seen.pop(campaign_id, None)
        if self.gate is not None:
            try:
                await asyncio.wait_for(self.gate.reset(campaign_id), self.gate_timeout_s)
            except (GateUnavailable, TimeoutError, OSError):
                pass  # keys expire on their own

    # -- shaking -------------------------------------------------------------

    async def shake_in_chat(self, chat_id: int, member: Member) -> ShakeResult:
        """``/shake`` typed in a chat: one shake of its live campaign."""
        try:
            campaign = await self.store.live_campaign(chat_id)
        except Exception:
            return ShakeResult(Answer.NOT_THIS_TIME)
        if campaign is None:
            return ShakeResult(Answer.NO_CAMPAIGN)
        self._campaigns[campaign.id] = campaign
        return await self.shake(campaign.id, member)

    async def shake(self, campaign_id: str, member: Member) -> ShakeResult:
        """One shake: the gate decides cheaply, the database settles a win."""
        if not is_campaign_id(campaign_id):
            return ShakeResult(Answer.NO_CAMPAIGN)
        if self.in_flight >= self.max_in_flight:
            return ShakeResult(Answer.NOT_THIS_TIME)
        self.in_flight += 1
        try:
            return await self._shake(campaign_id, member)
        finally:
            self.in_flight -= 1

    async def _shake(self, campaign_id: str, member: Member) -> ShakeResult:
        campaign = await self._campaign(campaign_id)
        if campaign is None:
            return ShakeResult(Answer.NO_CAMPAIGN)
        if not campaign.is_live or self.clock.now_ms() >= campaign.ends_at:
            return ShakeResult(Answer.OVER, campaign)
        if self.gate is not None:
            try:
                reply = await asyncio.wait_for(self._admit(campaign, member), self.gate_timeout_s)
            except (GateUnavailable, TimeoutError, OSError):
                return ShakeResult(Answer.NOT_THIS_TIME, campaign)
            early = _early_answer(reply, campaign)
            if early is not None:
                return early
        elif self.rng.random() >= self._chance(campaign):
            return ShakeResult(Answer.LOST, campaign)
        try:
            settled = await self.store.settle_win(campaign_id, member, self.clock.now_ms())
        except Exception:
            await self._release(campaign_id, member.id)
            return ShakeResult(Answer.NOT_THIS_TIME, campaign)
        return await self._after_settle(settled, campaign, member)

    async def _after_settle(self, settled: Settled, campaign: Campaign, member: Member) -> ShakeResult:
        fresh = settled.campaign or campaign
        if settled.outcome is Settlement.WON:
            if settled.ended is not None:
                await self._forget(campaign.id)
            else:
                self._campaigns[campaign.id] = fresh
            return ShakeResult(
                Answer.WON, fresh, settled.win, settled.ended,
                refresh=settled.ended is None and crosses_step(fresh.count, fresh.prizes_left),
            )
        await self._release(campaign.id, member.id)
        if settled.outcome is Settlement.MAXED:
            return ShakeResult(Answer.MAXED, fresh)
        if settled.outcome is Settlement.NOT_FOUND:
            return ShakeResult(Answer.NO_CAMPAIGN)
        self._campaigns[campaign.id] = fresh
        return ShakeResult(Answer.OVER, fresh)

    async def _admit(self, campaign: Campaign, member: Member) -> GateReply:
        assert self.gate is not None
        for _ in range(3):
            win = self.rng.random() < self._chance(campaign)
            reply = await self.gate.shake(
                campaign.id, member.id, interval_ms=campaign.interval_ms,
                max_wins=campaign.max_wins, win=win,
            )
            if reply.verdict is not Verdict.MISSING:
                self._shakes_seen[campaign.id] = (reply.prizes_left, reply.shakes)
                return reply
            await self.rebuild_gate(campaign.id)
        raise GateUnavailable("shake gate did not settle")

    def _chance(self, campaign: Campaign) -> float:
        now = self.clock.now_ms()
        prizes_left, shakes = self._shakes_seen.get(campaign.id, (campaign.prizes_left, 0))
        return win_probability(
            prizes_left, shakes + 1, now - campaign.created_at, campaign.ends_at - now
        )

    async def _release(self, campaign_id: str, member_id: int) -> None:
        if self.gate is None:
            return
        try:
            await asyncio.wait_for(self.gate.release(campaign_id, member_id), self.gate_timeout_s)
        except (GateUnavailable, TimeoutError, OSError):
            pass  # the audit rebuilds a gate that drifted

    async def _campaign(self, campaign_id: str) -> Campaign | None:
        cached = self._campaigns.get(campaign_id)
        if cached is not None:
            return cached
        try:
            campaign = await self.store.get_campaign(campaign_id)
        except Exception:
            return None
        if campaign is not None:
            if len(self._campaigns) > 1_000:
                self._campaigns.clear()
            self._campaigns[campaign_id] = campaign
        return campaign

    # -- the gate ------------------------------------------------------------

    async def rebuild_gate(self, campaign_id: str) -> None:
        """Rebuild a campaign's gate from the database (the truth)."""
        assert self.gate is not None
        campaign = await self.store.get_campaign(campaign_id)
        if campaign is None:
            return
        await self.gate.prime(
            campaign_id, campaign.prizes_left, await self.store.win_counts(campaign_id),
            self._gate_ttl(campaign),
        )

    async def _prime_quietly(self, campaign: Campaign, wins: dict[int, int]) -> None:
        if self.gate is None:
            return
        try:
            await asyncio.wait_for(
                self.gate.prime(campaign.id, campaign.prizes_left, wins, self._gate_ttl(campaign)),
                self.gate_timeout_s,
            )
        except (GateUnavailable, TimeoutError, OSError):
            pass  # rebuilt from the database on the first shake

    def _gate_ttl(self, campaign: Campaign) -> int:
        return max(campaign.ends_at - self.clock.now_ms(), 0) + GATE_TTL_MARGIN_MS

    # -- reading -------------------------------------------------------------

    async def lookup(self, campaign_id: str) -> Campaign | None:
        """The campaign, possibly from this process's cache (for routing, not for money)."""
        if not is_campaign_id(campaign_id):
            return None
        return await self._campaign(campaign_id)

    async def get(self, campaign_id: str) -> Campaign | None:
        if not is_campaign_id(campaign_id):
            return None
        return await self.store.get_campaign(campaign_id)

    async def wins(self, campaign_id: str) -> list[Win]:
        return await self.store.wins(campaign_id)

    async def live_campaigns(self) -> list[Campaign]:
        return await self.store.live_campaigns()

    # -- audit ---------------------------------------------------------------

    async def audit(self, *, repair: bool = True, ledger: bool = True) -> CampaignAudit:
        """Ledger checks of campaigns, every win recomputed from its seed, and the gate.

        ``ledger=False`` skips the SQL ledger checks, for callers that already ran
        them with the store's own ledger audit.
        """
        problems = await self.store.campaign_problems() if ledger else []
        report = CampaignAudit(problems=problems)
        campaigns = await self.store.all_campaigns()
        report.campaigns = len(campaigns)
        for campaign in campaigns:
            wins = await self.store.wins(campaign.id)
            report.problems.extend(campaign_problems(campaign, wins))
            if self.gate is not None and campaign.is_live:
                await self._audit_gate(campaign, wins, report, repair)
        return report

    async def _audit_gate(
        self, campaign: Campaign, wins: list[Win], report: CampaignAudit, repair: bool
    ) -> None:
        assert self.gate is not None
        try:
            state = await asyncio.wait_for(self.gate.state(campaign.id), self.gate_timeout_s)
        except (GateUnavailable, TimeoutError, OSError) as exc:
            report.problems.append(f"gate unreachable while checking {campaign.id}: {exc!r}")
            return
        if state is None:
            return  # rebuilt from the database on the next shake
        counts: dict[int, int] = {}
        for win in wins:
            counts[win.member_id] = counts.get(win.member_id, 0) + 1
        if state == (campaign.count - len(wins), counts):
            return
        note = (
            f"gate of campaign {campaign.id} disagreed with the database "
            f"(prizes {state[0]} vs {campaign.count - len(wins)})"
        )
        if not repair:
            report.problems.append(note)
            return
        await self.gate.reset(campaign.id)
        await self.rebuild_gate(campaign.id)
        report.repaired.append(note + ": rebuilt")


def _early_answer(reply: GateReply, campaign: Campaign) -> ShakeResult | None:
    if reply.verdict is Verdict.WIN:
        return None
    answers = {
        Verdict.LOSE: Answer.LOST,
        Verdict.COOLDOWN: Answer.COOLDOWN,
        Verdict.MAXED: Answer.MAXED,
        Verdict.EMPTY: Answer.OVER,
    }
    return ShakeResult(answers[reply.verdict], campaign, wait_ms=reply.wait_ms)


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

"""The shake campaign's use cases: start, shake, stop, end and audit (docs/rules.md §7).

Written against two ports: ``ShakeGate`` (prize counter, cooldowns and win
counts, atomically: Redis) and ``CampaignStore`` (the durable truth: SQLite).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from random import Random, SystemRandom

from core.eligibility import Eligibility, Refusal, Traits
from core.errors import GateUnavailable, StoreUnavailable
from core.gatekeeping import AuditReport, Gatekeeper, Retry
from core.ids import is_id, new_id
from core.packets import Member, clip_text
from core.ports import CampaignStore, Clock, GateReply, Settled, SettleOutcome, ShakeGate, Verdict
from core.services import SystemClock
from core.shake import (
    Campaign,
    CampaignRequest,
    CampaignStatus,
    DEFAULT_TIERS,
    Ended,
    ShakeLimits,
    Win,
    campaign_problems,
    validate_campaign,
    win_probability,
)


# -- the use cases -----------------------------------------------------------

MAX_SHAKES_IN_FLIGHT = 2_000  # beyond this, a shake is answered "not this time"
CAMPAIGN_CACHE_SIZE = 1_000  # campaigns (and their last gate figures) kept in memory


class ShakeAnswer(StrEnum):
    WON = "won"
    LOST = "lost"
    COOLDOWN = "cooldown"
    MAXED = "maxed"
    OVER = "over"  # no prize left, or the campaign has ended
    NOT_THIS_TIME = "not_this_time"
    NO_CAMPAIGN = "no_campaign"
    REFUSED = "refused"  # a chat rule (core.eligibility): see ``refusal``


@dataclass(frozen=True, slots=True)
class ShakeResult:
    answer: ShakeAnswer
    campaign: Campaign | None = None
    win: Win | None = None
    ended: Ended | None = None  # this shake took the last prize and ended the campaign
    wait_ms: int = 0
    refusal: Refusal | None = None


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
        max_in_flight: int = MAX_SHAKES_IN_FLIGHT,
        eligibility: Eligibility | None = None,
    ) -> None:
        self.store = store
        self.eligibility = eligibility  # who may shake (None: everyone)
        self.gate = gate
        self.clock = clock or SystemClock()
        self.limits = limits
        self.rng = rng or SystemRandom()
        self.gate_timeout_s = gate_timeout_s
        self.max_in_flight = max_in_flight
        self._shaking: Counter[tuple[str, int]] = Counter()  # shakes in flight per member
        self._campaigns: dict[str, Campaign] = {}
        self._shakes_seen: dict[str, tuple[int, int]] = {}  # id -> (prizes left, shakes)
        # The gate's machine, shared with packets; its doubts are shakes that
        # timed out on our side but may have won a prize in Redis.
        self._keeper = Gatekeeper(
            gate, clock=self.clock, timeout_s=gate_timeout_s,
            settle_round=self._settle_round, rebuild=self.rebuild_gate,
        )

    async def idle(self) -> None:
        """Wait until the background work (shakes in doubt) is done."""
        await self._keeper.idle()

    async def aclose(self) -> None:
        """Stop background work (shakes in doubt) before the store closes."""
        await self._keeper.aclose()

    @property
    def in_flight(self) -> int:
        """Shakes under way now, of every member and campaign."""
        return self._shaking.total()

    # -- start and stop ------------------------------------------------------

    async def start(self, request: CampaignRequest, key: str) -> Campaign:
        """Debit the funder and open the campaign; the same ``key`` never starts twice."""
        duration = validate_campaign(request, self.limits)
        now = self.clock.now_ms()
        campaign = Campaign(
            id=new_id(),
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
        if stored.id == campaign.id and self.gate is not None:  # else rebuilt on the first shake
            ttl_ms = self._keeper.ttl_ms(stored.ends_at)
            await self._keeper.quietly(self.gate.prime(stored.id, stored.prizes_left, {}, ttl_ms))
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
        await self._keeper.reset(campaign_id)  # if the gate does not answer, keys expire

    # -- shaking -------------------------------------------------------------

    async def shake_in_chat(
        self, chat_id: int, member: Member, traits: Traits | None = None
    ) -> ShakeResult:
        """``/shake`` typed in a chat: one shake of its live campaign."""
        try:
            campaign = await self.store.live_campaign(chat_id)
        except StoreUnavailable:
            return ShakeResult(ShakeAnswer.NOT_THIS_TIME)
        if campaign is None:
            return ShakeResult(ShakeAnswer.NO_CAMPAIGN)
        self._campaigns[campaign.id] = campaign
        return await self.shake(campaign.id, member, traits)

    async def shake(
        self, campaign_id: str, member: Member, traits: Traits | None = None
    ) -> ShakeResult:
        """One shake: the gate decides cheaply, the database settles a win."""
        if not is_id(campaign_id):
            return ShakeResult(ShakeAnswer.NO_CAMPAIGN)
        if self.in_flight >= self.max_in_flight:
            return ShakeResult(ShakeAnswer.NOT_THIS_TIME)
        shaker = (campaign_id, member.id)
        self._shaking[shaker] += 1
        try:
            return await self._shake(campaign_id, member, traits or Traits(member.id))
        finally:
            self._shaking[shaker] -= 1
            if not self._shaking[shaker]:
                del self._shaking[shaker]

    async def _shake(self, campaign_id: str, member: Member, traits: Traits) -> ShakeResult:
        try:
            campaign = await self._campaign(campaign_id)
        except StoreUnavailable:
            return ShakeResult(ShakeAnswer.NOT_THIS_TIME)
        if campaign is None:
            return ShakeResult(ShakeAnswer.NO_CAMPAIGN)
        if not campaign.is_live or self.clock.now_ms() >= campaign.ends_at:
            return ShakeResult(ShakeAnswer.OVER, campaign)
        if self.eligibility is not None:  # before the gate: a refused shake costs nothing
            refusal = await self.eligibility.refuse_shake(campaign.chat_id, traits)
            if refusal is not None:
                return ShakeResult(ShakeAnswer.REFUSED, campaign, refusal=refusal)
        if self.gate is not None:
            try:
                reply = await asyncio.wait_for(self._admit(campaign, member), self.gate_timeout_s)
            except (GateUnavailable, StoreUnavailable, TimeoutError):
                # The shake may have run in Redis (a prize taken) though its reply
                # never came: settle it against the database once Redis answers.
                self._keeper.doubts.add(campaign.id, member.id)
                return ShakeResult(ShakeAnswer.NOT_THIS_TIME, campaign)
            early = _early_answer(reply, campaign)
            if early is not None:
                return early
        elif self.rng.random() >= self._chance(campaign):
            return ShakeResult(ShakeAnswer.LOST, campaign)
        settled = None
        try:
            settled = await self.store.settle_win(campaign_id, member, self.clock.now_ms())
        except StoreUnavailable:
            return ShakeResult(ShakeAnswer.NOT_THIS_TIME, campaign)
        finally:
            if settled is None:  # the win was not recorded (an outage, or a bug on its way up)
                await self._keeper.release(campaign_id, member.id)
        return await self._after_settle(settled, campaign, member)

    async def _after_settle(self, settled: Settled, campaign: Campaign, member: Member) -> ShakeResult:
        fresh = settled.campaign or campaign
        if settled.outcome is SettleOutcome.WON:
            if settled.ended is not None:
                await self._forget(campaign.id)
            else:
                self._campaigns[campaign.id] = fresh
            return ShakeResult(ShakeAnswer.WON, fresh, settled.win, settled.ended)
        await self._keeper.release(campaign.id, member.id)
        if settled.outcome is SettleOutcome.MAXED:
            return ShakeResult(ShakeAnswer.MAXED, fresh)
        if settled.outcome is SettleOutcome.NOT_FOUND:
            return ShakeResult(ShakeAnswer.NO_CAMPAIGN)
        self._campaigns[campaign.id] = fresh
        return ShakeResult(ShakeAnswer.OVER, fresh)

    async def _admit(self, campaign: Campaign, member: Member) -> GateReply:
        gate, doubts = self.gate, self._keeper.doubts
        assert gate is not None
        settled_once = False

        async def shake() -> GateReply | Retry:
            nonlocal settled_once
            win = self.rng.random() < self._chance(campaign)
            reply = await gate.shake(
                campaign.id, member.id, interval_ms=campaign.interval_ms,
                max_wins=campaign.max_wins, win=win,
            )
            if reply.verdict is Verdict.MISSING:
                return Retry.REBUILD
            if reply.verdict is Verdict.EMPTY and not settled_once and campaign.id in doubts:
                settled_once = True  # prizes that may be ours to give back: then shake again
                await doubts.settle(campaign.id)
                return Retry.AGAIN
            if (
                reply.verdict is Verdict.MAXED
                and self._shaking[(campaign.id, member.id)] == 1
                and await self.store.wins_of(campaign.id, member.id) < campaign.max_wins
            ):
                # The gate counted a win the database never saw and no shake of
                # this member is settling here (a shake whose answer was lost):
                # give it back and shake again.
                return Retry.GIVE_BACK
            if len(self._shakes_seen) > CAMPAIGN_CACHE_SIZE:
                self._shakes_seen.clear()  # only a hint for the win chance
            self._shakes_seen[campaign.id] = (reply.prizes_left, reply.shakes)
            return reply

        return await self._keeper.admit(campaign.id, member.id, shake)

    def _chance(self, campaign: Campaign) -> float:
        now = self.clock.now_ms()
        prizes_left, shakes = self._shakes_seen.get(campaign.id, (campaign.prizes_left, 0))
        return win_probability(
            prizes_left, shakes + 1, now - campaign.created_at, campaign.ends_at - now
        )

    async def _settle_round(self, campaign_id: str, member_ids: list[int]) -> bool:
        """Shakes in doubt (``core.doubts``): wins the gate counts for a member
        beyond the database's, with no shake of theirs running here, go back."""
        assert self.gate is not None
        state = await self.gate.state(campaign_id)
        if state is None:
            return False
        _, gate_wins = state
        for member_id in member_ids:
            if self._shaking[(campaign_id, member_id)]:
                continue
            excess = gate_wins.get(member_id, 0) - await self.store.wins_of(campaign_id, member_id)
            for _ in range(max(excess, 0)):
                await self.gate.release(campaign_id, member_id)
        return True

    async def _campaign(self, campaign_id: str) -> Campaign | None:
        cached = self._campaigns.get(campaign_id)
        if cached is not None:
            return cached
        campaign = await self.store.get_campaign(campaign_id)
        if campaign is not None:
            if len(self._campaigns) > CAMPAIGN_CACHE_SIZE:
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
            self._keeper.ttl_ms(campaign.ends_at),
        )

    # -- reading -------------------------------------------------------------

    async def lookup(self, campaign_id: str) -> Campaign | None:
        """The campaign, possibly from this process's cache (for routing, not for money)."""
        if not is_id(campaign_id):
            return None
        return await self._campaign(campaign_id)

    async def get(self, campaign_id: str) -> Campaign | None:
        if not is_id(campaign_id):
            return None
        return await self.store.get_campaign(campaign_id)

    async def wins(self, campaign_id: str) -> list[Win]:
        return await self.store.wins(campaign_id)

    async def live_campaigns(self) -> list[Campaign]:
        return await self.store.live_campaigns()

    # -- audit ---------------------------------------------------------------

    async def audit(self, *, repair: bool = True, ledger: bool = True) -> AuditReport:
        """Ledger checks of campaigns, every win recomputed from its seed, and the gate.

        ``ledger=False`` skips the SQL ledger checks, for callers that already ran
        them with the store's own ledger audit.
        """
        problems = await self.store.campaign_problems() if ledger else []
        report = AuditReport(problems=problems)
        campaigns = await self.store.all_campaigns()
        report.campaigns = len(campaigns)
        for campaign in campaigns:
            wins = await self.store.wins(campaign.id)
            report.problems.extend(campaign_problems(campaign, wins))
            if self.gate is not None and campaign.is_live:
                await self._audit_gate(campaign, wins, report, repair)
        return report

    async def _audit_gate(
        self, campaign: Campaign, wins: list[Win], report: AuditReport, repair: bool
    ) -> None:
        assert self.gate is not None
        state = await self._keeper.audit_state(campaign.id, self.gate.state(campaign.id), report)
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
        await self._keeper.drifted(campaign.id, note, report, repair=repair)


def _early_answer(reply: GateReply, campaign: Campaign) -> ShakeResult | None:
    if reply.verdict is Verdict.WIN:
        return None
    answers = {
        Verdict.LOSE: ShakeAnswer.LOST,
        Verdict.COOLDOWN: ShakeAnswer.COOLDOWN,
        Verdict.MAXED: ShakeAnswer.MAXED,
        Verdict.EMPTY: ShakeAnswer.OVER,
    }
    return ShakeResult(answers[reply.verdict], campaign, wait_ms=reply.wait_ms)

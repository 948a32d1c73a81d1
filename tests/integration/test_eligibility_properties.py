"""Random sequences of rule changes, joins, blocks, unlocks, presses and shakes: each is
refused exactly when the rules say so, and a refused press or shake holds no share,
no prize and no ticket (it changes neither the database nor the gate). Also the
pure rules and the facts cache."""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st

from core.eligibility import (
    DAY_MS,
    HOUR_MS,
    ChatRules,
    Eligibility,
    Reason,
    Refusal,
    RuleChoices,
    Standing,
    Traits,
    clean_phrase,
    may_send,
    may_take,
    normalize_phrase,
    phrase_matches,
    utc_day_start,
)
from core.errors import DomainError
from core.packets import Limits
from core.packets import Member
from core.services import PressAnswer, RedPackets
from core.shake import CampaignRequest, ShakeLimits
from core.shake_service import ShakeAnswer, ShakeService
from storage.gate.redis_gate import connect_gate
from storage.gate.shake_gate import RedisShakeGate
from storage.sqlite.campaigns import SqliteCampaigns
from storage.sqlite.standing import ChatStanding
from storage.sqlite.store import SqliteStore
from tests.conftest import FakeClock
from tests.integration.helpers import CHAT_ID, WELCOME_BONUS, lucky, member

MEMBERS = 5
PHRASE = "芝麻开门"
LIMITS = Limits(max_share=30_00, max_count=6, ttl_ms=48 * HOUR_MS)

rule_changes = st.tuples(
    st.just("rules"), st.sampled_from([None, 0, 1, 3]), st.sampled_from([None, False, True])
)
blocks = st.tuples(st.sampled_from(["block", "unblock"]), st.integers(0, MEMBERS - 1))
joins = st.tuples(st.just("join"), st.integers(0, MEMBERS - 1))
unlocks = st.tuples(st.just("unlock"), st.integers(0, MEMBERS - 1))
advances = st.tuples(st.just("advance"), st.sampled_from([60, 1800, 3600, 2 * 3600]))
presses = st.tuples(
    st.just("press"), st.integers(0, 1), st.integers(0, MEMBERS - 1), st.booleans()
)
shakes = st.tuples(st.just("shake"), st.integers(0, MEMBERS - 1), st.booleans())
operations = st.lists(
    st.one_of(rule_changes, blocks, joins, unlocks, advances, presses, presses, shakes),
    min_size=1, max_size=40,
)


class Model:
    """What the rules should decide, kept by hand."""

    def __init__(self) -> None:
        self.hours: int | None = None
        self.premium: bool | None = None
        self.blocked: set[int] = set()
        self.joined: dict[int, int] = {}
        self.unlocked: set[int] = set()

    def refusal(self, who: int, premium: bool, password: bool, now: int) -> Reason | None:
        if who in self.blocked:
            return Reason.BLOCKED
        hours = self.hours or 0
        if hours and who in self.joined and now < self.joined[who] + hours * HOUR_MS:
            return Reason.NEWCOMER
        if self.premium and not premium:
            return Reason.PREMIUM
        if password and who not in self.unlocked:
            return Reason.LOCKED
        return None


async def play(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        gate = connect_gate("")
        try:
            async with SqliteStore(Path(folder) / "p.db") as store:
                clock = FakeClock()
                eligibility = Eligibility(ChatStanding(store), ChatRules(), clock)
                service = RedPackets(
                    store, gate, clock=clock, limits=LIMITS, welcome_bonus=WELCOME_BONUS,
                    eligibility=eligibility,
                )
                shaker = ShakeService(
                    SqliteCampaigns(store), RedisShakeGate(gate.client), clock=clock,
                    limits=ShakeLimits(interval_ms=0, max_wins=1), rng=random.Random(7),
                    eligibility=eligibility,
                )
                sender = member(99)
                plain = await service.send(lucky(sender, 4, 20_00), key="plain")
                locked = await service.send(lucky(sender, 4, 20_00, phrase=PHRASE), key="locked")
                boss = Member(1, "Boss")
                await store.credit(boss, 50_00, kind="grant", key="g", memo="", now_ms=1)
                campaign = await shaker.start(
                    CampaignRequest(CHAT_ID, boss, 10_00, 3, 48 * HOUR_MS - 60_000), "start"
                )
                await run_operations(
                    service, shaker, eligibility, clock, ops, [plain.id, locked.id], campaign.id
                )
                report = await service.audit(repair=False)
                assert report.ok, report.problems
                shake_report = await shaker.audit(repair=False)  # the ledger, campaigns included
                assert shake_report.ok, shake_report.problems
        finally:
            await gate.aclose()


async def run_operations(
    service: RedPackets, shaker: ShakeService, eligibility: Eligibility, clock: FakeClock,
    ops: list[tuple[Any, ...]], packet_ids: list[str], campaign_id: str,
) -> None:
    model = Model()
    assert service.gate is not None
    for op in ops:
        match op:
            case ("rules", hours, premium):
                model.hours, model.premium = hours, premium
                await eligibility.set_choices(
                    CHAT_ID, RuleChoices(newcomer_hours=hours, premium_only=premium)
                )
            case ("block", who):
                model.blocked.add(member(who).id)
                await eligibility.block(CHAT_ID, member(who).id, "m", 1)
            case ("unblock", who):
                model.blocked.discard(member(who).id)
                await eligibility.unblock(CHAT_ID, member(who).id)
            case ("join", who):
                model.joined[member(who).id] = clock.now_ms()
                await eligibility.record_join(CHAT_ID, member(who).id)
            case ("unlock", who):
                model.unlocked.add(member(who).id)
                await eligibility.unlock(packet_ids[1], member(who).id)
            case ("advance", seconds):
                clock.advance(seconds)
            case ("press", index, who, premium):
                packet_id, presser = packet_ids[index], member(who)
                before = await snapshot(service, packet_id)
                result = await service.press(packet_id, presser, Traits(presser.id, premium))
                after = await snapshot(service, packet_id)
                expected = model.refusal(presser.id, premium, index == 1, clock.now_ms())
                if expected is None:
                    assert result.answer is not PressAnswer.REFUSED, result
                    continue
                assert result.answer is PressAnswer.REFUSED, (result, expected)
                assert result.refusal is not None and result.refusal.reason is expected
                assert after == before  # no share, no ticket, nothing moved
            case ("shake", who, premium):
                shaker_member = member(who)
                before = await shake_snapshot(shaker, campaign_id)
                shook = await shaker.shake(
                    campaign_id, shaker_member, Traits(shaker_member.id, premium)
                )
                after = await shake_snapshot(shaker, campaign_id)
                expected = model.refusal(shaker_member.id, premium, False, clock.now_ms())
                if expected is None:
                    assert shook.answer is not ShakeAnswer.REFUSED, shook
                    continue
                assert shook.answer is ShakeAnswer.REFUSED, (shook, expected)
                assert shook.refusal is not None and shook.refusal.reason is expected
                assert after == before  # no prize, no gate count, nothing moved


async def snapshot(service: RedPackets, packet_id: str) -> tuple[Any, ...]:
    assert service.gate is not None
    return await service.store.shares(packet_id), await service.gate.state(packet_id)


async def shake_snapshot(shaker: ShakeService, campaign_id: str) -> tuple[Any, ...]:
    assert shaker.gate is not None
    return await shaker.wins(campaign_id), await shaker.gate.state(campaign_id)


@settings(max_examples=40, deadline=None)
@given(ops=operations)
def test_a_refused_press_never_holds_a_share_or_a_ticket(ops: list[tuple[Any, ...]]) -> None:
    asyncio.run(play(ops))


# -- the pure rules ------------------------------------------------------------------


@given(st.text(max_size=40))
def test_normalizing_a_phrase_is_idempotent_and_ignores_case_and_width(text: str) -> None:
    once = normalize_phrase(text)
    assert normalize_phrase(once) == once
    assert normalize_phrase(text.upper()) == normalize_phrase(text.lower()) or not text.isascii()


def test_phrases_match_across_width_case_spaces_and_punctuation() -> None:
    assert phrase_matches("芝麻开门", "芝麻开门！")
    assert phrase_matches("芝麻，开门", " 芝麻开门 ")
    assert phrase_matches("Open Sesame", "ＯＰＥＮ　ｓｅｓａｍｅ")
    assert phrase_matches("open sesame", "open     sesame...")
    assert not phrase_matches("open sesame", "open sesame now")
    assert not phrase_matches("芝麻开门", "芝麻关门")
    assert not phrase_matches("!!!", "!!!")  # nothing to match: never unlocks


def test_a_phrase_is_refused_when_empty_or_too_long() -> None:
    for empty in ("", "   ", "!?。，"):
        try:
            clean_phrase(empty)
        except DomainError as error:
            assert error.key == "rules.phrase_empty"
        else:
            raise AssertionError(empty)
    try:
        clean_phrase("口" * 33)
    except DomainError as error:
        assert error.key == "rules.phrase_too_long"
    else:
        raise AssertionError("33 characters")
    assert clean_phrase("  open   sesame ") == "open sesame"


# -- the facts cache -------------------------------------------------------------------


class CountingStanding(ChatStanding):
    """The real adapter, counting its rule reads and able to hold one back."""

    def __init__(self, store: SqliteStore) -> None:
        super().__init__(store)
        self.reads = 0
        self.hold: asyncio.Event | None = None

    async def rule_choices(self, chat_id: int) -> RuleChoices:
        self.reads += 1
        choices = await super().rule_choices(chat_id)
        if self.hold is not None:
            await self.hold.wait()
        return choices


async def test_a_storm_of_presses_reads_the_rules_once_and_a_change_applies_next(
    tmp_path: Path,
) -> None:
    async with SqliteStore(tmp_path / "p.db") as store:
        clock = FakeClock()
        standing = CountingStanding(store)
        eligibility = Eligibility(standing, ChatRules(), clock)
        plain = Traits(1)
        refusals = await asyncio.gather(
            *(eligibility.refuse_shake(CHAT_ID, plain) for _ in range(200))
        )
        assert refusals == [None] * 200 and standing.reads == 1

        clock.advance(2)  # past the cache's life: one more read, held back
        standing.hold = asyncio.Event()
        stale = asyncio.ensure_future(eligibility.refuse_shake(CHAT_ID, plain))
        await asyncio.sleep(0.05)
        await eligibility.set_choices(CHAT_ID, RuleChoices(premium_only=True))
        standing.hold.set()
        await stale  # read before the change: may say either
        refusal = await eligibility.refuse_shake(CHAT_ID, plain)
        assert refusal is not None and refusal.reason is Reason.PREMIUM
        assert await eligibility.refuse_shake(CHAT_ID, Traits(2, is_premium=True)) is None


def test_the_send_rules_and_what_a_refusal_tells() -> None:
    now = 10 * HOUR_MS
    rules = ChatRules(newcomer_hours=2, daily_limit=10_00, personal=False)
    fresh = Standing(joined_at=now - HOUR_MS - 30 * 60_000 - 1)
    refusal = may_send(rules, fresh, now, total=1_00, sent_today=0, personal=False)
    assert refusal is not None and refusal.reason is Reason.NEWCOMER_SEND
    assert refusal.params == {"hours": 2, "left_h": 0, "left_m": 30}  # 29 min 59.999 s, rounded up
    known = Standing()  # never seen joining: established
    personal = may_send(rules, known, now, total=1_00, sent_today=0, personal=True)
    assert personal is not None and personal.reason is Reason.PERSONAL_OFF
    assert may_send(rules, known, now, total=4_00, sent_today=6_00, personal=False) is None
    over = may_send(rules, known, now, total=4_01, sent_today=6_00, personal=False)
    assert over is not None and over.reason is Reason.DAILY_LIMIT
    assert {k: int(v) for k, v in over.params.items()} == {
        "limit": 10_00, "sent": 6_00, "left": 4_00
    }
    assert may_take(Traits(1, is_bot=True), ChatRules(), known, now) == Refusal(Reason.BOT)
    assert utc_day_start(now + 3 * DAY_MS) == 3 * DAY_MS

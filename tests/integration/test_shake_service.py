"""The shake campaign's money path on SQLite and both gates (docs/rules.md §7)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from core.errors import DomainError, InsufficientFunds
from core.packets import Member
from core.services import RedPackets
from core.shake import CampaignRequest, CampaignStatus, Mode, ShakeLimits
from core.shake_service import ShakeAnswer, ShakeService
from storage.gate.redis_gate import RedisGate, connect_gate
from storage.gate.shake_gate import RedisShakeGate
from storage.stores import campaigns_for
from storage.sqlite.store import SqliteStore
from tests.conftest import FakeClock, assert_audit_clean, free_port
from tests.integration.helpers import assert_conserved, money

CHAT = -100_200
BOSS = Member(1, "Boss")


class Lucky(random.Random):
    """Every shake is drawn to win: what the gate and the database allow is under test."""

    def random(self) -> float:
        return 0.0


class Unlucky(random.Random):
    def random(self) -> float:
        return 0.999_999


def service(
    store: SqliteStore, gate: RedisGate | None, clock: FakeClock, *, rng: random.Random | None = None,
    interval_ms: int = 0, max_wins: int = 1, **kwargs: object,
) -> ShakeService:
    return ShakeService(
        campaigns_for(store),
        RedisShakeGate(gate.client) if gate is not None else None,
        clock=clock,
        limits=ShakeLimits(interval_ms=interval_ms, max_wins=max_wins),
        rng=rng or Lucky(),
        **kwargs,  # type: ignore[arg-type]
    )


async def fund(store: SqliteStore, member: Member, cents: int) -> None:
    await store.credit(member, cents, kind="grant", key=f"grant:{member.id}", memo="", now_ms=1)


async def assert_all_clean(packets: RedPackets, shakes: ShakeService) -> None:
    await assert_audit_clean(packets)
    await assert_conserved(packets.store)  # campaign escrow counts as escrow
    report = await shakes.audit(repair=False)
    assert report.ok, report.problems


def members(n: int, start: int = 10) -> list[Member]:
    return [Member(i, f"m{i}") for i in range(start, start + n)]


async def test_start_debits_the_funder_and_holds_the_pool_in_escrow(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 500_00)
    shakes = service(store, gate, clock)
    campaign = await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 20, 600_000), "start:1")
    again = await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 20, 600_000), "start:1")
    assert again.id == campaign.id  # a replayed update starts nothing new
    assert await store.balance(BOSS.id) == 400_00
    row = await store.fetchone("SELECT balance FROM accounts WHERE id = ?", (f"c:{campaign.id}",))
    assert row[0] == 100_00
    assert (await money(store)).campaign_escrow == 100_00
    assert (await shakes.status(CHAT)).id == campaign.id  # type: ignore[union-attr]
    await assert_all_clean(packets, shakes)


async def test_a_second_campaign_in_the_chat_is_refused_while_one_runs(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 500_00)
    shakes = service(store, gate, clock)
    await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 10), "a")
    with pytest.raises(DomainError) as refused:
        await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 10), "b")
    assert refused.value.key == "shake.error.running"
    assert await store.balance(BOSS.id) == 400_00
    await shakes.start(CampaignRequest(CHAT - 1, BOSS, 100_00, 10), "other chat")
    await shakes.stop(CHAT)
    await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 10), "c")  # allowed once it ended
    await assert_all_clean(packets, shakes)


async def test_refusals_move_no_money(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 30_00)
    shakes = service(store, gate, clock)
    with pytest.raises(InsufficientFunds):
        await shakes.start(CampaignRequest(CHAT, BOSS, 50_00, 10), "poor")
    with pytest.raises(DomainError) as small:
        await shakes.start(CampaignRequest(CHAT, BOSS, 10_00, 10), "small")
    assert small.value.key == "shake.error.pool_too_small"
    with pytest.raises(DomainError):
        await shakes.start(CampaignRequest(CHAT, BOSS, 10_00, 2, duration_ms=1_000), "short")
    assert await store.balance(BOSS.id) == 30_00
    assert await shakes.status(CHAT) is None
    await assert_all_clean(packets, shakes)


async def test_the_prizes_run_out_and_the_rest_is_refunded_once(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 500_00)
    shakes = service(store, gate, clock)
    campaign = await shakes.start(CampaignRequest(CHAT, BOSS, 200_00, 10, mode=Mode.BOUNDED), "s")
    results = await asyncio.gather(*(shakes.shake(campaign.id, m) for m in members(25)))
    answers = Counter(r.answer for r in results)
    assert answers[ShakeAnswer.WON] == 10 and answers[ShakeAnswer.OVER] == 15
    ended = [r.ended for r in results if r.ended is not None]
    assert len(ended) == 1
    final = ended[0]
    assert final.campaign.status is CampaignStatus.FINISHED
    paid = sum(w.amount for w in final.wins)
    assert final.refunded == 200_00 - paid
    assert await store.balance(BOSS.id) == 300_00 + final.refunded
    for result in results:
        if result.win is not None:
            assert await store.balance(result.win.member_id) == result.win.amount
    assert await shakes.stop(CHAT) is None  # nothing left to stop, nothing refunded twice
    await assert_all_clean(packets, shakes)


async def test_cooldown_and_win_limit_hold(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 500_00)
    cooling = service(store, gate, clock, interval_ms=60_000, max_wins=5)
    campaign = await cooling.start(CampaignRequest(CHAT, BOSS, 100_00, 20), "cool")
    both = await asyncio.gather(
        cooling.shake(campaign.id, Member(7, "A")), cooling.shake(campaign.id, Member(7, "A"))
    )
    # Either may reach the gate first (PostgreSQL reads run on a pool): one wins.
    first, second = sorted(both, key=lambda r: r.answer is not ShakeAnswer.WON)
    assert first.answer is ShakeAnswer.WON
    assert second.answer is ShakeAnswer.COOLDOWN and 0 < second.wait_ms <= 60_000
    await cooling.stop(CHAT)

    limited = service(store, gate, clock, interval_ms=0, max_wins=2)
    campaign = await limited.start(CampaignRequest(CHAT, BOSS, 100_00, 20), "limit")
    answers = [(await limited.shake(campaign.id, Member(8, "B"))).answer for _ in range(4)]
    assert answers == [ShakeAnswer.WON, ShakeAnswer.WON, ShakeAnswer.MAXED, ShakeAnswer.MAXED]
    assert len(await limited.wins(campaign.id)) == 2
    await assert_all_clean(packets, limited)


async def test_losing_shakes_pay_nothing(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 500_00)
    shakes = service(store, gate, clock, rng=Unlucky())
    clock.advance(1)
    campaign = await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 5, 3_600_000), "lose")
    # Enough shakes seen early that each one has a small chance.
    results = [await shakes.shake(campaign.id, m) for m in members(30)]
    assert {r.answer for r in results} == {ShakeAnswer.LOST}
    assert (await shakes.status(CHAT)).won_count == 0  # type: ignore[union-attr]
    await assert_all_clean(packets, shakes)


async def test_time_up_ends_the_campaign_from_the_database_once(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 500_00)
    shakes = service(store, gate, clock)
    campaign = await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 10, 120_000), "time")
    await shakes.shake(campaign.id, Member(5, "E"))
    clock.advance(121)
    # A fresh service, as after a restart: the database is all it knows.
    restarted = service(store, gate, clock)
    assert (await restarted.shake(campaign.id, Member(6, "F"))).answer is ShakeAnswer.OVER
    ended = await restarted.end_due()
    assert [e.campaign.id for e in ended] == [campaign.id]
    assert ended[0].campaign.status is CampaignStatus.EXPIRED
    assert ended[0].refunded == 100_00 - ended[0].wins[0].amount
    assert await restarted.end_due() == []
    assert await store.balance(BOSS.id) == 400_00 + ended[0].refunded
    await assert_all_clean(packets, restarted)


async def test_overload_answers_not_this_time_and_moves_nothing(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 500_00)
    shakes = service(store, gate, clock, max_in_flight=0)
    campaign = await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 10), "busy")
    result = await shakes.shake(campaign.id, Member(5, "E"))
    assert result.answer is ShakeAnswer.NOT_THIS_TIME
    assert (await shakes.status(CHAT)).won_count == 0  # type: ignore[union-attr]
    await assert_all_clean(packets, shakes)


async def test_redis_down_answers_not_this_time_and_nothing_is_half_made(
    store: SqliteStore, clock: FakeClock
) -> None:
    await fund(store, BOSS, 500_00)
    dead = connect_gate(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
    try:
        shakes = service(store, dead, clock, gate_timeout_s=0.5)
        campaign = await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 10), "down")
        results = [await shakes.shake(campaign.id, m) for m in members(3)]
        assert {r.answer for r in results} == {ShakeAnswer.NOT_THIS_TIME}
        assert (await shakes.status(CHAT)).won_count == 0  # type: ignore[union-attr]
        ended = await shakes.stop(CHAT)  # stopping needs only the database
        assert ended is not None and ended.refunded == 100_00
        assert await store.balance(BOSS.id) == 500_00
        packets = RedPackets(store, None, clock=clock)
        await assert_audit_clean(packets)
        report = await service(store, None, clock).audit(repair=False)
        assert report.ok, report.problems
    finally:
        await dead.aclose()


async def test_a_flushed_gate_is_rebuilt_from_the_database(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 500_00)
    shakes = service(store, gate, clock)
    campaign = await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 3), "flush")
    assert (await shakes.shake(campaign.id, Member(5, "E"))).answer is ShakeAnswer.WON
    await gate.client.flushdb()
    assert (await shakes.shake(campaign.id, Member(5, "E"))).answer is ShakeAnswer.MAXED
    assert (await shakes.shake(campaign.id, Member(6, "F"))).answer is ShakeAnswer.WON
    await assert_all_clean(packets, shakes)


async def test_the_database_refuses_what_a_wrong_gate_lets_through(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    await fund(store, BOSS, 500_00)
    shakes = service(store, gate, clock)
    campaign = await shakes.start(CampaignRequest(CHAT, BOSS, 100_00, 3), "wrong")
    assert (await shakes.shake(campaign.id, Member(5, "E"))).answer is ShakeAnswer.WON
    assert shakes.gate is not None
    await shakes.gate.reset(campaign.id)
    await shakes.gate.prime(campaign.id, 3, {}, 60_000)  # forgets the win and the prize
    assert (await shakes.shake(campaign.id, Member(5, "E"))).answer is ShakeAnswer.MAXED
    report = await shakes.audit(repair=True)  # the gate still counts 3 prizes: rebuilt
    assert report.ok and report.repaired
    assert await shakes.gate.state(campaign.id) == (2, {5: 1})
    await assert_all_clean(packets, shakes)

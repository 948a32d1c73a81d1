"""The gate machine packets and campaigns share (core.gatekeeping), on the embedded gate."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import GateUnavailable
from core.gatekeeping import ADMIT_ATTEMPTS, GATE_TTL_MARGIN_MS, AuditReport, Gatekeeper, Retry
from core.ports import Grab
from storage.gate.embedded import EmbeddedRedis
from storage.gate.redis_gate import RedisGate
from tests.clock import FakeClock

KEY = "AbCdEf1234"


async def _nothing_in_doubt(key: str, member_ids: list[int]) -> bool:
    return True


def keeper_on(gate: RedisGate, clock: FakeClock, rebuilt: list[str]) -> Gatekeeper:
    async def rebuild(key: str) -> None:
        rebuilt.append(key)
        await gate.prime(key, 2, (), 60_000)

    return Gatekeeper(
        gate, clock=clock, timeout_s=1.0, settle_round=_nothing_in_doubt, rebuild=rebuild
    )


async def test_admission_rebuilds_a_missing_gate_then_answers(clock: FakeClock) -> None:
    gate, rebuilt = RedisGate(EmbeddedRedis(), embedded=True), []
    keeper = keeper_on(gate, clock, rebuilt)

    async def grab() -> Grab | Retry:
        granted = await gate.grab(KEY, 7)
        return Retry.REBUILD if granted is Grab.MISSING else granted

    assert await keeper.admit(KEY, 7, grab) is Grab.GRANTED
    assert rebuilt == [KEY]


async def test_admission_gives_back_what_the_attempt_says_the_database_never_saw(
    clock: FakeClock,
) -> None:
    gate, rebuilt = RedisGate(EmbeddedRedis(), embedded=True), []
    keeper = keeper_on(gate, clock, rebuilt)
    await gate.prime(KEY, 1, (7,), 60_000)  # member 7 holds the only ticket, with no share
    seen: list[Grab] = []

    async def grab() -> Grab | Retry:
        granted = await gate.grab(KEY, 7)
        seen.append(granted)
        return Retry.GIVE_BACK if granted is Grab.HELD else granted

    assert await keeper.admit(KEY, 7, grab) is Grab.GRANTED
    assert seen == [Grab.HELD, Grab.GRANTED] and rebuilt == []


async def test_admission_gives_up_after_its_attempts(clock: FakeClock) -> None:
    keeper = keeper_on(RedisGate(EmbeddedRedis(), embedded=True), clock, [])
    calls = 0

    async def never_settles() -> Retry:
        nonlocal calls
        calls += 1
        return Retry.AGAIN

    with pytest.raises(GateUnavailable):
        await keeper.admit(KEY, 7, never_settles)
    assert calls == ADMIT_ATTEMPTS


async def test_quiet_calls_never_fail_the_caller(clock: FakeClock) -> None:
    keeper = Gatekeeper(
        None, clock=clock, timeout_s=0.01, settle_round=_nothing_in_doubt,
        rebuild=lambda key: asyncio.sleep(0),
    )

    async def down() -> None:
        raise GateUnavailable("down")

    assert await keeper.quietly(down()) is False
    assert await keeper.quietly(asyncio.Event().wait()) is False  # never answers
    assert await keeper.quietly(asyncio.sleep(0)) is True
    await keeper.release(KEY, 7)  # no gate: nothing to give back, nothing in doubt
    assert KEY not in keeper.doubts
    assert keeper.ttl_ms(clock.now_ms() + 5_000) == 5_000 + GATE_TTL_MARGIN_MS
    assert keeper.ttl_ms(clock.now_ms() - 5_000) == GATE_TTL_MARGIN_MS


def test_one_report_adds_up_packets_and_campaigns() -> None:
    report = AuditReport(problems=["a"], packets=3)
    report.add(AuditReport(repaired=["b"], campaigns=2))
    assert (report.problems, report.repaired, report.packets, report.campaigns) == (
        ["a"], ["b"], 3, 2
    )
    assert not report.ok and AuditReport().ok

"""A stalled Redis runs the grabs (and shakes) it had queued after their callers gave
up: those tickets go back soon, so members are never told "too slow" while shares
(or prizes) are left."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from core.packets import Member
from core.services import PressAnswer, RedPackets
from core.shake import CampaignRequest, ShakeLimits
from core.shake_service import ShakeAnswer
from core.shake_service import ShakeService
from storage.gate.redis_gate import RedisGate, connect_gate, holders_key
from storage.gate.shake_gate import RedisShakeGate
from storage.sqlite.campaigns import SqliteCampaigns
from storage.sqlite.store import SqliteStore
from tests.conftest import FakeClock, RedisServer, assert_audit_clean
from tests.integration.helpers import fund, lucky, member
from tests.integration.test_shake_service import Lucky


async def _settled(packets: RedPackets) -> None:
    await packets.idle()  # the background work (tickets in doubt) is done


async def test_grabs_run_late_by_a_stalled_redis_are_given_back(
    tmp_path: Path, own_redis: RedisServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    gate = connect_gate(own_redis.url, timeout_s=0.5)
    async with SqliteStore(tmp_path / "bot.db") as store:
        packets = RedPackets(store, gate, clock=clock, welcome_bonus=100_00, audit_grace_s=0.1)
        sender = member(0)
        await fund(packets, sender, 100_00)
        packet = await packets.send(lucky(sender, 30, 30_00), key="stall")
        early = await asyncio.gather(*(packets.press(packet.id, member(i)) for i in range(1, 11)))
        assert all(r.answer is PressAnswer.GOT for r in early)

        assert own_redis.process is not None
        own_redis.process.send_signal(signal.SIGSTOP)
        try:  # these grabs sit in Redis's socket buffers while their callers time out
            stalled = await asyncio.gather(
                *(packets.press(packet.id, member(i)) for i in range(11, 31))
            )
        finally:
            own_redis.process.send_signal(signal.SIGCONT)
        assert all(r.answer is PressAnswer.NOT_THIS_TIME for r in stalled)
        assert await gate.client.ping()  # awake: it ran what it had queued

        fresh = await asyncio.gather(*(packets.press(packet.id, member(i)) for i in range(31, 61)))
        got = [r for r in fresh if r.answer is PressAnswer.GOT]
        assert len(got) == 20, [r.answer for r in fresh]
        assert all(r.answer is PressAnswer.TOO_SLOW for r in fresh if r.answer is not PressAnswer.GOT)
        await _settled(packets)
        final = await store.get_packet(packet.id)
        assert final is not None and final.claimed_count == 30 and final.status == "finished"
        await assert_audit_clean(packets)
        await packets.aclose()
    outage = [r.getMessage() for r in caplog.records if r.name == "storage.gate"]
    assert len(outage) == 2, outage  # once when it starts, once when it ends
    assert "unreachable" in outage[0] and "is back" in outage[1]
    await gate.aclose()


async def test_a_ticket_leaked_by_another_process_is_given_back_soon(
    packets: RedPackets, gate: RedisGate
) -> None:
    sender = member(0)
    await fund(packets, sender, 10_00)
    packet = await packets.send(lucky(sender, 2, 2_00), key="leak")
    assert (await packets.press(packet.id, member(1))).answer is PressAnswer.GOT
    await gate.client.sadd(holders_key(packet.id), member(2).id)  # its open never landed

    assert (await packets.press(packet.id, member(3))).answer is PressAnswer.TOO_SLOW
    await _settled(packets)  # the "none left" the database contradicts is checked
    assert (await packets.press(packet.id, member(4))).answer is PressAnswer.GOT
    await assert_audit_clean(packets)


async def test_prizes_won_late_by_a_stalled_redis_are_given_back(
    tmp_path: Path, own_redis: RedisServer, clock: FakeClock
) -> None:
    gate = connect_gate(own_redis.url, timeout_s=0.5)
    async with SqliteStore(tmp_path / "bot.db") as store:
        boss = Member(1, "Boss")
        await store.credit(boss, 100_00, kind="grant", key="g", memo="", now_ms=1)
        shakes = ShakeService(
            SqliteCampaigns(store), RedisShakeGate(gate.client, gate.health), clock=clock,
            limits=ShakeLimits(interval_ms=0, max_wins=1), rng=Lucky(), gate_timeout_s=0.5,
        )
        campaign = await shakes.start(CampaignRequest(-5, boss, 30_00, 10), "stall")
        early = [await shakes.shake(campaign.id, member(i)) for i in range(1, 4)]
        assert all(r.answer is ShakeAnswer.WON for r in early)

        assert own_redis.process is not None
        own_redis.process.send_signal(signal.SIGSTOP)
        try:  # these shakes win prizes in Redis after their callers gave up
            stalled = await asyncio.gather(*(shakes.shake(campaign.id, member(i))
                                             for i in range(4, 11)))
        finally:
            own_redis.process.send_signal(signal.SIGCONT)
        assert all(r.answer is ShakeAnswer.NOT_THIS_TIME for r in stalled)
        assert await gate.client.ping()

        fresh = [await shakes.shake(campaign.id, member(i)) for i in range(11, 25)]
        assert sum(r.answer is ShakeAnswer.WON for r in fresh) == 7, [r.answer for r in fresh]
        await shakes.idle()
        report = await shakes.audit(repair=False)
        assert report.ok, report.problems
        await shakes.aclose()
    await gate.aclose()

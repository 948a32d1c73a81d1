"""Redis is admission control, SQLite is the truth: a flushed or stopped Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import random

from redis.asyncio import Redis

from core.services import PressAnswer, PressResult, RedPackets
from storage.gate.redis_gate import RedisGate, connect_gate
from storage.sqlite.store import SqliteStore
from tests.conftest import FakeClock, RedisServer, assert_audit_clean
from tests.integration.helpers import (
    WELCOME_BONUS,
    assert_conserved,
    fund,
    lucky,
    member,
    members,
    snapshot,
)

WAVE = 25


async def flush_everything(
    gate: RedisGate, redis_server: RedisServer | None, packet_id: str
) -> bool:
    """FLUSHALL from a second client (the embedded gate has only its own); True
    if the packet's keys were gone at that instant. Presses still running may
    rebuild the gate a moment later, so a real Redis is asked in the same
    transaction as the flush."""
    if gate.embedded or redis_server is None:
        await gate.client.flushall()
        return await gate.state(packet_id) is None
    other = Redis.from_url(redis_server.url)
    try:
        async with other.pipeline(transaction=True) as pipe:
            pipe.flushall()
            pipe.dbsize()
            _, left = await pipe.execute()
        return int(left) == 0
    finally:
        await other.aclose()


async def test_flushall_mid_storm_rebuilds_the_gate_and_never_oversells(
    packets: RedPackets, gate: RedisGate, redis_server: RedisServer | None
) -> None:
    sender = member(0)
    await fund(packets, sender, 1_000_00)
    packet = await packets.send(lucky(sender, 100, 250_00), key="flush-storm")
    crowd = members(500, start=1)
    order = [m for m in crowd for _ in range(2)]
    random.Random(3).shuffle(order)

    tasks: list[asyncio.Future[PressResult]] = []
    flushed_at_shares = None
    for start in range(0, len(order), WAVE):
        tasks += [asyncio.ensure_future(packets.press(packet.id, m)) for m in order[start:start + WAVE]]
        await asyncio.sleep(0.001)
        shares_now = len(await packets.store.shares(packet.id))
        # After two waves at most 50 presses exist, so the packet cannot be done yet.
        if flushed_at_shares is None and start >= WAVE:
            assert await flush_everything(gate, redis_server, packet.id)  # presses still running
            flushed_at_shares = shares_now
    results = await asyncio.gather(*tasks)

    assert flushed_at_shares is not None and flushed_at_shares < 100
    assert await gate.state(packet.id) is not None  # "missing" -> rebuilt from SQLite
    assert {r.answer for r in results} <= {PressAnswer.GOT, PressAnswer.ALREADY, PressAnswer.TOO_SLOW}
    assert sum(r.answer is PressAnswer.GOT for r in results) == 100
    found = await packets.packet_and_shares(packet.id)
    assert found is not None
    stored, shares = found
    assert stored.is_finished
    assert len(shares) == 100 and len({s.member_id for s in shares}) == 100
    assert sum(s.amount for s in shares) == 250_00
    for m in crowd:
        held = next((s.amount for s in shares if s.member_id == m.id), 0)
        assert await packets.store.balance(m.id) == held

    report = await packets.audit(repair=True)  # may rebuild a gate that drifted
    assert report.ok, report.problems
    await assert_conserved(packets.store)
    await assert_audit_clean(packets)



GATE_TIMEOUT_S = 0.5


async def test_redis_stopped_answers_not_this_time_then_recovers(
    own_redis: RedisServer, store: SqliteStore, clock: FakeClock
) -> None:
    gate = connect_gate(own_redis.url, timeout_s=GATE_TIMEOUT_S)
    service = RedPackets(
        store, gate, clock=clock, welcome_bonus=WELCOME_BONUS, gate_timeout_s=GATE_TIMEOUT_S
    )
    try:
        sender = member(0)
        await fund(service, sender, 1_000_00)
        packet = await service.send(lucky(sender, 30, 60_00), key="down-1")
        early = members(5, start=1)
        for m in early:
            assert (await service.press(packet.id, m)).answer is PressAnswer.GOT

        own_redis.stop()
        before = await snapshot(store)
        crowd = members(40, start=10)
        # Each press waits at most the gate's socket timeout; a hang would trip
        # pytest-timeout. Speed is measured by `redpacket bench`, never asserted.
        results = await asyncio.gather(*(service.press(packet.id, m) for m in crowd))

        assert {r.answer for r in results} == {PressAnswer.NOT_THIS_TIME}
        # A packet sent while Redis is down is still created (the gate comes later).
        while_down = await service.send(lucky(sender, 3, 3_00), key="down-2")
        assert (await service.press(while_down.id, crowd[0])).answer is PressAnswer.NOT_THIS_TIME
        after = await snapshot(store)
        assert after.shares == before.shares
        assert after.transfers == before.transfers + 1  # only the second send
        assert {k: v for k, v in after.accounts.items() if not k.startswith("p:")} == {
            **{k: v for k, v in before.accounts.items() if not k.startswith("p:")},
            f"w:{sender.id}": before.accounts[f"w:{sender.id}"] - 3_00,
        }
        for m in crowd:
            assert await store.share_of(packet.id, m.id) is None
            assert await store.balance(m.id) == 0

        own_redis.start()  # same port, empty: every gate is rebuilt from the database
        results = await asyncio.gather(*(service.press(packet.id, m) for m in early + crowd))
        assert [r.answer for r in results[: len(early)]] == [PressAnswer.ALREADY] * len(early)
        assert sum(r.answer is PressAnswer.GOT for r in results) == 25
        assert {r.answer for r in results} <= {PressAnswer.GOT, PressAnswer.ALREADY, PressAnswer.TOO_SLOW}
        assert (await service.press(while_down.id, crowd[0])).answer is PressAnswer.GOT
        stored = await store.get_packet(packet.id)
        assert stored is not None and stored.is_finished
        state = await gate.state(while_down.id)
        assert state is not None and state.tickets == 2 and state.holders == {crowd[0].id}

        report = await service.audit(repair=True)
        assert report.ok, report.problems
        await assert_conserved(store)
        await assert_audit_clean(service)
    finally:
        await gate.aclose()


async def test_frozen_redis_answers_not_this_time_and_the_audit_mends_the_gate(
    own_redis: RedisServer, store: SqliteStore, clock: FakeClock
) -> None:
    """A redis-server that hangs (SIGSTOP) rather than dies: the socket timeout bounds a press."""
    gate = connect_gate(own_redis.url, timeout_s=GATE_TIMEOUT_S)
    service = RedPackets(
        store, gate, clock=clock, welcome_bonus=WELCOME_BONUS, gate_timeout_s=GATE_TIMEOUT_S
    )
    try:
        packet = await service.send(lucky(member(0), 10, 10_00), key="frozen")
        assert (await service.press(packet.id, member(1))).answer is PressAnswer.GOT
        assert own_redis.process is not None
        before = await snapshot(store)
        os.kill(own_redis.process.pid, signal.SIGSTOP)
        try:
            results = await asyncio.gather(
                *(service.press(packet.id, m) for m in members(20, start=10))
            )
        finally:
            os.kill(own_redis.process.pid, signal.SIGCONT)
        assert {r.answer for r in results} == {PressAnswer.NOT_THIS_TIME}
        assert await snapshot(store) == before

        # Grabs Redis read before it froze may have taken tickets nobody opened:
        # the audit rebuilds the gate from the database, then all 9 shares are there.
        report = await service.audit(repair=True)
        assert report.ok, report.problems
        results = await asyncio.gather(*(service.press(packet.id, m) for m in members(30, start=10)))
        assert sum(r.answer is PressAnswer.GOT for r in results) == 9
        stored = await store.get_packet(packet.id)
        assert stored is not None and stored.is_finished
        await assert_conserved(store)
        await assert_audit_clean(service)
    finally:
        await gate.aclose()

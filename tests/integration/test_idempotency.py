"""Replays move money once: sends by key, presses, double taps, two sweepers."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from core import services
from core.ports import Grab
from core.services import PressAnswer, RedPackets
from storage.gate.redis_gate import RedisGate
from storage.sqlite.store import SqliteStore
from storage.stores import store_for
from tests.conftest import FakeClock, assert_audit_clean
from tests.integration.helpers import (
    WELCOME_BONUS,
    assert_conserved,
    fund,
    lucky,
    member,
    members,
    snapshot,
)


async def count(store: SqliteStore, sql: str, *params: object) -> int:
    (n,) = await store.fetchone(sql, params)
    return n


async def test_send_replayed_with_same_key_moves_money_once(packets: RedPackets) -> None:
    sender = member(0)
    request = lucky(sender, 5, 20_00)
    first = await packets.send(request, key="update-1")
    again = await packets.send(request, key="update-1")
    assert again.id == first.id
    assert await packets.store.balance(sender.id) == WELCOME_BONUS - 20_00
    assert await count(packets.store, "SELECT COUNT(*) FROM packets") == 1
    assert await count(packets.store, "SELECT COUNT(*) FROM transfers WHERE kind = 'send'") == 1
    await assert_audit_clean(packets)


async def test_send_replayed_concurrently_moves_money_once(packets: RedPackets) -> None:
    sender = member(0)
    await packets.greet(sender)
    sent = await asyncio.gather(*(packets.send(lucky(sender, 3, 9_00), key="dup") for _ in range(8)))
    assert len({p.id for p in sent}) == 1
    assert await packets.store.balance(sender.id) == WELCOME_BONUS - 9_00
    assert await count(packets.store, "SELECT COUNT(*) FROM packets") == 1
    # The packet that was created is live and pressable: its gate was primed once.
    assert (await packets.press(sent[0].id, member(1))).answer is PressAnswer.GOT
    await assert_audit_clean(packets)


async def test_different_keys_are_different_packets(packets: RedPackets) -> None:
    sender = member(0)
    a = await packets.send(lucky(sender, 2, 3_00), key="k-a")
    b = await packets.send(lucky(sender, 2, 3_00), key="k-b")
    assert a.id != b.id
    assert await packets.store.balance(sender.id) == WELCOME_BONUS - 6_00
    await assert_audit_clean(packets)


async def test_press_replayed_sequentially_moves_money_once(packets: RedPackets) -> None:
    sender, taker = member(0), member(1)
    packet = await packets.send(lucky(sender, 3, 10_00), key="seq")
    first = await packets.press(packet.id, taker)
    assert first.answer is PressAnswer.GOT and first.share is not None
    before = await snapshot(packets.store)
    for _ in range(5):
        again = await packets.press(packet.id, taker)
        assert again.answer is PressAnswer.ALREADY
        assert again.share == first.share
    assert await snapshot(packets.store) == before
    assert await packets.store.balance(taker.id) == first.share.amount
    await assert_audit_clean(packets)


async def test_double_tap_moves_money_once(packets: RedPackets) -> None:
    sender, taker = member(0), member(1)
    packet = await packets.send(lucky(sender, 3, 10_00), key="tap")
    results = await asyncio.gather(*(packets.press(packet.id, taker) for _ in range(6)))
    assert sorted(r.answer for r in results) == sorted([PressAnswer.GOT] + [PressAnswer.ALREADY] * 5)
    shares = {r.share for r in results}
    assert len(shares) == 1
    (share,) = shares
    assert share is not None
    assert await packets.store.balance(taker.id) == share.amount
    assert await count(packets.store, "SELECT COUNT(*) FROM shares") == 1
    await assert_audit_clean(packets)


class CountedGate:
    """The real gate, counting the grabs each member makes through it."""

    def __init__(self, gate: RedisGate) -> None:
        self.gate = gate
        self.grabs: Counter[int] = Counter()

    async def grab(self, packet_id: str, member_id: int) -> Grab:
        self.grabs[member_id] += 1
        return await self.gate.grab(packet_id, member_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gate, name)


async def test_a_cancelled_double_tap_leaves_the_first_press_its_answer(
    store: SqliteStore, gate: RedisGate, clock: FakeClock
) -> None:
    """A second tap whose handler is cancelled must not take the first press's amount away;
    the taps made while the first is in flight wait for it and never reach the gate."""
    counted = CountedGate(gate)
    packets = RedPackets(
        store, counted, clock=clock, welcome_bonus=WELCOME_BONUS  # type: ignore[arg-type]
    )
    packet = await packets.send(lucky(member(0), 3, 10_00), key="cancelled-tap")
    taker = member(1)
    first = asyncio.ensure_future(packets.press(packet.id, taker))
    await asyncio.sleep(0)  # the first press is in flight
    second = asyncio.ensure_future(packets.press(packet.id, taker))
    third = asyncio.ensure_future(packets.press(packet.id, taker))
    await asyncio.sleep(0)  # both wait on the first
    second.cancel()
    result = await first
    assert result.answer is PressAnswer.GOT and result.share is not None
    assert second.cancelled()
    waited = await third
    assert waited.answer is PressAnswer.ALREADY and waited.share == result.share
    assert counted.grabs[taker.id] == 1  # one grab for three taps
    again = await packets.press(packet.id, taker)
    assert again.answer is PressAnswer.ALREADY and again.share == result.share
    assert await packets.store.balance(taker.id) == result.share.amount
    await assert_audit_clean(packets)


async def test_double_tap_across_two_bot_instances_moves_money_once(
    store: SqliteStore, gate: RedisGate, clock: FakeClock
) -> None:
    """Two RedPackets (two workers) over one store and one gate: no shared in-flight map."""
    one = RedPackets(store, gate, clock=clock, welcome_bonus=WELCOME_BONUS)
    two = RedPackets(store, gate, clock=clock, welcome_bonus=WELCOME_BONUS)
    sender = member(0)
    packet = await one.send(lucky(sender, 2, 10_00), key="two-workers")
    crowd = members(6, start=1)
    results = await asyncio.gather(
        *(svc.press(packet.id, m) for m in crowd for svc in (one, two) for _ in range(2))
    )
    assert {r.answer for r in results} <= {PressAnswer.GOT, PressAnswer.ALREADY, PressAnswer.TOO_SLOW}
    assert sum(r.answer is PressAnswer.GOT for r in results) == 2
    shares = await store.shares(packet.id)
    assert len(shares) == 2 and len({s.member_id for s in shares}) == 2
    for m in crowd:
        held = next((s.amount for s in shares if s.member_id == m.id), 0)
        assert await store.balance(m.id) == held
    await assert_audit_clean(one)


async def test_two_expiry_sweepers_refund_once(
    database_url: str, store: SqliteStore, clock: FakeClock, gate: RedisGate
) -> None:
    service = RedPackets(store, gate, clock=clock, welcome_bonus=WELCOME_BONUS)
    senders = members(3)
    for s in senders:
        await fund(service, s, 500_00)
    sent = []
    for n in range(9):
        p = await service.send(lucky(senders[n % 3], 4, 4_00 + n), key=f"sweep-{n}")
        for m in members(n % 4, start=10):
            await service.press(p.id, m)
        sent.append(await store.get_packet(p.id))
    before = {s.id: await store.balance(s.id) for s in senders}
    clock.advance(25 * 3600)

    async with store_for(database_url) as other_store:
        other = RedPackets(other_store, gate, clock=clock, welcome_bonus=WELCOME_BONUS)
        first, second = await asyncio.gather(service.expire_due(), other.expire_due())
        third = await other.expire_due()

    refunds = first + second
    assert third == []
    assert sorted(r.packet.id for r in refunds) == sorted(p.id for p in sent if p is not None)
    for s in senders:
        owed = sum(p.total - p.claimed_amount for p in sent if p and p.sender_id == s.id)
        assert await store.balance(s.id) == before[s.id] + owed
    assert await count(store, "SELECT COUNT(*) FROM transfers WHERE kind = 'refund'") == len(sent)
    await assert_conserved(store)
    await assert_audit_clean(service)


async def test_double_tap_across_two_instances_keeps_a_live_gate_exact(
    store: SqliteStore, gate: RedisGate, clock: FakeClock
) -> None:
    """The second worker's spare grab must not hand back the ticket the share stands for."""
    one = RedPackets(store, gate, clock=clock, welcome_bonus=WELCOME_BONUS)
    two = RedPackets(store, gate, clock=clock, welcome_bonus=WELCOME_BONUS)
    packet = await one.send(lucky(member(0), 5, 10_00), key="live-gate")
    tappers = members(3, start=1)
    results = await asyncio.gather(
        *(svc.press(packet.id, m) for m in tappers for svc in (one, two, one, two))
    )
    assert sum(r.answer is PressAnswer.GOT for r in results) == 3
    assert {r.answer for r in results} == {PressAnswer.GOT, PressAnswer.ALREADY}
    state = await gate.state(packet.id)
    assert state is not None
    assert (state.tickets, state.holders) == (2, frozenset(m.id for m in tappers))
    await assert_audit_clean(one)  # no repair: the gate agrees by itself


async def test_members_greeted_past_the_remembered_bound_get_the_welcome_once(
    packets: RedPackets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set of greeted members is bounded; forgetting one asks the store again,
    which pays the welcome bonus once per member all the same."""
    monkeypatch.setattr(services, "GREETED_REMEMBERED", 2)
    crowd = members(5, start=1)
    assert [await packets.greet(m) for m in crowd] == [True] * 5
    assert [await packets.greet(m) for m in crowd] == [False] * 5
    for m in crowd:
        assert await packets.store.balance(m.id) == packets.welcome_bonus
    await assert_audit_clean(packets)


async def test_a_crowd_greeted_in_one_write_gets_the_welcome_once_each(
    packets: RedPackets,
) -> None:
    """``greet_many``: one write for the crowd; the new ones said; a member already
    stored (greeted alone before) keeps one bonus; again, nothing moves."""
    crowd = members(40, start=100)
    assert await packets.greet(crowd[3]) is True
    writes = packets.store.writer.writes if hasattr(packets.store, "writer") else None
    fresh = await packets.greet_many([*crowd, crowd[0], crowd[5]])  # twice in the list: once
    assert fresh == {m.id for m in crowd} - {crowd[3].id}
    if writes is not None:
        assert packets.store.writer.writes == writes + 1  # all of them in one write
    packets._greeted.clear()  # as after a restart: the store decides
    assert await packets.greet_many(crowd) == set()
    assert await packets.greet_many([]) == set()
    for m in crowd:
        assert await packets.store.balance(m.id) == packets.welcome_bonus
    (welcomes,) = await packets.store.fetchone(
        "SELECT COUNT(*) FROM transfers WHERE kind = 'welcome'")
    assert welcomes == len(crowd)
    await assert_audit_clean(packets)


async def test_a_greeting_without_bonus_stores_the_members(packets: RedPackets) -> None:
    crowd = members(3, start=300)
    assert await packets.store.greet_many(crowd, 0, 1) == [True, True, True]
    assert await packets.store.greet_many(crowd, 0, 2) == [False, False, False]
    (stored,) = await packets.store.fetchone(
        "SELECT COUNT(*) FROM members WHERE id BETWEEN ? AND ?", (crowd[0].id, crowd[-1].id))
    assert stored == 3
    await assert_audit_clean(packets)

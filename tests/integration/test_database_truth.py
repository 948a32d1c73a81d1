"""The database alone (SQLite or PostgreSQL) refuses overselling, and the audit catches a tampered ledger or gate."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from core.services import PressAnswer, RedPackets
from storage.gate.redis_gate import RedisGate, capacity_key
from storage.sqlite.store import SqliteStore
from tests.conftest import FakeClock, assert_audit_clean
from tests.integration.raw import CHECK_FAILED, IntegrityErrors, raw_sql
from tests.integration.helpers import (
    WELCOME_BONUS,
    assert_conserved,
    fixed,
    fund,
    lucky,
    member,
    members,
    storm,
)


async def test_without_a_gate_the_database_alone_stops_overselling(
    store: SqliteStore, clock: FakeClock
) -> None:
    service = RedPackets(store, None, clock=clock, welcome_bonus=WELCOME_BONUS)
    packet = await service.send(lucky(member(0), 10, 10_00), key="no-gate")
    crowd = members(500, start=1)

    results = await storm(service, packet.id, crowd, presses_each=1)

    assert sum(r.answer is PressAnswer.GOT for _, r in results) == 10
    assert {r.answer for _, r in results} == {PressAnswer.GOT, PressAnswer.TOO_SLOW}
    shares = await store.shares(packet.id)
    assert len(shares) == 10 and len({s.member_id for s in shares}) == 10
    assert sum(s.amount for s in shares) == 10_00
    await assert_conserved(store)
    await assert_audit_clean(service)


async def test_the_database_refuses_an_eleventh_share_or_one_beyond_the_total(
    store: SqliteStore, clock: FakeClock, database_url: str
) -> None:
    service = RedPackets(store, None, clock=clock, welcome_bonus=WELCOME_BONUS)
    full = await service.send(fixed(member(0), 10, 1_00), key="full")
    for m in members(10, start=1):
        assert (await service.press(full.id, m)).answer is PressAnswer.GOT
    open_ = await service.send(lucky(member(0), 5, 10_00), key="open")
    taken = await service.press(open_.id, member(1))
    assert taken.share is not None
    now = clock.now_ms()

    with raw_sql(database_url) as conn:
        insert = (
            "INSERT INTO shares(packet_id, position, member_id, member_name, amount, taken_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        with pytest.raises(IntegrityErrors, match="next one of a live packet"):
            conn.execute(insert, (full.id, 11, 99, "eleventh", 1, now))
        with pytest.raises(IntegrityErrors, match=CHECK_FAILED):
            conn.execute(insert, (open_.id, 2, 99, "greedy", 10_00 - taken.share.amount + 1, now))
        with pytest.raises(IntegrityErrors, match="next one of a live packet"):
            conn.execute(insert, (open_.id, 3, 99, "out of order", 1, now))
        with pytest.raises(IntegrityErrors):  # one share per member per packet
            conn.execute(insert, (open_.id, 2, member(1).id, "twice", 1, now))
        with pytest.raises(IntegrityErrors):  # position taken
            conn.execute(insert, (open_.id, 1, 98, "same slot", 1, now))
        # Even a live packet whose counters say "full" refuses one more share.
        conn.execute("UPDATE packets SET status = 'live' WHERE id = ?", (full.id,))
        with pytest.raises(IntegrityErrors, match=CHECK_FAILED):
            conn.execute(insert, (full.id, 11, 99, "eleventh", 1, now))
        conn.execute("UPDATE packets SET status = 'finished' WHERE id = ?", (full.id,))
        with pytest.raises(IntegrityErrors):  # counters cannot pass count or total
            conn.execute("UPDATE packets SET claimed_count = count + 1 WHERE id = ?", (full.id,))
        with pytest.raises(IntegrityErrors):
            conn.execute("UPDATE packets SET claimed_amount = total + 1 WHERE id = ?", (open_.id,))
        with pytest.raises(IntegrityErrors):  # wallets never go below zero
            conn.execute("UPDATE accounts SET balance = -1 WHERE id = ?", (f"w:{member(1).id}",))
        with pytest.raises(IntegrityErrors, match="shares cannot change"):
            conn.execute("UPDATE shares SET amount = amount + 1 WHERE packet_id = ?", (open_.id,))

    assert len(await store.shares(full.id)) == 10
    assert len(await store.shares(open_.id)) == 1
    await assert_audit_clean(service)


async def finished_run(service: RedPackets) -> str:
    """A clean run to tamper with: one finished packet, one half taken."""
    sender = member(0)
    await fund(service, sender, 500_00)
    done = await service.send(lucky(sender, 4, 20_00), key="done")
    for m in members(4, start=1):
        await service.press(done.id, m)
    live = await service.send(lucky(sender, 6, 30_00), key="live")
    for m in members(3, start=1):
        await service.press(live.id, m)
    await assert_audit_clean(service)
    return done.id


async def test_audit_reports_a_tampered_wallet(packets: RedPackets, database_url: str) -> None:
    await finished_run(packets)
    with raw_sql(database_url) as conn:
        conn.execute("UPDATE accounts SET balance = balance + 500 WHERE id = ?", (f"w:{member(2).id}",))
    report = await packets.audit(repair=True)
    assert not report.ok
    assert any("does not balance" in p for p in report.problems), report.problems
    assert any(f"w:{member(2).id}" in p for p in report.problems), report.problems


async def test_audit_reports_a_tampered_share(packets: RedPackets, database_url: str) -> None:
    done_id = await finished_run(packets)
    with raw_sql(database_url) as conn:
        conn.without_share_triggers(
            "UPDATE shares SET amount = CASE amount WHEN 1 THEN 2 ELSE amount - 1 END"
            " WHERE packet_id = ? AND position = 2",
            (done_id,),
        )
    report = await packets.audit(repair=True)
    assert not report.ok
    assert any(f"packet {done_id}: share 2 is" in p for p in report.problems), report.problems
    assert any(f"packet {done_id}: shares add up to" in p for p in report.problems), report.problems


async def test_audit_reports_a_share_moved_to_another_member(
    packets: RedPackets, database_url: str
) -> None:
    done_id = await finished_run(packets)
    with raw_sql(database_url) as conn:
        conn.without_share_triggers(
            "UPDATE shares SET member_id = 4242, member_name = 'thief'"
            " WHERE packet_id = ? AND position = 1",
            (done_id,),
        )
    report = await packets.audit(repair=False)
    assert not report.ok
    assert any("share 1 paid to 4242" in p for p in report.problems), report.problems


async def test_a_gate_that_disagrees_is_reported_then_repaired(
    packets: RedPackets, gate: RedisGate
) -> None:
    await finished_run(packets)
    live = next(p for p in await packets.store.live_packets())
    await gate.client.set(capacity_key(live.id), 8)  # 5 left; the database says 3

    report = await packets.audit(repair=False)
    assert not report.ok
    assert any(f"gate of {live.id} disagreed" in p for p in report.problems), report.problems

    report = await packets.audit(repair=True)
    assert report.ok, report.problems
    assert any(f"gate of {live.id} disagreed" in r for r in report.repaired), report.repaired
    state = await gate.state(live.id)
    assert state is not None and state.tickets == 3 and len(state.holders) == 3
    await assert_audit_clean(packets)

    # The repaired gate admits exactly the three shares that are left.
    results = await asyncio.gather(*(packets.press(live.id, m) for m in members(10, start=20)))
    assert sum(r.answer is PressAnswer.GOT for r in results) == 3
    assert len(await packets.store.shares(live.id)) == 6
    await assert_audit_clean(packets)


async def test_a_gate_missing_a_holder_is_repaired(packets: RedPackets, gate: RedisGate) -> None:
    await finished_run(packets)
    live = next(p for p in await packets.store.live_packets())
    await gate.client.srem(f"rp:{{{live.id}}}:h", member(1).id)
    report = await packets.audit(repair=False)
    assert any(f"gate of {live.id} disagreed" in p for p in report.problems), report.problems
    assert (await packets.audit(repair=True)).repaired
    assert (await packets.press(live.id, member(1))).answer is PressAnswer.ALREADY
    await assert_audit_clean(packets)


async def test_a_store_that_cannot_open_leaves_no_thread_behind(tmp_path: Path) -> None:
    """A leftover aiosqlite thread would keep the bot process from ever exiting."""
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(b"this is not an SQLite file" * 200)
    threads_before = set(threading.enumerate())
    with pytest.raises(sqlite3.DatabaseError):
        async with SqliteStore(garbage):
            pass
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(5)  # a closed connection's thread ends on its own
        assert not thread.is_alive(), thread


async def test_audit_reports_a_share_paid_from_somewhere_else_than_its_packet(
    packets: RedPackets, database_url: str
) -> None:
    """The share-source check: the transfer of a share must come out of its packet's escrow."""
    done_id = await finished_run(packets)
    with raw_sql(database_url) as conn:
        conn.execute(
            "UPDATE transfers SET src = 'mint' WHERE key = ?", (f"share:{done_id}:1",)
        )
    report = await packets.audit(repair=False)
    assert not report.ok
    assert any(f"packet {done_id}: share 1 paid to" in p for p in report.problems), report.problems

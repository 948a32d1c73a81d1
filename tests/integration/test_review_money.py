"""An auditor's review of the money paths: each test is one hole that was found."""

from __future__ import annotations

import asyncio
import random
import secrets
from typing import Any

from core.allocation import Rule
from core.packets import Kind, Member, Packet
from core.services import PressAnswer, RedPackets
from core.shake import CampaignRequest, ShakeLimits
from core.shake_service import ShakeAnswer
from core.ports import GateReply, Verdict
from core.shake_service import ShakeService
from storage.gate.redis_gate import RedisGate
from storage.gate.scripts import lua
from storage.gate.shake_gate import RedisShakeGate
from storage.stores import campaigns_for
from storage.postgres import store as pg_store
from storage.postgres.store import PostgresStore
from storage.sqlite import store as sqlite_store
from storage.sqlite.store import SqliteStore
from tests.conftest import FakeClock, assert_audit_clean
from tests.integration.helpers import CHAT_ID, fund, lucky, member, members
from tests.integration.raw import IntegrityErrors, raw_write


def ledger_transfer(store: object) -> Any:
    """The store's own ``transfer`` (a write function of its engine's connection)."""
    return pg_store.transfer if isinstance(store, PostgresStore) else sqlite_store.transfer


class Lucky(random.Random):
    """Every shake is drawn to win."""

    def random(self) -> float:
        return 0.0


async def audit_problems(packets: RedPackets) -> list[str]:
    return (await packets.audit(repair=False)).problems


# -- the gate's pipeline ------------------------------------------------------


async def test_a_script_reload_never_runs_a_winning_shake_twice(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    """Redis knows the shake script but not the release script yet (a fresh
    Redis, or the first release of its life). A batch holding a winning shake
    and a release used to be sent again whole after NOSCRIPT: the shake ran
    twice, took a second prize ticket and a second win, and its member was told
    "you have won the most" while their prize was never paid."""
    boss, winner, other = Member(1, "Boss"), Member(2, "Winner"), Member(3, "Other")
    await store.credit(boss, 100_00, kind="grant", key="grant:boss", memo="", now_ms=1)
    shake_gate = RedisShakeGate(gate.client)
    shakes = ShakeService(
        campaigns_for(store), shake_gate, clock=clock, rng=Lucky(),
        limits=ShakeLimits(interval_ms=0, max_wins=1),
    )
    campaign = await shakes.start(CampaignRequest(CHAT_ID, boss, 20_00, 5, 600_000), "start")
    await gate.client.script_flush()
    await gate.client.script_load(lua("shake"))

    reply, _ = await asyncio.gather(
        shake_gate.shake(campaign.id, winner.id, interval_ms=0, max_wins=1, win=True),
        shake_gate.release(campaign.id, other.id),
    )

    assert reply.verdict is Verdict.WIN
    assert await shake_gate.state(campaign.id) == (4, {winner.id: 1})
    settled = await shakes.store.settle_win(campaign.id, winner, clock.now_ms())
    assert await store.balance(winner.id) == settled.win.amount  # type: ignore[union-attr]
    report = await shakes.audit(repair=False)
    assert report.ok, report.problems
    await assert_audit_clean(packets)


async def test_a_script_reload_never_grabs_twice(
    gate: RedisGate, packets: RedPackets
) -> None:
    """The same for the packet gate: a grab sent twice finds its own ticket."""
    sender = member(0)
    await fund(packets, sender, 10_00)
    packet = await packets.send(lucky(sender, 3, 3_00), key="reload")
    await gate.client.script_flush()
    await gate.client.script_load(lua("grab"))
    grabber, other = member(1), member(2)

    grab, _ = await asyncio.gather(
        gate.grab(packet.id, grabber.id), gate.release(packet.id, other.id)
    )

    assert grab.value == "granted"
    assert (await packets.press(packet.id, grabber)).answer is PressAnswer.GOT
    await assert_audit_clean(packets)


# -- the audit ------------------------------------------------------------------


async def test_the_audit_sees_a_send_that_debited_nobody(packets: RedPackets) -> None:
    """Money created: the packet's escrow was filled from the mint, not the sender."""
    sender = member(0)
    await fund(packets, sender, 10_00)
    packet = await packets.send(lucky(sender, 2, 5_00), key="minted")
    await assert_audit_clean(packets)

    await raw_write(
        packets.store,
        ("UPDATE transfers SET src = 'mint' WHERE key = ?", (f"send:{packet.id}",)),
        ("UPDATE accounts SET balance = balance + 500 WHERE id = ?", (f"w:{sender.id}",)),
        ("UPDATE accounts SET balance = balance - 500 WHERE id = 'mint'", ()),
    )
    assert any(packet.id in p for p in await audit_problems(packets))


async def test_the_audit_sees_money_left_in_a_finished_packet(
    store: SqliteStore, packets: RedPackets, clock: FakeClock
) -> None:
    """Money lost: a finished packet whose shares do not add up to its total
    keeps the rest in escrow for ever, and nothing refunds a finished packet."""
    sender = member(0)
    await fund(packets, sender, 10_00)
    now = clock.now_ms()
    odd = Packet(
        id="OddFixed01", chat_id=CHAT_ID, sender_id=sender.id, sender_name=sender.name,
        kind=Kind.FIXED, rule=Rule.FIXED, total=10, count=3, greeting="", created_at=now,
        expires_at=now + 60_000, cap=20_000, seed=secrets.token_bytes(16),
    )
    await store.create_packet(odd, "odd")
    for m in members(3, start=1):
        assert (await packets.press(odd.id, m)).answer is PressAnswer.GOT
    assert (await store.get_packet(odd.id)).status.value == "finished"  # type: ignore[union-attr]
    assert any(odd.id in p for p in await audit_problems(packets))


async def test_the_audit_sees_money_in_the_escrow_of_no_packet(packets: RedPackets) -> None:
    sender = member(0)
    await fund(packets, sender, 10_00)
    await assert_audit_clean(packets)

    def stray(conn: Any) -> None:
        ledger_transfer(packets.store)(
            conn, key="stray", kind="send", src=f"w:{sender.id}", dst="p:NoSuchOne1",
            amount=1_00, at=1,
        )

    await packets.store.write(stray)
    assert any("p:NoSuchOne1" in p for p in await audit_problems(packets))


# -- a shake whose answer was lost ------------------------------------------------



class AnswerLost(RedisShakeGate):
    """The real shake gate, but the first shake's reply never comes back: the
    gate ran the shake (Redis hung past the timeout, then woke and ran it), the
    service only saw the timeout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replies_to_lose = 1

    async def shake(self, *args: Any, **kwargs: Any) -> GateReply:
        reply = await super().shake(*args, **kwargs)
        if self.replies_to_lose:
            self.replies_to_lose -= 1
            raise TimeoutError("the gate's reply was lost on its way back")
        return reply


async def test_a_win_the_gate_took_but_nobody_paid_does_not_lock_the_member_out(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    """Redis hangs: the shake times out ("not this time, shake again") but Redis
    runs it when it wakes, counting a win nobody settled. The member shook again
    and was told "you have won the most" for ever, with nothing paid."""
    shake_gate = AnswerLost(gate.client)
    shakes = ShakeService(
        campaigns_for(store), shake_gate, clock=clock, rng=Lucky(), gate_timeout_s=0.3,
        limits=ShakeLimits(interval_ms=0, max_wins=1),
    )
    boss, winner = Member(1, "Boss"), Member(2, "Winner")
    await store.credit(boss, 100_00, kind="grant", key="grant:boss", memo="", now_ms=1)
    campaign = await shakes.start(CampaignRequest(CHAT_ID, boss, 20_00, 5, 600_000), "start")

    lost = await shakes.shake(campaign.id, winner)
    assert lost.answer is ShakeAnswer.NOT_THIS_TIME
    assert await shake_gate.state(campaign.id) == (4, {winner.id: 1})  # the gate counted it

    again = await shakes.shake(campaign.id, winner)

    assert again.answer is ShakeAnswer.WON
    assert await store.balance(winner.id) == again.win.amount  # type: ignore[union-attr]
    assert await shake_gate.state(campaign.id) == (4, {winner.id: 1})
    report = await shakes.audit(repair=False)
    assert report.ok, report.problems
    await assert_audit_clean(packets)


async def test_a_double_tap_on_shake_wins_once_and_the_gate_keeps_count(
    store: SqliteStore, gate: RedisGate, clock: FakeClock, packets: RedPackets
) -> None:
    boss, winner = Member(1, "Boss"), Member(2, "Winner")
    await store.credit(boss, 100_00, kind="grant", key="grant:boss", memo="", now_ms=1)
    shake_gate = RedisShakeGate(gate.client)
    shakes = ShakeService(
        campaigns_for(store), shake_gate, clock=clock, rng=Lucky(),
        limits=ShakeLimits(interval_ms=0, max_wins=1),
    )
    campaign = await shakes.start(CampaignRequest(CHAT_ID, boss, 20_00, 5, 600_000), "start")

    results = await asyncio.gather(*(shakes.shake(campaign.id, winner) for _ in range(3)))

    assert sorted(r.answer.value for r in results) == ["maxed", "maxed", "won"]
    assert await shake_gate.state(campaign.id) == (4, {winner.id: 1})
    report = await shakes.audit(repair=False)
    assert report.ok, report.problems
    await assert_audit_clean(packets)


# -- the group-commit writer ----------------------------------------------------------


async def test_a_batch_whose_commit_fails_pays_nobody_and_the_press_can_retry(
    packets: RedPackets,
) -> None:
    """A write that only fails at COMMIT (a deferred foreign key) sinks its whole
    batch: the open in the same batch must not report a share it did not record."""
    sender, taker = member(0), member(1)
    await fund(packets, sender, 10_00)
    packet = await packets.send(lucky(sender, 2, 2_00), key="commit-fails")

    if isinstance(packets.store, PostgresStore):
        # PostgreSQL's own keys are checked at once; a deferred one of the test's own.
        await raw_write(packets.store, (
            "CREATE TABLE checked_at_commit (account TEXT"
            " REFERENCES accounts(id) DEFERRABLE INITIALLY DEFERRED)", ()))

    def fails_at_commit(conn: Any) -> None:
        if isinstance(packets.store, PostgresStore):
            conn.execute("INSERT INTO checked_at_commit VALUES ('nobody:a')")
            return
        conn.execute("PRAGMA defer_foreign_keys = ON")
        conn.execute(
            "INSERT INTO transfers(key, kind, src, dst, amount, at)"
            " VALUES ('dangling', 'x', 'nobody:a', 'nobody:b', 1, 0)"
        )

    opened, broken = await asyncio.gather(  # one event-loop turn: one batch
        packets.store.open_share(packet.id, taker, packets.clock.now_ms()),
        packets.store.write(fails_at_commit),
        return_exceptions=True,
    )
    assert isinstance(broken, IntegrityErrors)
    assert isinstance(opened, IntegrityErrors)  # not "opened": nothing was recorded
    assert await packets.store.shares(packet.id) == []
    assert await packets.store.balance(taker.id) == 0
    assert (await packets.press(packet.id, taker)).answer is PressAnswer.GOT
    await assert_audit_clean(packets)


# -- the audit of a busy ledger -------------------------------------------------------


async def test_an_audit_during_a_storm_finds_nothing_wrong_with_the_ledger(
    packets: RedPackets,
) -> None:
    """A share opened between the audit's read of a packet and of its shares
    used to be reported as "counters disagree with its shares": a false alarm
    (and a non-zero exit) on every audit of a busy bot."""
    sender = member(0)
    await fund(packets, sender, 1_000_00)
    false_alarms: list[str] = []
    for round_ in range(4):
        packet = await packets.send(lucky(sender, 50, 50_00), key=f"busy:{round_}")

        async def audits() -> None:
            for _ in range(10):
                report = await packets.audit(repair=False)
                # The gate runs ahead of the database by the presses in flight.
                false_alarms.extend(p for p in report.problems if not p.startswith("gate of"))
                await asyncio.sleep(0)

        await asyncio.gather(audits(), *(packets.press(packet.id, m) for m in members(50, start=1)))
    assert false_alarms == []
    await assert_audit_clean(packets)

"""The read models for /balance, /records, /stats on each engine (a real SQLite file,
a real PostgreSQL database)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from core.packets import Kind, Member, PacketRequest, best_luck_share
from core.records import (
    claim_daily,
    credit_topup,
    describe,
    grant,
    records_page,
    summarize,
)
from core.services import RedPackets
from storage.sqlite.records import Records
from storage.stores import Store
from tests.conftest import FakeClock, assert_audit_clean

CHAT = -100
ALICE, BOB, CAROL, DAVE = (Member(1, "Alice", "alice"), Member(2, "Bob", "bobby"),
                           Member(3, "Carol"), Member(4, "Dave"))


@pytest.fixture
def service(store: Store, clock: FakeClock) -> RedPackets:
    return RedPackets(store, None, clock=clock, welcome_bonus=100_00)


@pytest.fixture
def records(store: Store) -> Records:
    return Records(store)


async def send(service: RedPackets, kind: Kind, amount: int, count: int, key: str,
               chat: int = CHAT, recipient: Member | None = None) -> str:
    request = PacketRequest(chat, ALICE, kind, count, amount, recipient=recipient)
    return (await service.send(request, key)).id


async def test_records_balance_lines_and_stats(
    service: RedPackets, records: Records, clock: FakeClock
) -> None:
    for member in (ALICE, BOB, CAROL, DAVE):
        await service.greet(member)
    lucky = await send(service, Kind.LUCKY, 10_00, 3, "k1")
    for member in (BOB, CAROL, DAVE):
        clock.advance(2)
        assert (await service.press(lucky, member)).share is not None
    fixed = await send(service, Kind.FIXED, 1_00, 3, "k2")
    clock.advance(1)
    await service.press(fixed, BOB)
    personal = await send(service, Kind.FIXED, 5_00, 1, "k3", chat=-200, recipient=CAROL)
    clock.advance(1)
    await service.press(personal, CAROL)

    packet, shares = await service.packet_and_shares(lucky)  # type: ignore[misc]
    best = best_luck_share(packet, shares)
    assert best is not None

    summary = await records.records_summary(BOB.id)
    bob_shares = [s for s in shares if s.member_id == BOB.id]
    assert summary.sent_count == 0 and summary.received_count == 2
    assert summary.received_total == bob_shares[0].amount + 1_00
    assert summary.best_luck_count == (1 if best.member_id == BOB.id else 0)
    alice = await records.records_summary(ALICE.id)
    assert (alice.sent_count, alice.sent_total) == (3, 10_00 + 3_00 + 5_00)

    items, total = await records.recent_packets(BOB.id, 5, 0)
    assert total == 2 and [i.packet_id for i in items] == [fixed, lucky]
    assert not items[0].sent and items[1].best_luck == (best.member_id == BOB.id)
    page = await records_page(records, ALICE.id, 7)
    assert page.page == 0 and page.pages == 1 and len(page.items) == 3

    lines = await records.wallet_lines(BOB.id, 10)
    words = [describe(line) for line in lines]
    assert [w.key for w in words] == [
        "wallet.line.share_fixed", "wallet.line.share_lucky", "wallet.line.welcome"]
    assert words[1].params == {"name": "Alice"} and words[0].amount == 1_00
    carol = [describe(line) for line in await records.wallet_lines(CAROL.id, 10)]
    assert carol[0].key == "wallet.line.share_personal"
    sent = [describe(line) for line in await records.wallet_lines(ALICE.id, 10)]
    assert [w.key for w in sent[:3]] == [
        "wallet.line.send_personal", "wallet.line.send_fixed", "wallet.line.send_lucky"]
    assert sent[0].params == {"name": "Carol"} and sent[0].amount == -5_00

    facts = await records.stats_facts(CHAT, top=5)
    assert (facts.packets, facts.money_sent, facts.shares, facts.money_taken) == (
        2, 13_00, 4, 11_00)
    stats = summarize(facts)
    assert stats.finished == 1 and stats.fastest_finish_ms == 6000
    assert [(m.member_id, m.count) for m in facts.top_senders] == [(ALICE.id, 2)]
    assert [(m.member_id, m.count) for m in facts.luckiest] == [(best.member_id, 1)]
    assert sum(facts.share_ratio_tenths.values()) == 3
    assert sum(a.packets for a in facts.activity) == 2
    assert facts.campaigns is not None and facts.campaigns.campaigns == 0
    everywhere = await records.stats_facts(None)
    assert everywhere.packets == 3 and everywhere.money_taken == 16_00
    # Integer cents on both engines (PostgreSQL's SUM of BIGINT is NUMERIC).
    amounts = [summary.received_total, alice.sent_total, facts.money_sent, facts.money_taken,
               facts.shares, facts.top_senders[0].amount, facts.luckiest[0].amount,
               facts.activity[0].amount, facts.campaigns.funded, facts.turned_away]
    assert all(type(a) is int for a in amounts), amounts
    today = datetime.fromtimestamp(clock.now_ms() / 1000, UTC).date().isoformat()
    assert facts.activity[-1].day == today  # the day in UTC, named as SQLite's date() did
    await assert_audit_clean(service)


async def test_money_in_is_idempotent_and_balances(
    service: RedPackets, store: Store, records: Records, clock: FakeClock
) -> None:
    await service.greet(BOB)
    now = clock.now_ms()
    assert await claim_daily(store, BOB, 10_00, now)
    assert not await claim_daily(store, BOB, 10_00, now + 1000)
    assert await grant(store, BOB, 5_00, key="grant:1:1", granted_by=ALICE, now_ms=now)
    assert not await grant(store, BOB, 5_00, key="grant:1:1", granted_by=ALICE, now_ms=now)
    assert await credit_topup(store, BOB, 50, 2, charge_id="c1", now_ms=now)
    assert not await credit_topup(store, BOB, 50, 2, charge_id="c1", now_ms=now)
    assert await store.balance(BOB.id) == 100_00 + 10_00 + 5_00 + 1_00
    lines = await records.wallet_lines(BOB.id, 10)
    assert [line.kind for line in lines] == ["topup", "grant", "daily", "welcome"]
    assert "Alice" in lines[1].memo
    await assert_audit_clean(service)


async def test_find_members(service: RedPackets, records: Records) -> None:
    await service.greet(BOB)
    assert await records.find_member_by_username("@BOBBY") == BOB
    assert await records.find_member(BOB.id) == BOB
    assert await records.find_member_by_username("nobody") is None
    assert await records.find_member(12345) is None


async def test_turned_away_flush_moves_counts_once(records: Records) -> None:
    counter: Counter[int] = Counter({CHAT: 3, -200: 2})
    assert await records.flush_turned_away(counter) == 5
    assert not counter
    assert await records.flush_turned_away(counter) == 0
    counter[CHAT] += 4
    await records.flush_turned_away(counter)
    assert await records.turned_away(CHAT) == 7
    assert await records.turned_away(None) == 9

"""Shared pieces of the money-engine integration tests (issue 2)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from core.amount import Cents
from core.packets import Kind, Member, PacketRequest
from core.services import PressAnswer, PressResult, RedPackets
from storage.sqlite import keys
from storage.sqlite.store import SqliteStore

CHAT_ID = -100_123
WELCOME_BONUS: Cents = 100_00


def member(n: int) -> Member:
    return Member(10_000 + n, f"member {n}", f"member{n}")


def members(count: int, start: int = 0) -> list[Member]:
    return [member(n) for n in range(start, start + count)]


def lucky(sender: Member, count: int, total: Cents, **extra: object) -> PacketRequest:
    return PacketRequest(CHAT_ID, sender, Kind.LUCKY, count, total, **extra)  # type: ignore[arg-type]


def fixed(sender: Member, count: int, each: Cents, **extra: object) -> PacketRequest:
    return PacketRequest(CHAT_ID, sender, Kind.FIXED, count, each, **extra)  # type: ignore[arg-type]


def personal(sender: Member, recipient: Member, amount: Cents) -> PacketRequest:
    return PacketRequest(CHAT_ID, sender, Kind.FIXED, 1, amount, recipient=recipient)


async def fund(service: RedPackets, who: Member, amount: Cents, key: str | None = None) -> None:
    """Greet ``who`` and top their wallet up from the mint."""
    await service.greet(who)
    await service.store.credit(
        who, amount, kind="topup", key=key or f"topup:{who.id}:{amount}",
        memo="test top-up", now_ms=service.clock.now_ms(),
    )


async def storm(
    service: RedPackets, packet_id: str, crowd: list[Member], presses_each: int, seed: int = 7
) -> list[tuple[Member, PressResult]]:
    """Every member presses ``presses_each`` times, all at once, in a shuffled order."""
    order = [m for m in crowd for _ in range(presses_each)]
    random.Random(seed).shuffle(order)
    results = await asyncio.gather(*(service.press(packet_id, m) for m in order))
    return list(zip(order, results))


@dataclass(frozen=True)
class Money:
    wallets: Cents
    packet_escrow: Cents
    campaign_escrow: Cents
    minted: Cents

    @property
    def escrow(self) -> Cents:
        """Everything held for packets and campaigns."""
        return self.packet_escrow + self.campaign_escrow


async def money(store: SqliteStore) -> Money:
    rows = await store.fetchall(
        "SELECT"
        f" COALESCE(SUM(CASE WHEN id LIKE {keys.WALLET.sql_like()} THEN balance END), 0),"
        f" COALESCE(SUM(CASE WHEN id LIKE {keys.PACKET_ESCROW.sql_like()} THEN balance END), 0),"
        f" COALESCE(SUM(CASE WHEN id LIKE {keys.CAMPAIGN_ESCROW.sql_like()} THEN balance END), 0),"
        f" -COALESCE(SUM(CASE WHEN id = '{keys.MINT}' THEN balance END), 0)"
        " FROM accounts"
    )
    return Money(*rows[0])


async def assert_conserved(store: SqliteStore) -> None:
    """docs/rules.md §1: all wallets plus all escrow (packets and campaigns) equal
    all money ever minted, and no account is anything else."""
    m = await money(store)
    assert m.wallets + m.escrow == m.minted, m
    (others,) = await store.fetchone(
        "SELECT COUNT(*) FROM accounts WHERE id <> ?"
        f" AND id NOT LIKE {keys.WALLET.sql_like()} AND id NOT LIKE {keys.PACKET_ESCROW.sql_like()}"
        f" AND id NOT LIKE {keys.CAMPAIGN_ESCROW.sql_like()}",
        (keys.MINT,),
    )
    assert others == 0, "an account outside wallets, escrow and the mint"


@dataclass(frozen=True)
class Snapshot:
    """Everything that money touches: equal snapshots mean nothing moved."""

    accounts: dict[str, Cents]
    transfers: int
    packets: int
    shares: int


async def snapshot(store: SqliteStore) -> Snapshot:
    accounts = dict(await store.fetchall("SELECT id, balance FROM accounts"))
    (transfers,) = await store.fetchone("SELECT COUNT(*) FROM transfers")
    (packets,) = await store.fetchone("SELECT COUNT(*) FROM packets")
    (shares,) = await store.fetchone("SELECT COUNT(*) FROM shares")
    return Snapshot(accounts, transfers, packets, shares)


def answers(results: list[tuple[Member, PressResult]]) -> Counter[PressAnswer]:
    return Counter(r.answer for _, r in results)


async def assert_storm_outcome(
    service: RedPackets, packet_id: str, results: list[tuple[Member, PressResult]],
    *, balances_before: dict[int, Cents],
) -> None:
    """Exactly ``count`` shares, nobody twice, sum = total, each ≥ 0.01, wallets exact."""
    found = await service.packet_and_shares(packet_id)
    assert found is not None
    packet, shares = found
    assert len(shares) == packet.count == packet.claimed_count
    assert len({s.member_id for s in shares}) == packet.count
    assert sum(s.amount for s in shares) == packet.total == packet.claimed_amount
    assert min(s.amount for s in shares) >= 1
    assert packet.is_finished
    assert set(answers(results)) <= {PressAnswer.GOT, PressAnswer.ALREADY, PressAnswer.TOO_SLOW}

    got = [(m, r) for m, r in results if r.answer is PressAnswer.GOT]
    assert len(got) == packet.count
    assert len({m.id for m, _ in got}) == packet.count
    by_member = {s.member_id: s for s in shares}
    for m, r in got:
        assert r.share == by_member[m.id]
    for m, r in results:
        if r.answer is PressAnswer.ALREADY:
            assert r.share == by_member[m.id]
    assert sum(1 for _, r in got if r.finished) == 1

    for m_id, before in balances_before.items():
        paid = by_member[m_id].amount if m_id in by_member else 0
        assert await service.store.balance(m_id) == before + paid


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]

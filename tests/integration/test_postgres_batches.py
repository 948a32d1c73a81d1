"""The PostgreSQL writer's batches: credits land at commit, in account order."""

from __future__ import annotations

import asyncio
import secrets

from core.allocation import Rule
from core.packets import Kind, Member, Packet
from storage.postgres.store import PostgresStore
from storage.stores import store_for
from tests.integration.helpers import CHAT_ID


async def test_a_credit_and_a_send_that_spends_it_in_one_batch(pg_url: str) -> None:
    async with store_for(pg_url) as store:
        assert isinstance(store, PostgresStore) and store.writer is not None
        sender = Member(7, "Sender")
        packet = Packet(
            id="SpendsTopUp", chat_id=CHAT_ID, sender_id=7, sender_name="Sender",
            kind=Kind.FIXED, rule=Rule.FIXED, total=30_00, count=3, greeting="",
            created_at=1, expires_at=10**13, cap=20_000, seed=secrets.token_bytes(16),
        )
        batches = store.writer.batches
        credited, sent = await asyncio.gather(
            store.credit(sender, 50_00, kind="grant", key="g", memo="", now_ms=1),
            store.create_packet(packet, "spend"),
        )
        assert store.writer.batches == batches + 1  # one transaction
        assert credited and sent.id == packet.id
        assert await store.balance(7) == 20_00
        assert await store.ledger_problems() == []


async def test_batches_that_deadlock_are_retried_and_both_land(pg_url: str) -> None:
    """Two processes' batches lock two rows in opposite orders: PostgreSQL breaks
    the deadlock, the losing batch commits what it did and retries the rest."""
    async with store_for(pg_url) as one, store_for(pg_url) as two:
        assert isinstance(one, PostgresStore) and isinstance(two, PostgresStore)
        await one.execute("INSERT INTO accounts(id, balance) VALUES ('w:1', 0), ('w:2', 0)")

        def bump(account: str, pause_s: float) -> object:
            def write(conn: object) -> str:
                conn.execute(  # type: ignore[attr-defined]
                    "UPDATE accounts SET balance = balance + 1 WHERE id = %s", (account,)
                )
                conn.execute("SELECT pg_sleep(%s)", (pause_s,))  # type: ignore[attr-defined]
                return account
            return write

        results = await asyncio.gather(
            one.write(bump("w:1", 0.3)), one.write(bump("w:2", 0)),  # one batch: 1 then 2
            two.write(bump("w:2", 0.3)), two.write(bump("w:1", 0)),  # the other: 2 then 1
        )
        assert results == ["w:1", "w:2", "w:2", "w:1"]
        assert one.writer is not None and two.writer is not None
        assert one.writer.retries + two.writer.retries >= 1
        rows = dict(await one.fetchall("SELECT id, balance FROM accounts"))
        assert rows == {"w:1": 2, "w:2": 2}


async def test_writes_waiting_for_the_writer_are_bounded(pg_url: str) -> None:
    import psycopg

    from storage.postgres.writer import PgBatchWriter

    writer = PgBatchWriter(lambda: psycopg.connect(pg_url, autocommit=True), max_batch=2,
                           max_queued=5)
    await writer.start()
    waiting: list[int] = []

    def write(conn: object) -> int:
        waiting.append(writer._queue.qsize())
        return 1

    try:
        assert sum(await asyncio.gather(*(writer.submit(write) for _ in range(40)))) == 40
    finally:
        await writer.stop()
    assert max(waiting) <= 5 and len(waiting) == 40

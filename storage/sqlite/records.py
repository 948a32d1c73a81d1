"""``core.records.RecordsReader`` on either engine, plus the turned-away counters.

One spelling of each query for SQLite and PostgreSQL: every selected column
grouped or aggregated, ``false`` rather than ``0`` beside a condition, days
counted in SQL and named in Python.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from core.packets import Member
from core.records import (
    CampaignFacts,
    DayActivity,
    MemberCount,
    RecentPacket,
    RecordsSummary,
    StatsFacts,
    WalletLine,
)
from storage.sqlite import keys
from storage.sql_store import SqlConnection, SqlStore, total

ACTIVITY_DAYS = 90

# A share is best luck when its packet is a finished lucky one of 2+ shares and
# no other share is larger, or as large and earlier (core.allocation.best_luck).
_BEST_LUCK = (
    "p.kind = 'lucky' AND p.status = 'finished' AND p.count >= 2 AND NOT EXISTS ("
    " SELECT 1 FROM shares o WHERE o.packet_id = s.packet_id"
    " AND (o.amount > s.amount OR (o.amount = s.amount AND o.position < s.position)))"
)


def _chat_filter(chat_id: int | None, column: str = "p.chat_id") -> tuple[str, tuple[Any, ...]]:
    return ("", ()) if chat_id is None else (f" AND {column} = ?", (chat_id,))


DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_name(day: int) -> str:
    """Day ``day`` since 1970-01-01 (UTC) as ``YYYY-MM-DD``."""
    return (_EPOCH + timedelta(days=day)).date().isoformat()


class Records:
    """Read models for /balance, /records and /stats over a ``SqlStore``."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- wallets -------------------------------------------------------------

    async def wallet_lines(self, member_id: int, limit: int) -> list[WalletLine]:
        account = keys.WALLET(member_id)
        rows = await self.store.fetchall(
            "SELECT t.at, t.kind, CASE WHEN t.dst = ? THEN t.amount ELSE -t.amount END,"
            " t.packet_id, t.memo, p.kind, p.sender_name, p.recipient_name"
            " FROM transfers t LEFT JOIN packets p ON p.id = t.packet_id"
            " WHERE t.id IN (SELECT id FROM transfers WHERE src = ?"
            "                UNION SELECT id FROM transfers WHERE dst = ?)"
            " ORDER BY t.id DESC LIMIT ?",
            (account, account, account, limit),
        )
        return [WalletLine(*row) for row in rows]

    async def find_member(self, member_id: int) -> Member | None:
        row = await self.store.fetchone(
            "SELECT id, name, username FROM members WHERE id = ?", (member_id,)
        )
        return Member(*row) if row else None

    async def find_member_by_username(self, username: str) -> Member | None:
        row = await self.store.fetchone(
            "SELECT id, name, username FROM members WHERE username = ? COLLATE NOCASE"
            " ORDER BY created_at DESC LIMIT 1",
            (username.removeprefix("@"),),
        )
        return Member(*row) if row else None

    # -- records -------------------------------------------------------------

    async def records_summary(self, member_id: int) -> RecordsSummary:
        sent = await self.store.fetchone(
            f"SELECT COUNT(*), {total('total')} FROM packets WHERE sender_id = ?",
            (member_id,),
        )
        received = await self.store.fetchone(
            f"SELECT COUNT(*), {total('amount')} FROM shares WHERE member_id = ?",
            (member_id,),
        )
        best = await self.store.fetchone(
            "SELECT COUNT(*) FROM shares s JOIN packets p ON p.id = s.packet_id"
            f" WHERE s.member_id = ? AND {_BEST_LUCK}",
            (member_id,),
        )
        return RecordsSummary(sent[0], sent[1], received[0], received[1], best[0])

    async def recent_packets(
        self, member_id: int, limit: int, offset: int
    ) -> tuple[list[RecentPacket], int]:
        rows = await self.store.fetchall(
            "SELECT * FROM ("
            " SELECT p.id, 1 AS sent, p.total, p.created_at AS at, p.kind, p.status,"
            "        p.sender_name, p.recipient_name, false, false"
            " FROM packets p WHERE p.sender_id = ?"
            " UNION ALL"
            " SELECT p.id, 0, s.amount, s.taken_at AS at, p.kind, p.status, p.sender_name,"
            f"        p.recipient_name, {_BEST_LUCK}, p.sender_id = s.member_id"
            " FROM shares s JOIN packets p ON p.id = s.packet_id WHERE s.member_id = ?"
            ") AS items ORDER BY at DESC, sent ASC LIMIT ? OFFSET ?",
            (member_id, member_id, limit, offset),
        )
        total = await self.store.fetchone(
            "SELECT (SELECT COUNT(*) FROM packets WHERE sender_id = ?)"
            " + (SELECT COUNT(*) FROM shares WHERE member_id = ?)",
            (member_id, member_id),
        )
        items = [
            RecentPacket(
                packet_id=r[0], sent=bool(r[1]), amount=r[2], at=r[3], packet_kind=r[4],
                status=r[5], sender_name=r[6], recipient_name=r[7], best_luck=bool(r[8]),
                own=bool(r[9]),
            )
            for r in rows
        ]
        return items, total[0]

    # -- stats ---------------------------------------------------------------

    async def stats_facts(self, chat_id: int | None, *, top: int = 5) -> StatsFacts:
        where, args = _chat_filter(chat_id)
        totals = await self.store.fetchone(
            f"SELECT COUNT(*), {total('total')}, {total('claimed_count')},"
            f" {total('claimed_amount')} FROM packets p WHERE 1 = 1{where}",
            args,
        )
        durations = await self.store.fetchall(
            "SELECT finished_at - created_at FROM packets p"
            f" WHERE status = 'finished' AND finished_at IS NOT NULL{where}",
            args,
        )
        senders = await self.store.fetchall(
            "SELECT p.sender_id, COALESCE(MAX(m.name), MAX(p.sender_name)), COUNT(*),"
            f" {total('p.total')}"
            f" FROM packets p LEFT JOIN members m ON m.id = p.sender_id WHERE 1 = 1{where}"
            " GROUP BY p.sender_id ORDER BY SUM(p.total) DESC, COUNT(*) DESC, p.sender_id"
            " LIMIT ?",
            (*args, top),
        )
        luckiest = await self.store.fetchall(
            "SELECT s.member_id, COALESCE(MAX(m.name), MAX(s.member_name)), COUNT(*),"
            f" {total('s.amount')} FROM shares s JOIN packets p ON p.id = s.packet_id"
            f" LEFT JOIN members m ON m.id = s.member_id WHERE {_BEST_LUCK}{where}"
            " GROUP BY s.member_id ORDER BY COUNT(*) DESC, SUM(s.amount) DESC, s.member_id"
            " LIMIT ?",
            (*args, top),
        )
        activity = await self.store.fetchall(
            f"SELECT p.created_at / {DAY_MS} AS day, COUNT(*), {total('p.total')}"
            f" FROM packets p WHERE 1 = 1{where} GROUP BY day ORDER BY day DESC LIMIT ?",
            (*args, ACTIVITY_DAYS),
        )
        ratios = await self.store.fetchall(
            "SELECT (s.amount * 20 * p.count + p.total) / (2 * p.total) AS tenths, COUNT(*)"
            " FROM shares s JOIN packets p ON p.id = s.packet_id"
            f" WHERE p.kind = 'lucky' AND p.recipient_id IS NULL{where} GROUP BY tenths",
            args,
        )
        return StatsFacts(
            chat_id=chat_id,
            packets=totals[0],
            money_sent=totals[1],
            shares=totals[2],
            money_taken=totals[3],
            finish_durations_ms=[row[0] for row in durations],
            top_senders=[MemberCount(*row) for row in senders],
            luckiest=[MemberCount(*row) for row in luckiest],
            turned_away=await self.turned_away(chat_id),
            activity=[DayActivity(day_name(d), n, amount) for d, n, amount in reversed(activity)],
            share_ratio_tenths={row[0]: row[1] for row in ratios},
            campaigns=await self.campaign_facts(chat_id),
        )

    async def campaign_facts(self, chat_id: int | None) -> CampaignFacts:
        """Shake campaigns (the migrations create their table in every database)."""
        where, args = _chat_filter(chat_id, "chat_id")
        row = await self.store.fetchone(
            f"SELECT COUNT(*), {total('pool')}, {total('won_amount')}"
            f" FROM campaigns WHERE 1 = 1{where}",
            args,
        )
        return CampaignFacts(*row)

    # -- turned away ---------------------------------------------------------

    async def turned_away(self, chat_id: int | None) -> int:
        where, args = _chat_filter(chat_id, "chat_id")
        row = await self.store.fetchone(
            f"SELECT {total('presses')} FROM turned_away WHERE 1 = 1{where}", args
        )
        return row[0]

    async def flush_turned_away(self, counter: Counter[int]) -> int:
        """Move the in-memory counts into the table; returns how many presses moved.

        The counts leave memory before the write, so a concurrent /stats may
        briefly read a little low, never double; a failed write puts them back.
        """
        pending = {chat: n for chat, n in counter.items() if n > 0}
        if not pending:
            return 0
        for chat, n in pending.items():
            counter[chat] -= n
            if counter[chat] <= 0:
                del counter[chat]

        def write(conn: SqlConnection) -> None:
            conn.executemany(
                "INSERT INTO turned_away(chat_id, presses) VALUES (?, ?) ON CONFLICT(chat_id)"
                " DO UPDATE SET presses = turned_away.presses + excluded.presses",
                list(pending.items()),
            )

        try:
            await self.store.write(write)
        except BaseException:
            counter.update(pending)
            raise
        return sum(pending.values())

"""Read models for /balance, /records and /stats on PostgreSQL.

The queries of ``storage/sqlite/records.py`` run on both engines (its ``?``
statements are translated); the few that SQLite spells its own way are here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from core.records import CampaignFacts, DayActivity, MemberCount, RecentPacket, StatsFacts
from storage.sqlite.records import _BEST_LUCK, ACTIVITY_DAYS, SqliteRecords, _chat_filter


class PostgresRecords(SqliteRecords):
    async def recent_packets(
        self, member_id: int, limit: int, offset: int
    ) -> tuple[list[RecentPacket], int]:
        rows = await self.store.fetchall(
            "SELECT * FROM ("
            " SELECT p.id, 1 AS sent, p.total, p.created_at AS at, p.kind, p.status,"
            "        p.sender_name, p.recipient_name, false AS best, false AS own"
            " FROM packets p WHERE p.sender_id = ?"
            " UNION ALL"
            " SELECT p.id, 0, s.amount, s.taken_at, p.kind, p.status, p.sender_name,"
            f"        p.recipient_name, {_BEST_LUCK}, p.sender_id = s.member_id"
            " FROM shares s JOIN packets p ON p.id = s.packet_id WHERE s.member_id = ?"
            ") items ORDER BY at DESC, sent ASC LIMIT ? OFFSET ?",
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

    async def stats_facts(self, chat_id: int | None, *, top: int = 5) -> StatsFacts:
        where, args = _chat_filter(chat_id)
        totals = await self.store.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(total), 0), COALESCE(SUM(claimed_count), 0),"
            f" COALESCE(SUM(claimed_amount), 0) FROM packets p WHERE 1 = 1{where}",
            args,
        )
        durations = await self.store.fetchall(
            "SELECT finished_at - created_at FROM packets p"
            f" WHERE status = 'finished' AND finished_at IS NOT NULL{where}",
            args,
        )
        senders = await self.store.fetchall(
            "SELECT p.sender_id, COALESCE(MAX(m.name), MAX(p.sender_name)), COUNT(*), SUM(p.total)"
            f" FROM packets p LEFT JOIN members m ON m.id = p.sender_id WHERE 1 = 1{where}"
            " GROUP BY p.sender_id ORDER BY SUM(p.total) DESC, COUNT(*) DESC, p.sender_id"
            " LIMIT ?",
            (*args, top),
        )
        luckiest = await self.store.fetchall(
            "SELECT s.member_id, COALESCE(MAX(m.name), MAX(s.member_name)), COUNT(*),"
            " SUM(s.amount) FROM shares s JOIN packets p ON p.id = s.packet_id"
            f" LEFT JOIN members m ON m.id = s.member_id WHERE {_BEST_LUCK}{where}"
            " GROUP BY s.member_id ORDER BY COUNT(*) DESC, SUM(s.amount) DESC, s.member_id"
            " LIMIT ?",
            (*args, top),
        )
        activity = await self.store.fetchall(
            "SELECT to_char(to_timestamp(p.created_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
            f" AS day, COUNT(*), SUM(p.total) FROM packets p WHERE 1 = 1{where}"
            " GROUP BY day ORDER BY day DESC LIMIT ?",
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
            activity=[DayActivity(*row) for row in reversed(activity)],
            share_ratio_tenths={row[0]: row[1] for row in ratios},
            campaigns=await self.campaign_facts(chat_id),
        )

    async def campaign_facts(self, chat_id: int | None) -> CampaignFacts | None:
        where, args = _chat_filter(chat_id, "chat_id")
        row = await self.store.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(pool), 0), COALESCE(SUM(won_amount), 0)"
            f" FROM campaigns WHERE 1 = 1{where}",
            args,
        )
        return CampaignFacts(*row)

    async def flush_turned_away(self, counter: Counter[int]) -> int:
        """As SQLite's, with the row's own column named (PostgreSQL asks which ``presses``)."""
        pending = {chat: n for chat, n in counter.items() if n > 0}
        if not pending:
            return 0
        for chat, n in pending.items():
            counter[chat] -= n
            if counter[chat] <= 0:
                del counter[chat]

        def write(conn: Any) -> None:
            conn.executemany(
                "INSERT INTO turned_away(chat_id, presses) VALUES (%s, %s)"
                " ON CONFLICT (chat_id) DO UPDATE"
                " SET presses = turned_away.presses + excluded.presses",
                list(pending.items()),
            )

        try:
            await self.store.write(write)
        except BaseException:
            counter.update(pending)
            raise
        return sum(pending.values())

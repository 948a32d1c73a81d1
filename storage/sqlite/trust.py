"""``core.ports.TrustReader`` on either engine: press facts and the leaderboard."""

from __future__ import annotations

from core.trust import Leader, Leaderboard, PressFact
from storage.sqlite.records import _BEST_LUCK
from storage.sql_store import SqlStore, total


class Trust:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def press_facts(self, chat_id: int, since_ms: int) -> list[PressFact]:
        # Personal packets are always "first" and a sender knows when their own
        # packet appears: neither says anything about a script.
        rows = await self.store.fetchall(
            "SELECT s.member_id, COALESCE(m.name, s.member_name), s.position, s.press_delay_ms"
            " FROM packets p JOIN shares s ON s.packet_id = p.id"
            " LEFT JOIN members m ON m.id = s.member_id"
            " WHERE p.chat_id = ? AND s.taken_at >= ?"
            " AND p.recipient_id IS NULL AND s.member_id <> p.sender_id"
            " ORDER BY s.taken_at",
            (chat_id, since_ms),
        )
        return [PressFact(*row) for row in rows]

    async def leaderboard(self, chat_id: int, since_ms: int | None, top: int) -> Leaderboard:
        since = since_ms if since_ms is not None else 0
        senders = await self.store.fetchall(
            "SELECT p.sender_id, COALESCE(MAX(m.name), MAX(p.sender_name)), COUNT(*),"
            f" {total('p.claimed_amount')}"
            " FROM packets p LEFT JOIN members m ON m.id = p.sender_id"
            " WHERE p.chat_id = ? AND p.created_at >= ?"
            " GROUP BY p.sender_id HAVING SUM(p.claimed_amount) > 0"
            " ORDER BY SUM(p.claimed_amount) DESC, COUNT(*) DESC, p.sender_id LIMIT ?",
            (chat_id, since, top),
        )
        lucky = await self.store.fetchall(
            "SELECT s.member_id, COALESCE(MAX(m.name), MAX(s.member_name)), COUNT(*),"
            f" {total('s.amount')}"
            " FROM packets p JOIN shares s ON s.packet_id = p.id"
            " LEFT JOIN members m ON m.id = s.member_id"
            f" WHERE p.chat_id = ? AND p.created_at >= ? AND {_BEST_LUCK}"
            " GROUP BY s.member_id ORDER BY COUNT(*) DESC, SUM(s.amount) DESC, s.member_id"
            " LIMIT ?",
            (chat_id, since, top),
        )
        return Leaderboard(
            senders=[Leader(*row) for row in senders], best_luck=[Leader(*row) for row in lucky]
        )

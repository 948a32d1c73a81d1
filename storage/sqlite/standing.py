"""``core.ports.StandingStore`` on either engine: chat rules, joins, blocks, unlocks."""

from __future__ import annotations

from core.eligibility import RuleChoices
from core.amount import Cents
from core.packets import Member
from storage.sql_store import SqlConnection, SqlStore, total


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


class ChatStanding:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def rule_choices(self, chat_id: int) -> RuleChoices:
        row = await self.store.fetchone(
            "SELECT newcomer_hours, premium_only, daily_send_limit, personal_packets"
            " FROM chat_settings WHERE chat_id = ?",
            (chat_id,),
        )
        if row is None:
            return RuleChoices()
        hours, premium, daily, personal = row
        return RuleChoices(hours, _bool(premium), daily, _bool(personal))

    async def set_rule_choices(self, chat_id: int, choices: RuleChoices, now_ms: int) -> None:
        def write(conn: SqlConnection) -> None:
            conn.execute(
                "INSERT INTO chat_settings(chat_id, newcomer_hours, premium_only,"
                " daily_send_limit, personal_packets, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(chat_id) DO UPDATE SET newcomer_hours = excluded.newcomer_hours,"
                " premium_only = excluded.premium_only,"
                " daily_send_limit = excluded.daily_send_limit,"
                " personal_packets = excluded.personal_packets, updated_at = excluded.updated_at",
                (chat_id, choices.newcomer_hours, _flag(choices.premium_only),
                 choices.daily_limit, _flag(choices.personal), now_ms),
            )

        await self.store.write(write)

    async def joined_at(self, chat_id: int, member_id: int) -> int | None:
        row = await self.store.fetchone(
            "SELECT joined_at FROM chat_joins WHERE chat_id = ? AND member_id = ?",
            (chat_id, member_id),
        )
        return row[0] if row else None

    async def record_join(self, chat_id: int, member_id: int, now_ms: int) -> None:
        # The latest join counts: leaving and coming back starts the wait again.
        await self.store.write(lambda conn: conn.execute(
            "INSERT INTO chat_joins(chat_id, member_id, joined_at) VALUES (?, ?, ?)"
            " ON CONFLICT(chat_id, member_id) DO UPDATE SET joined_at = excluded.joined_at"
            " WHERE excluded.joined_at > chat_joins.joined_at",
            (chat_id, member_id, now_ms),
        ))

    async def blocked_ids(self, chat_id: int) -> list[int]:
        rows = await self.store.fetchall(
            "SELECT member_id FROM chat_blocks WHERE chat_id = ?", (chat_id,)
        )
        return [r[0] for r in rows]

    async def blocked_members(self, chat_id: int) -> list[Member]:
        rows = await self.store.fetchall(
            "SELECT b.member_id, b.name, m.username FROM chat_blocks b"
            " LEFT JOIN members m ON m.id = b.member_id"
            " WHERE b.chat_id = ? ORDER BY b.blocked_at",
            (chat_id,),
        )
        return [Member(r[0], r[1], r[2]) for r in rows]

    async def block(self, chat_id: int, member_id: int, name: str, by: int, now_ms: int) -> bool:
        return bool(await self.store.write(lambda conn: conn.execute(
            "INSERT INTO chat_blocks(chat_id, member_id, name, blocked_by, blocked_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(chat_id, member_id) DO NOTHING",
            (chat_id, member_id, name, by, now_ms),
        ).rowcount))

    async def unblock(self, chat_id: int, member_id: int) -> bool:
        return bool(await self.store.write(lambda conn: conn.execute(
            "DELETE FROM chat_blocks WHERE chat_id = ? AND member_id = ?", (chat_id, member_id)
        ).rowcount))

    async def is_unlocked(self, packet_id: str, member_id: int) -> bool:
        row = await self.store.fetchone(
            "SELECT 1 FROM packet_unlocks WHERE packet_id = ? AND member_id = ?",
            (packet_id, member_id),
        )
        return row is not None

    async def unlock(self, packet_id: str, member_id: int, now_ms: int) -> bool:
        return bool(await self.store.write(lambda conn: conn.execute(
            "INSERT INTO packet_unlocks(packet_id, member_id, unlocked_at) VALUES (?, ?, ?)"
            " ON CONFLICT(packet_id, member_id) DO NOTHING",
            (packet_id, member_id, now_ms),
        ).rowcount))

    async def sent_since(self, chat_id: int, member_id: int, since_ms: int) -> Cents:
        row = await self.store.fetchone(
            f"SELECT {total('total')} FROM packets"
            " WHERE sender_id = ? AND created_at >= ? AND chat_id = ?",
            (member_id, since_ms, chat_id),
        )
        return int(row[0])

    async def packet_at(self, chat_id: int, message_id: int) -> str | None:
        """The packet a group message carries, if any (for replies to it)."""
        row = await self.store.fetchone(
            "SELECT id FROM packets WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )
        return row[0] if row else None

"""The ``packet_messages`` table: which group messages show a packet, and whether
each shows its latest state (migration 0006).

What a message should show has a version (``wanted``, raised by triggers when
a share is taken or the packet ends); what Telegram last accepted is
``shown``. An editor claims a stale message with a lease, so one process at a
time edits it, renders the packet *after* claiming (what it sends is at least
as new as the version it claimed), and records the version once Telegram
accepted it. Every write goes through the store's group-commit writer and
reads the row it changes under ``row_lock`` (on SQLite the writer's
``BEGIN IMMEDIATE``, on PostgreSQL the row lock): a claim is atomic across
connections and processes, on either engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.sql_store import SqlConnection, SqlStore, row_lock


@dataclass(frozen=True, slots=True)
class StaleMessage:
    chat_id: int
    message_id: int
    packet_id: str
    over: bool  # the packet is finished or expired: its final state is due


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # ours to edit, up to ``version``
    CLEAN = "clean"  # already shows its latest state (or cannot be edited any more)
    HELD = "held"  # another editor holds it until ``until_ms``
    TOO_SOON = "too_soon"  # edited less than an interval ago; try at ``until_ms``


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: ClaimOutcome
    version: int = 0
    current: bool = True
    until_ms: int = 0


class PacketMessages:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def add(
        self, chat_id: int, message_id: int, packet_id: str, *, current: bool = True,
        shows: tuple[int, str] | None = None,
    ) -> None:
        """Record a message of the packet (a replay changes nothing).

        ``shows``: the (claimed_count, status) the message was posted with; if the
        packet still is in that state, the message is up to date. ``current``: it
        becomes the packet's newest message, and the older ones turn into pointers.
        """
        def write(conn: SqlConnection) -> None:
            # Locked: a share another process takes meanwhile waits until this
            # message is recorded, and then raises its ``wanted`` too; two
            # messages added at once cannot both stay the current one.
            row = conn.execute(
                f"SELECT claimed_count, status FROM packets WHERE id = ?{row_lock(conn)}",
                (packet_id,),
            ).fetchone()
            if row is None:
                return
            up_to_date = shows is not None and tuple(row) == tuple(shows)
            inserted = conn.execute(
                "INSERT INTO packet_messages(chat_id, message_id, packet_id, wanted, shown,"
                " current) VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING",
                (chat_id, message_id, packet_id, int(up_to_date), int(current)),
            ).rowcount
            if inserted and current:
                conn.execute(
                    "UPDATE packet_messages SET current = 0, wanted = wanted + 1"
                    " WHERE packet_id = ? AND current = 1"
                    " AND NOT (chat_id = ? AND message_id = ?)",
                    (packet_id, chat_id, message_id),
                )

        await self.store.write(write)

    async def packet_of(self, chat_id: int, message_id: int) -> str | None:
        row = await self.store.fetchone(
            "SELECT packet_id FROM packet_messages WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return row[0] if row else None

    async def stale(self, packet_id: str, now_ms: int) -> list[StaleMessage]:
        rows = await self.store.fetchall(
            "SELECT m.chat_id, m.message_id, p.status <> 'live' OR p.expires_at <= ?"
            " FROM packet_messages m JOIN packets p ON p.id = m.packet_id"
            " WHERE m.packet_id = ? AND m.shown < m.wanted AND m.gone = 0",
            (now_ms, packet_id),
        )
        return [StaleMessage(c, m, packet_id, bool(over)) for c, m, over in rows]

    async def stale_packets(self, limit: int) -> list[str]:
        """Packets with a message that does not show its latest state."""
        rows = await self.store.fetchall(
            "SELECT DISTINCT packet_id FROM packet_messages"
            " WHERE shown < wanted AND gone = 0 LIMIT ?",
            (limit,),
        )
        return [r[0] for r in rows]

    async def claim(
        self, chat_id: int, message_id: int, owner: str, *, now_ms: int, lease_ms: int,
        interval_ms: int,
    ) -> Claim:
        """Take the right to edit the message now, if it is stale and nobody else has it.

        ``interval_ms``: the least time between two edits of the message, by any
        process (0 for a final edit).
        """
        def write(conn: SqlConnection) -> Claim:
            _lock_packet_of(conn, chat_id, message_id)
            row = conn.execute(
                "SELECT wanted, shown, current, gone, lease_owner, lease_until, edited_at"
                f" FROM packet_messages WHERE chat_id = ? AND message_id = ?{row_lock(conn)}",
                (chat_id, message_id),
            ).fetchone()
            if row is None:
                return Claim(ClaimOutcome.CLEAN)
            wanted, shown, current, gone, holder, until, edited_at = row
            if gone or shown >= wanted:
                if holder == owner:
                    _release(conn, chat_id, message_id, owner)
                return Claim(ClaimOutcome.CLEAN)
            if holder not in (None, owner) and until > now_ms:
                return Claim(ClaimOutcome.HELD, until_ms=until)
            if edited_at + interval_ms > now_ms:
                return Claim(ClaimOutcome.TOO_SOON, until_ms=edited_at + interval_ms)
            conn.execute(
                "UPDATE packet_messages SET lease_owner = ?, lease_until = ?"
                " WHERE chat_id = ? AND message_id = ?",
                (owner, now_ms + lease_ms, chat_id, message_id),
            )
            return Claim(ClaimOutcome.CLAIMED, wanted, bool(current))

        return await self.store.write(write)

    async def renew(
        self, chat_id: int, message_id: int, owner: str, until_ms: int
    ) -> bool:
        """Keep the lease until ``until_ms``; False if it was lost to another editor."""
        def write(conn: SqlConnection) -> bool:
            _lock_packet_of(conn, chat_id, message_id)
            return bool(conn.execute(
                "UPDATE packet_messages SET lease_until = ?"
                " WHERE chat_id = ? AND message_id = ? AND lease_owner = ?",
                (until_ms, chat_id, message_id, owner),
            ).rowcount)

        return await self.store.write(write)

    async def shown(
        self, chat_id: int, message_id: int, owner: str, version: int, now_ms: int
    ) -> None:
        """Telegram accepted the render of ``version``: record it, give the lease back."""
        def write(conn: SqlConnection) -> None:
            _lock_packet_of(conn, chat_id, message_id)
            conn.execute(
                # CASE rather than MAX(a, b), which PostgreSQL spells GREATEST.
                "UPDATE packet_messages SET shown = CASE WHEN shown > ? THEN shown ELSE ? END,"
                " edited_at = ?, lease_owner = NULL, lease_until = 0"
                " WHERE chat_id = ? AND message_id = ? AND lease_owner = ?",
                (version, version, now_ms, chat_id, message_id, owner),
            )

        await self.store.write(write)

    async def release(self, chat_id: int, message_id: int, owner: str) -> None:
        def write(conn: SqlConnection) -> None:
            _lock_packet_of(conn, chat_id, message_id)
            _release(conn, chat_id, message_id, owner)

        await self.store.write(write)

    async def gone(self, chat_id: int, message_id: int) -> None:
        """Telegram says the message cannot be edited any more: stop trying."""
        def write(conn: SqlConnection) -> None:
            _lock_packet_of(conn, chat_id, message_id)
            conn.execute(
                "UPDATE packet_messages SET gone = 1, lease_owner = NULL, lease_until = 0"
                " WHERE chat_id = ? AND message_id = ?",
                (chat_id, message_id),
            )

        await self.store.write(write)


def _release(conn: SqlConnection, chat_id: int, message_id: int, owner: str) -> None:
    conn.execute(
        "UPDATE packet_messages SET lease_owner = NULL, lease_until = 0"
        " WHERE chat_id = ? AND message_id = ? AND lease_owner = ?",
        (chat_id, message_id, owner),
    )


def _lock_packet_of(conn: SqlConnection, chat_id: int, message_id: int) -> None:
    """Lock the message's packet before the message, as a share does (it locks the
    packet, whose triggers then raise its messages' ``wanted``): an edit and a
    share of one packet, on two connections, never wait for each other in a
    circle. ``SHARE`` waits for a share (or the packet's end) in progress, not
    for another edit. Nothing to do on SQLite (see ``row_lock``)."""
    lock = row_lock(conn, "SHARE")
    if lock:
        conn.execute(
            "SELECT 1 FROM packets WHERE id ="
            " (SELECT packet_id FROM packet_messages WHERE chat_id = ? AND message_id = ?)"
            + lock,
            (chat_id, message_id),
        )

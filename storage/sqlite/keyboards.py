"""Which bot message carries which keyboard (the ``keyboard_messages`` table).

Callback data is untrusted: a button's handler checks that the pressed message
is one the bot posted with that keyboard, not any bot message the data was
forged onto. Rows older than ``KEEP_MS`` are pruned as new ones come in.
The same SQL runs on SQLite and PostgreSQL (``storage.sql_store``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.sql_store import SqlConnection, SqlStore

KEEP_MS = 30 * 86_400_000  # a picker or a records page older than this is no longer valid


class Keyboard(StrEnum):
    LANG = "lang"  # the /lang picker
    RECORDS = "records"  # a /records page with Newer/Older


@dataclass(frozen=True, slots=True)
class KeyboardMessage:
    kind: str
    owner_id: int | None
    created_at: int


class KeyboardMessages:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    async def remember(
        self, chat_id: int, message_id: int, kind: Keyboard, owner_id: int | None, now_ms: int
    ) -> None:
        def write(conn: SqlConnection) -> None:
            conn.execute(
                "INSERT INTO keyboard_messages(chat_id, message_id, kind, owner_id, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(chat_id, message_id) DO UPDATE SET"
                " kind = excluded.kind, owner_id = excluded.owner_id,"
                " created_at = excluded.created_at",
                (chat_id, message_id, kind.value, owner_id, now_ms),
            )
            conn.execute("DELETE FROM keyboard_messages WHERE created_at < ?", (now_ms - KEEP_MS,))

        await self.store.write(write)

    async def find(self, chat_id: int, message_id: int) -> KeyboardMessage | None:
        row = await self.store.fetchone(
            "SELECT kind, owner_id, created_at FROM keyboard_messages"
            " WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return KeyboardMessage(row[0], row[1], row[2]) if row else None

    async def is_a(
        self, chat_id: int, message_id: int, kind: Keyboard, now_ms: int,
        owner_id: int | None = None,
    ) -> bool:
        """Whether the bot posted ``message_id`` with a ``kind`` keyboard (of ``owner_id``)."""
        found = await self.find(chat_id, message_id)
        return (
            found is not None and found.kind == kind.value
            and now_ms - found.created_at <= KEEP_MS
            and (owner_id is None or found.owner_id == owner_id)
        )

"""Per-chat settings (the /lang override) and member look-ups by @username."""

from __future__ import annotations

import sqlite3

from core.packets import Member
from storage.sqlite.store import SqliteStore


class ChatSettings:
    """The ``chat_settings`` table: one row per chat that changed a setting."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self._lang: dict[int, str | None] = {}

    async def lang(self, chat_id: int) -> str | None:
        """The chat's language override, or ``None`` to follow each member's language."""
        if chat_id not in self._lang:
            row = await self.store.fetchone(
                "SELECT lang FROM chat_settings WHERE chat_id = ?", (chat_id,)
            )
            self._lang[chat_id] = row[0] if row else None
        return self._lang[chat_id]

    async def set_lang(self, chat_id: int, lang: str | None, now_ms: int) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO chat_settings(chat_id, lang, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(chat_id) DO UPDATE SET lang = excluded.lang,"
                " updated_at = excluded.updated_at",
                (chat_id, lang, now_ms),
            )

        await self.store.write(write)
        self._lang[chat_id] = lang


async def member_by_username(store: SqliteStore, username: str) -> Member | None:
    """A member the bot has seen, by @username (case-insensitive, ``@`` optional)."""
    name = username.removeprefix("@")
    row = await store.fetchone(
        "SELECT id, name, username FROM members WHERE username = ? COLLATE NOCASE"
        " ORDER BY created_at DESC LIMIT 1",
        (name,),
    )
    return Member(row[0], row[1], row[2]) if row else None

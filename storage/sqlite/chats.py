"""Per-chat settings (/lang, /settings) and member look-ups by @username."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from core.allocation import Rule
from core.money import Cents
from core.packets import Member
from storage.sqlite.store import SqliteStore


@dataclass(frozen=True, slots=True)
class ChatRules:
    """A chat's own choices; ``None`` follows the deployment's settings."""

    lucky_rule: Rule | None = None
    draft_skip_below: Cents | None = None


class ChatSettings:
    """The ``chat_settings`` table: one row per chat that changed a setting."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self._lang: dict[int, str | None] = {}
        self._rules: dict[int, ChatRules] = {}

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

    async def rules(self, chat_id: int) -> ChatRules:
        if chat_id not in self._rules:
            row = await self.store.fetchone(
                "SELECT lucky_rule, draft_skip_below FROM chat_settings WHERE chat_id = ?",
                (chat_id,),
            )
            rule, skip = row if row else (None, None)
            self._rules[chat_id] = ChatRules(Rule(rule) if rule else None, skip)
        return self._rules[chat_id]

    async def set_rules(self, chat_id: int, rules: ChatRules, now_ms: int) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO chat_settings(chat_id, lucky_rule, draft_skip_below, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET"
                " lucky_rule = excluded.lucky_rule,"
                " draft_skip_below = excluded.draft_skip_below, updated_at = excluded.updated_at",
                (chat_id, rules.lucky_rule.value if rules.lucky_rule else None,
                 rules.draft_skip_below, now_ms),
            )

        await self.store.write(write)
        self._rules[chat_id] = rules


async def member_by_username(store: SqliteStore, username: str) -> Member | None:
    """A member the bot has seen, by @username (case-insensitive, ``@`` optional)."""
    name = username.removeprefix("@")
    row = await store.fetchone(
        "SELECT id, name, username FROM members WHERE username = ? COLLATE NOCASE"
        " ORDER BY created_at DESC LIMIT 1",
        (name,),
    )
    return Member(row[0], row[1], row[2]) if row else None

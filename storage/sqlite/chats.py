"""Per-chat settings (/lang, /settings; ``core.ports.ChatSettingsStore``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from core.allocation import Rule
from core.cache import BoundedCache
from core.chats import ChatRules
from storage.sql_store import SqlConnection, SqlStore


_MISS = object()


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class ChatSettings:
    """The ``chat_settings`` table: one row per chat that changed a setting.

    Reads are cached per process in bounded, aging caches (``CACHE_SIZE`` chats,
    ``CACHE_AGE_MS`` each): a change made by another process shows within seconds.
    """

    CACHE_SIZE = 10_000
    CACHE_AGE_MS = 5_000

    def __init__(self, store: SqlStore, now_ms: Callable[[], int] = _monotonic_ms) -> None:
        self.store = store
        # Another process may change a chat's settings: stale for seconds, never for good.
        age_s, seconds = self.CACHE_AGE_MS / 1000, lambda: now_ms() / 1000
        self._lang: BoundedCache[int, str | None] = BoundedCache(self.CACHE_SIZE, age_s, seconds)
        self._rules: BoundedCache[int, ChatRules] = BoundedCache(self.CACHE_SIZE, age_s, seconds)

    async def lang(self, chat_id: int) -> str | None:
        """The chat's language override, or ``None`` to follow each member's language."""
        cached = self._lang.get(chat_id, _MISS)
        if cached is not _MISS:
            return cached  # type: ignore[return-value]
        row = await self.store.fetchone(
            "SELECT lang FROM chat_settings WHERE chat_id = ?", (chat_id,)
        )
        lang: str | None = row[0] if row else None
        self._lang.put(chat_id, lang)
        return lang

    async def set_lang(self, chat_id: int, lang: str | None, now_ms: int) -> None:
        def write(conn: SqlConnection) -> None:
            conn.execute(
                "INSERT INTO chat_settings(chat_id, lang, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(chat_id) DO UPDATE SET lang = excluded.lang,"
                " updated_at = excluded.updated_at",
                (chat_id, lang, now_ms),
            )

        await self.store.write(write)
        self._lang.put(chat_id, lang)

    async def rules(self, chat_id: int) -> ChatRules:
        cached = self._rules.get(chat_id)
        if isinstance(cached, ChatRules):
            return cached
        row = await self.store.fetchone(
            "SELECT lucky_rule, draft_skip_below FROM chat_settings WHERE chat_id = ?",
            (chat_id,),
        )
        rule, skip = row if row else (None, None)
        rules = ChatRules(Rule(rule) if rule else None, skip)
        self._rules.put(chat_id, rules)
        return rules

    async def set_rules(self, chat_id: int, rules: ChatRules, now_ms: int) -> None:
        def write(conn: SqlConnection) -> None:
            conn.execute(
                "INSERT INTO chat_settings(chat_id, lucky_rule, draft_skip_below, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET"
                " lucky_rule = excluded.lucky_rule,"
                " draft_skip_below = excluded.draft_skip_below, updated_at = excluded.updated_at",
                (chat_id, rules.lucky_rule.value if rules.lucky_rule else None,
                 rules.draft_skip_below, now_ms),
            )

        await self.store.write(write)
        self._rules.put(chat_id, rules)

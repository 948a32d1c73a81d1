"""SQL text shared by both engines: ``?`` placeholders become psycopg's ``%s``."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

# SQLite spellings the shared queries use, and PostgreSQL's for the same thing.
_NOCASE = re.compile(r"([\w.]+) = \? COLLATE NOCASE")


@lru_cache(maxsize=1024)
def from_qmark(sql: str) -> str:
    """``SELECT ... WHERE id = ? AND name LIKE 'w:%'`` -> psycopg's ``%s`` / ``%%`` style.

    A ``?`` inside a quoted literal stays as it is; every ``%`` is doubled;
    ``x = ? COLLATE NOCASE`` compares ``lower(x)`` with ``lower(?)``.
    """
    sql = _NOCASE.sub(r"lower(\1) = lower(?)", sql)
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote is not None:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


class QmarkConnection:
    """A psycopg connection that also runs SQLite-style ``?`` statements, so the
    write functions of tables both engines share (drafts, chat settings...) run
    unchanged on PostgreSQL. Statements already in ``%s`` style pass as they are."""

    def __init__(self, conn: Any, credits: Counter[str] | None = None) -> None:
        self._conn = conn
        # Balance changes held for the end of the batch (see PgBatchWriter):
        # those of the batch's earlier writes, and this write's own.
        self.batch_credits: Counter[str] = credits if credits is not None else Counter()
        self.credits: Counter[str] = Counter()

    def defer(self, account: str, delta: int) -> None:
        self.credits[account] += delta

    def pending(self, account: str) -> int:
        """What the batch will still add to ``account`` when it commits."""
        return self.batch_credits[account] + self.credits[account]

    @staticmethod
    def _spell(sql: str, params: Any) -> str:
        return from_qmark(sql) if params is not None and "?" in sql and "%s" not in sql else sql

    def execute(self, sql: str, params: Any = None) -> Any:
        return self._conn.execute(self._spell(sql, params), params)

    def executemany(self, sql: str, params_seq: Any) -> Any:
        with self._conn.cursor() as cur:
            cur.executemany(self._spell(sql, () if "?" in sql else None), params_seq)
            return cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

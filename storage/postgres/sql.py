"""SQL text shared by both engines: SQLite's spelling becomes PostgreSQL's.

The statements of ``storage/sqlite`` are written once; ``from_qmark`` turns
``?`` and ``:name`` placeholders into psycopg's ``%s`` and ``%(name)s`` (every
literal ``%`` doubled) and the few SQLite words PostgreSQL spells otherwise.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# SQLite spellings the shared statements use -> PostgreSQL's (outside quotes).
_NOCASE = re.compile(r"([\w.]+) = \? COLLATE NOCASE")
_IS_NOT = re.compile(r"\bIS NOT (\?|:\w+)")
_IS = re.compile(r"\bIS (\?|:\w+)")
_OR_IGNORE = re.compile(r"^(\s*)INSERT OR IGNORE INTO\b", re.IGNORECASE)
# A quoted literal or name, a ``::type`` cast, a named or ``?`` placeholder, or a %.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|:(\w+)|\?|%")


def _spelled(sql: str) -> str:
    sql = _NOCASE.sub(r"lower(\1) = lower(?)", sql)
    sql = _IS_NOT.sub(r"IS DISTINCT FROM \1", sql)
    sql = _IS.sub(r"IS NOT DISTINCT FROM \1", sql)
    if _OR_IGNORE.match(sql):
        sql = _OR_IGNORE.sub(r"\1INSERT INTO", sql).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    return sql


def _placeholder(match: re.Match[str]) -> str:
    token = match.group(0)
    if token == "?":
        return "%s"
    if token == "%":
        return "%%"
    if match.group(1) is not None:
        return f"%({match.group(1)})s"
    return token.replace("%", "%%")  # a literal, a quoted name or a cast


@lru_cache(maxsize=1024)
def from_qmark(sql: str) -> str:
    """``SELECT ... WHERE id = ? AND name LIKE 'w:%'`` -> ``... id = %s ... 'w:%%'``.

    ``?`` and ``:name`` inside quotes stay as they are; ``x = ? COLLATE NOCASE``
    compares ``lower(x)`` with ``lower(?)``; ``IS [NOT] ?`` becomes ``IS [NOT]
    DISTINCT FROM``; ``INSERT OR IGNORE`` becomes ``... ON CONFLICT DO NOTHING``.
    """
    return _TOKEN.sub(_placeholder, _spelled(sql))


@lru_cache(maxsize=1024)
def spelled_only(sql: str) -> str:
    """SQLite's words in PostgreSQL's spelling, for a statement without parameters
    (psycopg leaves its ``%`` alone)."""
    return _spelled(sql)


def _native(sql: str) -> bool:
    return "%s" in sql or "%(" in sql


class QmarkConnection:
    """A psycopg connection that also runs SQLite-style statements, so the
    functions of tables both engines share run unchanged on PostgreSQL.
    Statements already in psycopg's ``%s`` style pass as they are."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @staticmethod
    def _spell(sql: str, params: Any) -> str:
        if _native(sql):
            return sql
        return spelled_only(sql) if params is None else from_qmark(sql)

    def execute(self, sql: str, params: Any = None) -> Any:
        return self._conn.execute(self._spell(sql, params), params)

    def executemany(self, sql: str, params_seq: Any) -> Any:
        cur = self._conn.cursor()
        cur.executemany(self._spell(sql, ()), params_seq)
        return cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

"""A plain connection to the test's database on either engine, as an intruder
or a bad script would use: what the database itself refuses, not our code."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from storage.postgres.sql import from_qmark
from storage.stores import is_postgres, sqlite_path

# What each engine says when a CHECK refuses a row.
CHECK_FAILED = "CHECK constraint failed|violates check constraint"
IntegrityErrors = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)


class RawSQL:
    def __init__(self, url: str) -> None:
        self.postgres = is_postgres(url)
        if self.postgres:
            self._pg = psycopg.connect(url, autocommit=True)
        else:
            self._lite = sqlite3.connect(sqlite_path(url), timeout=10, isolation_level=None)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """One statement, SQLite's ``?`` placeholders, committed on its own."""
        if self.postgres:
            cur = self._pg.execute(from_qmark(sql), tuple(params))
            return cur.fetchall() if cur.description else []
        return self._lite.execute(sql, tuple(params)).fetchall()

    def without_share_triggers(self, sql: str, params: Sequence[Any]) -> None:
        """Run ``sql`` with the shares triggers out of the way, then put them back."""
        if self.postgres:
            with self._pg.transaction():
                self._pg.execute("ALTER TABLE shares DISABLE TRIGGER USER")
                self._pg.execute(from_qmark(sql), tuple(params))
                self._pg.execute("ALTER TABLE shares ENABLE TRIGGER USER")
            return
        conn = self._lite
        conn.execute("BEGIN IMMEDIATE")
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'shares'"
        ).fetchall()
        for name, _ in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute(sql, tuple(params))
        for _, create in triggers:
            conn.execute(create)
        conn.execute("COMMIT")

    def close(self) -> None:
        (self._pg if self.postgres else self._lite).close()


@contextmanager
def raw_sql(url: str) -> Iterator[RawSQL]:
    conn = RawSQL(url)
    try:
        yield conn
    finally:
        conn.close()


async def raw_write(store: Any, *statements: tuple[str, Sequence[Any]]) -> None:
    """Statements (``?`` placeholders) in one write of the store's own batch writer."""
    translate = from_qmark if hasattr(store, "read") else (lambda sql: sql)

    def write(conn: Any) -> None:
        for sql, params in statements:
            conn.execute(translate(sql), tuple(params))

    await store.write(write)

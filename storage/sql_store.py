"""What the bot's tables need from a store, whichever the engine.

The adapters beside the store (drafts, chat settings, keyboard and packet
messages, who may open, trust, records) are typed against ``SqlStore``: reads
through ``fetchall``/``fetchone``, writes as a function of a connection run
in the store's group commit. Both stores take SQLite's ``?`` placeholders
(PostgreSQL's translates them), so one spelling of each statement serves both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class SqlCursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class SqlConnection(Protocol):
    """The connection a write runs on: ``sqlite3.Connection`` or PostgreSQL's
    ``PgWrite``, inside the batch's transaction (its own savepoint)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> SqlCursor: ...

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any: ...


class SqlStore(Protocol):
    """``SqliteStore`` and ``PostgresStore`` both answer this."""

    async def write(self, fn: Callable[[SqlConnection], T], /) -> T: ...

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ..., /) -> list[Any]: ...

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ..., /) -> Any: ...


def row_lock(conn: SqlConnection, strength: str = "UPDATE") -> str:
    """The clause that locks the rows a write reads before it acts on them
    (``strength``: PostgreSQL's ``UPDATE``, ``SHARE``, ``KEY SHARE``...).

    The one thing the engines cannot spell alike. SQLite's writer runs every
    batch under ``BEGIN IMMEDIATE``, which holds the whole database against
    other processes, so a read there is already exclusive (and SQLite has no
    ``FOR UPDATE``): the clause is empty. On PostgreSQL other connections and
    processes write at the same time: without the row lock two of them could
    read the same row and both act on it.
    """
    return "" if isinstance(conn, sqlite3.Connection) else f" FOR {strength}"


def total(column: str) -> str:
    """``SUM(column)``, 0 when there are no rows, as an integer on both engines:
    PostgreSQL sums BIGINT as NUMERIC (a ``Decimal`` in Python), and money is
    integer cents."""
    return f"CAST(COALESCE(SUM({column}), 0) AS BIGINT)"

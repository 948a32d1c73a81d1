"""PostgreSQL adapter of ``core.ports.PacketStore``: the same guarantees as SQLite's.

One share per member per packet (UNIQUE), never beyond the count or the total
(CHECKs and the ``shares_in_order`` trigger, under the packet's row lock), no
wallet below zero but the mint (CHECK), one transfer per key (UNIQUE): all
enforced by PostgreSQL inside the write's transaction.

The store's methods and write functions are SQLite's (``LedgerStore`` and the
functions of ``storage.sqlite.store``), run through ``PgWrite``; what is
PostgreSQL's own is here: connections, the batch writer on several of them,
the audit's snapshot, the errors of a server that cannot answer, and leases.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg

from core.errors import StoreUnavailable
from storage.postgres.schema import migrate
from storage.postgres.sql import QmarkConnection, from_qmark
from storage.postgres.writer import PgBatchWriter
from storage.sqlite.audit import ALL_CHECKS, Check, ledger_problems
from storage.sqlite.store import LedgerStore, transfer

__all__ = ["PostgresStore", "StoreUnavailable", "connect", "transfer", "unavailable"]

T = TypeVar("T")

_log = logging.getLogger(__name__)

# Every check on one snapshot, while the writers go on.
AUDIT_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

# A server that cannot answer now (gone, refusing connections, shutting down,
# out of connections, a lock wait or deadlock beyond the writer's retries):
# psycopg's OperationalError and its subclasses, and a connection psycopg
# already knows is closed (InterfaceError). A bug (bad SQL, a missing table,
# a broken constraint) stays the error it is, as on SQLite.
UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError)


def unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"postgresql: {str(exc).strip() or type(exc).__name__}")


def connect(url: str) -> psycopg.Connection:
    """An autocommit connection: the writer and the readers say BEGIN themselves."""
    return psycopg.connect(url, autocommit=True)


class PostgresStore(LedgerStore):
    """Writes through a batching writer on ``writers`` connections; reads on a pool."""

    def __init__(
        self, url: str, *, writers: int = 1, readers: int = 4,
        audit_checks: Sequence[Check] = ALL_CHECKS,
    ) -> None:
        """``audit_checks``: what ``ledger_problems`` runs (every check, unless told)."""
        self.url = url
        self.audit_checks = tuple(audit_checks)
        self._writers = writers
        self._readers = readers
        self._pool: asyncio.Queue[psycopg.Connection] | None = None
        self._read_conns: list[psycopg.Connection] = []
        self._unopened_readers = 0
        self.writer: PgBatchWriter | None = None

    async def open(self) -> None:
        try:
            # The connection that migrates is the first reader; the others are
            # opened when reads overlap (up to ``readers``).
            conn = await asyncio.to_thread(connect, self.url)
            self._read_conns.append(conn)
            await asyncio.to_thread(migrate, conn)
            self._pool = asyncio.Queue()
            self._pool.put_nowait(conn)
            self._unopened_readers = self._readers - 1
            self.writer = PgBatchWriter(lambda: connect(self.url), self._writers)
            await self.writer.start()
        except UNAVAILABLE as exc:
            await self.close()
            raise unavailable(exc) from exc
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.stop()
        for conn in self._read_conns:
            await asyncio.to_thread(conn.close)
        self._read_conns.clear()
        self._pool = None
        self.writer = None

    async def __aenter__(self) -> PostgresStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ------------------------------------------------------------

    async def write(self, fn: Callable[[Any], T], order: str = "") -> T:
        """Run ``fn(conn)`` in the next group commit and return its result.

        ``conn`` is a ``storage.postgres.ledger.PgWrite``: SQLite's ``?``
        statements run on it as they are."""
        assert self.writer is not None, "store is not open"
        try:
            return await self.writer.submit(fn, order)
        except UNAVAILABLE as exc:
            raise unavailable(exc) from exc

    async def read(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(conn)`` on a pooled autocommit connection (``?`` statements too)."""
        assert self._pool is not None, "store is not open"
        if self._pool.empty() and self._unopened_readers > 0:
            self._unopened_readers -= 1  # taken before the await: the count stays true
            try:
                conn = await asyncio.to_thread(connect, self.url)
            except UNAVAILABLE as exc:
                self._unopened_readers += 1
                raise unavailable(exc) from exc
            self._read_conns.append(conn)
        else:
            conn = await self._pool.get()
        try:
            if conn.broken or conn.closed:
                fresh = await asyncio.to_thread(connect, self.url)
                self._replace(conn, fresh)
                conn = fresh
            return await asyncio.to_thread(fn, QmarkConnection(conn))
        except UNAVAILABLE as exc:
            raise unavailable(exc) from exc
        finally:
            self._pool.put_nowait(conn)

    def _replace(self, old: psycopg.Connection, new: psycopg.Connection) -> None:
        self._read_conns = [new if c is old else c for c in self._read_conns]

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of ``sql`` written with SQLite's ``?`` placeholders (both engines read it)."""
        query = from_qmark(sql)
        return await self.read(lambda conn: conn.execute(query, tuple(params)).fetchall())

    async def run_checks(self, checks: Sequence[Check]) -> list[str]:
        return await self.read(lambda conn: ledger_problems(conn, checks, begin=AUDIT_SNAPSHOT))

    # -- leases --------------------------------------------------------------

    async def take_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """Hold (or renew) lease ``name`` until ``now_ms + ttl_ms``; False while
        another holder's lease has not lapsed. One statement: the row lock
        decides between processes asking at the same moment."""
        return bool(await self.execute(
            "INSERT INTO leases(name, holder, until_ms) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " until_ms = excluded.until_ms"
            " WHERE leases.holder = excluded.holder OR leases.until_ms <= ?",
            (name, holder, now_ms + ttl_ms, now_ms),
        ))

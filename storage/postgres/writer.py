"""Group commit on PostgreSQL: several connections, each committing batches.

As in ``storage/sqlite/writer.py`` each write is a plain function of a
(psycopg, synchronous) connection, run on a worker thread inside its own
SAVEPOINT of the batch's transaction, so one refused write rolls back alone.
Several connections commit batches at once; row locks taken by the writes
(and the constraints and triggers) keep them correct against each other and
against other processes. A write that lost a deadlock or a lock wait is rolled
back to its savepoint and retried in a later batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus

from storage.postgres.ledger import PgWrite

T = TypeVar("T")
Write = Callable[[psycopg.Connection], Any]

log = logging.getLogger(__name__)

# Lost a race with another transaction: nothing is wrong with the write itself.
RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure, errors.LockNotAvailable)
MAX_ATTEMPTS = 20
# Writes waiting or in a batch at once; a submitter past that waits for room
# (as storage/sqlite/writer.py's MAX_QUEUED): a crowd queues in its presses,
# not in this process's memory.
MAX_QUEUED = 10_000


@dataclass
class _Item:
    order: str
    write: Write
    future: asyncio.Future[Any]
    attempts: int = field(default=0)


class PgBatchWriter:
    def __init__(
        self,
        connect: Callable[[], psycopg.Connection],
        connections: int = 1,
        max_batch: int = 500,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self._connect = connect
        self._connections = max(1, connections)
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()  # bounded by _room
        self._room = asyncio.Semaphore(max_queued)
        self._tasks: list[asyncio.Task[None]] = []
        self._conns: list[psycopg.Connection | None] = []
        self._unresolved = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.batches = 0
        self.writes = 0
        self.retries = 0

    async def start(self) -> None:
        for n in range(self._connections):
            self._conns.append(await asyncio.to_thread(self._connect))
            self._tasks.append(asyncio.create_task(self._run(n), name=f"pg-batch-writer-{n}"))

    async def stop(self) -> None:
        if self._tasks:
            await self._idle.wait()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks.clear()
        for conn in self._conns:
            if conn is not None:
                await asyncio.to_thread(conn.close)
        self._conns.clear()

    async def submit(self, write: Callable[[psycopg.Connection], T], order: str = "") -> T:
        """Run ``write`` in a coming batch. Within a batch writes run sorted by
        ``order`` (stable), so batches on several connections lock shared rows
        (the mint, a hot packet) in one order and rarely deadlock."""
        if not self._tasks:
            raise RuntimeError("the writer is not running")
        await self._room.acquire()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._unresolved += 1
        self._idle.clear()
        self._queue.put_nowait(_Item(order, write, future))
        return await future

    def _resolved(self) -> None:
        self._room.release()
        self._unresolved -= 1
        if self._unresolved == 0:
            self._idle.set()

    async def _run(self, n: int) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch.sort(key=lambda item: item.order)
            try:
                conn = self._conns[n]
                if conn is None or conn.closed or conn.broken:
                    conn = self._conns[n] = await asyncio.to_thread(self._connect)
                outcomes = await asyncio.to_thread(_commit, [i.write for i in batch], conn)
            except RETRYABLE as exc:  # lost a race at COMMIT: the whole batch again
                outcomes = [("retry", exc)] * len(batch)
            except Exception as exc:  # the whole batch failed to commit
                outcomes = [("error", exc)] * len(batch)
            self.batches += 1
            self.writes += len(batch)
            for item, (status, value) in zip(batch, outcomes):
                if status == "retry" and item.attempts < MAX_ATTEMPTS and not item.future.done():
                    item.attempts += 1
                    self.retries += 1
                    self._queue.put_nowait(item)
                    continue
                if not item.future.done():
                    if status == "ok":
                        item.future.set_result(value)
                    else:
                        item.future.set_exception(value)
                self._resolved()


def _commit(writes: list[Write], conn: psycopg.Connection) -> list[tuple[str, Any]]:
    outcomes: list[tuple[str, Any]] = []
    credits: Counter[str] = Counter()
    # Savepoint statements share a round trip: after a write that worked,
    # "RELEASE w; SAVEPOINT w"; after one that failed, "ROLLBACK TO w" (which
    # keeps w for the next write). COMMIT keeps the last savepoint's work.
    conn.execute("BEGIN; SAVEPOINT w")
    try:
        lost: Exception | None = None
        for n, write in enumerate(writes):
            if lost is not None:
                # This batch lost a race for a lock (PostgreSQL broke a deadlock
                # after deadlock_timeout): the rest would likely wait on the same
                # rows again, a deadlock_timeout each. Commit what is done, so
                # the other transaction goes on, and retry the rest next batch.
                outcomes.append(("retry", lost))
                continue
            if n:
                conn.execute("RELEASE w; SAVEPOINT w")
            wrapped = PgWrite(conn, credits)
            try:
                outcomes.append(("ok", write(wrapped)))
                credits.update(wrapped.credits)
            except Exception as exc:
                conn.execute("ROLLBACK TO w")
                retry = isinstance(exc, RETRYABLE)
                outcomes.append(("retry" if retry else "error", exc))
                if retry:
                    lost = exc
        conn.execute("RELEASE w")
        _apply_credits(conn, credits)
        conn.execute("COMMIT")
    except BaseException:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                log.warning("rollback failed; the connection will be replaced")
        raise
    return outcomes


def _apply_credits(conn: psycopg.Connection, credits: Counter[str]) -> None:
    """The batch's deferred credits (and the mint's debits), locked in id order."""
    changes = sorted((account, delta) for account, delta in credits.items() if delta)
    if not changes:
        return
    accounts = [a for a, _ in changes]
    conn.execute(
        "SELECT 1 FROM accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (accounts,)
    ).fetchall()
    conn.execute(
        "UPDATE accounts a SET balance = a.balance + d.delta"
        " FROM unnest(%s::text[], %s::bigint[]) AS d(id, delta) WHERE a.id = d.id",
        (accounts, [d for _, d in changes]),
    )

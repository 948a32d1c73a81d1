"""Group commit: one writer commits every write waiting in its queue together.

Each write is a plain function of a ``sqlite3.Connection`` run inside its own
SAVEPOINT, so one refused write rolls back alone while the batch commits with
one thread hop and one fsync-free WAL commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], Any]

MAX_BATCH = 2_000  # writes committed together at most
# Writes waiting at most; a caller beyond this waits for room (back-pressure)
# instead of growing the queue without end.
MAX_QUEUED = 10_000


async def in_thread(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn`` on aiosqlite's own thread with its sqlite3 connection: one hop."""
    # aiosqlite has no public call for "run this function on your thread";
    # _execute is what its own execute() uses.
    return await conn._execute(fn, conn._conn)  # noqa: SLF001


class BatchWriter:
    def __init__(
        self, conn: aiosqlite.Connection, max_batch: int = MAX_BATCH, max_queued: int = MAX_QUEUED
    ) -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Write, asyncio.Future[Any]]] = asyncio.Queue(max_queued)
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.writes = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sqlite-batch-writer")

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def submit(self, write: Callable[[sqlite3.Connection], T]) -> T:
        if self._task is None:
            raise RuntimeError("the writer is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((write, future))  # waits while the queue is full
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                outcomes = await in_thread(self._conn, lambda c: _commit([w for w, _ in batch], c))
            except Exception as exc:  # the whole batch failed to commit
                outcomes = [(False, exc)] * len(batch)
            self.batches += 1
            self.writes += len(batch)
            for (_, future), (ok, value) in zip(batch, outcomes):
                if not future.done():
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
                self._queue.task_done()


def _commit(writes: list[Write], conn: sqlite3.Connection) -> list[tuple[bool, Any]]:
    outcomes: list[tuple[bool, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for write in writes:
            conn.execute("SAVEPOINT w")
            try:
                outcomes.append((True, write(conn)))
                conn.execute("RELEASE w")
            except Exception as exc:
                conn.execute("ROLLBACK TO w")
                conn.execute("RELEASE w")
                outcomes.append((False, exc))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes

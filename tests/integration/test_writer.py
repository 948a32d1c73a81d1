"""The group-commit writer's queue is bounded: beyond it, callers wait for room."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import aiosqlite

from storage.sqlite.writer import BatchWriter


async def test_a_full_queue_makes_callers_wait_instead_of_growing(tmp_path: Path) -> None:
    conn = await aiosqlite.connect(tmp_path / "w.db", isolation_level=None)
    writer = BatchWriter(conn, max_batch=1, max_queued=1)
    writer.start()
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def blocking(c: sqlite3.Connection) -> None:
        started.set()
        release.wait(30)  # holds the writer's thread: nothing else commits
        ran.append("first")

    def write(name: str):  # noqa: ANN202
        return lambda c: ran.append(name)

    try:
        first = asyncio.ensure_future(writer.submit(blocking))
        await asyncio.to_thread(started.wait, 30)  # the writer took it and is busy
        queued = asyncio.ensure_future(writer.submit(write("queued")))  # fills the queue
        waiting = asyncio.ensure_future(writer.submit(write("waiting")))  # no room: waits
        for _ in range(10):  # let both callers reach the queue
            await asyncio.sleep(0)
        waiting.cancel()  # a caller that gives up while waiting for room never wrote
        release.set()
        await asyncio.gather(first, queued)
        await asyncio.gather(waiting, return_exceptions=True)
        await writer.submit(write("after"))
        assert ran == ["first", "queued", "after"]
    finally:
        release.set()
        await writer.stop()
        await conn.close()

"""Errors that are bugs surface (logged with their traceback, the member still gets
one answer); a store that cannot answer now is "not this time"; start-up jobs are
scheduled even when their first run fails."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.handlers import expiry, shake
from storage.sqlite.store import SqliteStore
from storage.sqlite.writer import in_thread
from tests.telegram.bot_harness import Bot, running_bot


async def _sent_packet(bot: Bot) -> tuple[int, str]:
    alice = bot.updates.user(1, "Alice")
    await bot.command(alice, "/hongbao 10 3 errors")
    draft = bot.last_bot_message()["message_id"]
    await bot.press(alice, draft, "d:s")
    (packet,) = await bot.ctx.store.all_packets()
    return draft, packet.id


async def test_a_bug_under_open_is_logged_with_its_traceback_and_answered_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as bot:
        message, packet_id = await _sent_packet(bot)
        # A schema our code does not expect: a programming error, not an outage.
        await bot.ctx.store.write(lambda c: c.execute("ALTER TABLE shares RENAME TO shares_away"))
        with caplog.at_level(logging.ERROR):
            pressed = await bot.press(bot.updates.user(2, "Bob"), message, f"o:{packet_id}")
        assert pressed["text"] == "Something went wrong — please try again."
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert failures and failures[0].exc_info is not None
        assert "shares" in str(failures[0].exc_info[1])
        await bot.ctx.store.write(lambda c: c.execute("ALTER TABLE shares_away RENAME TO shares"))
        await bot.audit()


@pytest.mark.sqlite_only("SQLite's PRAGMA query_only makes the store refuse writes")
async def test_a_store_that_cannot_write_now_is_not_this_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as bot:
        message, packet_id = await _sent_packet(bot)
        await bot.ctx.store.write(lambda c: c.execute("PRAGMA query_only = 1"))  # read-only
        with caplog.at_level(logging.ERROR):
            pressed = await bot.press(bot.updates.user(2, "Bob"), message, f"o:{packet_id}")
        assert pressed["text"] == "Not this time — try again"
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        await in_thread(bot.ctx.store._write_conn, lambda c: c.execute("PRAGMA query_only = 0"))  # noqa: SLF001
        assert (await bot.press(bot.updates.user(2, "Bob"), message, f"o:{packet_id}"))[
            "text"
        ].startswith("🧧 You got")
        await bot.audit()


async def test_start_up_jobs_are_scheduled_though_their_first_run_fails(tmp_path: Path) -> None:
    db = tmp_path / "redpacket.db"
    async with SqliteStore(db):
        pass  # the schema, then a table our sweeps need goes missing
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE packets RENAME TO packets_away")
        conn.execute("ALTER TABLE campaigns RENAME TO campaigns_away")
    async with running_bot(tmp_path) as bot:
        assert bot.app.job_queue is not None
        assert bot.app.job_queue.get_jobs_by_name(expiry.JOB_NAME)
        assert bot.app.job_queue.get_jobs_by_name(shake.SWEEP_JOB)

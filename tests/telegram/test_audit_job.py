"""The periodic audit inside the bot: clean on a healthy ledger, admins told of problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.handlers import audit
from tests.telegram.bot_harness import running_bot

ADMIN = 4242


@pytest.mark.on_postgres
async def test_the_audit_job_is_scheduled_clean_and_tells_admins_of_tampering(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, bot_admin_ids=str(ADMIN)) as bot:
        assert bot.app.job_queue is not None
        assert bot.app.job_queue.get_jobs_by_name(audit.JOB_NAME)
        alice, bob = bot.updates.user(1, "Alice"), bot.updates.user(2, "Bob <b>")
        await bot.command(alice, "/hongbao 10 2 audit me")
        draft = bot.last_bot_message()["message_id"]
        await bot.press(alice, draft, "d:s")
        (packet,) = await bot.ctx.store.all_packets()
        await bot.press(bob, draft, f"o:{packet.id}")
        assert await audit.run_audit(bot.ctx) == []

        await bot.ctx.store.write(
            lambda conn: conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 'w:2'")
        )
        bot.req.clear()
        (job,) = bot.app.job_queue.get_jobs_by_name(audit.JOB_NAME)
        await job.run(bot.app)  # what the schedule would run, now
        notice = bot.req.last("sendMessage", chat_id=ADMIN)
        assert notice["text"].startswith("⚠️ The audit found 2 problems in the red-packet ledger:")
        assert "w:2" in notice["text"]

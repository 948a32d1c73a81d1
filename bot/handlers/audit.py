"""The periodic audit (docs/rules.md §6) inside the bot: every ``AUDIT_INTERVAL_SECONDS``.

It runs the same checks as ``redpacket audit``, rebuilds a gate that drifted
from the database, logs the verdict and tells the bot admins by direct
message when something is wrong.
"""

from __future__ import annotations

import html
import logging

from telegram.ext import Application, ContextTypes

from core.audit import audit_everything

from bot.app import BotContext, bot_context
from bot.jobs import repeat, stop_repeating
from bot.leases import hold

_log = logging.getLogger(__name__)

JOB_NAME = "redpacket-audit"
SHOWN_PROBLEMS = 10


async def run_audit(ctx: BotContext) -> list[str]:
    """Audit packets and campaigns; returns the problems (empty when clean)."""
    shake = ctx.engine.shake if ctx.engine is not None else None
    report = await audit_everything(ctx.packets, shake, repair=True)
    for note in report.repaired:
        _log.info("audit: %s", note)
    return report.problems


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    if not ctx.started:
        return
    try:
        if not await hold(ctx, JOB_NAME, ctx.settings.audit_interval_seconds):
            return  # another process audits this turn
        problems = await run_audit(ctx)
    except Exception:
        _log.exception("the periodic audit failed to run; the next one tries again")
        return
    if not problems:
        _log.info("audit clean: the ledger balances and nothing was created or lost")
        return
    for problem in problems:
        _log.error("audit: %s", problem)
    lines = "\n".join(f"• {html.escape(p)}" for p in problems[:SHOWN_PROBLEMS])
    for admin in ctx.settings.bot_admin_ids:
        lang = ctx.lang(None)
        text = ctx.html(lang, "audit.problems", n=len(problems)) + "\n" + lines
        await ctx.notifier.send(admin, text, None)


async def _start(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    repeat(application, _job, ctx.settings.audit_interval_seconds, JOB_NAME)


async def _stop(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    stop_repeating(application, JOB_NAME)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    ctx.on_start.append(_start)
    ctx.on_stop.append(_stop)

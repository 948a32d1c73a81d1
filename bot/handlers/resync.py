"""Packet messages left behind (docs/rules.md §11: the final edit is never lost).

At start, every packet message that does not show its packet's latest state
(the bot was killed mid-edit, or waited out a 429 when it stopped) is edited;
then every ``EXPIRY_SWEEP_SECONDS``, for messages another process left behind
when it stopped.
"""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.app import BotContext, bot_context
from bot.jobs import repeat, stop_repeating

_log = logging.getLogger(__name__)

JOB_NAME = "redpacket-resync-edits"


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    if ctx.started:
        await ctx.editor.resync()


async def _start(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    repeat(application, _job, ctx.settings.expiry_sweep_seconds, JOB_NAME)
    behind = await ctx.editor.resync()
    if behind:
        _log.info("editing the messages of %d packets that were left behind", behind)


async def _stop(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    stop_repeating(application, JOB_NAME)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    ctx.on_start.append(_start)
    ctx.on_stop.append(_stop)

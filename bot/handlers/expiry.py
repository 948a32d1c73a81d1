"""Expiry from the database (docs/rules.md §6): at start, then every ``EXPIRY_SWEEP_SECONDS``.

Each refunded packet's group message turns to its expired state and its sender
gets a direct message. Packets that expired while the bot was down are
refunded by the sweep at start.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import Application, ContextTypes

from bot.app import BotContext, bot_context
from bot.jobs import repeat, stop_repeating
from bot.leases import hold

_log = logging.getLogger(__name__)

JOB_NAME = "redpacket-expiry"
BATCH = 500


async def sweep(ctx: BotContext) -> int:
    """Expire and refund every packet that is due; returns how many."""
    done = 0
    async with ctx.extra.setdefault("expiry_lock", asyncio.Lock()):
        while True:
            refunds = await ctx.packets.expire_due(BATCH)
            for refund in refunds:
                ctx.editor.touch(refund.packet.id, final=True)
                if refund.amount > 0:
                    ctx.spawn(ctx.notifier.expired(refund))
            done += len(refunds)
            if len(refunds) < BATCH:
                return done


def sweep_soon(ctx: BotContext) -> None:
    if not ctx.extra.get("sweep_pending"):
        ctx.extra["sweep_pending"] = True

        async def run() -> None:
            try:
                await sweep(ctx)
            finally:
                ctx.extra["sweep_pending"] = False

        ctx.spawn(run())


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = bot_context(context)
    if not ctx.started:
        return
    try:
        if not await hold(ctx, JOB_NAME, ctx.settings.expiry_sweep_seconds):
            return  # another process sweeps this turn
        await sweep(ctx)
    except Exception:
        _log.exception("expiry sweep failed; the next one tries again")


async def _start(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    # Scheduled first: a failing first sweep must not leave expiry unscheduled.
    repeat(application, _job, ctx.settings.expiry_sweep_seconds, JOB_NAME)
    refunded = await sweep(ctx)
    if refunded:
        _log.info("refunded %d packets that expired while the bot was away", refunded)


async def _stop(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    stop_repeating(application, JOB_NAME)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    ctx.on_start.append(_start)
    ctx.on_stop.append(_stop)

"""/stats (docs/rules.md §9) for chat admins and bot admins: numbers, leaders and a PNG chart.

In a group: that chat, for its administrators and the bot admins. In a private
chat: every chat, for bot admins only. Presses the gate turned away live in
memory (``RedPackets.turned_away``); a job adds them to the database every
minute and at shutdown, and /stats reads the table plus what is not flushed yet.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any

from telegram import Update
from telegram.constants import ParseMode, ChatType
from telegram.ext import Application, CommandHandler, ContextTypes

from core.amount import Amount
from core.records import MemberCount, Stats, StatsFacts, summarize, with_unflushed
from storage.stores import records_for

from bot.admins import is_admin
from bot.app import AnyApplication, BotContext, bot_context
from bot.charts import ChartLabels, render_stats_chart
from bot.short_lived import reply_briefly
from bot.handlers.common import guarded
from bot.handlers.wallet import (
    duration_text,
    records_of,
    reply_html,
    turn_of,
)
from bot.jobs import repeat, stop_repeating

_log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 60
FLUSH_JOB = "redpacket-turned-away-flush"
TOP = 5


def leader_lines(
    ctx: BotContext, lang: str, key: str, members: list[MemberCount] | Any
) -> list[str]:
    return [
        ctx.html(lang, key, rank=rank, name=m.name, count=m.count, total=Amount(m.amount))
        for rank, m in enumerate(members, start=1)
    ]


def stats_text(ctx: BotContext, lang: str, stats: Stats) -> str:
    facts = stats.facts
    title = "stats.title_all" if facts.chat_id is None else "stats.title_chat"
    lines = [ctx.html(lang, title)]
    if not stats.has_activity:
        lines.append(ctx.html(lang, "stats.empty"))
    lines.append(ctx.html(lang, "stats.packets", count=facts.packets,
                          total=Amount(facts.money_sent)))
    lines.append(ctx.html(lang, "stats.shares", count=facts.shares,
                          total=Amount(facts.money_taken)))
    if stats.median_finish_ms is not None and stats.fastest_finish_ms is not None:
        lines.append(ctx.html(
            lang, "stats.finish", count=stats.finished,
            median=duration_text(ctx, lang, stats.median_finish_ms),
            fastest=duration_text(ctx, lang, stats.fastest_finish_ms),
        ))
    else:
        lines.append(ctx.html(lang, "stats.finish_none"))
    lines.append(ctx.html(lang, "stats.turned_away", count=facts.turned_away))
    if facts.campaigns is not None:
        c = facts.campaigns
        lines.append(ctx.html(lang, "stats.campaigns", count=c.campaigns,
                              pool=Amount(c.funded), won=Amount(c.paid)))
    if facts.top_senders:
        lines += ["", ctx.html(lang, "stats.top_senders")]
        lines += leader_lines(ctx, lang, "stats.sender_line", facts.top_senders)
    if facts.luckiest:
        lines += ["", ctx.html(lang, "stats.luckiest")]
        lines += leader_lines(ctx, lang, "stats.lucky_line", facts.luckiest)
    return "\n".join(lines)


async def chart_png(ctx: BotContext, facts: StatsFacts, lang: str) -> bytes:
    # matplotlib takes a few hundred ms: keep the event loop serving presses.
    return await asyncio.to_thread(
        render_stats_chart, facts.activity, dict(facts.share_ratio_tenths),
        labels=chart_labels(ctx, lang), money=ctx.money,
    )


def chart_labels(ctx: BotContext, lang: str) -> ChartLabels:
    """The chart's words from the catalogs (``ux.chart.*``)."""
    def word(name: str) -> str:
        return ctx.text(lang, f"ux.chart.{name}")

    return ChartLabels(
        title=word("title"), packets_title=word("packets_title"),
        packets_axis=word("packets_axis"), money_title=word("money_title"),
        money_axis=word("money_axis"), shares_title=word("shares_title"),
        shares_axis=word("shares_axis"), ratio_axis=word("ratio_axis"), mean=word("mean"),
        empty=word("empty"), no_shares=word("no_shares"), needs_cjk=lang == "zh",
    )


@guarded
async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    turn = await turn_of(update, context)
    if turn is None:
        return
    ctx, message, member, lang = turn.ctx, turn.message, turn.member, turn.lang
    private = message.chat.type == ChatType.PRIVATE
    if private:
        allowed = member.id in ctx.settings.bot_admin_ids
    else:
        allowed = await is_admin(
            context.bot, message.chat.id, member.id, ctx.settings.bot_admin_ids
        )
    if not allowed:
        await reply_briefly(ctx, message, ctx.html(lang, "stats.not_admin"))
        return
    facts = await records_of(ctx).stats_facts(None if private else message.chat.id, top=TOP)
    facts = with_unflushed(facts, ctx.packets.turned_away)
    await reply_html(update, stats_text(ctx, lang, summarize(facts)))
    png = await chart_png(ctx, facts, lang)
    await message.reply_photo(
        png, caption=html.escape(ctx.text(lang, "stats.caption")), parse_mode=ParseMode.HTML
    )


# --- persisting the turned-away counts -----------------------------------------


async def flush_turned_away(ctx: BotContext) -> int:
    if ctx.engine is None:
        return 0
    return await records_for(ctx.store).flush_turned_away(ctx.packets.turned_away)


async def _flush_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await flush_turned_away(bot_context(context))
    except Exception:
        _log.exception("could not save the turned-away counts; they stay in memory")


async def _on_start(application: AnyApplication, ctx: BotContext) -> None:
    repeat(application, _flush_job, FLUSH_INTERVAL_S, FLUSH_JOB)


async def _on_stop(application: AnyApplication, ctx: BotContext) -> None:
    stop_repeating(application, FLUSH_JOB)
    await flush_turned_away(ctx)


def register(application: Application[Any, Any, Any, Any, Any, Any], ctx: BotContext) -> None:
    application.add_handler(CommandHandler("stats", stats_command), ctx.group)
    ctx.commands.append("stats")
    ctx.on_start.append(_on_start)
    ctx.on_stop.append(_on_stop)

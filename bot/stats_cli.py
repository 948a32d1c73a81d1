"""``redpacket stats --db PATH [--chat ID]``: the /stats numbers in a terminal.

Reads the database only; presses turned away are those flushed to the table
(a running bot flushes every minute and at shutdown).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from core.money import format_cents
from core.records import MemberCount, Stats, format_duration, summarize
from storage.sqlite.records import Records
from storage.stores import store_for

from bot.i18n import translate
from bot.settings import SettingsError, load_settings

TOP = 10


def _currency_symbol() -> str:
    try:
        return load_settings().currency_symbol
    except SettingsError:
        return ""


def _duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    key, params = format_duration(ms)
    return translate("en", key, **params)


def _leaders(title: str, members: list[MemberCount], money: str, counted: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("member")
    table.add_column("id", justify="right")
    table.add_column(counted, justify="right")
    table.add_column(money, justify="right")
    for rank, m in enumerate(members, start=1):
        table.add_row(str(rank), m.name, str(m.member_id), str(m.count), format_cents(m.amount))
    return table


def stats_table(stats: Stats, symbol: str) -> Table:
    facts = stats.facts
    scope = "all chats" if facts.chat_id is None else f"chat {facts.chat_id}"
    table = Table(title=f"Red packet stats — {scope}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("Packets sent", f"{facts.packets} · {symbol}{format_cents(facts.money_sent)}")
    table.add_row("Shares taken", f"{facts.shares} · {symbol}{format_cents(facts.money_taken)}")
    table.add_row("Packets finished", str(stats.finished))
    table.add_row("Median time to finish", _duration(stats.median_finish_ms))
    table.add_row("Fastest finish", _duration(stats.fastest_finish_ms))
    table.add_row("Presses the gate turned away", str(facts.turned_away))
    if facts.campaigns is not None:
        c = facts.campaigns
        table.add_row(
            "Shake campaigns",
            f"{c.campaigns} · pools {symbol}{format_cents(c.funded)}"
            f" · won {symbol}{format_cents(c.paid)}",
        )
    return table


async def print_stats(
    db_path: str | Path,
    chat_id: int | None = None,
    console: Console | None = None,
    *,
    currency_symbol: str | None = None,
) -> Stats:
    """Print /stats for one chat (or every chat) of the database at ``db_path``
    (a SQLite file, or a ``sqlite:///`` / ``postgresql://`` URL)."""
    console = console or Console()
    symbol = _currency_symbol() if currency_symbol is None else currency_symbol
    url = str(db_path)
    if "://" not in url:
        url = f"sqlite:///{url}"
    async with store_for(url) as store:
        facts = await Records(store).stats_facts(chat_id, top=TOP)
    stats = summarize(facts)
    console.print(stats_table(stats, symbol))
    if facts.top_senders:
        console.print(_leaders("Top senders", list(facts.top_senders), "sent", "packets"))
    if facts.luckiest:
        console.print(_leaders("Luckiest members", list(facts.luckiest), "best shares",
                               "best luck"))
    if facts.activity:
        activity = Table(title="Activity (UTC days)", title_justify="left")
        for column in ("day", "packets", "sent"):
            activity.add_column(column, justify="right" if column != "day" else "left")
        for day in facts.activity[-14:]:
            activity.add_row(day.day, str(day.packets), format_cents(day.amount))
        console.print(activity)
    return stats

"""The /stats chart: activity over time and share sizes relative to the mean, as PNG bytes.

Headless (Agg canvas on a plain ``Figure``, no pyplot global state), so it is
safe to render in a worker thread while the bot keeps serving updates.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta

from core.money import format_cents
from core.records import DayActivity, share_ratio_histogram

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def render_stats_chart(
    activity: Sequence[DayActivity],
    share_ratio_tenths: dict[int, int],
    *,
    title: str = "Red packets",
    currency_symbol: str = "",
) -> bytes:
    """Two panels: packets and money per day; a histogram of share / mean share."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    figure = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1)
    figure.suptitle(title)

    days = [date.fromisoformat(a.day) for a in activity]
    if days:
        top.bar(days, [a.packets for a in activity], color="#d6322c", label="packets")
        locator = AutoDateLocator(minticks=3, maxticks=8)
        top.xaxis.set_major_locator(locator)
        top.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        money = top.twinx()
        money.plot(days, [a.amount for a in activity], color="#e6a23c", marker="o", label="money")
        money.yaxis.set_major_formatter(
            FuncFormatter(lambda cents, _: f"{currency_symbol}{format_cents(int(cents))}")
        )
        money.set_ylabel("money sent")
        money.set_ylim(bottom=0)
        if (days[-1] - days[0]).days < 7:
            top.set_xlim(days[0] - timedelta(days=3), days[-1] + timedelta(days=3))
    else:
        top.text(0.5, 0.5, "no packets yet", ha="center", va="center", transform=top.transAxes)
    top.set_ylabel("packets per day")
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_title("Activity (UTC days)", fontsize=10)

    histogram = share_ratio_histogram(share_ratio_tenths)
    if histogram:
        bottom.bar([r for r, _ in histogram], [n for _, n in histogram], width=0.09,
                   color="#d6322c")
        bottom.axvline(1.0, color="#333333", linestyle="--", linewidth=1)
    else:
        bottom.text(0.5, 0.5, "no lucky shares yet", ha="center", va="center",
                    transform=bottom.transAxes)
    bottom.set_xlabel("share ÷ mean share (lucky packets; 3.0 = 3× or more)")
    bottom.set_ylabel("shares")
    bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_title("Share sizes relative to the mean", fontsize=10)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

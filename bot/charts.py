"""The /stats chart as PNG bytes: packets per day, money per day, share sizes against the mean.

Headless (Agg canvas on a plain ``Figure``, no pyplot global state), so it is
safe to render in a worker thread while the bot keeps serving updates. Every
word comes in through ``ChartLabels`` (from the catalogs); Chinese needs a CJK
font (``CJK_FONTS``; the Debian package ``fonts-wqy-microhei`` is one), and
without one the chart falls back to the English labels rather than drawing
empty boxes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from core.records import DayActivity, share_ratio_histogram

_log = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Families that draw Chinese, in order of preference (any one installed will do).
CJK_FONTS = (
    "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
    "Source Han Sans CN", "Droid Sans Fallback", "WenQuanYi Zen Hei", "AR PL UMing CN",
    "Microsoft YaHei", "PingFang SC", "SimHei",
)
CJK_FILE_HINTS = ("wqy", "notosanscjk", "notosanssc", "sourcehansans", "droidsansfallback")
RED, GOLD, INK = "#d6322c", "#e6a23c", "#333333"


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """Every word of the chart, in one language."""

    title: str = "Red packets"
    packets_title: str = "Red packets per day"
    packets_axis: str = "packets"
    money_title: str = "Money sent per day"
    money_axis: str = "money"
    shares_title: str = "Lucky shares against the mean share"
    shares_axis: str = "shares"
    ratio_axis: str = "share ÷ mean share (1 = the mean; 3 = 3× or more)"
    mean: str = "mean"
    empty: str = "no red packets yet"
    no_shares: str = "no lucky shares yet"
    needs_cjk: bool = False  # the words are Chinese: a CJK font is required


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """An installed font family that has Chinese glyphs, or None."""
    from matplotlib import font_manager

    for attempt in range(2):
        installed = {entry.name for entry in font_manager.fontManager.ttflist}
        for family in CJK_FONTS:
            if family in installed:
                return family
        if attempt == 0:  # matplotlib's font cache predates the font: look at the files
            for path in font_manager.findSystemFonts():
                if any(hint in path.lower() for hint in CJK_FILE_HINTS):
                    try:
                        font_manager.fontManager.addfont(path)
                    except (OSError, RuntimeError, ValueError):
                        continue
    return None


def render_stats_chart(
    activity: Sequence[DayActivity],
    share_ratio_tenths: dict[int, int],
    *,
    labels: ChartLabels | None = None,
    money: Callable[[int], str] = str,
    day: Callable[[date], str] = lambda d: d.strftime("%m-%d"),
) -> bytes:
    """Three panels; ``money`` formats cents and ``day`` a date, as the bot's texts do."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    labels = labels or ChartLabels()
    family: list[str] = ["DejaVu Sans"]
    if labels.needs_cjk:
        found = cjk_font()
        if found is None:
            _log.warning("no CJK font installed (e.g. fonts-wqy-microhei): chart in English")
            labels = ChartLabels()
        else:
            family = [found, "DejaVu Sans"]

    figure = Figure(figsize=(8, 8.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    packets_ax, money_ax, shares_ax = figure.subplots(3, 1)
    # CJK fonts rarely come in bold: a bold request would only log a fallback warning.
    figure.suptitle(labels.title, fontfamily=family, fontsize=14,
                    fontweight="normal" if labels.needs_cjk else "bold")

    days = _every_day([date.fromisoformat(a.day) for a in activity])
    by_day = {date.fromisoformat(a.day): a for a in activity}
    if days:
        positions = list(range(len(days)))
        packets = [by_day[d].packets if d in by_day else 0 for d in days]
        amounts = [by_day[d].amount if d in by_day else 0 for d in days]
        packets_ax.bar(positions, packets, color=RED)
        money_ax.bar(positions, amounts, color=GOLD)
        step = max(1, len(days) // 10)
        for axis in (packets_ax, money_ax):
            axis.set_xticks(positions[::step], [day(d) for d in days[::step]])
            axis.set_xlim(-0.75, max(len(days), 7) - 0.25)
        for x, n in zip(positions, packets):
            if n and len(days) <= 31:
                packets_ax.annotate(str(n), (x, n), ha="center", va="bottom", fontsize=8)
        money_ax.yaxis.set_major_formatter(FuncFormatter(lambda cents, _: money(int(cents))))
    else:
        for axis in (packets_ax, money_ax):
            axis.text(0.5, 0.5, labels.empty, ha="center", va="center",
                      transform=axis.transAxes, fontfamily=family)
            axis.set_xticks([])
    packets_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _titles(packets_ax, labels.packets_title, labels.packets_axis, family)
    _titles(money_ax, labels.money_title, labels.money_axis, family)

    histogram = share_ratio_histogram(share_ratio_tenths)
    if histogram:
        shares_ax.bar([r for r, _ in histogram], [n for _, n in histogram], width=0.09,
                      color=RED)
        shares_ax.axvline(1.0, color=INK, linestyle="--", linewidth=1)
        shares_ax.annotate(labels.mean, (1.0, 1.0), xycoords=("data", "axes fraction"),
                           xytext=(4, -12), textcoords="offset points", fontfamily=family,
                           fontsize=9, color=INK)
        shares_ax.set_xlim(-0.05, 3.1)
    else:
        shares_ax.text(0.5, 0.5, labels.no_shares, ha="center", va="center",
                       transform=shares_ax.transAxes, fontfamily=family)
    shares_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    shares_ax.set_xlabel(labels.ratio_axis, fontfamily=family)
    _titles(shares_ax, labels.shares_title, labels.shares_axis, family)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _titles(axis: object, title: str, ylabel: str, family: list[str]) -> None:
    axis.set_title(title, fontsize=11, loc="left", fontfamily=family)  # type: ignore[attr-defined]
    axis.set_ylabel(ylabel, fontfamily=family)  # type: ignore[attr-defined]
    for side in ("top", "right"):
        axis.spines[side].set_visible(False)  # type: ignore[attr-defined]


def _every_day(days: list[date]) -> list[date]:
    """Each day from the first to the last: a quiet day shows as an empty bar."""
    if not days:
        return []
    first, last = min(days), max(days)
    if (last - first).days > 366:  # a year is plenty of bars; older days are dropped
        first = last - timedelta(days=366)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]

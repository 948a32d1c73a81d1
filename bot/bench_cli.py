"""The ``redpacket bench`` command line: options, checks of bad input, output."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.settings import Settings
from storage.stores import redacted

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    bench = sub.add_parser(
        "bench", help="measure presses per second and latency",
        description="Many members press many packets at once, measured; ends with the audit. "
                    "--through-bot runs the crowd through the real bot process and HTTP.",
    )
    bench.add_argument("--through-bot", action="store_true",
                       help="press through `redpacket run` (polling) against a loopback Bot API "
                            "in its own process, all presses at once")
    bench.add_argument("--packets", type=int, default=None,
                       help="live packets pressed at once (default 50; through the bot 1)")
    bench.add_argument("--shares", type=int, default=100, help="shares per packet (default 100)")
    bench.add_argument("--members", type=int, default=2000,
                       help="members in the crowd (services bench; default 2000)")
    bench.add_argument("--presses", type=int, default=None,
                       help="presses in all (default 50000); through the bot: concurrent presses, "
                            "one per member (default 1500)")
    bench.add_argument("--concurrency", type=int, default=500,
                       help="presses in flight (services bench; default 500)")
    bench.add_argument("--gate", choices=("on", "off"), default="on",
                       help="services bench: off sends every press straight to SQLite")
    bench.add_argument("--db", type=Path, help="SQLite file for the services bench "
                                               "(default: a temp file)")
    bench.add_argument("--answer-window", type=float, default=15.0,
                       help="through the bot: seconds Telegram keeps a press answerable "
                            "(default 15)")
    bench.add_argument("--profile", type=Path, default=None,
                       help="through the bot: record the bot with py-spy (pip install py-spy) "
                            "into this file: a flame graph if .svg, else collapsed stacks")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(handler=run)


def _problem(args: argparse.Namespace, settings: Settings) -> str | None:
    through = args.through_bot
    packets = args.packets if args.packets is not None else (1 if through else 50)
    presses = args.presses if args.presses is not None else (1500 if through else 50_000)
    args.packets, args.presses = packets, presses
    if packets < 1:
        return "--packets must be at least 1"
    if args.shares < 1:
        return "--shares must be at least 1"
    limit = settings.max_shares if not through else 10_000
    if args.shares > limit:
        return (f"--shares must be at most {limit} (MAX_SHARES)" if not through
                else f"--shares must be at most {limit}")
    if not through and args.shares * 100 > settings.max_total:
        return f"--shares × 1.00 must be at most MAX_TOTAL ({settings.max_total // 100})"
    if presses < 1:
        return "--presses must be at least 1"
    if through and presses > 50_000:
        return "--presses must be at most 50000 through the bot"
    if args.members < 1:
        return "--members must be at least 1"
    if args.concurrency < 1:
        return "--concurrency must be at least 1"
    if args.answer_window <= 0:
        return "--answer-window must be above 0"
    if through and args.gate == "off":
        return "--gate off is for the services bench (the bot uses REDIS_URL or the embedded gate)"
    return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    problem = _problem(args, settings)
    if problem is not None:
        print(f"redpacket: {problem}", file=sys.stderr)
        return 2
    if args.through_bot:
        return _through_bot(args, settings)
    return _services(args, settings)


def _services(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bench import run_bench

    # A PostgreSQL DATABASE_URL is benched as it is (several benches may share it);
    # otherwise a scratch SQLite file, or --db.
    db_path = args.db or (
        None if settings.uses_postgres
        else Path(tempfile.mkdtemp(prefix="redpacket-bench-")) / "bench.db"
    )
    where = str(db_path) if db_path is not None else redacted(settings.database_url)
    result = asyncio.run(run_bench(
        settings, packets=args.packets, shares=args.shares, members=args.members,
        presses=args.presses, concurrency=args.concurrency, gate=args.gate == "on",
        db_path=db_path,
    ))
    if args.json:
        print(json.dumps({**result.as_dict(), "db": where}))
        return 0 if result.audit_ok else 1
    console = Console()
    console.print(f"[bold]redpacket bench[/] on {result.machine}")
    console.print(
        f"gate {result.gate}: {result.packets} packets × {result.shares_per_packet} shares, "
        f"{result.members} members, {result.presses} presses, {result.concurrency} in flight"
    )
    console.print(f"  presses/s      {result.presses_per_s:>12,.0f}")
    console.print(f"  µs per press   {result.us_per_press:>12,.1f}")
    console.print(f"  settled/s      {result.settled_per_s:>12,.0f}")
    console.print(f"  p50 latency    {result.p50_ms:>12.2f} ms")
    console.print(f"  p99 latency    {result.p99_ms:>12.2f} ms")
    if result.turned_away is not None:
        console.print(f"  turned away    {result.turned_away:>12.1%} (by the gate)")
    console.print(f"  db batches     {result.db_batches:>12}")
    console.print(f"  answers        {result.answers}")
    console.print(f"  audit          {'clean' if result.audit_ok else result.audit_problems}")
    console.print(f"  database       {where}")
    return 0 if result.audit_ok else 1


def _through_bot(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bench_bot import run_through_bot

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("starting", total=None)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total or None)

        try:
            result = run_through_bot(
                settings, packets=args.packets, shares=args.shares, presses=args.presses,
                answer_window=args.answer_window, progress=report, profile=args.profile,
            )
        except RuntimeError as error:
            print(f"redpacket: bench through the bot failed: {error}", file=sys.stderr)
            return 1
    ok = result.audit_ok and result.answered_once and result.final_edit_ok
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0 if ok else 1
    out = Console()
    out.print(f"[bold]redpacket bench --through-bot[/] on {result.machine}")
    out.print(f"gate {result.gate}: {result.packets} packets × {result.shares_per_packet} shares, "
              f"{result.presses} members pressing at once")
    out.print(f"  answered/s         {result.answered_per_s:>10,.0f}  "
              f"({result.answered} in {result.seconds:.2f} s)")
    out.print(f"  client floor/s     {result.client_floor_per_s:>10,.0f}  "
              f"(bare answerCallbackQuery, same client, same server)")
    out.print(f"  CPU per press      {result.bot_cpu_ms_per_press:>10.2f} ms  "
              f"(bot; a bare answer costs the client {result.client_cpu_ms_per_answer:.2f} ms)")
    out.print(f"  p50 / p95 / p99    {result.p50_ms:,.0f} / {result.p95_ms:,.0f} / "
              f"{result.p99_ms:,.0f} ms  (update available → answered)")
    out.print(f"  peak RSS (bot)     {result.peak_rss_mb:>10.1f} MB")
    out.print(f"  edits/min/group    {result.max_edits_per_min:>10}  (worst minute)")
    out.print(f"  got / shares       {result.got} / {result.shares_taken}")
    out.print(f"  unanswered         {result.unanswered:>10}  refused answers {result.refused_answers}")
    out.print(f"  final edit         {'shown' if result.final_edit_ok else 'MISSING'}")
    out.print(f"  audit              {'clean' if result.audit_ok else result.audit_problems}")
    for line in result.bot_log_tail:
        out.print(f"  bot: {line}", markup=False, highlight=False)
    return 0 if ok else 1

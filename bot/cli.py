"""The `redpacket` command: run, demo, audit, bench, stats, migrate."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import psycopg
from rich.console import Console

from bot.settings import Settings, SettingsError, load_settings
from storage.stores import redacted


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"redpacket: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(args, settings) or 0)
    except psycopg.OperationalError as exc:  # PostgreSQL down, refused, wrong password
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"redpacket: DATABASE_URL ({redacted(settings.database_url)}) cannot be opened:"
              f" {line}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redpacket", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the Telegram bot (polling, or webhook if WEBHOOK_URL)")
    run.set_defaults(handler=_run)

    demo = sub.add_parser("demo", help="a simulated busy group on the embedded defaults")
    demo.set_defaults(handler=_demo)

    audit = sub.add_parser("audit", help="check the ledger, the packets and the gate")
    audit.add_argument("--db", type=Path, help="SQLite file (default: DATABASE_URL)")
    audit.add_argument("--no-repair", action="store_true", help="report gate drift, do not rebuild")
    audit.set_defaults(handler=_audit)

    bench = sub.add_parser("bench", help="measure presses per second and latency")
    bench.add_argument("--packets", type=int, default=50)
    bench.add_argument("--shares", type=int, default=100, help="shares per packet")
    bench.add_argument("--members", type=int, default=2000)
    bench.add_argument("--presses", type=int, default=50_000)
    bench.add_argument("--concurrency", type=int, default=500, help="presses in flight")
    bench.add_argument("--gate", choices=("on", "off"), default="on",
                       help="off: every press goes straight to SQLite")
    bench.add_argument("--db", type=Path,
                       help="SQLite file (default: a temp file, or DATABASE_URL if PostgreSQL)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(handler=_bench)

    stats = sub.add_parser("stats", help="print /stats for the whole database or one chat")
    stats.add_argument("--db", type=Path, help="SQLite file (default: DATABASE_URL)")
    stats.add_argument("--chat", type=int, default=None, help="one chat id")
    stats.set_defaults(handler=_stats)

    migrate = sub.add_parser(
        "migrate", help="copy a whole SQLite database into an empty PostgreSQL database"
    )
    migrate.add_argument("--from", dest="source", required=True, metavar="sqlite:///PATH.db")
    migrate.add_argument("--to", dest="target", required=True, metavar="postgresql://…")
    migrate.set_defaults(handler=_migrate)
    return parser


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runner import run

    try:
        run(settings)
    except SettingsError as exc:
        print(f"redpacket: {exc}", file=sys.stderr)
        return 2
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    return 0 if asyncio.run(run_demo(settings)) else 1


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from bot.audit_cli import run_audit

    db = _sqlite_file(args, settings)
    if db is not None and not db.exists():
        print(f"redpacket: no database at {db}", file=sys.stderr)
        return 2
    return asyncio.run(run_audit(settings, db, repair=not args.no_repair, console=Console()))


def _sqlite_file(args: argparse.Namespace, settings: Settings) -> Path | None:
    """``--db``, else DATABASE_URL's SQLite file; None: DATABASE_URL is PostgreSQL."""
    if args.db is not None:
        return Path(args.db)
    return None if settings.uses_postgres else settings.database_path


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bench import run_bench

    result = asyncio.run(
        run_bench(
            settings,
            packets=args.packets,
            shares=args.shares,
            members=args.members,
            presses=args.presses,
            concurrency=args.concurrency,
            gate=args.gate == "on",
            db_path=args.db,
        )
    )
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        console = Console()
        console.print(f"[bold]redpacket bench[/] on {result.machine}")
        console.print(
            f"gate {result.gate}: {result.packets} packets × {result.shares_per_packet} shares, "
            f"{result.members} members, {result.presses} presses, {result.concurrency} in flight"
        )
        console.print(f"  presses/s      {result.presses_per_s:>12,.0f}")
        console.print(f"  settled/s      {result.settled_per_s:>12,.0f}")
        console.print(f"  p50 latency    {result.p50_ms:>12.2f} ms")
        console.print(f"  p99 latency    {result.p99_ms:>12.2f} ms")
        console.print(f"  turned away    {result.turned_away:>12.1%} (by the gate)")
        console.print(f"  db batches     {result.db_batches:>12}")
        console.print(f"  answers        {result.answers}")
        console.print(f"  audit          {'clean' if result.audit_ok else result.audit_problems}")
    return 0 if result.audit_ok else 1


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.stats_cli import print_stats

    db = _sqlite_file(args, settings)
    if db is not None and not db.exists():
        print(f"redpacket: no database at {db}", file=sys.stderr)
        return 2
    url = f"sqlite:///{db}" if db is not None else settings.database_url
    asyncio.run(print_stats(url, chat_id=args.chat, console=Console()))
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.migrate_cli import run_migrate

    return asyncio.run(run_migrate(args.source, args.target, console=Console()))


if __name__ == "__main__":
    raise SystemExit(main())

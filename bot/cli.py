"""The redpacket command: run, demo, audit, bench, stats, verify, migrate."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import psycopg
from rich.console import Console

from bot.settings import Settings, SettingsError, load_settings
from core.errors import StoreUnavailable
from storage.stores import UnsupportedDatabase, redacted


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
    except UnsupportedDatabase as exc:
        print(f"redpacket: {exc}", file=sys.stderr)
        return 2
    except (psycopg.OperationalError, StoreUnavailable) as exc:  # PostgreSQL down, refused, wrong password
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"redpacket: DATABASE_URL ({redacted(settings.database_url)}) cannot be opened:"
              f" {line}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redpacket",
        description="WeChat-style red packets for Telegram groups: run the bot, try it "
                    "offline, check or measure it.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="run the Telegram bot (polling, or webhook if WEBHOOK_URL)",
        description="Run the Telegram bot with the settings from the environment and .env "
                    "(TELEGRAM_BOT_TOKEN is required): long polling, or a webhook server "
                    "when WEBHOOK_URL is set. Stops cleanly on Ctrl-C.",
    )
    run.set_defaults(handler=_run)

    demo = sub.add_parser(
        "demo", help="a simulated busy group on the embedded defaults",
        description="A simulated group of 50 members, offline (no Telegram, no Redis): lucky, "
                    "fixed and personal packets under concurrent presses, an expiry with its "
                    "refund, a shake campaign, then the audit. The database it leaves is "
                    "printed at the end, for redpacket stats --db.",
    )
    demo.set_defaults(handler=_demo)

    audit = sub.add_parser("audit", help="check the ledger, the packets and the gate")
    audit.add_argument("--db", type=Path, help="SQLite file (default: DATABASE_URL)")
    audit.add_argument("--no-repair", action="store_true", help="report gate drift, do not rebuild")
    audit.set_defaults(handler=_audit)

    from bot.bench_cli import add_parser as add_bench

    add_bench(sub)

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

    verify = sub.add_parser(
        "verify", help="recompute a packet's shares from its revealed seed (docs/fairness.md)"
    )
    verify.add_argument("packet_id", nargs="?", help="a finished or expired packet")
    verify.add_argument("--db", type=Path, help="SQLite file (default: DATABASE_URL)")
    verify.add_argument("--seed", help="without a database: the seed, in hex")
    verify.add_argument("--rule", choices=("double_mean", "segment", "fixed"))
    verify.add_argument("--total", help="the packet's total, like 10.00")
    verify.add_argument("--count", type=int, help="how many shares")
    verify.add_argument("--cap", help="the largest share allowed (default: MAX_SHARE)")
    verify.set_defaults(handler=_verify)
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


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from core.money import format_cents

    from bot.verify_cli import run_verify

    return run_verify(
        packet_id=args.packet_id, db=args.db or settings.database_path, seed=args.seed,
        rule=args.rule, total=args.total, count=args.count,
        cap=args.cap or format_cents(settings.max_share),
    )


if __name__ == "__main__":
    raise SystemExit(main())

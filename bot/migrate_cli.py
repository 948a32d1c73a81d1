"""`redpacket migrate --from sqlite:///a.db --to postgresql://…`: move a bot to PostgreSQL.

Copies every table of the SQLite database into an empty PostgreSQL database
in ONE transaction (all or nothing), then audits both and compares every
balance. The target must be empty; the source is only read.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path


import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from core.services import RedPackets
from storage.postgres.schema import migrate as migrate_schema
from storage.stores import is_postgres, redacted, sqlite_path, store_for

# Parents before children (foreign keys); tables not named here follow, by name.
TABLE_ORDER = (
    "members", "accounts", "transfers", "packets", "shares", "campaigns", "campaign_wins",
    "chat_settings", "drafts", "turned_away",
)
# Triggers that check new rows against live state (a share must be the next
# one of a live packet...) would refuse history: off during the copy only.
TABLES_WITH_TRIGGERS = ("shares", "campaign_wins")


class MigrateError(Exception):
    """A refusal: one line for the self-hoster."""


def _sqlite_tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )]
    return {n: [c[1] for c in conn.execute(f'PRAGMA table_info("{n}")')] for n in names}


def _pg_tables(conn: psycopg.Connection) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    tables.pop("schema_migrations", None)
    return tables


def _ordered(tables: dict[str, list[str]]) -> list[str]:
    known = [t for t in TABLE_ORDER if t in tables]
    return known + sorted(t for t in tables if t not in TABLE_ORDER)


def _plan(source: dict[str, list[str]], target: dict[str, list[str]]) -> list[str]:
    """The tables to copy; refuses data that PostgreSQL's schema has no room for."""
    for table, columns in source.items():
        if table not in target:
            raise MigrateError(f"table {table} has no PostgreSQL twin yet: nothing was copied")
        missing = [c for c in columns if c not in target[table]]
        if missing:
            raise MigrateError(
                f"{table}.{', '.join(missing)} has no PostgreSQL column yet: nothing was copied"
            )
    return _ordered(source)


def _refuse_rows(pg: psycopg.Connection) -> None:
    for table in _pg_tables(pg):
        if pg.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
            raise MigrateError(
                f"the target is not empty (table {table} has rows): nothing was copied"
            )


def copy_database(source: Path, target_url: str, progress: Progress | None = None) -> dict[str, int]:
    """Copy every row of ``source`` into ``target_url``; returns rows per table."""
    lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        source_tables = _sqlite_tables(lite)
        with psycopg.connect(target_url, autocommit=True) as pg:
            _refuse_rows(pg)  # before the schema is made: a foreign database stays untouched
            migrate_schema(pg)
            target_tables = _pg_tables(pg)
            tables = _plan(source_tables, target_tables)
            counts = {t: lite.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
            task = progress.add_task("copying", total=sum(counts.values())) if progress else None
            with pg.transaction():
                for table in target_tables:
                    # Locked inside the copy's transaction: nobody writes meanwhile.
                    pg.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
                _refuse_rows(pg)
                for table in TABLES_WITH_TRIGGERS:
                    if table in target_tables:
                        pg.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
                for table in tables:
                    columns = source_tables[table]
                    names = ", ".join(f'"{c}"' for c in columns)
                    if progress is not None and task is not None:
                        progress.update(task, description=f"copying {table}")
                    with pg.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                        for row in lite.execute(f'SELECT {names} FROM "{table}"'):
                            copy.write_row(row)
                            if progress is not None and task is not None:
                                progress.advance(task)
                for table in TABLES_WITH_TRIGGERS:
                    if table in target_tables:
                        pg.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
                if "transfers" in tables:
                    pg.execute(
                        "SELECT setval(pg_get_serial_sequence('transfers', 'id'),"
                        " COALESCE((SELECT MAX(id) FROM transfers), 0) + 1, false)"
                    )
    finally:
        lite.close()
    return counts


async def _audit_and_balances(url: str) -> tuple[list[str], dict[str, int]]:
    async with store_for(url) as store:
        report = await RedPackets(store, None).audit(repair=False)
        balances = {row[0]: row[1] for row in await store.fetchall(
            "SELECT id, balance FROM accounts"
        )}
    return report.problems, balances


async def run_migrate(source: str, target: str, *, console: Console) -> int:
    """Exit code 0 when copied and both sides agree; 1 otherwise, with one line."""
    try:
        if not source.startswith("sqlite:///"):
            raise MigrateError("--from must be a sqlite:///path.db URL")
        if not is_postgres(target):
            raise MigrateError("--to must be a postgresql://user:password@host/database URL")
        path = sqlite_path(source)
        if not path.exists():
            raise MigrateError(f"no SQLite database at {path}")
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=console, transient=True,
        ) as progress:
            counts = await asyncio.to_thread(copy_database, path, target, progress)
    except MigrateError as exc:
        console.print(f"[red]redpacket migrate:[/] {exc}")
        return 1
    except (psycopg.Error, sqlite3.Error, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        console.print(f"[red]redpacket migrate:[/] {first_line} (nothing was copied)")
        return 1
    rows = sum(counts.values())
    console.print(f"Copied {rows} rows in {len(counts)} tables to {redacted(target)}.")

    source_problems, source_balances = await _audit_and_balances(source)
    target_problems, target_balances = await _audit_and_balances(target)
    problems = [f"SQLite: {p}" for p in source_problems]
    problems += [f"PostgreSQL: {p}" for p in target_problems]
    differ = sorted(
        a for a in source_balances.keys() | target_balances.keys()
        if source_balances.get(a) != target_balances.get(a)
    )
    problems += [
        f"balance of {a}: {source_balances.get(a)} in SQLite, {target_balances.get(a)} in PostgreSQL"
        for a in differ
    ]
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/] {problem}")
        return 1
    console.print(
        f"[bold green]Done:[/] both audits clean; all {len(source_balances)} balances equal."
    )
    return 0



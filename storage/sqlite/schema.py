"""Schema migrations, versioned with ``PRAGMA user_version``."""

from __future__ import annotations

import sqlite3
from importlib.resources import files


def load_migrations() -> list[str]:
    """Every ``migrations/NNNN_name.sql`` in order; a feature adds its own file."""
    folder = files("storage.sqlite").joinpath("migrations")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [folder.joinpath(name).read_text(encoding="utf-8") for name in names]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version reached."""
    migrations = load_migrations()
    version = conn.execute("PRAGMA user_version").fetchall()[0][0]
    for number, script in enumerate(migrations[version:], start=version + 1):
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        except sqlite3.OperationalError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # Another process may have run this migration a moment before us.
            if conn.execute("PRAGMA user_version").fetchall()[0][0] < number:
                raise
    return len(migrations)


def configure(conn: sqlite3.Connection) -> None:
    # WAL + synchronous=NORMAL: a commit survives a crash of the bot (the
    # common failure) but the last transactions may be lost on power loss.
    conn.execute("PRAGMA busy_timeout=10000").close()
    conn.execute("PRAGMA journal_mode=WAL").fetchall()
    conn.execute("PRAGMA synchronous=NORMAL").close()
    conn.execute("PRAGMA foreign_keys=ON").close()

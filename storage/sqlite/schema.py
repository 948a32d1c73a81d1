"""Schema migrations, versioned with ``PRAGMA user_version``."""

from __future__ import annotations

import sqlite3
from importlib.resources import files


def load_migrations() -> list[str]:
    """Every ``migrations/NNNN_name.sql`` in order; a feature adds its own file."""
    return [script for _, script in numbered_migrations()]


def numbered_migrations() -> list[tuple[int, str]]:
    """``(NNNN, script)`` for every migration file, by number; numbers are unique."""
    folder = files("storage.sqlite").joinpath("migrations")
    found: dict[int, str] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number = int(entry.name.split("_", 1)[0])
        assert number not in found, f"two migrations numbered {number:04d}"
        found[number] = entry.read_text(encoding="utf-8")
    return sorted(found.items())


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version reached.

    ``PRAGMA user_version`` holds the number of the last file applied, so a
    file is applied once whatever other files were added around it.
    """
    migrations = numbered_migrations()
    version = conn.execute("PRAGMA user_version").fetchall()[0][0]
    for number, script in migrations:
        if number <= version:
            continue
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
        version = number
    return migrations[-1][0]


def configure(conn: sqlite3.Connection) -> None:
    # WAL + synchronous=NORMAL: a commit survives a crash of the bot (the
    # common failure) but the last transactions may be lost on power loss.
    conn.execute("PRAGMA busy_timeout=10000").close()
    conn.execute("PRAGMA journal_mode=WAL").fetchall()
    conn.execute("PRAGMA synchronous=NORMAL").close()
    conn.execute("PRAGMA foreign_keys=ON").close()

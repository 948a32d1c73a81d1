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
    file is applied once whatever other files were added around it. Each file
    runs in one ``BEGIN IMMEDIATE`` transaction that reads the version *after*
    taking the write lock: processes starting together on a new file apply
    each migration once between them, in order.
    """
    migrations = numbered_migrations()
    for number, script in migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchall()[0][0] < number:
                for statement in statements(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return migrations[-1][0]


def statements(script: str) -> list[str]:
    """The script's statements one by one (a trigger's body stays whole)."""
    found: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                found.append(pending)
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise ValueError(f"incomplete statement at the end of a migration: {pending[:80]!r}")
    return found


def configure(conn: sqlite3.Connection) -> None:
    # WAL + synchronous=NORMAL: a commit survives a crash of the bot (the
    # common failure) but the last transactions may be lost on power loss.
    conn.execute("PRAGMA busy_timeout=10000").close()
    conn.execute("PRAGMA journal_mode=WAL").fetchall()
    conn.execute("PRAGMA synchronous=NORMAL").close()
    conn.execute("PRAGMA foreign_keys=ON").close()

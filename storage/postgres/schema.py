"""Schema migrations for PostgreSQL, versioned in a ``schema_migrations`` table.

Files ``migrations/NNNN_name.sql`` carry the same numbers as SQLite's, so a
feature that adds ``storage/sqlite/migrations/0012_x.sql`` adds its twin here
as ``0012_x.sql``. Migrations only PostgreSQL has (the leases of several
processes) are numbered from 1001, leaving every SQLite number free for its twin.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import psycopg

# Any number: every process that migrates takes this lock, one at a time.
MIGRATION_LOCK = 7_402_111


@lru_cache(maxsize=1)
def load_migrations() -> tuple[tuple[int, str, str], ...]:
    """(number, name, script) for every migration file, in order."""
    folder = files("storage.postgres").joinpath("migrations")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return tuple(
        (int(name.split("_", 1)[0]), name, folder.joinpath(name).read_text(encoding="utf-8"))
        for name in names
    )


def migrate(conn: psycopg.Connection) -> int:
    """Bring the schema up to date (autocommit connection); returns the version reached."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    migrations = load_migrations()
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    if all(number in done for number, _, _ in migrations):  # the common case: one round trip
        return migrations[-1][0] if migrations else 0
    version = 0
    for number, name, script in migrations:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = %s", (number,)
            ).fetchone()
            if done is None:
                conn.execute(script)  # no parameters: the simple protocol runs many statements
                conn.execute(
                    "INSERT INTO schema_migrations(version, name) VALUES (%s, %s)", (number, name)
                )
        version = number
    return version


def schema_version(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
    ).fetchone()
    return row[0] if row else 0

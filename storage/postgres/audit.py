"""Ledger checks run inside PostgreSQL: the SQLite audit's queries, on one snapshot.

The checks are written once, in ``storage/sqlite/audit.py`` (and the features
that register more in its ``EXTRA_CHECKS``), in SQL both engines read. A query
that needs PostgreSQL's own spelling is listed in ``SPELLED_FOR_POSTGRES``.
"""

from __future__ import annotations

import psycopg

from storage.sqlite import audit as sqlite_audit

# SQLite query -> the same check in PostgreSQL's dialect.
SPELLED_FOR_POSTGRES: dict[str, str] = {
    # A subquery in FROM needs a name in PostgreSQL 15.
    "SELECT total FROM (SELECT COALESCE(SUM(balance), 0) AS total FROM accounts)"
    " WHERE total <> 0":
    "SELECT total FROM (SELECT COALESCE(SUM(balance), 0) AS total FROM accounts) sums"
    " WHERE total <> 0",
}


def checks() -> list[tuple[str, str]]:
    # Campaign checks register themselves on import, as the bot does.
    import storage.sqlite.campaigns  # noqa: F401

    return [
        (message, SPELLED_FOR_POSTGRES.get(query, query))
        for message, query in sqlite_audit.CHECKS + sqlite_audit.EXTRA_CHECKS
    ]


def ledger_problems(conn: psycopg.Connection) -> list[str]:
    problems: list[str] = []
    # One snapshot for every check, while writers go on.
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        for message, query in checks():
            for row in conn.execute(query).fetchall():
                problems.append(message.format(*row))
    finally:
        conn.execute("COMMIT")
    return problems

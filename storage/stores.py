"""One place that turns a ``DATABASE_URL`` into a store: SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from storage.postgres.store import PostgresStore
from storage.sqlite.audit import ALL_CHECKS, Check
from storage.sqlite.campaigns import SqliteCampaigns
from storage.sqlite.records import Records
from storage.sqlite.store import SqliteStore

Store = SqliteStore | PostgresStore

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


class UnsupportedDatabase(ValueError):
    """A DATABASE_URL this version cannot use: one line for whoever set it."""


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_PREFIXES)


def sqlite_path(url: str) -> Path:
    """``sqlite:///a.db`` -> ``a.db``; ``sqlite:////abs/a.db`` -> ``/abs/a.db``."""
    return Path(url[len(SQLITE_PREFIX):])


def redacted(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


def store_for(
    url: str, *, writers: int = 1, readers: int = 4, audit_checks: Sequence[Check] = ALL_CHECKS
) -> Store:
    """The store ``url`` names, not yet opened (``async with`` or ``await open()``).

    ``writers``/``readers``: PostgreSQL's connections; ``audit_checks``: what its
    ``ledger_problems`` runs."""
    if is_postgres(url):
        return PostgresStore(url, writers=writers, readers=readers, audit_checks=audit_checks)
    if url.startswith(SQLITE_PREFIX):
        return SqliteStore(sqlite_path(url), audit_checks=audit_checks)
    raise UnsupportedDatabase(f"unsupported database URL: {url.split('://')[0]}://…")


def campaigns_for(store: Store) -> SqliteCampaigns:
    """The shake campaigns' storage on the same database as ``store`` (either engine)."""
    return SqliteCampaigns(store)


def records_for(store: Store) -> Records:
    """The /balance, /records and /stats read models on ``store``'s database (either engine)."""
    return Records(store)

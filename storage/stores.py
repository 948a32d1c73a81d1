"""One place that turns a ``DATABASE_URL`` into a store: SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from storage.postgres.campaigns import PostgresCampaigns
from storage.postgres.records import PostgresRecords
from storage.postgres.store import PostgresStore
from storage.sqlite.campaigns import SqliteCampaigns
from storage.sqlite.records import SqliteRecords
from storage.sqlite.store import SqliteStore

Store = SqliteStore | PostgresStore

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


# What the PostgreSQL store still lacks against the SQLite one; until it has
# all of it, a PostgreSQL DATABASE_URL is refused when the store is made,
# rather than failing in the middle of a press.
POSTGRES_MISSING = (
    "migrations 0006-0010 (packet messages, keyboard messages, who may open, press delays,"
    " languages), create_packet(daily=...), open_share(pressed_at_ms=...),"
    " set_message(posted_at_ms=...), the share-source audit check, StoreUnavailable,"
    " standing/keyboard/packet-message/trust adapters"
)


class UnsupportedDatabase(ValueError):
    """A DATABASE_URL this version cannot use: one line for whoever set it."""


def postgres_refusal(url: str) -> UnsupportedDatabase:
    return UnsupportedDatabase(
        f"DATABASE_URL ({redacted(url)}): PostgreSQL is not ported to this version yet;"
        f" missing: {POSTGRES_MISSING}. Use sqlite:///PATH.db"
    )


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


def store_for(url: str, *, writers: int = 1, readers: int = 4) -> Store:
    """The store ``url`` names, not yet opened (``async with`` or ``await open()``)."""
    if is_postgres(url):
        raise postgres_refusal(url)
    if url.startswith(SQLITE_PREFIX):
        return SqliteStore(sqlite_path(url))
    raise UnsupportedDatabase(f"unsupported database URL: {url.split('://')[0]}://…")


def campaigns_for(store: Store) -> SqliteCampaigns | PostgresCampaigns:
    """The shake campaigns' storage on the same database as ``store``."""
    if isinstance(store, PostgresStore):
        return PostgresCampaigns(store)
    return SqliteCampaigns(store)


def records_for(store: Store) -> SqliteRecords | PostgresRecords:
    """The /balance, /records and /stats read models on ``store``'s database."""
    if isinstance(store, PostgresStore):
        return PostgresRecords(store)
    return SqliteRecords(store)

"""SQLite adapter of ``core.ports.PacketStore``: wallets, ledger, packets, shares."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiosqlite

from core.allocation import Rule, share_amount
from core.eligibility import DailyCap, Refused, over_daily_limit
from core.errors import InsufficientFunds, StoreUnavailable
from core.fairness import press_delay_ms
from core.amount import Cents
from core.packets import Kind, Member, Packet, Share, Status
from core.ports import Opened, OpenOutcome, Refund
from storage.sql_store import row_lock
from storage.sqlite import keys
from storage.sqlite.audit import ALL_CHECKS, Check, ledger_problems
from storage.sqlite.keys import LedgerKind
from storage.sqlite.schema import configure, migrate
from storage.sqlite.press_delays import appeared_at_ms
from storage.sqlite.writer import BatchWriter, in_thread

_log = logging.getLogger(__name__)

PACKET_COLUMNS = (
    "id, chat_id, sender_id, sender_name, kind, rule, total, count, greeting, created_at,"
    " expires_at, cap, recipient_id, recipient_name, claimed_count, claimed_amount, status,"
    " finished_at, refunded, message_id, seed, phrase"
)
SHARE_COLUMNS = "packet_id, position, member_id, member_name, amount, taken_at"


def packet_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Packet:
    (pid, chat_id, sender_id, sender_name, kind, rule, total, count, greeting, created_at,
     expires_at, cap, recipient_id, recipient_name, claimed_count, claimed_amount, status,
     finished_at, refunded, message_id, seed, phrase) = row
    return Packet(
        id=pid, chat_id=chat_id, sender_id=sender_id, sender_name=sender_name,
        kind=Kind(kind), rule=Rule(rule), total=total, count=count, greeting=greeting,
        created_at=created_at, expires_at=expires_at, cap=cap, recipient_id=recipient_id,
        recipient_name=recipient_name, claimed_count=claimed_count,
        claimed_amount=claimed_amount, status=Status(status), finished_at=finished_at,
        refunded=refunded, message_id=message_id, seed=bytes(seed), phrase=phrase,
    )


def share_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Share:
    return Share(*row)


# The write functions below run on both engines. On PostgreSQL ``conn`` is a
# ``storage.postgres.ledger.PgWrite``, which does the ledger's steps that differ
# with several writers (locked balances, deferred credits) its own way; the
# rows a write decides from are locked with ``storage.sql_store.row_lock``.
def _is_sqlite(conn: Any) -> bool:
    return isinstance(conn, sqlite3.Connection)


def transfer(
    conn: sqlite3.Connection,
    *,
    key: str,
    kind: str,
    src: str,
    dst: str,
    amount: Cents,
    at: int,
    packet_id: str | None = None,
    memo: str = "",
) -> bool:
    """Move ``amount`` from ``src`` to ``dst`` once per ``key``; False if already done.

    Must run inside a transaction; a balance that would go negative raises
    ``sqlite3.IntegrityError`` (the accounts CHECK) and the caller's savepoint
    rolls the whole write back.
    """
    if not _is_sqlite(conn):
        return conn.transfer(
            key=key, kind=kind, src=src, dst=dst, amount=amount, at=at,
            packet_id=packet_id, memo=memo,
        )
    conn.execute(
        "INSERT INTO accounts(id) VALUES (?), (?) ON CONFLICT(id) DO NOTHING", (src, dst)
    )
    inserted = conn.execute(
        "INSERT INTO transfers(key, kind, src, dst, amount, packet_id, memo, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
        (key, kind, src, dst, amount, packet_id, memo, at),
    ).rowcount
    if not inserted:
        return False
    conn.execute(
        "UPDATE accounts SET balance = balance + CASE id WHEN ? THEN -? ELSE ? END"
        " WHERE id IN (?, ?)",
        (src, amount, amount, src, dst),
    )
    return True


def end_and_refund(
    conn: sqlite3.Connection,
    *,
    table: str,
    row_id: str,
    status: str,
    left: Cents,
    escrow: str,
    owner: str,
    key: str,
    kind: str,
    now_ms: int,
    ended_at: bool = False,
    packet_id: str | None = None,
    memo: str = "",
) -> bool:
    """End a live packet or campaign once and give what is left in its escrow
    back to its owner; False if it was no longer live (ended elsewhere first).

    ``table``: ``packets`` or ``campaigns``; ``ended_at``: also stamp the end.
    """
    stamp = ", ended_at = :now" if ended_at else ""
    changed = conn.execute(
        f"UPDATE {table} SET status = :status, refunded = :left{stamp}"
        " WHERE id = :id AND status = 'live'",
        {"status": status, "left": left, "now": now_ms, "id": row_id},
    ).rowcount
    if not changed:
        return False
    if left > 0:
        transfer(
            conn, key=key, kind=kind, src=escrow, dst=owner, amount=left, at=now_ms,
            packet_id=packet_id, memo=memo,
        )
    return True


def sent_since(conn: sqlite3.Connection, chat_id: int, sender_id: int, since_ms: int) -> Cents:
    """What ``sender_id`` put into packets in ``chat_id`` since ``since_ms``."""
    row = conn.execute(
        "SELECT COALESCE(SUM(total), 0) FROM packets"
        " WHERE sender_id = ? AND created_at >= ? AND chat_id = ?",
        (sender_id, since_ms, chat_id),
    ).fetchone()
    return int(row[0])


def balance_of(conn: sqlite3.Connection, account: str) -> Cents:
    """Inside a write: what ``account`` may spend (on PostgreSQL, locked)."""
    if not _is_sqlite(conn):
        return conn.balance_of(account)
    row = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account,)).fetchone()
    return row[0] if row else 0


def upsert_member(conn: sqlite3.Connection, member: Member, now_ms: int) -> bool:
    """Insert or refresh a member's name; True if the member is new."""
    if not _is_sqlite(conn):
        return conn.upsert_member(member, now_ms)
    inserted = conn.execute(
        "INSERT INTO members(id, name, username, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(id) DO NOTHING",
        (member.id, member.name, member.username, now_ms),
    ).rowcount
    if not inserted:
        conn.execute(
            # A member known only by id and name (a packet's sender) keeps the
            # @username we learnt earlier.
            "UPDATE members SET name = ?, username = COALESCE(?, username) WHERE id = ?"
            " AND (name IS NOT ? OR username IS NOT COALESCE(?, username))",
            (member.name, member.username, member.id, member.name, member.username),
        )
    return bool(inserted)


GREET_CHUNK = 500  # members per statement of greet_members (SQLite allows 32,766 variables)


def greet_members(
    conn: sqlite3.Connection, members: Sequence[Member], welcome_bonus: Cents, now_ms: int
) -> list[bool]:
    """Store each member (no id twice) and pay the welcome bonus once ever (keyed per
    member, so also to a member first stored by something else, a /grant say); True
    for a member new (with a bonus: paid now). ``upsert_member`` and ``transfer`` do
    the same for one member in ~7 statements; this does a crowd in a few: SQLite
    only, whose single writer holds the database, so what is read here cannot change
    before it is written (PostgreSQL: ``PgWrite.greet_members``)."""
    new_members: set[int] = set()
    paid_now: set[int] = set()
    for start in range(0, len(members), GREET_CHUNK):
        chunk = members[start : start + GREET_CHUNK]
        new_members |= _store_members(conn, chunk, now_ms)
        if welcome_bonus > 0:
            paid_now |= _pay_welcomes(conn, chunk, welcome_bonus, now_ms)
    fresh = paid_now if welcome_bonus > 0 else new_members
    return [member.id in fresh for member in members]


def _store_members(conn: sqlite3.Connection, members: Sequence[Member], now_ms: int) -> set[int]:
    """Store the members, refresh the names of those known; the ids that were new."""
    ids = [m.id for m in members]
    marks = ",".join("?" * len(ids))
    known = {row[0] for row in conn.execute(f"SELECT id FROM members WHERE id IN ({marks})", ids)}
    conn.executemany(
        "INSERT INTO members(id, name, username, created_at) VALUES (?, ?, ?, ?)",
        [(m.id, m.name, m.username, now_ms) for m in members if m.id not in known],
    )
    conn.executemany(
        "UPDATE members SET name = ?, username = COALESCE(?, username) WHERE id = ?"
        " AND (name IS NOT ? OR username IS NOT COALESCE(?, username))",
        [(m.name, m.username, m.id, m.name, m.username) for m in members if m.id in known],
    )
    return set(ids) - known


def _pay_welcomes(
    conn: sqlite3.Connection, members: Sequence[Member], bonus: Cents, now_ms: int
) -> set[int]:
    """The welcome bonus to each member not paid it yet (keyed per member, once ever):
    the transfers ``transfer`` would make one by one. The ids paid now."""
    welcome = {keys.WELCOME(m.id): m.id for m in members}
    marks = ",".join("?" * len(welcome))
    paid = {row[0] for row in conn.execute(
        f"SELECT key FROM transfers WHERE key IN ({marks})", list(welcome))}
    due = [(key, member_id) for key, member_id in welcome.items() if key not in paid]
    if not due:
        return set()
    conn.executemany(
        "INSERT INTO accounts(id) VALUES (?) ON CONFLICT(id) DO NOTHING",
        [(keys.MINT,)] + [(keys.WALLET(member_id),) for _, member_id in due],
    )
    conn.executemany(
        "INSERT INTO transfers(key, kind, src, dst, amount, packet_id, memo, at)"
        " VALUES (?, ?, ?, ?, ?, NULL, '', ?)",
        [(key, LedgerKind.WELCOME.value, keys.MINT, keys.WALLET(member_id), bonus, now_ms)
         for key, member_id in due],
    )
    conn.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?",
                 (bonus * len(due), keys.MINT))
    conn.executemany("UPDATE accounts SET balance = balance + ? WHERE id = ?",
                     [(bonus, keys.WALLET(member_id)) for _, member_id in due])
    return {member_id for _, member_id in due}


def _prepare_new_file(path: Path) -> None:
    """A missing directory is made for a new database, and said in one log line: a
    mistyped ``DATABASE_URL`` otherwise starts an empty ledger without a word."""
    if path.exists() or str(path) == ":memory:":
        return
    parent = path.parent
    if not parent.exists():
        parent.mkdir(parents=True, exist_ok=True)
        _log.warning("no database at %s: created the directory %s and a new, empty database"
                     " (check DATABASE_URL if you expected an existing one)", path, parent)
    else:
        _log.info("no database at %s: starting a new, empty one", path)


# Primary result codes of a database that is there but cannot answer now
# (busy, locked, out of memory or disk, I/O, cannot open): not a bug of ours.
_UNAVAILABLE_CODES = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL,
})


def _unavailable(exc: sqlite3.OperationalError) -> Exception:
    """``StoreUnavailable`` for a database that cannot answer; the error itself
    (a bug: bad SQL, a missing table) otherwise."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _UNAVAILABLE_CODES:
        return StoreUnavailable(f"sqlite: {exc}")
    return exc


class LedgerStore:
    """What both engines' stores do alike, over their own ``write`` (a function
    of the engine's connection, in the next group commit) and ``fetchall``.

    ``order``: where a write sorts within a batch on an engine with several
    writers (the write orders of ``storage.sqlite.keys``); SQLite's one writer
    ignores it.
    """

    audit_checks: tuple[Check, ...] = ALL_CHECKS

    async def write(self, fn: Any, order: str = "") -> Any:
        raise NotImplementedError

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def run_checks(self, checks: Sequence[Check]) -> list[str]:
        """The audit ``checks`` on one snapshot; one line per problem found."""
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement (``?`` placeholders) in the next group commit; its rowcount."""
        return await self.write(lambda conn: conn.execute(sql, tuple(params)).rowcount)

    # -- members and wallets -------------------------------------------------

    async def greet(self, member: Member, welcome_bonus: Cents, now_ms: int) -> bool:
        (is_new,) = await self.greet_many([member], welcome_bonus, now_ms)
        return is_new

    async def greet_many(
        self, members: Sequence[Member], welcome_bonus: Cents, now_ms: int
    ) -> list[bool]:
        assert len({m.id for m in members}) == len(members), "a member twice in one greeting"
        if not members:
            return []

        def write(conn: sqlite3.Connection) -> list[bool]:
            if _is_sqlite(conn):
                return greet_members(conn, members, welcome_bonus, now_ms)
            return conn.greet_members(members, welcome_bonus, now_ms)

        return await self.write(write, keys.MINT_ORDER(min(m.id for m in members)))

    async def credit(
        self, member: Member, amount: Cents, *, kind: str, key: str, memo: str, now_ms: int
    ) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            upsert_member(conn, member, now_ms)
            return transfer(
                conn, key=key, kind=kind, src=keys.MINT, dst=keys.WALLET(member.id),
                amount=amount, at=now_ms, memo=memo,
            )

        return await self.write(write, keys.MINT_ORDER(member.id))

    async def balance(self, member_id: int) -> Cents:
        row = await self.fetchone(
            "SELECT balance FROM accounts WHERE id = ?", (keys.WALLET(member_id),)
        )
        return row[0] if row else 0

    # -- packets -------------------------------------------------------------

    async def create_packet(
        self, packet: Packet, key: str, daily: DailyCap | None = None
    ) -> Packet:
        return await self.write(
            lambda conn: create_packet(conn, packet, key, daily),
            keys.WALLET_ORDER(packet.sender_id),
        )

    async def open_share(
        self, packet_id: str, member: Member, now_ms: int, *, pressed_at_ms: int | None = None
    ) -> Opened:
        return await self.write(
            lambda conn: open_share(conn, packet_id, member, now_ms, pressed_at_ms),
            keys.PACKET_ORDER(packet_id),
        )

    async def get_packet(self, packet_id: str) -> Packet | None:
        row = await self.fetchone(f"SELECT {PACKET_COLUMNS} FROM packets WHERE id = ?", (packet_id,))
        return packet_from_row(row) if row else None

    async def shares(self, packet_id: str) -> list[Share]:
        rows = await self.fetchall(
            f"SELECT {SHARE_COLUMNS} FROM shares WHERE packet_id = ? ORDER BY position",
            (packet_id,),
        )
        return [share_from_row(r) for r in rows]

    async def share_of(self, packet_id: str, member_id: int) -> Share | None:
        row = await self.fetchone(
            f"SELECT {SHARE_COLUMNS} FROM shares WHERE packet_id = ? AND member_id = ?",
            (packet_id, member_id),
        )
        return share_from_row(row) if row else None

    async def set_message(
        self, packet_id: str, message_id: int, *, posted_at_ms: int | None = None
    ) -> None:
        await self.write(
            lambda conn: conn.execute(
                "UPDATE packets SET message_id = ?, posted_at_ms = COALESCE(?, posted_at_ms)"
                " WHERE id = ?",
                (message_id, posted_at_ms, packet_id),
            ),
            keys.PACKET_ORDER(packet_id),
        )

    async def expire_due(self, now_ms: int, limit: int) -> list[Refund]:
        return await self.write(lambda conn: expire_due(conn, now_ms, limit), keys.PACKET_ORDER(""))

    async def live_packets(self) -> list[Packet]:
        rows = await self.fetchall(f"SELECT {PACKET_COLUMNS} FROM packets WHERE status = 'live'")
        return [packet_from_row(r) for r in rows]

    async def all_packets(self) -> list[Packet]:
        rows = await self.fetchall(
            f"SELECT {PACKET_COLUMNS} FROM packets ORDER BY created_at, id"
        )
        return [packet_from_row(r) for r in rows]

    async def ledger_problems(self) -> list[str]:
        return await self.run_checks(self.audit_checks)


class SqliteStore(LedgerStore):
    """Writes go through one batching writer; reads use a second connection."""

    def __init__(self, path: str | Path, *, audit_checks: Sequence[Check] = ALL_CHECKS) -> None:
        """``audit_checks``: what ``ledger_problems`` runs (every check, unless told)."""
        self.path = str(path)
        self.audit_checks = tuple(audit_checks)
        self._write_conn: aiosqlite.Connection | None = None
        self._read_conn: aiosqlite.Connection | None = None
        self.writer: BatchWriter | None = None

    async def open(self) -> None:
        _prepare_new_file(Path(self.path))
        try:
            self._write_conn = await aiosqlite.connect(self.path, isolation_level=None)
            await in_thread(self._write_conn, configure)
            await in_thread(self._write_conn, migrate)
            self._read_conn = await aiosqlite.connect(self.path, isolation_level=None)
            await in_thread(self._read_conn, configure)
        except BaseException:
            # An open aiosqlite connection is a non-daemon thread: left behind,
            # it keeps the process from ever exiting.
            await self.close()
            raise
        self.writer = BatchWriter(self._write_conn)
        self.writer.start()

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.stop()
        for conn in (self._read_conn, self._write_conn):
            if conn is not None:
                await conn.close()
        self._read_conn = self._write_conn = None
        self.writer = None

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ------------------------------------------------------------

    async def write(self, fn: Any, order: str = "") -> Any:
        """Run ``fn(conn)`` in the next group commit and return its result."""
        assert self.writer is not None, "store is not open"
        try:
            return await self.writer.submit(fn)
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) from exc

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        assert self._read_conn is not None, "store is not open"
        try:
            return list(await self._read_conn.execute_fetchall(sql, tuple(params)))
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) from exc

    async def run_checks(self, checks: Sequence[Check]) -> list[str]:
        assert self._read_conn is not None, "store is not open"
        try:
            return await in_thread(self._read_conn, lambda conn: ledger_problems(conn, checks))
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) from exc


def create_packet(
    conn: sqlite3.Connection, packet: Packet, key: str, daily: DailyCap | None = None
) -> Packet:
    """Debit the sender and create the packet, once per ``key``."""
    existing = conn.execute(
        f"SELECT {PACKET_COLUMNS} FROM packets WHERE key = ?", (key,)
    ).fetchone()
    if existing is not None:
        return packet_from_row(existing)
    upsert_member(conn, Member(packet.sender_id, packet.sender_name), packet.created_at)
    # Read first: on PostgreSQL this locks the wallet, so two sends of one
    # sender (on other connections) pass the daily limit one after the other.
    available = balance_of(conn, keys.WALLET(packet.sender_id))
    if daily is not None:  # in the debit's transaction: two sends cannot both pass
        sent = sent_since(conn, packet.chat_id, packet.sender_id, daily.since_ms)
        refusal = over_daily_limit(daily.limit, sent, packet.total)
        if refusal is not None:
            raise Refused(refusal)
    if available < packet.total:
        raise InsufficientFunds(available, packet.total)
    conn.execute(
        "INSERT INTO packets(id, key, chat_id, sender_id, sender_name, kind, rule, total,"
        " count, cap, greeting, recipient_id, recipient_name, seed, created_at, expires_at,"
        " phrase) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (packet.id, key, packet.chat_id, packet.sender_id, packet.sender_name,
         packet.kind.value, packet.rule.value, packet.total, packet.count, packet.cap,
         packet.greeting, packet.recipient_id, packet.recipient_name, packet.seed,
         packet.created_at, packet.expires_at, packet.phrase),
    )
    transfer(
        conn, key=keys.SEND(packet.id), kind=LedgerKind.SEND,
        src=keys.WALLET(packet.sender_id),
        dst=keys.PACKET_ESCROW(packet.id), amount=packet.total, at=packet.created_at,
        packet_id=packet.id,
    )
    return packet


def open_share(
    conn: sqlite3.Connection, packet_id: str, member: Member, now_ms: int,
    pressed_at_ms: int | None = None,
) -> Opened:
    """The open transaction (docs/rules.md §3 step 2); runs inside the writer's savepoint."""
    row = conn.execute(
        f"SELECT {PACKET_COLUMNS}, posted_at_ms FROM packets WHERE id = ?{row_lock(conn)}",
        (packet_id,),
    ).fetchone()
    if row is None:
        return Opened(OpenOutcome.NOT_FOUND)
    packet, posted_at_ms = packet_from_row(row[:-1]), row[-1]
    if packet.recipient_id is not None and packet.recipient_id != member.id:
        return Opened(OpenOutcome.EMPTY, None, packet)
    live = packet.status is Status.LIVE and now_ms < packet.expires_at
    if not live or packet.claimed_count >= packet.count:
        held = _held_share(conn, packet_id, member.id)
        if held is not None:
            return Opened(OpenOutcome.ALREADY, held, packet)
        expired = packet.status is Status.EXPIRED or now_ms >= packet.expires_at
        return Opened(OpenOutcome.EXPIRED if expired else OpenOutcome.EMPTY, None, packet)
    position = packet.claimed_count + 1
    amount = share_amount(
        packet.rule, packet.seed, position, total=packet.total, count=packet.count,
        claimed_amount=packet.claimed_amount, cap=packet.cap,
    )
    finished = position == packet.count
    share = Share(packet_id, position, member.id, member.name, amount, now_ms)
    delay = None
    if pressed_at_ms is not None:
        appeared = appeared_at_ms(conn, packet, member.id, posted_at_ms)
        delay = press_delay_ms(appeared, pressed_at_ms)
    inserted = conn.execute(
        f"INSERT INTO shares({SHARE_COLUMNS}, press_delay_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (packet_id, member_id) DO NOTHING",
        (packet_id, position, member.id, member.name, amount, now_ms, delay),
    ).rowcount  # the shares triggers advance the packet's counters
    if not inserted:  # the member took a share since the gate let them through
        held = _held_share(conn, packet_id, member.id)
        if held is None:
            raise sqlite3.IntegrityError(f"share {position} of {packet_id} was not recorded")
        return Opened(OpenOutcome.ALREADY, held, packet)
    if finished:
        conn.execute(
            "UPDATE packets SET status = 'finished', finished_at = ? WHERE id = ?",
            (now_ms, packet_id),
        )
    transfer(
        conn, key=keys.SHARE(packet_id, position), kind=LedgerKind.SHARE,
        src=keys.PACKET_ESCROW(packet_id),
        dst=keys.WALLET(member.id), amount=amount, at=now_ms, packet_id=packet_id,
    )
    packet = replace(
        packet, claimed_count=position, claimed_amount=packet.claimed_amount + amount,
        status=Status.FINISHED if finished else Status.LIVE,
        finished_at=now_ms if finished else None,
    )
    return Opened(OpenOutcome.OPENED, share, packet)


def _held_share(conn: sqlite3.Connection, packet_id: str, member_id: int) -> Share | None:
    row = conn.execute(
        f"SELECT {SHARE_COLUMNS} FROM shares WHERE packet_id = ? AND member_id = ?",
        (packet_id, member_id),
    ).fetchone()
    return share_from_row(row) if row else None


def expire_due(conn: sqlite3.Connection, now_ms: int, limit: int) -> list[Refund]:
    """Expire live packets past their time and refund the rest to each sender, once.

    On PostgreSQL a packet another connection is expiring (or opening) right
    now is skipped, left to it or to the next sweep; never refunded twice: the
    conditional UPDATE and the refund's transfer key see to that."""
    rows = conn.execute(
        f"SELECT {PACKET_COLUMNS} FROM packets WHERE status = 'live' AND expires_at <= ?"
        f" ORDER BY expires_at LIMIT ?{row_lock(conn, 'UPDATE SKIP LOCKED')}",
        (now_ms, limit),
    ).fetchall()
    refunds: list[Refund] = []
    for row in rows:
        packet = packet_from_row(row)
        left = packet.total - packet.claimed_amount
        if not end_and_refund(
            conn, table="packets", row_id=packet.id, status=Status.EXPIRED, left=left,
            escrow=keys.PACKET_ESCROW(packet.id), owner=keys.WALLET(packet.sender_id),
            key=keys.REFUND(packet.id), kind=LedgerKind.REFUND, now_ms=now_ms,
            packet_id=packet.id,
        ):
            continue
        refunds.append(Refund(replace(packet, status=Status.EXPIRED, refunded=left), left))
    return refunds

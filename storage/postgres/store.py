"""PostgreSQL adapter of ``core.ports.PacketStore``: the same guarantees as SQLite's.

One share per member per packet (UNIQUE), never beyond the count or the total
(CHECKs and the ``shares_in_order`` trigger, under the packet's row lock), no
wallet below zero but the mint (CHECK), one transfer per key (UNIQUE): all
enforced by PostgreSQL inside the write's transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import psycopg
from psycopg import errors

from core.allocation import share_amount
from core.errors import InsufficientFunds
from core.amount import Cents
from core.packets import Member, Packet, Share, Status
from core.ports import Opened, OpenOutcome, Refund
from storage.postgres import audit
from storage.postgres.schema import migrate
from storage.postgres.sql import QmarkConnection, from_qmark
from storage.postgres.writer import PgBatchWriter
from storage.sqlite.keys import MINT, PACKET_ESCROW as escrow, WALLET as wallet
from storage.sqlite.store import PACKET_COLUMNS, SHARE_COLUMNS, packet_from_row, share_from_row

T = TypeVar("T")

# Orders of writes inside a batch (see PgBatchWriter.submit): payments from
# the mint first, then debits of wallets, then packets, each by id. Two
# batches that create the same new members' rows (both processes greeting a
# crowd) then insert them in the same order, and one waits for the other
# instead of deadlocking.
def mint_order(member_id: int) -> str:
    return f"0:{member_id:020d}"


def wallet_order(member_id: int) -> str:
    return f"1:{member_id:020d}"


def packet_order(packet_id: str) -> str:
    return f"2:{packet_id}"


def connect(url: str) -> psycopg.Connection:
    """An autocommit connection: the writer and the readers say BEGIN themselves."""
    return psycopg.connect(url, autocommit=True)


def transfer(
    conn: psycopg.Connection,
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

    The debit is made now (a balance below zero fails the CHECK and this write
    rolls back); the credit, and a debit of the mint, when the batch commits.
    """
    defer = isinstance(conn, QmarkConnection)
    if defer and src != MINT:
        early = conn.pending(src)
        if early > 0:  # credited earlier in this batch: spend it now (rolled back with us)
            conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (early, src))
            conn.defer(src, -early)
    row = conn.execute(
        "SELECT rp_transfer(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (key, kind, src, dst, amount, at, packet_id, memo, defer),
    ).fetchone()
    done = bool(row and row[0])
    if done and defer:
        conn.defer(dst, amount)
        if src == MINT:
            conn.defer(MINT, -amount)
    return done


def balance_of(conn: psycopg.Connection, account: str, *, lock: bool = False) -> Cents:
    row = conn.execute(
        "SELECT balance FROM accounts WHERE id = %s" + (" FOR UPDATE" if lock else ""),
        (account,),
    ).fetchone()
    pending = conn.pending(account) if isinstance(conn, QmarkConnection) else 0
    return (row[0] if row else 0) + pending


def upsert_member(conn: psycopg.Connection, member: Member, now_ms: int) -> bool:
    row = conn.execute(
        "SELECT rp_upsert_member(%s, %s, %s, %s)",
        (member.id, member.name, member.username, now_ms),
    ).fetchone()
    return bool(row and row[0])


class PostgresStore:
    """Writes through a batching writer on ``writers`` connections; reads on a pool."""

    def __init__(self, url: str, *, writers: int = 1, readers: int = 4) -> None:
        self.url = url
        self._writers = writers
        self._readers = readers
        self._pool: asyncio.Queue[psycopg.Connection] | None = None
        self._read_conns: list[psycopg.Connection] = []
        self.writer: PgBatchWriter | None = None

    async def open(self) -> None:
        try:
            conn = await asyncio.to_thread(connect, self.url)
            try:
                await asyncio.to_thread(migrate, conn)
            finally:
                await asyncio.to_thread(conn.close)
            self._pool = asyncio.Queue()
            for _ in range(self._readers):
                read_conn = await asyncio.to_thread(connect, self.url)
                self._read_conns.append(read_conn)
                self._pool.put_nowait(read_conn)
            self.writer = PgBatchWriter(lambda: connect(self.url), self._writers)
            await self.writer.start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.stop()
        for conn in self._read_conns:
            await asyncio.to_thread(conn.close)
        self._read_conns.clear()
        self._pool = None
        self.writer = None

    async def __aenter__(self) -> PostgresStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ------------------------------------------------------------

    async def write(self, fn: Callable[[psycopg.Connection], T], order: str = "") -> T:
        """Run ``fn(conn)`` in the next group commit and return its result."""
        assert self.writer is not None, "store is not open"
        return await self.writer.submit(fn, order)

    async def read(self, fn: Callable[[psycopg.Connection], T]) -> T:
        """Run ``fn(conn)`` on a pooled autocommit connection."""
        assert self._pool is not None, "store is not open"
        conn = await self._pool.get()
        try:
            if conn.broken or conn.closed:
                conn = await asyncio.to_thread(connect, self.url)
            return await asyncio.to_thread(fn, conn)
        finally:
            self._pool.put_nowait(conn)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of ``sql`` written with SQLite's ``?`` placeholders (both engines read it)."""
        query = from_qmark(sql)
        return await self.read(lambda conn: conn.execute(query, tuple(params)).fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement (``?`` placeholders) in the next group commit; its rowcount."""
        query = from_qmark(sql)
        return await self.write(lambda conn: conn.execute(query, tuple(params)).rowcount)

    # -- members and wallets -------------------------------------------------

    async def greet(self, member: Member, welcome_bonus: Cents, now_ms: int) -> bool:
        def write(conn: psycopg.Connection) -> bool:
            is_new = upsert_member(conn, member, now_ms)
            if welcome_bonus <= 0:
                return is_new
            return transfer(
                conn, key=f"welcome:{member.id}", kind="welcome", src=MINT,
                dst=wallet(member.id), amount=welcome_bonus, at=now_ms,
            )

        return await self.write(write, mint_order(member.id))

    async def credit(
        self, member: Member, amount: Cents, *, kind: str, key: str, memo: str, now_ms: int
    ) -> bool:
        def write(conn: psycopg.Connection) -> bool:
            upsert_member(conn, member, now_ms)
            return transfer(
                conn, key=key, kind=kind, src=MINT, dst=wallet(member.id),
                amount=amount, at=now_ms, memo=memo,
            )

        return await self.write(write, mint_order(member.id))

    async def balance(self, member_id: int) -> Cents:
        row = await self.fetchone("SELECT balance FROM accounts WHERE id = ?", (wallet(member_id),))
        return row[0] if row else 0

    # -- packets -------------------------------------------------------------

    async def create_packet(self, packet: Packet, key: str) -> Packet:
        return await self.write(
            lambda conn: create_packet(conn, packet, key), wallet_order(packet.sender_id)
        )

    async def open_share(self, packet_id: str, member: Member, now_ms: int) -> Opened:
        return await self.write(
            lambda conn: open_share(conn, packet_id, member, now_ms), packet_order(packet_id)
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

    async def set_message(self, packet_id: str, message_id: int) -> None:
        await self.execute("UPDATE packets SET message_id = ? WHERE id = ?", (message_id, packet_id))

    async def expire_due(self, now_ms: int, limit: int) -> list[Refund]:
        return await self.write(lambda conn: expire_due(conn, now_ms, limit), packet_order(""))

    async def live_packets(self) -> list[Packet]:
        rows = await self.fetchall(f"SELECT {PACKET_COLUMNS} FROM packets WHERE status = 'live'")
        return [packet_from_row(r) for r in rows]

    async def all_packets(self) -> list[Packet]:
        rows = await self.fetchall(
            f"SELECT {PACKET_COLUMNS} FROM packets ORDER BY created_at, id"
        )
        return [packet_from_row(r) for r in rows]

    async def ledger_problems(self) -> list[str]:
        return await self.read(audit.ledger_problems)

    # -- leases --------------------------------------------------------------

    async def take_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """Hold (or renew) lease ``name`` until ``now_ms + ttl_ms``; False while
        another holder's lease has not lapsed. One statement: the row lock
        decides between processes asking at the same moment."""
        return bool(await self.execute(
            "INSERT INTO leases(name, holder, until_ms) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " until_ms = excluded.until_ms"
            " WHERE leases.holder = excluded.holder OR leases.until_ms <= ?",
            (name, holder, now_ms + ttl_ms, now_ms),
        ))


def create_packet(conn: psycopg.Connection, packet: Packet, key: str) -> Packet:
    existing = conn.execute(
        f"SELECT {PACKET_COLUMNS} FROM packets WHERE key = %s", (key,)
    ).fetchone()
    if existing is not None:
        return packet_from_row(existing)
    upsert_member(conn, Member(packet.sender_id, packet.sender_name), packet.created_at)
    # Locked, so a debit on another connection waits for this one.
    available = balance_of(conn, wallet(packet.sender_id), lock=True)
    if available < packet.total:
        raise InsufficientFunds(available, packet.total)
    conn.execute(
        "INSERT INTO packets(id, key, chat_id, sender_id, sender_name, kind, rule, total,"
        " count, cap, greeting, recipient_id, recipient_name, seed, created_at, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (packet.id, key, packet.chat_id, packet.sender_id, packet.sender_name,
         packet.kind.value, packet.rule.value, packet.total, packet.count, packet.cap,
         packet.greeting, packet.recipient_id, packet.recipient_name, packet.seed,
         packet.created_at, packet.expires_at),
    )
    transfer(
        conn, key=f"send:{packet.id}", kind="send", src=wallet(packet.sender_id),
        dst=escrow(packet.id), amount=packet.total, at=packet.created_at, packet_id=packet.id,
    )
    return packet


def open_share(conn: psycopg.Connection, packet_id: str, member: Member, now_ms: int) -> Opened:
    """The open transaction (docs/rules.md §3 step 2); runs inside the writer's savepoint.

    The packet row is locked first, so the position and amount computed here
    are those of the packet as it is now, whichever connection or process
    committed the previous share.
    """
    row = conn.execute(
        f"SELECT {_LOCKED_PACKET_AND_HELD_SHARE}", (member.id, packet_id)
    ).fetchone()
    if row is None:
        return Opened(OpenOutcome.NOT_FOUND)
    packet = packet_from_row(row[:_PACKET_FIELDS])
    held = share_from_row(row[_PACKET_FIELDS:]) if row[_PACKET_FIELDS] is not None else None
    if packet.recipient_id is not None and packet.recipient_id != member.id:
        return Opened(OpenOutcome.EMPTY, None, packet)
    if held is not None:
        return Opened(OpenOutcome.ALREADY, held, packet)
    live = packet.status is Status.LIVE and now_ms < packet.expires_at
    if not live or packet.claimed_count >= packet.count:
        expired = packet.status is Status.EXPIRED or now_ms >= packet.expires_at
        return Opened(OpenOutcome.EXPIRED if expired else OpenOutcome.EMPTY, None, packet)
    position = packet.claimed_count + 1
    amount = share_amount(
        packet.rule, packet.seed, position, total=packet.total, count=packet.count,
        claimed_amount=packet.claimed_amount, cap=packet.cap,
    )
    finished = position == packet.count
    conn.execute(
        "SELECT rp_take_share(%s, %s, %s, %s, %s, %s, %s)",
        (packet_id, position, member.id, member.name, amount, now_ms, finished),
    )
    if isinstance(conn, QmarkConnection):
        conn.defer(wallet(member.id), amount)  # rp_take_share left the credit to the batch
    share = Share(packet_id, position, member.id, member.name, amount, now_ms)
    packet = replace(
        packet, claimed_count=position, claimed_amount=packet.claimed_amount + amount,
        status=Status.FINISHED if finished else Status.LIVE,
        finished_at=now_ms if finished else None,
    )
    return Opened(OpenOutcome.OPENED, share, packet)


_PACKET_FIELDS = len(PACKET_COLUMNS.split(","))
# The packet, locked, and the member's share of it if any: one round trip.
_LOCKED_PACKET_AND_HELD_SHARE = (
    ", ".join(f"p.{c.strip()}" for c in PACKET_COLUMNS.split(","))
    + ", " + ", ".join(f"s.{c.strip()}" for c in SHARE_COLUMNS.split(","))
    + " FROM packets p LEFT JOIN shares s ON s.packet_id = p.id AND s.member_id = %s"
    " WHERE p.id = %s FOR UPDATE OF p"
)


def _held_share(conn: psycopg.Connection, packet_id: str, member_id: int) -> Share | None:
    row = conn.execute(
        f"SELECT {SHARE_COLUMNS} FROM shares WHERE packet_id = %s AND member_id = %s",
        (packet_id, member_id),
    ).fetchone()
    return share_from_row(row) if row else None


def expire_due(conn: psycopg.Connection, now_ms: int, limit: int) -> list[Refund]:
    """Expire live packets past their time and refund the rest to each sender, once.

    SKIP LOCKED: a packet another connection is expiring (or opening) right
    now is left to it or to the next sweep, and never refunded twice: the
    conditional UPDATE and the refund's transfer key see to that.
    """
    rows = conn.execute(
        f"SELECT {PACKET_COLUMNS} FROM packets WHERE status = 'live' AND expires_at <= %s"
        " ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED",
        (now_ms, limit),
    ).fetchall()
    refunds: list[Refund] = []
    for row in rows:
        packet = packet_from_row(row)
        left = packet.total - packet.claimed_amount
        changed = conn.execute(
            "UPDATE packets SET status = 'expired', refunded = %s WHERE id = %s AND status = 'live'",
            (left, packet.id),
        ).rowcount
        if not changed:
            continue
        if left > 0:
            transfer(
                conn, key=f"refund:{packet.id}", kind="refund", src=escrow(packet.id),
                dst=wallet(packet.sender_id), amount=left, at=now_ms, packet_id=packet.id,
            )
        refunds.append(Refund(replace(packet, status=Status.EXPIRED, refunded=left), left))
    return refunds


IntegrityError = errors.IntegrityError

"""What a PostgreSQL write does its own way inside the shared write functions.

The write functions of ``storage/sqlite`` (opens, sends, expiry, campaigns...)
run unchanged on PostgreSQL through ``PgWrite`` (the rows they decide from are
locked with ``storage.sql_store.row_lock``); they ask it for the two ledger
steps that must differ with several writers on several connections:

- ``transfer``: the debit at once, the credit deferred to the batch's end
  (``PgBatchWriter`` applies every credit in account order, so batches on
  several connections never lock wallets in opposite orders: no deadlock);
- ``balance_of``: the balance locked, plus what the batch will still credit;
- ``greet_members``: a crowd's first contact in four statements.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from core.amount import Cents
from core.packets import Member
from storage.postgres.sql import QmarkConnection
from storage.sqlite import keys
from storage.sqlite.keys import MINT, LedgerKind


class PgWrite(QmarkConnection):
    """The connection a write function gets from ``PgBatchWriter``."""

    def __init__(self, conn: Any, credits: Counter[str] | None = None) -> None:
        super().__init__(conn)
        # Balance changes held for the end of the batch: those of the batch's
        # earlier writes, and this write's own.
        self.batch_credits: Counter[str] = credits if credits is not None else Counter()
        self.credits: Counter[str] = Counter()

    def defer(self, account: str, delta: int) -> None:
        self.credits[account] += delta

    def pending(self, account: str) -> int:
        """What the batch will still add to ``account`` when it commits."""
        return self.batch_credits[account] + self.credits[account]

    def transfer(
        self, *, key: str, kind: str, src: str, dst: str, amount: Cents, at: int,
        packet_id: str | None = None, memo: str = "",
    ) -> bool:
        """Move ``amount`` once per ``key``; False if already done. A balance
        below zero fails the CHECK now and the write rolls back to its savepoint."""
        if src != MINT:
            early = self.pending(src)
            if early > 0:  # credited earlier in this batch: spend it now (rolled back with us)
                self.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (early, src))
                self.defer(src, -early)
        row = self.execute(
            "SELECT rp_transfer(%s, %s, %s, %s, %s, %s, %s, %s, TRUE)",
            (key, str(kind), src, dst, amount, at, packet_id, memo),
        ).fetchone()
        done = bool(row and row[0])
        if done:
            self.defer(dst, amount)
            if src == MINT:
                self.defer(MINT, -amount)
        return done

    def balance_of(self, account: str) -> Cents:
        """Locked: a debit of the same wallet on another connection waits for this write."""
        row = self.execute(
            "SELECT balance FROM accounts WHERE id = %s FOR UPDATE", (account,)
        ).fetchone()
        return (row[0] if row else 0) + self.pending(account)

    def upsert_member(self, member: Member, now_ms: int) -> bool:
        row = self.execute(
            "SELECT rp_upsert_member(%s, %s, %s, %s)",
            (member.id, member.name, member.username, now_ms),
        ).fetchone()
        return bool(row and row[0])

    def greet_members(self, members: Sequence[Member], bonus: Cents, now_ms: int) -> list[bool]:
        """``upsert_member`` then the welcome ``transfer`` for each member (no id twice),
        in four statements: rows are written in id (and key) order, so two processes
        greeting the same crowd lock its rows in one order. True for a member new
        (with a bonus: paid now)."""
        ids = [m.id for m in members]
        names = [m.name for m in members]
        usernames = [m.username for m in members]
        new = {row[0] for row in self.execute(
            "INSERT INTO members(id, name, username, created_at)"
            " SELECT id, name, username, %s"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS t(id, name, username)"
            " ORDER BY id ON CONFLICT (id) DO NOTHING RETURNING id",
            (now_ms, ids, names, usernames),
        ).fetchall()}
        if len(new) < len(ids):
            self.execute(
                "UPDATE members AS m SET name = t.name, username = COALESCE(t.username, m.username)"
                " FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS t(id, name, username)"
                " WHERE m.id = t.id AND NOT (t.id = ANY(%s::bigint[]))"
                " AND (m.name IS DISTINCT FROM t.name"
                " OR m.username IS DISTINCT FROM COALESCE(t.username, m.username))",
                (ids, names, usernames, list(new)),
            )
        if bonus <= 0:
            return [member_id in new for member_id in ids]
        wallets = [keys.WALLET(member_id) for member_id in ids]
        self.execute(
            "INSERT INTO accounts(id) SELECT id FROM unnest(%s::text[]) AS t(id)"
            " ORDER BY id ON CONFLICT (id) DO NOTHING",
            ([MINT, *wallets],),
        )
        paid = {row[0] for row in self.execute(
            "INSERT INTO transfers(key, kind, src, dst, amount, packet_id, memo, at)"
            " SELECT key, %s, %s, dst, %s, NULL, '', %s"
            " FROM unnest(%s::text[], %s::text[]) AS t(key, dst)"
            " ORDER BY key ON CONFLICT (key) DO NOTHING RETURNING dst",
            (LedgerKind.WELCOME.value, MINT, bonus, now_ms,
             [keys.WELCOME(member_id) for member_id in ids], wallets),
        ).fetchall()}
        for wallet in paid:  # credited, and the mint debited, at the batch's end
            self.defer(wallet, bonus)
            self.defer(MINT, -bonus)
        return [wallet in paid for wallet in wallets]


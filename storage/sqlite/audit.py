"""Ledger checks run inside SQLite (docs/rules.md §6): each query lists what is wrong.

A check is a message and a query; every row the query returns is one problem,
formatted into the message. Packets and campaigns are checked by one scheme,
numbered alike in ``PACKET_CHECKS`` and ``CAMPAIGN_CHECKS``: money goes from
an owner's wallet into an escrow, out to members as items (shares, wins) and
back to the owner as one refund, each step a transfer with its own key. ``ALL_CHECKS`` is the whole audit; the composition
root hands it to ``SqliteStore``, so no check depends on which module happened
to be imported first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from storage.sqlite.keys import (
    CAMPAIGN_ESCROW,
    CAMPAIGN_REFUND,
    FUND,
    PACKET_ESCROW,
    REFUND,
    SEND,
    SHARE,
    WALLET,
    WIN,
    LedgerKind,
)

Check = tuple[str, str]  # (message with {0}, {1}... for the row's columns, query)

LEDGER_CHECKS: tuple[Check, ...] = (
    (
        "the ledger does not balance: all accounts sum to {0}, not 0",
        "SELECT total FROM (SELECT COALESCE(SUM(balance), 0) AS total FROM accounts) sums"
        " WHERE total <> 0",
    ),
    (
        "account {0} holds {1} but its ledger entries add up to {2}",
        "SELECT a.id, a.balance, COALESCE(i.s, 0) - COALESCE(o.s, 0) FROM accounts a"
        " LEFT JOIN (SELECT dst, SUM(amount) s FROM transfers GROUP BY dst) i ON i.dst = a.id"
        " LEFT JOIN (SELECT src, SUM(amount) s FROM transfers GROUP BY src) o ON o.src = a.id"
        " WHERE a.balance <> COALESCE(i.s, 0) - COALESCE(o.s, 0)",
    ),
    (
        "transfer account {0} has no balance row",
        "SELECT DISTINCT t.x FROM (SELECT src AS x FROM transfers UNION SELECT dst FROM transfers) t"
        " LEFT JOIN accounts a ON a.id = t.x WHERE a.id IS NULL",
    ),
)

PACKET_CHECKS: tuple[Check, ...] = (
    # 1. the escrow holds total − paid − refunded
    (
        "packet {0}: escrow holds {1}, but total − shares − refund is {2}",
        "SELECT p.id, COALESCE(a.balance, 0), p.total - p.claimed_amount - p.refunded"
        f" FROM packets p LEFT JOIN accounts a ON a.id = {PACKET_ESCROW.sql('p.id')}"
        " WHERE COALESCE(a.balance, 0) <> p.total - p.claimed_amount - p.refunded",
    ),
    # 2. funded once, with its total, from its owner's wallet
    (
        "packet {0}: {1} was sent into escrow from {2}, not its total {3} from its sender",
        "SELECT p.id, COALESCE(t.amount, 0), t.src, p.total FROM packets p"
        f" LEFT JOIN transfers t ON t.key = {SEND.sql('p.id')}"
        f" WHERE COALESCE(t.amount, 0) <> p.total OR t.src <> {WALLET.sql('p.sender_id')}"
        f" OR t.dst <> {PACKET_ESCROW.sql('p.id')}",
    ),
    # 3. its items (shares, wins) add up to its counters
    (
        "packet {0}: shares add up to {1} in {2} rows, the packet says {3} in {4}",
        "SELECT p.id, COALESCE(s.amount, 0), COALESCE(s.n, 0), p.claimed_amount, p.claimed_count"
        " FROM packets p LEFT JOIN (SELECT packet_id, SUM(amount) amount, COUNT(*) n"
        " FROM shares GROUP BY packet_id) s ON s.packet_id = p.id"
        " WHERE COALESCE(s.amount, 0) <> p.claimed_amount OR COALESCE(s.n, 0) <> p.claimed_count",
    ),
    # 4. each item paid to its member from the escrow
    (
        "packet {0}: share {1} paid to {2} but the transfer went to {3}",
        "SELECT s.packet_id, s.position, s.member_id, t.dst FROM shares s"
        f" LEFT JOIN transfers t ON t.key = {SHARE.sql('s.packet_id', 's.position')}"
        f" WHERE t.dst IS NULL OR t.dst <> {WALLET.sql('s.member_id')} OR t.amount <> s.amount"
        f" OR t.src <> {PACKET_ESCROW.sql('s.packet_id')}",
    ),
    # 5. the item transfers add up to what was paid
    (
        "packet {0}: share transfers pay {1}, its shares say {2}",
        "SELECT p.id, COALESCE(t.amount, 0), p.claimed_amount FROM packets p"
        " LEFT JOIN (SELECT packet_id, SUM(amount) amount FROM transfers"
        f" WHERE kind = '{LedgerKind.SHARE}'"
        " GROUP BY packet_id) t ON t.packet_id = p.id WHERE COALESCE(t.amount, 0) <> p.claimed_amount",
    ),
    # 6. the refund transfers add up to what was refunded
    (
        "packet {0}: refund transfers pay {1}, the packet says {2}",
        "SELECT p.id, COALESCE(t.amount, 0), p.refunded FROM packets p"
        " LEFT JOIN (SELECT packet_id, SUM(amount) amount FROM transfers"
        f" WHERE kind = '{LedgerKind.REFUND}'"
        " GROUP BY packet_id) t ON t.packet_id = p.id WHERE COALESCE(t.amount, 0) <> p.refunded",
    ),
    # 7. the refund went to its owner
    (
        "packet {0}: refund went to {1}, not to its sender",
        f"SELECT p.id, t.dst FROM packets p JOIN transfers t ON t.key = {REFUND.sql('p.id')}"
        f" WHERE t.dst <> {WALLET.sql('p.sender_id')}",
    ),
    # 8. ended: nothing left in escrow
    (
        "packet {0}: status {1} but {2} is still in escrow",
        "SELECT id, status, total - claimed_amount - refunded FROM packets"
        " WHERE status <> 'live' AND total - claimed_amount - refunded <> 0",
    ),
    # 9. no escrow without its owner
    (
        "escrow account {0} belongs to no packet",
        f"SELECT a.id FROM accounts a WHERE a.id LIKE {PACKET_ESCROW.sql_like()}"
        " AND NOT EXISTS (SELECT 1 FROM packets p"
        f" WHERE p.id = {PACKET_ESCROW.sql_part('a.id')})",
    ),
)

WALLET_CHECKS: tuple[Check, ...] = (
    (
        "wallet {0} is negative: {1}",
        f"SELECT id, balance FROM accounts WHERE id LIKE {WALLET.sql_like()} AND balance < 0",
    ),
)

CAMPAIGN_CHECKS: tuple[Check, ...] = (
    # 1. the escrow holds total − paid − refunded
    (
        "campaign {0}: escrow holds {1}, but pool − prizes − refund is {2}",
        "SELECT c.id, COALESCE(a.balance, 0), c.pool - c.won_amount - c.refunded"
        f" FROM campaigns c LEFT JOIN accounts a ON a.id = {CAMPAIGN_ESCROW.sql('c.id')}"
        " WHERE COALESCE(a.balance, 0) <> c.pool - c.won_amount - c.refunded",
    ),
    # 2. funded once, with its total, from its owner's wallet
    (
        "campaign {0}: {1} was funded from {2}, not its pool {3} from its funder",
        "SELECT c.id, COALESCE(t.amount, 0), t.src, c.pool FROM campaigns c"
        f" LEFT JOIN transfers t ON t.key = {FUND.sql('c.id')}"
        f" WHERE COALESCE(t.amount, 0) <> c.pool OR t.src <> {WALLET.sql('c.funder_id')}"
        f" OR t.dst <> {CAMPAIGN_ESCROW.sql('c.id')}",
    ),
    # 3. its items (shares, wins) add up to its counters
    (
        "campaign {0}: wins add up to {1} in {2} rows, the campaign says {3} in {4}",
        "SELECT c.id, COALESCE(w.amount, 0), COALESCE(w.n, 0), c.won_amount, c.won_count"
        " FROM campaigns c LEFT JOIN (SELECT campaign_id, SUM(amount) amount, COUNT(*) n"
        " FROM campaign_wins GROUP BY campaign_id) w ON w.campaign_id = c.id"
        " WHERE COALESCE(w.amount, 0) <> c.won_amount OR COALESCE(w.n, 0) <> c.won_count",
    ),
    # 4. each item paid to its member from the escrow
    (
        "campaign {0}: win {1} paid to {2} but the transfer went to {3}",
        "SELECT w.campaign_id, w.position, w.member_id, t.dst FROM campaign_wins w"
        f" LEFT JOIN transfers t ON t.key = {WIN.sql('w.campaign_id', 'w.position')}"
        f" WHERE t.dst IS NULL OR t.dst <> {WALLET.sql('w.member_id')} OR t.amount <> w.amount"
        f" OR t.src <> {CAMPAIGN_ESCROW.sql('w.campaign_id')}",
    ),
    # 5. the item transfers add up to what was paid
    (
        "campaign {0}: win transfers pay {1}, its wins say {2}",
        "SELECT c.id, COALESCE(t.amount, 0), c.won_amount FROM campaigns c"
        " LEFT JOIN (SELECT src, SUM(amount) amount FROM transfers"
        f" WHERE kind = '{LedgerKind.SHAKE_WIN}'"
        f" GROUP BY src) t ON t.src = {CAMPAIGN_ESCROW.sql('c.id')}"
        " WHERE COALESCE(t.amount, 0) <> c.won_amount",
    ),
    # 6. the refund transfers add up to what was refunded
    (
        "campaign {0}: refund transfers pay {1}, the campaign says {2}",
        "SELECT c.id, COALESCE(t.amount, 0), c.refunded FROM campaigns c"
        " LEFT JOIN (SELECT src, SUM(amount) amount FROM transfers"
        f" WHERE kind = '{LedgerKind.SHAKE_REFUND}'"
        f" GROUP BY src) t ON t.src = {CAMPAIGN_ESCROW.sql('c.id')}"
        " WHERE COALESCE(t.amount, 0) <> c.refunded",
    ),
    # 7. the refund went to its owner
    (
        "campaign {0}: refund went to {1}, not to its funder",
        "SELECT c.id, t.dst FROM campaigns c"
        f" JOIN transfers t ON t.key = {CAMPAIGN_REFUND.sql('c.id')}"
        f" WHERE t.dst <> {WALLET.sql('c.funder_id')}",
    ),
    # 8. ended: nothing left in escrow
    (
        "campaign {0}: status {1} but {2} is still in escrow",
        "SELECT c.id, c.status, c.pool - c.won_amount - c.refunded FROM campaigns c"
        " WHERE c.status <> 'live' AND c.pool - c.won_amount - c.refunded <> 0",
    ),
    # 9. no escrow without its owner
    (
        "escrow account {0} belongs to no campaign",
        f"SELECT a.id FROM accounts a LEFT JOIN campaigns c ON a.id = {CAMPAIGN_ESCROW.sql('c.id')}"
        f" WHERE a.id LIKE {CAMPAIGN_ESCROW.sql_like()} AND c.id IS NULL",
    ),
    # campaigns only: a live campaign refunds nothing; nobody wins more than the limit
    (
        "campaign {0}: still live but refunded {1}",
        "SELECT id, refunded FROM campaigns WHERE status = 'live' AND refunded <> 0",
    ),
    (
        "campaign {0}: member {1} won {2} times, the limit is {3}",
        "SELECT c.id, w.member_id, w.n, c.max_wins FROM campaigns c JOIN"
        " (SELECT campaign_id, member_id, COUNT(*) n FROM campaign_wins"
        " GROUP BY campaign_id, member_id) w ON w.campaign_id = c.id WHERE w.n > c.max_wins",
    ),
)

ALL_CHECKS: tuple[Check, ...] = LEDGER_CHECKS + PACKET_CHECKS + WALLET_CHECKS + CAMPAIGN_CHECKS

def ledger_problems(
    conn: sqlite3.Connection, checks: Sequence[Check] = ALL_CHECKS, *, begin: str = "BEGIN"
) -> list[str]:
    """Run ``checks`` on one snapshot (``begin`` starts it); one line per problem found.

    The queries are written once, in SQL both engines read."""
    problems: list[str] = []
    conn.execute(begin)  # one snapshot for every check
    try:
        for message, query in checks:
            for row in conn.execute(query).fetchall():
                problems.append(message.format(*row))
    finally:
        conn.execute("COMMIT")
    return problems

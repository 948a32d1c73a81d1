"""Ledger checks run inside SQLite (SPEC §6): each query lists what is wrong."""

from __future__ import annotations

import sqlite3

CHECKS: list[tuple[str, str]] = [
    (
        "the ledger does not balance: all accounts sum to {0}, not 0",
        "SELECT total FROM (SELECT COALESCE(SUM(balance), 0) AS total FROM accounts)"
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
    (
        "packet {0}: escrow holds {1}, but total − shares − refund is {2}",
        "SELECT p.id, COALESCE(a.balance, 0), p.total - p.claimed_amount - p.refunded"
        " FROM packets p LEFT JOIN accounts a ON a.id = 'p:' || p.id"
        " WHERE COALESCE(a.balance, 0) <> p.total - p.claimed_amount - p.refunded",
    ),
    (
        "packet {0}: {1} was sent into escrow from {2}, not its total {3} from its sender",
        "SELECT p.id, COALESCE(t.amount, 0), t.src, p.total FROM packets p"
        " LEFT JOIN transfers t ON t.key = 'send:' || p.id"
        " WHERE COALESCE(t.amount, 0) <> p.total OR t.src <> 'w:' || p.sender_id"
        " OR t.dst <> 'p:' || p.id",
    ),
    (
        "packet {0}: status {1} but {2} is still in escrow",
        "SELECT id, status, total - claimed_amount - refunded FROM packets"
        " WHERE status <> 'live' AND total - claimed_amount - refunded <> 0",
    ),
    (
        "escrow account {0} belongs to no packet",
        "SELECT a.id FROM accounts a WHERE a.id LIKE 'p:%'"
        " AND NOT EXISTS (SELECT 1 FROM packets p WHERE p.id = substr(a.id, 3))",
    ),
    (
        "packet {0}: shares add up to {1} in {2} rows, the packet says {3} in {4}",
        "SELECT p.id, COALESCE(s.amount, 0), COALESCE(s.n, 0), p.claimed_amount, p.claimed_count"
        " FROM packets p LEFT JOIN (SELECT packet_id, SUM(amount) amount, COUNT(*) n"
        " FROM shares GROUP BY packet_id) s ON s.packet_id = p.id"
        " WHERE COALESCE(s.amount, 0) <> p.claimed_amount OR COALESCE(s.n, 0) <> p.claimed_count",
    ),
    (
        "packet {0}: share transfers pay {1}, its shares say {2}",
        "SELECT p.id, COALESCE(t.amount, 0), p.claimed_amount FROM packets p"
        " LEFT JOIN (SELECT packet_id, SUM(amount) amount FROM transfers WHERE kind = 'share'"
        " GROUP BY packet_id) t ON t.packet_id = p.id WHERE COALESCE(t.amount, 0) <> p.claimed_amount",
    ),
    (
        "packet {0}: refund transfers pay {1}, the packet says {2}",
        "SELECT p.id, COALESCE(t.amount, 0), p.refunded FROM packets p"
        " LEFT JOIN (SELECT packet_id, SUM(amount) amount FROM transfers WHERE kind = 'refund'"
        " GROUP BY packet_id) t ON t.packet_id = p.id WHERE COALESCE(t.amount, 0) <> p.refunded",
    ),
    (
        "packet {0}: share {1} paid to {2} but the transfer went to {3}",
        "SELECT s.packet_id, s.position, s.member_id, t.dst FROM shares s"
        " LEFT JOIN transfers t ON t.key = 'share:' || s.packet_id || ':' || s.position"
        " WHERE t.dst IS NULL OR t.dst <> 'w:' || s.member_id OR t.amount <> s.amount",
    ),
    (
        "packet {0}: refund went to {1}, not to its sender",
        "SELECT p.id, t.dst FROM packets p JOIN transfers t ON t.key = 'refund:' || p.id"
        " WHERE t.dst <> 'w:' || p.sender_id",
    ),
    (
        "wallet {0} is negative: {1}",
        "SELECT id, balance FROM accounts WHERE id LIKE 'w:%' AND balance < 0",
    ),
]

# Further features (campaigns, ...) append their own (message, query) pairs.
EXTRA_CHECKS: list[tuple[str, str]] = []


def ledger_problems(conn: sqlite3.Connection) -> list[str]:
    problems: list[str] = []
    conn.execute("BEGIN")  # one snapshot for every check
    try:
        for message, query in CHECKS + EXTRA_CHECKS:
            for row in conn.execute(query).fetchall():
                problems.append(message.format(*row))
    finally:
        conn.execute("COMMIT")
    return problems

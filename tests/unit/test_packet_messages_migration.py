"""Migration 0006: messages posted before it are known, and the live ones are shown again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.sqlite.schema import load_migrations


def test_messages_of_live_packets_posted_before_are_marked_behind(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    scripts = load_migrations()
    for script in scripts[:5]:  # a database as it was before 0006
        conn.executescript(script)
    for pid, status, message_id in (("live000001", "live", 10), ("done000001", "finished", 11),
                                    ("none000001", "live", None)):
        conn.execute(
            "INSERT INTO packets(id, key, chat_id, message_id, sender_id, sender_name, kind,"
            " rule, total, count, cap, seed, created_at, expires_at, status, finished_at)"
            " VALUES (?, ?, -1, ?, 1, 'A', 'lucky', 'double_mean', 100, 2, 100, x'00', 0,"
            " 4102444800000, ?, ?)",
            (pid, pid, message_id, status, 1000 if status == "finished" else None),
        )
    conn.executescript(scripts[5])
    rows = conn.execute(
        "SELECT packet_id, wanted, shown, current FROM packet_messages ORDER BY packet_id"
    ).fetchall()
    # The live one is shown once more; the one that ended long ago is left as it is.
    assert rows == [("done000001", 1, 1, 1), ("live000001", 1, 0, 1)]
    conn.execute("UPDATE packets SET claimed_count = 1, claimed_amount = 50"
                 " WHERE id = 'live000001'")
    assert conn.execute("SELECT wanted FROM packet_messages WHERE packet_id = 'live000001'"
                        ).fetchone() == (2,)

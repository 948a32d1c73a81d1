"""When a packet appeared to a member: the moment its press delay counts from.

The hook for packets a member must unlock first (password packets): return the
moment this member unlocked it instead of the post time, and the grabber report
measures from the unlock. Runs inside the open transaction (the writer thread).
"""

from __future__ import annotations

import sqlite3


def appeared_at_ms(conn: sqlite3.Connection, packet_id: str, member_id: int) -> int | None:
    """When ``packet_id``'s message (with its Open button) was posted; ``None`` if unknown.

    ``member_id`` is unused for now: it is there for packets that appear to each
    member at a different moment (unlocked one by one).
    """
    row = conn.execute("SELECT posted_at_ms FROM packets WHERE id = ?", (packet_id,)).fetchone()
    return None if row is None else row[0]

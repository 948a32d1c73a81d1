"""When a packet appeared to a member: the moment its press delay counts from.

The hook for packets a member must unlock first (password packets): return the
moment this member unlocked it instead of the post time, and the grabber report
measures from the unlock. Runs inside the open transaction (the writer thread),
so it must stay cheap: plain packets are answered without another statement.
"""

from __future__ import annotations

import sqlite3

from core.packets import Packet


def appeared_at_ms(
    conn: sqlite3.Connection, packet: Packet, member_id: int, posted_at_ms: int | None
) -> int | None:
    """When ``packet`` appeared to ``member_id``; ``None`` if unknown.

    ``posted_at_ms``: when its message (with the Open button) was posted, read
    with the packet. ``conn`` and ``member_id`` are for packets that appear to
    each member at a different moment (unlocked one by one): look that up here.
    """
    return posted_at_ms

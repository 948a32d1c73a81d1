"""When a packet appeared to a member: the moment its press delay counts from.

A plain packet appears when its message (with the Open button) is posted. A
password packet can only be opened after the member replied its phrase, so for
it the delay counts from that member's unlock (``packet_unlocks``). Runs inside
the open transaction (the writer thread), so a plain packet costs no statement.
"""

from __future__ import annotations

from core.packets import Packet
from storage.sql_store import SqlConnection


def appeared_at_ms(
    conn: SqlConnection, packet: Packet, member_id: int, posted_at_ms: int | None
) -> int | None:
    """When ``packet`` appeared to ``member_id``; ``None`` if unknown.

    ``posted_at_ms``: when its message was posted, read with the packet.
    """
    if not packet.phrase:
        return posted_at_ms
    row = conn.execute(
        "SELECT unlocked_at FROM packet_unlocks WHERE packet_id = ? AND member_id = ?",
        (packet.id, member_id),
    ).fetchone()
    if row is None:
        return posted_at_ms
    return row[0] if posted_at_ms is None else max(row[0], posted_at_ms)

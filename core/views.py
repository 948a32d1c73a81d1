"""Who sees what (docs/rules.md §5): pure functions from (packet, shares, viewer) to a view."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from core.amount import Cents
from core.packets import Kind, Packet, Share, Status, best_luck_share


class Summary(StrEnum):
    FINISHED_LUCKY_SENDER = "finished_lucky_sender"  # {n} shares, {total} in all, taken in {duration}
    FINISHED_LUCKY = "finished_lucky"  # {n} shares, taken in {duration}
    FINISHED_FIXED = "finished_fixed"  # {n} shares, {total} in all
    PROGRESS_SENDER = "progress_sender"  # {x}/{y} taken, {a}/{b}
    PROGRESS = "progress"  # {x}/{y} taken
    WAITING_SENDER = "waiting_sender"  # {amount}, waiting for {name}
    WAITING = "waiting"  # for {name}
    EXPIRED_SENDER = "expired_sender"  # expired, {x}/{y} taken, {refund} refunded
    EXPIRED = "expired"  # expired, {x}/{y} taken


@dataclass(frozen=True, slots=True)
class PacketView:
    packet: Packet
    viewer_is_sender: bool
    summary: Summary
    taken: int
    count: int
    claimed: Cents
    total: Cents
    duration_ms: int | None
    viewer_share: Share | None  # rule 1: the viewer's own share
    send_again: bool  # rule 2
    my_packets: bool  # rule 3
    shares: tuple[Share, ...] | None  # rule 7: None when the list is hidden
    best_luck: Share | None  # rule 8

    @property
    def is_over(self) -> bool:
        return self.packet.status is not Status.LIVE


def packet_view(
    packet: Packet, shares: list[Share], viewer_id: int | None, now_ms: int
) -> PacketView:
    """The view of ``packet`` for ``viewer_id`` (``None``: the public group message)."""
    if packet.status is Status.LIVE and now_ms >= packet.expires_at:
        packet = replace(packet, status=Status.EXPIRED)
    ordered = tuple(sorted(shares, key=lambda s: s.position))
    is_sender = viewer_id is not None and viewer_id == packet.sender_id
    own = next((s for s in ordered if s.member_id == viewer_id), None) if viewer_id else None
    list_visible = packet.kind is Kind.LUCKY or is_sender
    return PacketView(
        packet=packet,
        viewer_is_sender=is_sender,
        summary=_summary(packet, is_sender, len(ordered)),
        taken=len(ordered),
        count=packet.count,
        claimed=sum(s.amount for s in ordered),
        total=packet.total,
        duration_ms=packet.duration_ms(),
        viewer_share=own,
        send_again=is_sender and packet.status is Status.LIVE,
        my_packets=own is not None and not is_sender,
        shares=ordered if list_visible else None,
        best_luck=best_luck_share(packet, list(ordered)),
    )


def _summary(packet: Packet, is_sender: bool, taken: int) -> Summary:
    if packet.status is Status.EXPIRED:
        return Summary.EXPIRED_SENDER if is_sender else Summary.EXPIRED
    if packet.status is Status.FINISHED:
        if packet.kind is Kind.FIXED:
            return Summary.FINISHED_FIXED
        return Summary.FINISHED_LUCKY_SENDER if is_sender else Summary.FINISHED_LUCKY
    if packet.count == 1 and taken == 0:
        return Summary.WAITING_SENDER if is_sender else Summary.WAITING
    return Summary.PROGRESS_SENDER if is_sender else Summary.PROGRESS

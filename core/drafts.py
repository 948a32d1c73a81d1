"""Packet drafts (docs/rules.md §2): what the sender typed, kept until Send or Cancel.

A draft belongs to the command that made it (``command_message_id``) and is
shown on one message (``message_id``): the draft is the message its buttons
act on. ``core.ports.DraftStore`` keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from core.amount import Cents
from core.packets import Kind, Member, PacketRequest


class DraftStatus(StrEnum):
    OPEN = "open"
    SENT = "sent"  # with no packet_id yet: being sent (see ``Drafts.claim``)
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Draft:
    chat_id: int
    command_message_id: int
    message_id: int | None
    sender: Member
    kind: Kind
    amount: Cents  # total of a lucky packet, each share of a fixed one
    count: int
    greeting: str
    recipient: Member | None
    chat_members: int | None
    lang: str
    total_changed: bool = False
    status: DraftStatus = DraftStatus.OPEN
    packet_id: str | None = None
    created_at: int = 0
    phrase: str = ""  # a password packet's phrase

    @property
    def request(self) -> PacketRequest:
        return PacketRequest(
            chat_id=self.chat_id, sender=self.sender, kind=self.kind, count=self.count,
            amount=self.amount, greeting=self.greeting, recipient=self.recipient,
            chat_members=self.chat_members, phrase=self.phrase,
        )

    @property
    def sending(self) -> bool:
        """Send won, and its packet is not recorded yet."""
        return self.status is DraftStatus.SENT and self.packet_id is None

    @property
    def total(self) -> Cents:
        return self.request.total

    def with_request(self, request: PacketRequest, total_changed: bool) -> Draft:
        return replace(
            self, kind=request.kind, amount=request.amount, count=request.count,
            total_changed=total_changed,
        )

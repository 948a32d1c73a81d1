"""Packets, shares and the rules a packet obeys (docs/rules.md §1, §2, §5)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from core.allocation import MIN_SHARE, Rule, best_luck
from core.errors import DomainError
from core.amount import Amount, Cents


class Kind(StrEnum):
    LUCKY = "lucky"
    FIXED = "fixed"


class Status(StrEnum):
    LIVE = "live"
    FINISHED = "finished"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str
    username: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    max_share: Cents = 20_000
    max_count: int = 100
    max_total: Cents = 2_000_000
    ttl_ms: int = 24 * 3600 * 1000
    greeting_chars: int = 80
    name_chars: int = 48


@dataclass(frozen=True, slots=True)
class Packet:
    id: str
    chat_id: int
    sender_id: int
    sender_name: str
    kind: Kind
    rule: Rule
    total: Cents
    count: int
    greeting: str
    created_at: int
    expires_at: int
    cap: Cents
    recipient_id: int | None = None
    recipient_name: str | None = None
    claimed_count: int = 0
    claimed_amount: Cents = 0
    status: Status = Status.LIVE
    finished_at: int | None = None
    refunded: Cents = 0
    message_id: int | None = None
    seed: bytes = field(default=b"", repr=False)
    phrase: str = ""  # a password packet opens after a reply with it (core.eligibility)

    @property
    def is_personal(self) -> bool:
        return self.recipient_id is not None

    @property
    def is_finished(self) -> bool:
        return self.status is Status.FINISHED

    def duration_ms(self) -> int | None:
        return None if self.finished_at is None else self.finished_at - self.created_at


@dataclass(frozen=True, slots=True)
class Share:
    packet_id: str
    position: int
    member_id: int
    member_name: str
    amount: Cents
    taken_at: int


@dataclass(frozen=True, slots=True)
class PacketRequest:
    """What a sender asked for, before any money moves."""

    chat_id: int
    sender: Member
    kind: Kind
    count: int
    amount: Cents  # the total of a lucky packet, each share of a fixed one
    greeting: str = ""
    recipient: Member | None = None
    chat_members: int | None = None
    phrase: str = ""  # a password packet: core.eligibility.clean_phrase

    @property
    def total(self) -> Cents:
        return self.amount if self.kind is Kind.LUCKY else self.amount * self.count


def clip_text(text: str, limit: int) -> str:
    """Cap user text by characters (emoji and RTL text stay whole)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validate_request(request: PacketRequest, limits: Limits) -> None:
    """Raise a ``DomainError`` naming what is allowed, or return if sendable."""
    count, total = request.count, request.total
    if count < 1:
        raise DomainError("error.count_format", text=str(count), maximum=limits.max_count)
    if count > limits.max_count:
        raise DomainError("error.count_too_large", count=count, maximum=limits.max_count)
    if request.chat_members is not None and count > request.chat_members:
        raise DomainError("error.count_exceeds_members", count=count, members=request.chat_members)
    if request.recipient is not None:
        if count != 1:
            raise DomainError("error.personal_count")
        if request.recipient.id == request.sender.id:
            raise DomainError("error.personal_self")
    if total < count * MIN_SHARE:
        raise DomainError(
            "error.total_too_small",
            total=Amount(total),
            count=count,
            minimum=Amount(count * MIN_SHARE),
            least=Amount(MIN_SHARE),
        )
    if total > limits.max_total:
        raise DomainError(
            "error.amount_too_large", text=str(total), maximum=Amount(limits.max_total)
        )
    if request.kind is Kind.FIXED and request.amount > limits.max_share:
        raise DomainError("error.share_too_large", maximum=Amount(limits.max_share))
    if request.kind is Kind.LUCKY and total > count * limits.max_share:
        raise DomainError("error.share_too_large", maximum=Amount(limits.max_share))


@dataclass(frozen=True, slots=True)
class KindSwitch:
    request: PacketRequest
    total_changed: bool


def switch_kind(request: PacketRequest) -> KindSwitch:
    """Lucky ↔ fixed keeping what was typed (docs/rules.md §2)."""
    if request.kind is Kind.LUCKY:
        each = request.amount // request.count
        changed = each * request.count != request.amount
        return KindSwitch(replace(request, kind=Kind.FIXED, amount=max(each, 0)), changed)
    return KindSwitch(replace(request, kind=Kind.LUCKY, amount=request.total), False)



def best_luck_share(packet: Packet, shares: list[Share]) -> Share | None:
    """The best-luck share: only for a finished lucky packet; ties go to the earliest."""
    if packet.kind is not Kind.LUCKY or not packet.is_finished or len(shares) < 2:
        return None
    ordered = sorted(shares, key=lambda s: s.position)
    index = best_luck([s.amount for s in ordered])
    return None if index is None else ordered[index]

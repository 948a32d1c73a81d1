"""The ports the services are written against; storage/ implements them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.eligibility import DailyCap, RuleChoices
from core.money import Cents
from core.packets import Member, Packet, Share


class Grab(StrEnum):
    GRANTED = "granted"  # a ticket was taken for this member
    HELD = "held"  # this member already holds a ticket
    EMPTY = "empty"  # no ticket left
    MISSING = "missing"  # the gate knows nothing of this packet: rebuild it


@dataclass(frozen=True, slots=True)
class GateState:
    tickets: int
    holders: frozenset[int]


class Gate(Protocol):
    """Cheap admission control in front of the database (Redis, or embedded)."""

    async def grab(self, packet_id: str, member_id: int) -> Grab: ...

    async def prime(
        self, packet_id: str, capacity: int, holders: Sequence[int], ttl_ms: int
    ) -> None: ...

    async def release(self, packet_id: str, member_id: int) -> None: ...

    async def state(self, packet_id: str) -> GateState | None: ...

    async def reset(self, packet_id: str) -> None: ...

    async def aclose(self) -> None: ...


class Opening(StrEnum):
    OPENED = "opened"
    ALREADY = "already"
    EMPTY = "empty"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Opened:
    outcome: Opening
    share: Share | None = None
    packet: Packet | None = None

    @property
    def finished(self) -> bool:
        return (
            self.outcome is Opening.OPENED
            and self.packet is not None
            and self.packet.is_finished
        )


@dataclass(frozen=True, slots=True)
class Refund:
    packet: Packet
    amount: Cents


class PacketStore(Protocol):
    """Durable truth: wallets, ledger, packets, shares (SQLite)."""

    async def greet(self, member: Member, welcome_bonus: Cents, now_ms: int) -> bool: ...

    async def credit(
        self, member: Member, amount: Cents, *, kind: str, key: str, memo: str, now_ms: int
    ) -> bool: ...

    async def balance(self, member_id: int) -> Cents: ...

    async def create_packet(
        self, packet: Packet, key: str, daily: DailyCap | None = None
    ) -> Packet:
        """Debit and create; with ``daily``, raise ``core.eligibility.Refused`` in the
        same transaction if the sender's sends in the chat since then would pass it."""
        ...

    async def open_share(self, packet_id: str, member: Member, now_ms: int) -> Opened: ...

    async def get_packet(self, packet_id: str) -> Packet | None: ...

    async def shares(self, packet_id: str) -> list[Share]: ...

    async def share_of(self, packet_id: str, member_id: int) -> Share | None: ...

    async def set_message(self, packet_id: str, message_id: int) -> None: ...

    async def expire_due(self, now_ms: int, limit: int) -> list[Refund]: ...

    async def all_packets(self) -> list[Packet]: ...

    async def ledger_problems(self) -> list[str]: ...


class Clock(Protocol):
    def now_ms(self) -> int: ...


class StandingStore(Protocol):
    """What decides who may open (core.eligibility): chat rules, joins, blocks,
    password unlocks and what a member sent."""

    async def rule_choices(self, chat_id: int) -> RuleChoices: ...

    async def set_rule_choices(self, chat_id: int, choices: RuleChoices, now_ms: int) -> None: ...

    async def joined_at(self, chat_id: int, member_id: int) -> int | None: ...

    async def record_join(self, chat_id: int, member_id: int, now_ms: int) -> None: ...

    async def blocked_ids(self, chat_id: int) -> list[int]: ...

    async def blocked_members(self, chat_id: int) -> list[Member]: ...

    async def block(
        self, chat_id: int, member_id: int, name: str, by: int, now_ms: int
    ) -> bool: ...

    async def unblock(self, chat_id: int, member_id: int) -> bool: ...

    async def is_unlocked(self, packet_id: str, member_id: int) -> bool: ...

    async def unlock(self, packet_id: str, member_id: int, now_ms: int) -> bool: ...

    async def sent_since(self, chat_id: int, member_id: int, since_ms: int) -> Cents: ...

"""Every port the use cases are written against; storage/ implements them.

Packets: ``Gate`` (admission, Redis or embedded) and ``PacketStore`` (the
durable truth). Campaigns: ``ShakeGate`` and ``CampaignStore``. What both
gates do alike is ``GateKeys`` (``core.gatekeeping`` runs it). Records and
stats: ``RecordsReader``. The bot's drafts and chat settings: ``DraftStore``
and ``ChatSettingsStore``. And the ``Clock`` they all read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.chats import ChatRules
from core.drafts import Draft, DraftStatus
from core.eligibility import DailyCap, RuleChoices
from core.amount import Cents
from core.packets import Member, Packet, Share
from core.records import RecentPacket, RecordsSummary, StatsFacts, WalletLine
from core.shake import Campaign, CampaignStatus, Ended, Win
from core.trust import Leaderboard, PressFact


class Grab(StrEnum):
    GRANTED = "granted"  # a ticket was taken for this member
    HELD = "held"  # this member already holds a ticket
    EMPTY = "empty"  # no ticket left
    MISSING = "missing"  # the gate knows nothing of this packet: rebuild it


@dataclass(frozen=True, slots=True)
class GateState:
    tickets: int
    holders: frozenset[int]


class GateKeys(Protocol):
    """What every gate does with a packet's or a campaign's keys."""

    async def release(self, key: str, member_id: int) -> None:
        """Give back one ticket (a packet's share, a campaign's win) of a member."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the key: the next call finds it missing and rebuilds it."""
        ...


class Gate(GateKeys, Protocol):
    """Cheap admission control in front of the database (Redis, or embedded)."""

    async def grab(self, packet_id: str, member_id: int) -> Grab: ...

    async def prime(
        self, packet_id: str, capacity: int, holders: Sequence[int], ttl_ms: int
    ) -> None: ...

    async def state(self, packet_id: str) -> GateState | None: ...

    async def aclose(self) -> None: ...


class OpenOutcome(StrEnum):
    OPENED = "opened"
    ALREADY = "already"
    EMPTY = "empty"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Opened:
    outcome: OpenOutcome
    share: Share | None = None
    packet: Packet | None = None

    @property
    def finished(self) -> bool:
        return (
            self.outcome is OpenOutcome.OPENED
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

    async def greet_many(
        self, members: Sequence[Member], welcome_bonus: Cents, now_ms: int
    ) -> list[bool]:
        """``greet`` for each of ``members`` (no id twice) in one write; in their order."""
        ...

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

    async def open_share(
        self, packet_id: str, member: Member, now_ms: int, *, pressed_at_ms: int | None = None
    ) -> Opened:
        """``pressed_at_ms``: when the press reached the bot, stored with the share as
        the delay since the packet appeared (the grabber report)."""
        ...

    async def get_packet(self, packet_id: str) -> Packet | None: ...

    async def shares(self, packet_id: str) -> list[Share]: ...

    async def share_of(self, packet_id: str, member_id: int) -> Share | None: ...

    async def set_message(
        self, packet_id: str, message_id: int, *, posted_at_ms: int | None = None
    ) -> None:
        """``posted_at_ms``: when the message carrying Open was posted (presses count from it)."""
        ...

    async def expire_due(self, now_ms: int, limit: int) -> list[Refund]: ...

    async def all_packets(self) -> list[Packet]: ...

    async def ledger_problems(self) -> list[str]: ...


class TrustReader(Protocol):
    """Facts for the grabber report and the leaderboard of one chat."""

    async def press_facts(self, chat_id: int, since_ms: int) -> list[PressFact]:
        """Shares taken in ``chat_id`` since ``since_ms``, other than personal packets'
        and senders' own."""
        ...

    async def leaderboard(self, chat_id: int, since_ms: int | None, top: int) -> Leaderboard: ...


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


# -- campaigns (the shake) ---------------------------------------------------

class Verdict(StrEnum):
    WIN = "win"  # a prize ticket was taken for this member
    LOSE = "lose"  # the shake counted, no prize
    COOLDOWN = "cooldown"  # shook too recently
    MAXED = "maxed"  # already won the most a member may
    EMPTY = "empty"  # no prize left
    MISSING = "missing"  # the gate knows nothing of this campaign: rebuild it


@dataclass(frozen=True, slots=True)
class GateReply:
    verdict: Verdict
    prizes_left: int = 0
    shakes: int = 0
    wait_ms: int = 0


class ShakeGate(GateKeys, Protocol):
    """Prize counter, cooldowns and win counts of a campaign, atomically."""

    async def shake(
        self, campaign_id: str, member_id: int, *, interval_ms: int, max_wins: int, win: bool
    ) -> GateReply: ...

    async def prime(
        self, campaign_id: str, prizes: int, wins: dict[int, int], ttl_ms: int
    ) -> None: ...

    async def state(self, campaign_id: str) -> tuple[int, dict[int, int]] | None: ...


class SettleOutcome(StrEnum):
    WON = "won"
    ENDED = "ended"  # the campaign is over (or past its time)
    MAXED = "maxed"  # the database says this member already won the most
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Settled:
    outcome: SettleOutcome
    campaign: Campaign | None = None
    win: Win | None = None
    ended: Ended | None = None  # this win took the last prize


class CampaignStore(Protocol):
    """Durable truth for campaigns (SQLite)."""

    async def create_campaign(self, campaign: Campaign, key: str) -> Campaign: ...

    async def get_campaign(self, campaign_id: str) -> Campaign | None: ...

    async def live_campaign(self, chat_id: int) -> Campaign | None: ...

    async def live_campaigns(self) -> list[Campaign]: ...

    async def all_campaigns(self) -> list[Campaign]: ...

    async def wins(self, campaign_id: str) -> list[Win]: ...

    async def win_counts(self, campaign_id: str) -> dict[int, int]: ...

    async def wins_of(self, campaign_id: str, member_id: int) -> int: ...

    async def settle_win(self, campaign_id: str, member: Member, now_ms: int) -> Settled: ...

    async def end_campaign(
        self, campaign_id: str, status: CampaignStatus, now_ms: int
    ) -> Ended | None: ...

    async def end_due(self, now_ms: int, limit: int) -> list[Ended]: ...

    async def set_campaign_message(self, campaign_id: str, message_id: int) -> None: ...

    async def campaign_problems(self) -> list[str]: ...


# -- records and stats ----------------------------------------------------------

class RecordsReader(Protocol):
    async def wallet_lines(self, member_id: int, limit: int) -> list[WalletLine]: ...

    async def records_summary(self, member_id: int) -> RecordsSummary: ...

    async def recent_packets(
        self, member_id: int, limit: int, offset: int
    ) -> tuple[list[RecentPacket], int]: ...

    async def stats_facts(self, chat_id: int | None, *, top: int) -> StatsFacts: ...


# -- drafts and chat settings -----------------------------------------------------

class DraftStore(Protocol):
    """Packet drafts until Send or Cancel; one per command message."""

    async def create(self, draft: Draft) -> bool:
        """Insert ``draft``; False if this command already made one (a replay)."""
        ...

    async def attach_message(
        self, chat_id: int, command_message_id: int, message_id: int
    ) -> None: ...

    async def by_message(self, chat_id: int, message_id: int) -> Draft | None: ...

    async def by_command(self, chat_id: int, command_message_id: int) -> Draft | None: ...

    async def lang_of_packet(self, packet_id: str) -> str | None: ...

    async def update_open(self, draft: Draft) -> bool:
        """Store a kind switch; False if the draft was sent or cancelled meanwhile."""
        ...

    async def claim(self, draft: Draft, status: DraftStatus) -> bool:
        """Send against Cancel: True if this press moved the open draft to ``status``."""
        ...

    async def sent_as(self, draft: Draft, packet_id: str) -> None: ...

    async def reopen(self, draft: Draft) -> bool: ...

    async def close(
        self, draft: Draft, status: DraftStatus, packet_id: str | None = None
    ) -> bool: ...


class ChatSettingsStore(Protocol):
    """A chat's language override and its own rules (``core.chats.ChatRules``)."""

    async def lang(self, chat_id: int) -> str | None: ...

    async def set_lang(self, chat_id: int, lang: str | None, now_ms: int) -> None: ...

    async def rules(self, chat_id: int) -> ChatRules: ...

    async def set_rules(self, chat_id: int, rules: ChatRules, now_ms: int) -> None: ...

"""Wallets and insight (docs/rules.md §8, §9): plain-words ledger entries, records, stats.

Everything here is pure: storage answers the ``RecordsReader`` port with facts,
these functions turn the facts into what members and admins read.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.ledger import CAMPAIGN_KINDS, LedgerKind
from core.amount import Cents
from core.packets import Member

if TYPE_CHECKING:  # annotations only: core.ports imports this module's facts
    from core.ports import PacketStore, RecordsReader

# --- the ledger in plain words ----------------------------------------------


@dataclass(frozen=True, slots=True)
class WalletLine:
    """One ledger line of a wallet, with what the words need about its packet."""

    at: int
    kind: str
    amount: Cents  # signed, from the wallet's point of view
    packet_id: str | None = None
    memo: str = ""
    packet_kind: str | None = None  # "lucky" / "fixed" when the line is about a packet
    sender_name: str | None = None
    recipient_name: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """A ledger line ready to render: ``key`` names a catalog message."""

    at: int
    key: str
    params: dict[str, Any]
    amount: Cents


_SIMPLE_KINDS = {
    LedgerKind.WELCOME: "wallet.line.welcome",
    LedgerKind.DAILY: "wallet.line.daily",
    LedgerKind.REFUND: "wallet.line.refund",
    LedgerKind.GRANT: "wallet.line.grant",
    LedgerKind.TOPUP: "wallet.line.topup",
}


def describe(line: WalletLine) -> Entry:
    """``share`` of a lucky packet from Alice -> ("wallet.line.share_lucky", name=Alice)."""
    key, params = _words(line)
    return Entry(at=line.at, key=key, params=params, amount=line.amount)


def _words(line: WalletLine) -> tuple[str, dict[str, Any]]:
    kind = line.kind
    if kind in _SIMPLE_KINDS:
        return _SIMPLE_KINDS[LedgerKind(kind)], {}
    if kind in CAMPAIGN_KINDS:
        if line.amount < 0:  # out of the wallet: funding a campaign
            return "wallet.line.campaign_fund", {}
        if kind == LedgerKind.SHAKE_REFUND:
            return "wallet.line.campaign_refund", {}
        return "wallet.line.campaign_win", {}
    if kind == LedgerKind.SHARE:
        if line.recipient_name is not None:
            return "wallet.line.share_personal", {"name": line.sender_name or "?"}
        if line.packet_kind == "fixed":
            return "wallet.line.share_fixed", {"name": line.sender_name or "?"}
        return "wallet.line.share_lucky", {"name": line.sender_name or "?"}
    if kind == LedgerKind.SEND:
        if line.recipient_name is not None:
            return "wallet.line.send_personal", {"name": line.recipient_name}
        if line.packet_kind == "fixed":
            return "wallet.line.send_fixed", {}
        return "wallet.line.send_lucky", {}
    return "wallet.line.other", {"kind": kind}


# --- money in ---------------------------------------------------------------


def utc_day(now_ms: int) -> str:
    return datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%d")


def daily_key(member_id: int, now_ms: int) -> str:
    """The daily bonus is paid once per member and UTC day: the ledger key says which."""
    return f"daily:{member_id}:{utc_day(now_ms)}"


def next_utc_midnight_ms(now_ms: int) -> int:
    day_ms = 86_400_000
    return (now_ms // day_ms + 1) * day_ms


def topup_key(charge_id: str) -> str:
    return f"topup:{charge_id}"


# --- records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordsSummary:
    sent_count: int = 0
    sent_total: Cents = 0
    received_count: int = 0
    received_total: Cents = 0
    best_luck_count: int = 0


@dataclass(frozen=True, slots=True)
class RecentPacket:
    """One line of /records: a packet the member sent or took a share of."""

    packet_id: str
    sent: bool  # False: the member received a share
    amount: Cents  # the total sent, or the share received
    at: int
    packet_kind: str
    status: str
    sender_name: str
    recipient_name: str | None = None
    best_luck: bool = False
    own: bool = False  # a share of a packet the member sent themselves


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[RecentPacket, ...]
    page: int  # 0-based
    pages: int

    @property
    def has_newer(self) -> bool:
        return self.page > 0

    @property
    def has_older(self) -> bool:
        return self.page + 1 < self.pages


RECORDS_PAGE_SIZE = 5


def page_count(total: int, size: int = RECORDS_PAGE_SIZE) -> int:
    return max(1, -(-total // size))


def clamp_page(page: int, total: int, size: int = RECORDS_PAGE_SIZE) -> int:
    return min(max(page, 0), page_count(total, size) - 1)


# --- stats ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberCount:
    member_id: int
    name: str
    count: int
    amount: Cents = 0


@dataclass(frozen=True, slots=True)
class DayActivity:
    day: str  # YYYY-MM-DD (UTC)
    packets: int
    amount: Cents


@dataclass(frozen=True, slots=True)
class CampaignFacts:
    campaigns: int
    funded: Cents
    paid: Cents


@dataclass(frozen=True, slots=True)
class StatsFacts:
    """What storage knows about one chat (or all chats when ``chat_id`` is None)."""

    chat_id: int | None
    packets: int
    money_sent: Cents
    shares: int
    money_taken: Cents
    finish_durations_ms: Sequence[int]
    top_senders: Sequence[MemberCount]
    luckiest: Sequence[MemberCount]
    turned_away: int
    activity: Sequence[DayActivity]
    # share size in tenths of the mean share (10 = exactly the mean) -> shares
    share_ratio_tenths: dict[int, int] = field(default_factory=dict)
    campaigns: CampaignFacts | None = None


@dataclass(frozen=True, slots=True)
class Stats:
    facts: StatsFacts
    finished: int
    median_finish_ms: int | None
    fastest_finish_ms: int | None

    @property
    def has_activity(self) -> bool:
        return self.facts.packets > 0


def summarize(facts: StatsFacts) -> Stats:
    durations = sorted(d for d in facts.finish_durations_ms if d >= 0)
    return Stats(
        facts=facts,
        finished=len(durations),
        median_finish_ms=int(statistics.median(durations)) if durations else None,
        fastest_finish_ms=durations[0] if durations else None,
    )


def with_unflushed(facts: StatsFacts, turned_away: Mapping[int, int]) -> StatsFacts:
    """Add the turned-away presses still in memory (not yet flushed to the table)."""
    if facts.chat_id is None:
        extra = sum(n for n in turned_away.values() if n > 0)
    else:
        extra = max(turned_away.get(facts.chat_id, 0), 0)
    return replace(facts, turned_away=facts.turned_away + extra)


def share_ratio_histogram(
    ratio_tenths: dict[int, int], *, cap_tenths: int = 30
) -> list[tuple[float, int]]:
    """Buckets (ratio to the mean, shares) with everything above ``cap`` in the last one."""
    buckets: dict[int, int] = {}
    for tenths, n in ratio_tenths.items():
        bucket = min(max(tenths, 0), cap_tenths)
        buckets[bucket] = buckets.get(bucket, 0) + n
    return [(tenths / 10, buckets[tenths]) for tenths in sorted(buckets)]


def format_duration(ms: int) -> tuple[str, dict[str, Any]]:
    """A duration as a shared catalog key (``duration.*``) and its params: the one
    wording of every duration members read (rounded down)."""
    tenths = max(ms, 0) // 100
    if tenths < 100:  # "0.4 s", "5.1 s": under ten seconds the tenth is news
        return "duration.seconds", {"s": f"{tenths // 10}.{tenths % 10}".removesuffix(".0")}
    whole = tenths // 10
    if whole < 60:
        return "duration.seconds", {"s": whole}
    if whole < 3600:
        return "duration.minutes", {"m": whole // 60, "s": whole % 60}
    if whole < 86_400:
        return "duration.hours", {"h": whole // 3600, "m": whole % 3600 // 60}
    return "duration.days", {"d": whole // 86_400, "h": whole % 86_400 // 3600}


# --- use cases -------------------------------------------------------------------


async def records_page(reader: RecordsReader, member_id: int, page: int) -> Page:
    """Page ``page`` (0 = newest) of a member's recent packets, clamped to what exists."""
    page = max(page, 0)
    items, total = await reader.recent_packets(
        member_id, RECORDS_PAGE_SIZE, page * RECORDS_PAGE_SIZE
    )
    if page and not items and total:
        page = clamp_page(page, total)
        items, total = await reader.recent_packets(
            member_id, RECORDS_PAGE_SIZE, page * RECORDS_PAGE_SIZE
        )
    return Page(tuple(items), page, page_count(total))


async def claim_daily(store: PacketStore, member: Member, amount: Cents, now_ms: int) -> bool:
    """Pay the daily bonus once per UTC day; False if today's was already paid."""
    return await store.credit(
        member, amount, kind=LedgerKind.DAILY, key=daily_key(member.id, now_ms), memo="",
        now_ms=now_ms,
    )


async def grant(
    store: PacketStore, member: Member, amount: Cents, *, key: str, granted_by: Member, now_ms: int
) -> bool:
    """Mint ``amount`` into ``member``'s wallet once per ``key``, naming who granted it."""
    memo = f"granted by {granted_by.name} ({granted_by.id})"
    return await store.credit(
        member, amount, kind=LedgerKind.GRANT, key=key, memo=memo, now_ms=now_ms
    )


async def credit_topup(
    store: PacketStore, member: Member, stars: int, cents_per_star: int, *,
    charge_id: str, now_ms: int,
) -> bool:
    """Credit a paid top-up (``stars`` at ``cents_per_star``) once per payment charge id."""
    return await store.credit(
        member, stars * cents_per_star, kind=LedgerKind.TOPUP, key=topup_key(charge_id),
        memo=f"{stars} stars, charge {charge_id}", now_ms=now_ms,
    )


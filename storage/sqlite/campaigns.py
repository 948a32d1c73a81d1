"""SQLite adapter of ``core.ports.CampaignStore``: campaigns, wins, escrow ``c:<id>``."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

from core.errors import DomainError, InsufficientFunds
from core.packets import Member
from core.shake import (
    Campaign,
    CampaignStatus,
    Ended,
    Mode,
    Win,
    prize,
    tiers_from_text,
    tiers_to_text,
)
from core.ports import Settled, SettleOutcome
from storage.sqlite import keys
from storage.sql_store import row_lock
from storage.sqlite.audit import CAMPAIGN_CHECKS
from storage.sqlite.keys import LedgerKind
from storage.sqlite.store import (
    LedgerStore,
    balance_of,
    end_and_refund,
    transfer,
    upsert_member,
)

FUND, WIN, REFUND = LedgerKind.SHAKE_FUND, LedgerKind.SHAKE_WIN, LedgerKind.SHAKE_REFUND

CAMPAIGN_COLUMNS = (
    "id, chat_id, funder_id, funder_name, pool, count, mode, tiers, seed, created_at, ends_at,"
    " interval_ms, max_wins, status, won_count, won_amount, refunded, ended_at, message_id"
)
WIN_COLUMNS = "campaign_id, position, member_id, member_name, amount, jackpot, at"


def campaign_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Campaign:
    (cid, chat_id, funder_id, funder_name, pool, count, mode, tiers, seed, created_at, ends_at,
     interval_ms, max_wins, status, won_count, won_amount, refunded, ended_at, message_id) = row
    return Campaign(
        id=cid, chat_id=chat_id, funder_id=funder_id, funder_name=funder_name, pool=pool,
        count=count, mode=Mode(mode), tiers=tiers_from_text(tiers), seed=bytes(seed),
        created_at=created_at, ends_at=ends_at, interval_ms=interval_ms, max_wins=max_wins,
        status=CampaignStatus(status), won_count=won_count, won_amount=won_amount,
        refunded=refunded, ended_at=ended_at, message_id=message_id,
    )


def win_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Win:
    cid, position, member_id, member_name, amount, jackpot, at = row
    return Win(cid, position, member_id, member_name, amount, bool(jackpot), at)


class SqliteCampaigns:
    """Campaign storage on the shared store (its group-commit writer), on
    either engine: SQLite's, or PostgreSQL's (``storage.postgres.store``)."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    async def create_campaign(self, campaign: Campaign, key: str) -> Campaign:
        return await self.store.write(
            lambda conn: create_campaign(conn, campaign, key), keys.WALLET_ORDER(campaign.funder_id)
        )

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        row = await self.store.fetchone(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?", (campaign_id,)
        )
        return campaign_from_row(row) if row else None

    async def live_campaign(self, chat_id: int) -> Campaign | None:
        row = await self.store.fetchone(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE chat_id = ? AND status = 'live'",
            (chat_id,),
        )
        return campaign_from_row(row) if row else None

    async def live_campaigns(self) -> list[Campaign]:
        rows = await self.store.fetchall(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE status = 'live' ORDER BY ends_at"
        )
        return [campaign_from_row(r) for r in rows]

    async def all_campaigns(self) -> list[Campaign]:
        rows = await self.store.fetchall(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY created_at"
        )
        return [campaign_from_row(r) for r in rows]

    async def wins(self, campaign_id: str) -> list[Win]:
        rows = await self.store.fetchall(
            f"SELECT {WIN_COLUMNS} FROM campaign_wins WHERE campaign_id = ? ORDER BY position",
            (campaign_id,),
        )
        return [win_from_row(r) for r in rows]

    async def win_counts(self, campaign_id: str) -> dict[int, int]:
        rows = await self.store.fetchall(
            "SELECT member_id, COUNT(*) FROM campaign_wins WHERE campaign_id = ?"
            " GROUP BY member_id",
            (campaign_id,),
        )
        return {member_id: n for member_id, n in rows}

    async def wins_of(self, campaign_id: str, member_id: int) -> int:
        row = await self.store.fetchone(
            "SELECT COUNT(*) FROM campaign_wins WHERE campaign_id = ? AND member_id = ?",
            (campaign_id, member_id),
        )
        return row[0]

    async def settle_win(self, campaign_id: str, member: Member, now_ms: int) -> Settled:
        return await self.store.write(
            lambda conn: settle_win(conn, campaign_id, member, now_ms),
            keys.CAMPAIGN_ORDER(campaign_id),
        )

    async def end_campaign(
        self, campaign_id: str, status: CampaignStatus, now_ms: int
    ) -> Ended | None:
        return await self.store.write(
            lambda conn: end_campaign(conn, campaign_id, status, now_ms),
            keys.CAMPAIGN_ORDER(campaign_id),
        )

    async def end_due(self, now_ms: int, limit: int) -> list[Ended]:
        return await self.store.write(
            lambda conn: end_due(conn, now_ms, limit), keys.CAMPAIGN_ORDER("")
        )

    async def set_campaign_message(self, campaign_id: str, message_id: int) -> None:
        await self.store.write(
            lambda conn: conn.execute(
                "UPDATE campaigns SET message_id = ? WHERE id = ?", (message_id, campaign_id)
            ),
            keys.CAMPAIGN_ORDER(campaign_id),
        )

    async def campaign_problems(self) -> list[str]:
        """The campaign checks alone (``store.ledger_problems`` runs them too)."""
        return await self.store.run_checks(CAMPAIGN_CHECKS)


# -- the transactions (each runs inside the writer's savepoint) ---------------


def _campaign(conn: sqlite3.Connection, campaign_id: str) -> Campaign | None:
    """The campaign a write decides from; locked on PostgreSQL (another connection
    or process may be settling a win of the same campaign)."""
    row = conn.execute(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?{row_lock(conn)}", (campaign_id,)
    ).fetchone()
    return campaign_from_row(row) if row else None


def create_campaign(conn: sqlite3.Connection, campaign: Campaign, key: str) -> Campaign:
    existing = conn.execute(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE key = ?", (key,)
    ).fetchone()
    if existing is not None:
        return campaign_from_row(existing)
    running = conn.execute(
        "SELECT 1 FROM campaigns WHERE chat_id = ? AND status = 'live'", (campaign.chat_id,)
    ).fetchone()
    if running is not None:
        raise DomainError("shake.error.running")
    upsert_member(conn, Member(campaign.funder_id, campaign.funder_name), campaign.created_at)
    available = balance_of(conn, keys.WALLET(campaign.funder_id))
    if available < campaign.pool:
        raise InsufficientFunds(available, campaign.pool)
    conn.execute(
        "INSERT INTO campaigns(id, key, chat_id, funder_id, funder_name, pool, count, mode,"
        " tiers, seed, created_at, ends_at, interval_ms, max_wins)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (campaign.id, key, campaign.chat_id, campaign.funder_id, campaign.funder_name,
         campaign.pool, campaign.count, campaign.mode.value, tiers_to_text(campaign.tiers),
         campaign.seed, campaign.created_at, campaign.ends_at, campaign.interval_ms,
         campaign.max_wins),
    )
    transfer(
        conn, key=keys.FUND(campaign.id), kind=FUND, src=keys.WALLET(campaign.funder_id),
        dst=keys.CAMPAIGN_ESCROW(campaign.id), amount=campaign.pool, at=campaign.created_at,
        memo=campaign.id,
    )
    return campaign


def settle_win(conn: sqlite3.Connection, campaign_id: str, member: Member, now_ms: int) -> Settled:
    """Record the next prize for ``member`` and pay it; end the campaign on the last one."""
    campaign = _campaign(conn, campaign_id)
    if campaign is None:
        return Settled(SettleOutcome.NOT_FOUND)
    if not campaign.is_live or now_ms >= campaign.ends_at or campaign.won_count >= campaign.count:
        return Settled(SettleOutcome.ENDED, campaign)
    (held,) = conn.execute(
        "SELECT COUNT(*) FROM campaign_wins WHERE campaign_id = ? AND member_id = ?",
        (campaign_id, member.id),
    ).fetchone()
    if held >= campaign.max_wins:
        return Settled(SettleOutcome.MAXED, campaign)
    position = campaign.won_count + 1
    amount, jackpot = prize(
        campaign.mode, campaign.tiers, campaign.seed, position,
        campaign.pool - campaign.won_amount, campaign.count - campaign.won_count,
    )
    changed = conn.execute(
        "UPDATE campaigns SET won_count = won_count + 1, won_amount = won_amount + ?"
        " WHERE id = ? AND status = 'live' AND won_count = ?",
        (amount, campaign_id, campaign.won_count),
    ).rowcount
    if not changed:  # cannot happen with one writer; refuse rather than guess
        raise sqlite3.IntegrityError("campaign changed under the win")
    upsert_member(conn, member, now_ms)
    conn.execute(
        f"INSERT INTO campaign_wins({WIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (campaign_id, position, member.id, member.name, amount, int(jackpot), now_ms),
    )
    transfer(
        conn, key=keys.WIN(campaign_id, position), kind=WIN, src=keys.CAMPAIGN_ESCROW(campaign_id),
        dst=keys.WALLET(member.id), amount=amount, at=now_ms, memo=campaign_id,
    )
    win = Win(campaign_id, position, member.id, member.name, amount, jackpot, now_ms)
    campaign = replace(campaign, won_count=position, won_amount=campaign.won_amount + amount)
    if position < campaign.count:
        return Settled(SettleOutcome.WON, campaign, win)
    ended = end_campaign(conn, campaign_id, CampaignStatus.FINISHED, now_ms)
    return Settled(SettleOutcome.WON, ended.campaign if ended else campaign, win, ended)


def end_campaign(
    conn: sqlite3.Connection, campaign_id: str, status: CampaignStatus, now_ms: int
) -> Ended | None:
    """End a live campaign and refund what is left to its funder, exactly once."""
    campaign = _campaign(conn, campaign_id)
    if campaign is None or not campaign.is_live:
        return None
    left = campaign.pool - campaign.won_amount
    if not end_and_refund(
        conn, table="campaigns", row_id=campaign_id, status=status, left=left,
        escrow=keys.CAMPAIGN_ESCROW(campaign_id), owner=keys.WALLET(campaign.funder_id),
        key=keys.CAMPAIGN_REFUND(campaign_id), kind=REFUND, now_ms=now_ms, ended_at=True,
        memo=campaign_id,
    ):
        return None
    wins = conn.execute(
        f"SELECT {WIN_COLUMNS} FROM campaign_wins WHERE campaign_id = ? ORDER BY position",
        (campaign_id,),
    ).fetchall()
    ended = replace(campaign, status=status, ended_at=now_ms, refunded=left)
    return Ended(ended, tuple(win_from_row(w) for w in wins))


def end_due(conn: sqlite3.Connection, now_ms: int, limit: int) -> list[Ended]:
    ids = conn.execute(
        "SELECT id FROM campaigns WHERE status = 'live' AND ends_at <= ? ORDER BY ends_at LIMIT ?",
        (now_ms, limit),
    ).fetchall()
    ended = [end_campaign(conn, cid, CampaignStatus.EXPIRED, now_ms) for (cid,) in ids]
    return [e for e in ended if e is not None]

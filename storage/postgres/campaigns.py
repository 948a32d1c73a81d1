"""PostgreSQL adapter of ``core.shake_service.CampaignStore`` (twin of storage/sqlite/campaigns.py).

The campaign's row is locked before a win or an end is decided, and the
``campaign_wins_fit`` trigger refuses what the count, the pool or the win
limit forbid; the audit checks are SQLite's (``storage.sqlite.campaigns``).
"""

from __future__ import annotations

from dataclasses import replace

import psycopg
from psycopg import errors

from core.errors import DomainError, InsufficientFunds
from core.packets import Member
from core.shake import Campaign, CampaignStatus, Ended, Win, prize, tiers_to_text
from core.shake_service import Settled, SettleOutcome
from storage.postgres.store import PostgresStore, balance_of, transfer, upsert_member, wallet_order
from storage.sqlite import keys
from storage.sqlite.audit import CAMPAIGN_CHECKS
from storage.sqlite.campaigns import (
    CAMPAIGN_COLUMNS,
    WIN_COLUMNS,
    campaign_from_row,
    win_from_row,
)

FUND = keys.LedgerKind.SHAKE_FUND.value
WIN = keys.LedgerKind.SHAKE_WIN.value
REFUND = keys.LedgerKind.SHAKE_REFUND.value
escrow = keys.CAMPAIGN_ESCROW
wallet = keys.WALLET
fund_key = keys.FUND
win_key = keys.WIN
refund_key = keys.CAMPAIGN_REFUND


def campaign_order(campaign_id: str) -> str:
    return f"3:{campaign_id}"


class PostgresCampaigns:
    """Campaign storage on the shared ``PostgresStore`` (its group-commit writer)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def create_campaign(self, campaign: Campaign, key: str) -> Campaign:
        return await self.store.write(
            lambda conn: create_campaign(conn, campaign, key), wallet_order(campaign.funder_id)
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
            lambda conn: settle_win(conn, campaign_id, member, now_ms), campaign_order(campaign_id)
        )

    async def end_campaign(
        self, campaign_id: str, status: CampaignStatus, now_ms: int
    ) -> Ended | None:
        return await self.store.write(
            lambda conn: end_campaign(conn, campaign_id, status, now_ms), campaign_order(campaign_id)
        )

    async def end_due(self, now_ms: int, limit: int) -> list[Ended]:
        return await self.store.write(
            lambda conn: end_due(conn, now_ms, limit), campaign_order("")
        )

    async def set_campaign_message(self, campaign_id: str, message_id: int) -> None:
        await self.store.execute(
            "UPDATE campaigns SET message_id = ? WHERE id = ?", (message_id, campaign_id)
        )

    async def campaign_problems(self) -> list[str]:
        """The campaign checks alone (``store.ledger_problems`` runs them too)."""
        return await self.store.read(campaign_ledger_problems)


# -- the transactions (each runs inside the writer's savepoint) ---------------


def _campaign(conn: psycopg.Connection, campaign_id: str, *, lock: bool = False) -> Campaign | None:
    # Locked where the write depends on what it read (another connection or
    # process may be settling a win of the same campaign).
    row = conn.execute(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = %s"
        + (" FOR UPDATE" if lock else ""),
        (campaign_id,),
    ).fetchone()
    return campaign_from_row(row) if row else None


def create_campaign(conn: psycopg.Connection, campaign: Campaign, key: str) -> Campaign:
    existing = conn.execute(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE key = %s", (key,)
    ).fetchone()
    if existing is not None:
        return campaign_from_row(existing)
    running = conn.execute(
        "SELECT 1 FROM campaigns WHERE chat_id = %s AND status = 'live'", (campaign.chat_id,)
    ).fetchone()
    if running is not None:
        raise DomainError("shake.error.running")
    upsert_member(conn, Member(campaign.funder_id, campaign.funder_name), campaign.created_at)
    available = balance_of(conn, wallet(campaign.funder_id), lock=True)
    if available < campaign.pool:
        raise InsufficientFunds(available, campaign.pool)
    conn.execute(
        "INSERT INTO campaigns(id, key, chat_id, funder_id, funder_name, pool, count, mode,"
        " tiers, seed, created_at, ends_at, interval_ms, max_wins)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (campaign.id, key, campaign.chat_id, campaign.funder_id, campaign.funder_name,
         campaign.pool, campaign.count, campaign.mode.value, tiers_to_text(campaign.tiers),
         campaign.seed, campaign.created_at, campaign.ends_at, campaign.interval_ms,
         campaign.max_wins),
    )
    transfer(
        conn, key=fund_key(campaign.id), kind=FUND, src=wallet(campaign.funder_id),
        dst=escrow(campaign.id), amount=campaign.pool, at=campaign.created_at,
        memo=campaign.id,
    )
    return campaign


def settle_win(conn: psycopg.Connection, campaign_id: str, member: Member, now_ms: int) -> Settled:
    """Record the next prize for ``member`` and pay it; end the campaign on the last one."""
    campaign = _campaign(conn, campaign_id, lock=True)
    if campaign is None:
        return Settled(SettleOutcome.NOT_FOUND)
    if not campaign.is_live or now_ms >= campaign.ends_at or campaign.won_count >= campaign.count:
        return Settled(SettleOutcome.ENDED, campaign)
    (held,) = conn.execute(
        "SELECT COUNT(*) FROM campaign_wins WHERE campaign_id = %s AND member_id = %s",
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
        "UPDATE campaigns SET won_count = won_count + 1, won_amount = won_amount + %s"
        " WHERE id = %s AND status = 'live' AND won_count = %s",
        (amount, campaign_id, campaign.won_count),
    ).rowcount
    if not changed:  # cannot happen with one writer; refuse rather than guess
        raise errors.IntegrityError("campaign changed under the win")
    upsert_member(conn, member, now_ms)
    conn.execute(
        f"INSERT INTO campaign_wins({WIN_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (campaign_id, position, member.id, member.name, amount, int(jackpot), now_ms),
    )
    transfer(
        conn, key=win_key(campaign_id, position), kind=WIN, src=escrow(campaign_id),
        dst=wallet(member.id), amount=amount, at=now_ms, memo=campaign_id,
    )
    win = Win(campaign_id, position, member.id, member.name, amount, jackpot, now_ms)
    campaign = replace(campaign, won_count=position, won_amount=campaign.won_amount + amount)
    if position < campaign.count:
        return Settled(SettleOutcome.WON, campaign, win)
    ended = end_campaign(conn, campaign_id, CampaignStatus.FINISHED, now_ms)
    return Settled(SettleOutcome.WON, ended.campaign if ended else campaign, win, ended)


def end_campaign(
    conn: psycopg.Connection, campaign_id: str, status: CampaignStatus, now_ms: int
) -> Ended | None:
    """End a live campaign and refund what is left to its funder, exactly once."""
    campaign = _campaign(conn, campaign_id, lock=True)
    if campaign is None or not campaign.is_live:
        return None
    left = campaign.pool - campaign.won_amount
    changed = conn.execute(
        "UPDATE campaigns SET status = %s, ended_at = %s, refunded = %s WHERE id = %s AND status = 'live'",
        (status.value, now_ms, left, campaign_id),
    ).rowcount
    if not changed:
        return None
    if left > 0:
        transfer(
            conn, key=refund_key(campaign_id), kind=REFUND, src=escrow(campaign_id),
            dst=wallet(campaign.funder_id), amount=left, at=now_ms, memo=campaign_id,
        )
    wins = conn.execute(
        f"SELECT {WIN_COLUMNS} FROM campaign_wins WHERE campaign_id = %s ORDER BY position",
        (campaign_id,),
    ).fetchall()
    ended = replace(campaign, status=status, ended_at=now_ms, refunded=left)
    return Ended(ended, tuple(win_from_row(w) for w in wins))


def end_due(conn: psycopg.Connection, now_ms: int, limit: int) -> list[Ended]:
    ids = conn.execute(
        "SELECT id FROM campaigns WHERE status = 'live' AND ends_at <= %s ORDER BY ends_at LIMIT %s",
        (now_ms, limit),
    ).fetchall()
    ended = [end_campaign(conn, cid, CampaignStatus.EXPIRED, now_ms) for (cid,) in ids]
    return [e for e in ended if e is not None]


def campaign_ledger_problems(conn: psycopg.Connection) -> list[str]:
    problems: list[str] = []
    for message, query in CAMPAIGN_CHECKS:
        for row in conn.execute(query).fetchall():
            problems.append(message.format(*row))
    return problems

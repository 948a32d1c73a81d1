"""What a ledger transfer is for: its ``kind``, one word per way money moves.

Storage writes these into ``transfers.kind`` and its audit queries them; the
wallet history (``core.records``) turns them into words.
"""

from __future__ import annotations

from enum import StrEnum


class LedgerKind(StrEnum):
    WELCOME = "welcome"  # minted once per member, on first contact
    DAILY = "daily"  # minted once per member and UTC day
    GRANT = "grant"  # minted by an admin's /grant
    TOPUP = "topup"  # minted for a paid Stars invoice
    SEND = "send"  # a sender's wallet into a packet's escrow
    SHARE = "share"  # a packet's escrow into a member's wallet
    REFUND = "refund"  # what a packet left, back to its sender
    SHAKE_FUND = "shake_fund"  # a funder's wallet into a campaign's escrow
    SHAKE_WIN = "shake_win"  # a campaign's escrow into a winner's wallet
    SHAKE_REFUND = "shake_refund"  # what a campaign left, back to its funder


CAMPAIGN_KINDS = frozenset({LedgerKind.SHAKE_FUND, LedgerKind.SHAKE_WIN, LedgerKind.SHAKE_REFUND})

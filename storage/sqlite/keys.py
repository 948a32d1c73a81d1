"""Every ledger account id and idempotency key storage writes, in one place.

Each format is written once and gives both the Python string (for writing)
and the SQL expression that rebuilds it from columns (for the audit's joins),
so the two cannot drift apart.

| format                         | what                                     |
| ------------------------------ | ---------------------------------------- |
| ``mint``                       | where minted money comes from            |
| ``w:<member>``                 | a member's wallet                        |
| ``p:<packet>``                 | a packet's escrow                        |
| ``c:<campaign>``               | a campaign's escrow                      |
| ``welcome:<member>``           | the welcome bonus, once per member       |
| ``send:<packet>``              | wallet -> packet escrow                  |
| ``share:<packet>:<position>``  | packet escrow -> the member of a share   |
| ``refund:<packet>``            | packet escrow -> its sender              |
| ``shake_fund:<campaign>``      | wallet -> campaign escrow                |
| ``shake_win:<campaign>:<k>``   | campaign escrow -> the k-th winner       |
| ``shake_refund:<campaign>``    | campaign escrow -> its funder            |

Keys made in core (``daily:``, ``topup:``) and in the bot (``grant:``) are
passed in through ``PacketStore.credit``.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.ledger import CAMPAIGN_KINDS, LedgerKind

__all__ = [
    "CAMPAIGN_ESCROW", "CAMPAIGN_KINDS", "CAMPAIGN_REFUND", "FUND", "KeyFormat", "LedgerKind",
    "MINT", "PACKET_ESCROW", "MINT_ORDER", "WALLET_ORDER", "PACKET_ORDER", "CAMPAIGN_ORDER", "REFUND", "SEND", "SHARE", "WALLET", "WELCOME", "WIN",
]

MINT = "mint"


@dataclass(frozen=True, slots=True)
class KeyFormat:
    """``prefix:part:part``: a ledger account id or a transfer key."""

    prefix: str

    def __call__(self, *parts: object) -> str:
        return ":".join((self.prefix, *map(str, parts)))

    def sql(self, *columns: str) -> str:
        """The same key as an SQL expression over ``columns``: ``'p:' || p.id``."""
        return " || ':' || ".join((f"'{self.prefix}:' || {columns[0]}", *columns[1:]))

    def sql_like(self) -> str:
        """A LIKE pattern matching every key of this format."""
        return f"'{self.prefix}:%'"

    def sql_part(self, column: str) -> str:
        """The first part of a key held in ``column`` (what follows ``prefix:``)."""
        return f"substr({column}, {len(self.prefix) + 2})"


# accounts
WALLET = KeyFormat("w")
PACKET_ESCROW = KeyFormat("p")
CAMPAIGN_ESCROW = KeyFormat("c")

# transfer keys: each is the kind of the transfer it names
WELCOME = KeyFormat(LedgerKind.WELCOME.value)
SEND = KeyFormat(LedgerKind.SEND.value)
SHARE = KeyFormat(LedgerKind.SHARE.value)
REFUND = KeyFormat(LedgerKind.REFUND.value)
FUND = KeyFormat(LedgerKind.SHAKE_FUND.value)
WIN = KeyFormat(LedgerKind.SHAKE_WIN.value)
CAMPAIGN_REFUND = KeyFormat(LedgerKind.SHAKE_REFUND.value)


# Where a write sorts within a batch on an engine with several writers
# (PostgreSQL, see ``storage.postgres.writer``): payments from the mint first,
# then debits of wallets, then packets, then campaigns, each by id. Two batches
# that touch the same rows (both processes greeting a crowd) then lock them in
# one order, and one waits for the other instead of deadlocking.
def MINT_ORDER(member_id: int) -> str:  # noqa: N802 - reads like the key formats
    return f"0:{member_id:020d}"


def WALLET_ORDER(member_id: int) -> str:  # noqa: N802
    return f"1:{member_id:020d}"


def PACKET_ORDER(packet_id: str) -> str:  # noqa: N802
    return f"2:{packet_id}"


def CAMPAIGN_ORDER(campaign_id: str) -> str:  # noqa: N802
    return f"3:{campaign_id}"

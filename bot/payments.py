"""Telegram Stars top-ups: the invoice payload we issue and the pre-checkout answer.

The payload is ``topup:<member>:<stars>``; pre-checkout says yes only to an
invoice we issued, unchanged, paid by the member it names. Crediting the paid
invoice is a use case in ``core.records`` (``credit_topup``), once per charge.
"""

from __future__ import annotations

from dataclasses import dataclass

TOPUP_PAYLOAD_PREFIX = "topup"
TOPUP_CURRENCY = "XTR"
MAX_TOPUP_STARS = 10_000


@dataclass(frozen=True, slots=True)
class TopupClaim:
    member_id: int
    stars: int


def topup_payload(member_id: int, stars: int) -> str:
    return f"{TOPUP_PAYLOAD_PREFIX}:{member_id}:{stars}"


def is_topup_payload(payload: str) -> bool:
    """Ours (well formed or not): a payload no other feature uses."""
    return payload.startswith(f"{TOPUP_PAYLOAD_PREFIX}:")


def parse_topup_payload(payload: str) -> TopupClaim | None:
    """The claim in an invoice payload we made, or ``None`` for anything else."""
    parts = payload.split(":")
    if len(parts) != 3 or parts[0] != TOPUP_PAYLOAD_PREFIX:
        return None
    member, stars = parts[1], parts[2]
    if not (member.isascii() and member.isdigit() and stars.isascii() and stars.isdigit()):
        return None
    claim = TopupClaim(int(member), int(stars))
    return claim if 1 <= claim.stars <= MAX_TOPUP_STARS else None


def topup_acceptable(
    payload: str, *, currency: str, total_amount: int, payer_id: int
) -> bool:
    """Pre-checkout: say yes only to an invoice we issued, unchanged, paid by its member."""
    claim = parse_topup_payload(payload)
    return (
        claim is not None
        and currency == TOPUP_CURRENCY
        and total_amount == claim.stars
        and payer_id == claim.member_id
    )

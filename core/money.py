"""Money is an ``int`` of minor units (cents, 分). Parsing is strict."""

from __future__ import annotations

import re

from core.amount import CENTS_PER_UNIT, Amount, Cents
from core.errors import DomainError

__all__ = ["HARD_MAXIMUM", "format_cents", "parse_amount", "parse_count"]

_AMOUNT = re.compile(r"(?P<units>[0-9]*)(?:\.(?P<frac>[0-9]*))?", re.ASCII)
_COUNT = re.compile(r"[0-9]+", re.ASCII)


# Full-width forms (０-９, ．, ，, －, ideographic space) fold to ASCII; nothing
# else does, so superscripts and other digit look-alikes are refused.
_FULL_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20, 0x3002: 0x2E}
HARD_MAXIMUM: Cents = 10**15  # far beyond any limit, far below SQLite's 2**63


def _normalise(text: str) -> str:
    return text.translate(_FULL_WIDTH).strip()


def parse_amount(text: str, *, maximum: Cents | None = None) -> Cents:
    """Parse ``10``, ``10.5``, ``10.50`` or ``０.５`` into cents.

    Rejects negatives, zero, more than two decimals, exponents, NaN, thousands
    separators and values above ``maximum``; each refusal names what is allowed.
    """
    raw = _normalise(text)
    if not raw:
        raise DomainError("error.amount_missing")
    if any(c in ",_'" or c.isspace() for c in raw):
        raise DomainError("error.amount_separator", text=text)
    if raw.startswith("-"):
        raise DomainError("error.amount_not_positive", text=text, least=Amount(1))
    match = _AMOUNT.fullmatch(raw)
    if match is None or not (match.group("units") or match.group("frac")):
        raise DomainError("error.amount_format", text=text)
    units, frac = match.group("units") or "0", match.group("frac")
    if frac is not None and len(frac) > 2:
        raise DomainError("error.amount_decimals", text=text)
    maximum = HARD_MAXIMUM if maximum is None else maximum
    if len(units.lstrip("0")) > 16:
        raise DomainError("error.amount_too_large", text=text, maximum=Amount(maximum))
    cents = int(units) * CENTS_PER_UNIT + int((frac or "").ljust(2, "0") or 0)
    if cents <= 0:
        raise DomainError("error.amount_not_positive", text=text, least=Amount(1))
    if cents > maximum:
        raise DomainError("error.amount_too_large", text=text, maximum=Amount(maximum))
    return cents


def parse_count(text: str, *, maximum: int) -> int:
    """Parse a share count: a whole number from 1 to ``maximum``."""
    raw = _normalise(text)
    if not _COUNT.fullmatch(raw):
        raise DomainError("error.count_format", text=text, maximum=maximum)
    count = int(raw)
    if count < 1:
        raise DomainError("error.count_format", text=text, maximum=maximum)
    if count > maximum:
        raise DomainError("error.count_too_large", count=count, maximum=maximum)
    return count


def format_cents(cents: Cents) -> str:
    """``1234`` -> ``"12.34"``; negative amounts keep their sign."""
    sign = "-" if cents < 0 else ""
    units, frac = divmod(abs(cents), CENTS_PER_UNIT)
    return f"{sign}{units}.{frac:02d}"

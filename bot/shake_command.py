"""``/shake start`` arguments: ``<pool> <count> [duration] [tiers|bounded]``.

Words in, a ``core.shake.CampaignRequest`` out, or a ``DomainError`` naming
the catalog message that tells the admin the usage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.errors import DomainError
from core.money import parse_amount, parse_count
from core.packets import Member
from core.shake import CampaignRequest, Mode, ShakeLimits

_DURATION = re.compile(r"(?P<n>[0-9]+)(?P<unit>[smhd]?)", re.ASCII)
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "": 60_000}


def parse_duration(text: str) -> int | None:
    """``30s``, ``10m``, ``2h``, ``1d`` or a bare number of minutes, in ms; None if not one."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        return None
    return int(match.group("n")) * _UNIT_MS[match.group("unit")]


def parse_mode(text: str) -> Mode | None:
    word = text.strip().lower()
    aliases = {"tiers": Mode.TIERS, "tier": Mode.TIERS, "bounded": Mode.BOUNDED,
               "bound": Mode.BOUNDED}
    return aliases.get(word)


def parse_start(args: Sequence[str], chat_id: int, funder: Member, limits: ShakeLimits) -> CampaignRequest:
    """``<pool> <count> [duration] [tiers|bounded]`` (the last two in either order)."""
    if len(args) < 2:
        raise DomainError("shake.error.usage")
    pool = parse_amount(args[0], maximum=limits.max_pool)
    count = parse_count(args[1], maximum=limits.max_count)
    duration: int | None = None
    mode: Mode | None = None
    for word in args[2:]:
        if mode is None and (found := parse_mode(word)) is not None:
            mode = found
        elif duration is None and (ms := parse_duration(word)) is not None:
            duration = ms
        else:
            raise DomainError("shake.error.usage")
    return CampaignRequest(chat_id, funder, pool, count, duration, mode or Mode.TIERS)

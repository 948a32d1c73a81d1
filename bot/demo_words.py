"""How the demo words its tallies: plain phrases, not Python dicts."""

from __future__ import annotations

# How each answer reads in the demo's summary lines.
ANSWER_WORDS = {
    "got": "took a share", "already": "already had theirs", "too_slow": "too slow",
    "expired": "expired", "not_for_you": "not for them", "not_this_time": "not this time",
    "not_found": "no such packet", "won": "won", "lost": "no luck", "cooldown": "too soon",
    "maxed": "won enough", "over": "campaign over",
}


def tally_text(tally: dict[str, int]) -> str:
    """``{"got": 10, "too_slow": 390}`` as ``10 took a share · 390 too slow``."""
    parts = sorted(tally.items(), key=lambda item: -item[1])
    return " · ".join(f"{n} {ANSWER_WORDS.get(answer, answer.replace('_', ' '))}"
                      for answer, n in parts)


def shares_text(count: int) -> str:
    return "1 share" if count == 1 else f"{count} shares"

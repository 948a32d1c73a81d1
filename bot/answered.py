"""Which presses this process already answered: every press is answered once."""

from __future__ import annotations

__all__ = ["AnsweredPresses"]

REMEMBERED = 50_000  # presses; the oldest half is forgotten past this
FORGET = 25_000


class AnsweredPresses:
    def __init__(self) -> None:
        self._ids: dict[str, None] = {}

    def mark(self, query_id: str) -> None:
        self._ids[query_id] = None
        if len(self._ids) > REMEMBERED:
            for old in list(self._ids)[:FORGET]:
                del self._ids[old]

    def __contains__(self, query_id: object) -> bool:
        return query_id in self._ids

"""The once-a-minute /top: the last leaderboard of each chat, a bounded number of chats."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["TOP_CHATS_REMEMBERED", "TOP_INTERVAL_MS", "OncePerMinute"]

TOP_INTERVAL_MS = 60_000
TOP_CHATS_REMEMBERED = 10_000


@dataclass(slots=True)
class _Posted:
    at_ms: int
    message_id: int | None = None  # None while the leaderboard is being posted
    pointed: bool = False  # a short pointer was sent in this minute already


class OncePerMinute:
    """The last /top of each chat; at most ``max_chats`` chats remembered (oldest go)."""

    def __init__(self, interval_ms: int = TOP_INTERVAL_MS,
                 max_chats: int = TOP_CHATS_REMEMBERED) -> None:
        self.interval_ms = interval_ms
        self.max_chats = max_chats
        self._chats: OrderedDict[int, _Posted] = OrderedDict()

    def recent(self, chat_id: int, now_ms: int) -> _Posted | None:
        posted = self._chats.get(chat_id)
        if posted is None or now_ms - posted.at_ms >= self.interval_ms:
            return None
        return posted

    def reserve(self, chat_id: int, now_ms: int) -> _Posted:
        """Claim this minute for a new leaderboard (before any await, so two at once
        cannot both post)."""
        posted = _Posted(now_ms)
        self._chats[chat_id] = posted
        self._chats.move_to_end(chat_id)
        while len(self._chats) > self.max_chats:
            self._chats.popitem(last=False)
        return posted

    def release(self, chat_id: int, posted: _Posted) -> None:
        if self._chats.get(chat_id) is posted:
            del self._chats[chat_id]

    def __len__(self) -> int:
        return len(self._chats)

"""What the bot remembers of each campaign's message: language, figure shown, lock."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

__all__ = ["FINISHED_REMEMBERED", "CampaignMessages"]

FINISHED_REMEMBERED = 1_000  # ended campaigns whose message must not be edited back


class CampaignMessages:
    """Where each campaign's message is, in which language, and the figure it shows."""

    def __init__(self) -> None:
        self.langs: dict[str, str] = {}
        self.shown_left: dict[str, int] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.finished: OrderedDict[str, None] = OrderedDict()  # oldest first

    def lock(self, campaign_id: str) -> asyncio.Lock:
        return self.locks.setdefault(campaign_id, asyncio.Lock())

    def mark_finished(self, campaign_id: str) -> None:
        """Remember that a campaign ended; the oldest ended ones are forgotten."""
        self.finished[campaign_id] = None
        while len(self.finished) > FINISHED_REMEMBERED:
            old, _ = self.finished.popitem(last=False)
            self.langs.pop(old, None)

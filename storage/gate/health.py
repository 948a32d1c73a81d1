"""Whether Redis answers: an outage is logged once when it starts and once when it ends."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

_log = logging.getLogger("storage.gate")


def where(redis_url: str) -> str:
    """``host:port/db`` of a Redis URL, without its password."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


class GateHealth:
    """Shared by every gate on one Redis client; each call reports how it went."""

    def __init__(self, place: str) -> None:
        self.place = place
        self.down_since: float | None = None
        self.failures = 0

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, error: BaseException) -> None:
        self.failures += 1
        if self.down_since is not None:
            return
        self.down_since = time.monotonic()
        reason = f"{type(error).__name__}: {error}".replace("\n", " ")[:200]
        _log.warning(
            "Redis at %s is unreachable (%s): presses answer 'not this time' until it is back",
            self.place, reason,
        )

    def answered(self) -> None:
        if self.down_since is None:
            return
        _log.warning(
            "Redis at %s is back after %.1f s (%d failed round trips meanwhile)",
            self.place, time.monotonic() - self.down_since, self.failures,
        )
        self.down_since = None
        self.failures = 0

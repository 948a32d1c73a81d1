"""The one settable clock of the tests (a plain module: worker processes import it too)."""

from __future__ import annotations

import time


class FakeClock:
    """A settable clock for expiry; starts at the real time unless told."""

    def __init__(self, now_ms: int | None = None) -> None:
        self.now = time.time_ns() // 1_000_000 if now_ms is None else now_ms

    def now_ms(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)

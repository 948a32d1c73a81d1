"""A small cache bounded in size and in age: what it holds may be stale for
``max_age`` seconds at most, and it never holds more than ``max_size`` entries."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")


class BoundedCache(Generic[K, V]):
    def __init__(
        self, max_size: int, max_age: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_size = max_size
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K, default: D = None) -> V | D:  # type: ignore[assignment]
        """The value, or ``default`` when it was never stored, was pushed out, or is too old."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        stored_at, value = entry
        if self._clock() - stored_at > self.max_age:
            del self._entries[key]
            return default
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (self._clock(), value)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

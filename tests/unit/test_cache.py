"""The bounded cache forgets by size and by age."""

from __future__ import annotations

from core.cache import BoundedCache


def test_an_entry_older_than_max_age_is_gone_and_size_is_capped() -> None:
    now = [0.0]
    cache: BoundedCache[str, int] = BoundedCache(max_size=2, max_age=5, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 4
    assert cache.get("a") == 1
    now[0] = 6
    assert cache.get("a") is None  # stale for longer than max_age: read again
    cache.put("b", 2)
    cache.put("c", 3)
    cache.put("d", 4)
    assert len(cache) == 2 and cache.get("b") is None and cache.get("d") == 4



def test_a_stored_none_is_told_apart_from_a_miss_and_reads_refresh_recency() -> None:
    now = [0.0]
    miss = object()
    cache: BoundedCache[int, str | None] = BoundedCache(max_size=2, max_age=1, clock=lambda: now[0])
    cache.put(1, None)
    assert cache.get(1, miss) is None and cache.get(2, miss) is miss
    cache.put(2, "b")
    cache.get(1)  # 1 is now the most recent: 2 goes first
    cache.put(3, "c")
    assert cache.get(2, miss) is miss and cache.get(1, miss) is None

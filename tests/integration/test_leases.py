"""A lease row lets one process of many run the sweep and the audit at a time."""

from __future__ import annotations

import asyncio

from storage.postgres.store import PostgresStore
from storage.stores import store_for


async def test_one_holder_at_a_time_until_the_lease_lapses(pg_url: str) -> None:
    async with store_for(pg_url) as a, store_for(pg_url) as b:
        assert isinstance(a, PostgresStore) and isinstance(b, PostgresStore)
        assert await a.take_lease("sweep", "A", now_ms=1_000, ttl_ms=45_000)
        assert not await b.take_lease("sweep", "B", now_ms=2_000, ttl_ms=45_000)
        assert await a.take_lease("sweep", "A", now_ms=31_000, ttl_ms=45_000)  # renewed
        assert not await b.take_lease("sweep", "B", now_ms=60_000, ttl_ms=45_000)
        assert await b.take_lease("audit", "B", now_ms=60_000, ttl_ms=45_000)  # another name
        # A stopped renewing: once its lease lapses, B takes over and A is out.
        assert await b.take_lease("sweep", "B", now_ms=76_000, ttl_ms=45_000)
        assert not await a.take_lease("sweep", "A", now_ms=77_000, ttl_ms=45_000)


async def test_processes_asking_at_once_get_one_lease(pg_url: str) -> None:
    stores = [store_for(pg_url) for _ in range(4)]
    for store in stores:
        await store.open()
    try:
        taken = await asyncio.gather(*(
            s.take_lease("audit", f"P{n}", now_ms=5_000, ttl_ms=10_000)  # type: ignore[union-attr]
            for n, s in enumerate(stores) for _ in range(3)
        ))
        winners = {n for n, ok in zip([n for n in range(4) for _ in range(3)], taken) if ok}
        assert len(winners) == 1
    finally:
        for store in stores:
            await store.close()

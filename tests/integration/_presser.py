"""A second bot process for the multi-process tests.

Usage: python -m tests.integration._presser DATABASE_URL REDIS_URL JOB_FILE

JOB_FILE holds {"mode": "press", "presses": [[packet_id, member_id], ...], "wave": n}
or {"mode": "expire", "now_ms": <int>, "limit": n}. The process opens its own store (SQLite or PostgreSQL) and
RedisGate, prints "ready", waits for a line on stdin (so that several processes
start together), does the job and prints one JSON line with the results.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from core.packets import Member
from core.services import PressResult, RedPackets, SystemClock
from storage.gate.redis_gate import connect_gate
from storage.stores import store_for
from tests.clock import FakeClock


async def expire(service: RedPackets, limit: int) -> list[Any]:
    """Sweep in small batches until nothing is due, so two sweepers interleave."""
    refunded: list[Any] = []
    while refunds := await service.expire_due(limit):
        refunded.extend([r.packet.id, r.packet.sender_id, r.amount] for r in refunds)
        await asyncio.sleep(0.001)
    return refunded


async def press_in_waves(
    service: RedPackets, presses: list[list[Any]], wave: int
) -> list[PressResult]:
    """Start the presses a wave at a time, so the other process's presses land in between."""
    tasks = []
    for start in range(0, len(presses), wave):
        for pid, mid in presses[start : start + wave]:
            tasks.append(asyncio.ensure_future(service.press(pid, Member(mid, f"member {mid}"))))
        await asyncio.sleep(0.002)
    return list(await asyncio.gather(*tasks))


async def run(database_url: str, redis_url: str, job: dict[str, Any]) -> list[Any]:
    gate = connect_gate(redis_url)
    try:
        async with store_for(database_url) as store:
            now = job.get("now_ms")
            clock = SystemClock() if now is None else FakeClock(now)
            service = RedPackets(store, gate, clock=clock)
            print("ready", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            if job["mode"] == "expire":
                return await expire(service, job.get("limit", 500))
            results = await press_in_waves(service, job["presses"], job.get("wave", 25))
            return [
                [pid, mid, r.answer.value, r.share.amount if r.share else None]
                for (pid, mid), r in zip(job["presses"], results)
            ]
    finally:
        await gate.aclose()


def main() -> None:
    database_url, redis_url, job_file = sys.argv[1:4]
    with open(job_file, encoding="utf-8") as f:
        job = json.load(f)
    results = asyncio.run(run(database_url, redis_url, job))
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()

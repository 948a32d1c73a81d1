"""Two OS processes shake the same campaigns through one Redis and one SQLite file.

The pool is never overspent, cooldowns and win limits hold across processes,
and the audit is clean. Run as a module, this file is the worker.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from core.packets import Member
from core.services import RedPackets
from core.shake import CampaignRequest, ShakeLimits
from core.shake_service import ShakeAnswer, ShakeService
from storage.gate.redis_gate import connect_gate
from storage.gate.shake_gate import RedisShakeGate
from storage.stores import campaigns_for
from storage.sqlite.store import SqliteStore
from tests.conftest import RedisServer, assert_audit_clean

MEMBERS = range(100, 140)
SHAKES_EACH = 3
ROOT = Path(__file__).resolve().parents[2]


class Lucky(random.Random):
    def random(self) -> float:
        return 0.0


def shake_service(store: SqliteStore, redis_url: str, interval_ms: int, max_wins: int) -> ShakeService:
    # Generous timeouts: this test is about limits across processes, and a
    # loaded machine must not turn shakes into "Not this time".
    gate = connect_gate(redis_url, timeout_s=30.0)
    return ShakeService(
        campaigns_for(store), RedisShakeGate(gate.client),
        limits=ShakeLimits(interval_ms=interval_ms, max_wins=max_wins), rng=Lucky(),
        gate_timeout_s=30.0,
    )


async def worker(db: str, redis_url: str, campaign_ids: list[str]) -> dict[str, list[list[object]]]:
    async with SqliteStore(db) as store:
        shakes = shake_service(store, redis_url, 0, 1)
        jobs = [
            (cid, member)
            for cid in campaign_ids
            for member in MEMBERS
            for _ in range(SHAKES_EACH)
        ]
        random.Random(1).shuffle(jobs)
        results = await asyncio.gather(
            *(shakes.shake(cid, Member(member, f"m{member}")) for cid, member in jobs)
        )
        out: dict[str, list[list[object]]] = {cid: [] for cid in campaign_ids}
        for (cid, member), result in zip(jobs, results):
            out[cid].append([member, result.answer.value])
        return out


async def test_two_processes_never_overspend_and_respect_limits(
    tmp_path: Path, redis_server: RedisServer | None
) -> None:
    if redis_server is None:
        pytest.skip("needs a real redis-server shared by two processes")
    db = str(tmp_path / "shared.db")
    boss = Member(1, "Boss")
    async with SqliteStore(db) as store:
        await store.credit(boss, 1_000_00, kind="grant", key="g", memo="", now_ms=1)
        flush = connect_gate(redis_server.url)
        await flush.client.flushdb()
        await flush.aclose()
        cooling = shake_service(store, redis_server.url, interval_ms=600_000, max_wins=5)
        limited = shake_service(store, redis_server.url, interval_ms=0, max_wins=2)
        # More prizes than one shake each could take: the cooldown is what limits.
        cool = await cooling.start(CampaignRequest(-1, boss, 200_00, 60), "cool")
        # Fewer prizes than shakes: the pool and the win limit are what limit.
        tight = await limited.start(CampaignRequest(-2, boss, 150_00, 50), "tight")

    ids = [cool.id, tight.id]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.test_shake_processes", db,
             redis_server.url, *ids],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))

    answers: dict[str, list[tuple[int, str]]] = {cid: [] for cid in ids}
    for output in outputs:
        for cid in ids:
            answers[cid].extend((m, a) for m, a in output[cid])
    assert all(a != ShakeAnswer.NOT_THIS_TIME for cid in ids for _, a in answers[cid])

    async with SqliteStore(db) as store:
        campaigns = campaigns_for(store)
        # Cooldown: across both processes, each member's shake counted once.
        counted = Counter(m for m, a in answers[cool.id] if a != ShakeAnswer.COOLDOWN)
        assert set(counted.values()) == {1} and len(counted) == len(MEMBERS)
        cool_wins = await campaigns.wins(cool.id)
        assert len(cool_wins) == len(MEMBERS)
        assert max(Counter(w.member_id for w in cool_wins).values()) == 1

        tight_wins = await campaigns.wins(tight.id)
        assert len(tight_wins) == 50  # every prize went, none twice
        assert max(Counter(w.member_id for w in tight_wins).values()) <= 2
        assert sum(w.amount for w in tight_wins) <= 150_00
        after = await campaigns.get_campaign(tight.id)
        assert after is not None and after.status == "finished"
        assert after.won_amount + after.refunded == 150_00
        won_answers = sum(1 for cid in ids for _, a in answers[cid] if a == ShakeAnswer.WON)
        assert won_answers == len(cool_wins) + len(tight_wins)

        await assert_audit_clean(RedPackets(store, None))
        report = await ShakeService(campaigns, None).audit(repair=False)
        assert report.ok, report.problems


if __name__ == "__main__":
    db_path, url, *campaign_ids = sys.argv[1:]
    print(json.dumps(asyncio.run(worker(db_path, url, campaign_ids))))

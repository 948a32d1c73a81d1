"""Two OS processes share one redis-server and one SQLite file (real Redis only)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from core.packets import Limits
from core.services import RedPackets
from storage.gate.redis_gate import RedisGate, connect_gate
from storage.sqlite.store import SqliteStore
from tests.conftest import FakeClock, RedisServer, assert_audit_clean
from tests.integration.helpers import (
    WELCOME_BONUS,
    assert_conserved,
    fixed,
    fund,
    lucky,
    member,
    members,
    project_root,
)

PROCESSES = 2


@pytest.fixture
async def real_gate(redis_server: RedisServer | None) -> Any:
    if redis_server is None:
        pytest.skip("no redis-server here: the multi-process tests need a real one")
    gate = connect_gate(redis_server.url)
    await gate.client.flushdb()
    yield gate
    await gate.aclose()


@pytest.fixture
async def service(store: SqliteStore, real_gate: RedisGate, clock: FakeClock) -> RedPackets:
    return RedPackets(store, real_gate, clock=clock, limits=Limits(), welcome_bonus=WELCOME_BONUS)


async def run_processes(
    database_url: str, redis_url: str, jobs: list[dict[str, Any]], tmp_path: Path
) -> list[list[Any]]:
    """Start one presser per job, let them all go at once, return each one's results."""
    env = {**os.environ, "PYTHONPATH": str(project_root())}
    procs: list[asyncio.subprocess.Process] = []
    errors = [tmp_path / f"presser{n}.stderr" for n in range(len(jobs))]
    try:
        for n, job in enumerate(jobs):
            job_file = tmp_path / f"job{n}.json"
            job_file.write_text(json.dumps(job), encoding="utf-8")
            with errors[n].open("wb") as stderr:
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "tests.integration._presser",
                        database_url, redis_url, str(job_file),
                        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                        stderr=stderr, cwd=project_root(), env=env,
                    )
                )
        for n, proc in enumerate(procs):
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line.strip() == b"ready", (line, errors[n].read_text())
        for proc in procs:  # the starting gun
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        outputs = []
        for n, proc in enumerate(procs):
            out, _ = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, errors[n].read_text()
            outputs.append(json.loads(out.decode().strip().splitlines()[-1]))
        return outputs
    finally:
        for proc in procs:  # never leave a presser behind
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_two_processes_press_the_same_packets(
    service: RedPackets, real_gate: RedisGate, redis_server: RedisServer,
    database_url: str, tmp_path: Path,
) -> None:
    senders = [member(0), member(1)]
    for s in senders:
        await fund(service, s, 1_000_00)
    sent = [
        await service.send(lucky(senders[0], 100, 100_00), key="mp-lucky-1"),
        await service.send(lucky(senders[1], 100, 377_77), key="mp-lucky-2"),
        await service.send(fixed(senders[0], 100, 1_11), key="mp-fixed"),
    ]
    # A packet the crowd cannot finish: its gate stays live, so the audit checks it.
    unfinished = await service.send(lucky(senders[1], 100, 100_00), key="mp-unfinished")
    crowd = members(300, start=100)
    jobs = []
    for n in range(PROCESSES):  # every process presses every (packet, member), in its own order
        presses = [[p.id, m.id] for p in sent for m in crowd]
        presses += [[unfinished.id, m.id] for m in crowd[:60]]
        random.Random(n).shuffle(presses)
        jobs.append({"mode": "press", "presses": presses})

    outputs = await run_processes(database_url, redis_server.url, jobs, tmp_path)

    got: dict[str, list[int]] = defaultdict(list)
    paid: Counter[int] = Counter()
    for results in outputs:
        assert {answer for _, _, answer, _ in results} <= {"got", "already", "too_slow"}
        for pid, mid, answer, amount in results:
            if answer == "got":
                got[pid].append(mid)
                paid[mid] += amount
    for packet in sent:
        found = await service.packet_and_shares(packet.id)
        assert found is not None
        stored, shares = found
        assert stored.is_finished
        assert len(shares) == stored.count == 100
        assert len({s.member_id for s in shares}) == 100
        assert sum(s.amount for s in shares) == stored.total
        assert min(s.amount for s in shares) >= 1
        assert sorted(got[packet.id]) == sorted(s.member_id for s in shares)
    shares = await service.store.shares(unfinished.id)
    assert sorted(got[unfinished.id]) == sorted(s.member_id for s in shares)
    assert sorted(got[unfinished.id]) == sorted(m.id for m in crowd[:60])
    # Each member of the 60 pressed from both processes at once: the gate still agrees.
    state = await real_gate.state(unfinished.id)
    assert state is not None
    assert (state.tickets, state.holders) == (40, frozenset(m.id for m in crowd[:60]))
    for m in crowd:
        assert await service.store.balance(m.id) == paid[m.id]
    await assert_conserved(service.store)
    await assert_audit_clean(service)


async def test_two_processes_expiring_at_once_refund_once(
    service: RedPackets, redis_server: RedisServer, clock: FakeClock,
    database_url: str, tmp_path: Path,
) -> None:
    senders = [member(0), member(1), member(2)]
    for s in senders:
        await fund(service, s, 1_000_00)
    sent = []
    for n in range(24):
        packet = await service.send(lucky(senders[n % 3], 10, 10_00 + n), key=f"mp-expire-{n}")
        for m in members(n % 6, start=100):  # some taken, some untouched
            await service.press(packet.id, m)
        sent.append(await service.store.get_packet(packet.id))
    balances = {s.id: await service.store.balance(s.id) for s in senders}
    now = clock.now_ms() + Limits().ttl_ms + 1_000
    jobs = [{"mode": "expire", "now_ms": now, "limit": 2} for _ in range(PROCESSES)]

    outputs = await run_processes(database_url, redis_server.url, jobs, tmp_path)

    refunded = [row for rows in outputs for row in rows]
    assert sorted(pid for pid, _, _ in refunded) == sorted(p.id for p in sent)
    expected: Counter[int] = Counter()
    for p in sent:
        expected[p.sender_id] += p.total - p.claimed_amount
    for pid, sender_id, amount in refunded:
        p = next(p for p in sent if p.id == pid)
        assert (sender_id, amount) == (p.sender_id, p.total - p.claimed_amount)
    for s in senders:
        assert await service.store.balance(s.id) == balances[s.id] + expected[s.id]
    (refund_rows,) = await service.store.fetchone(
        "SELECT COUNT(*) FROM transfers WHERE kind = 'refund'"
    )
    assert refund_rows == len(sent)
    clock.now = now
    assert await service.expire_due() == []
    await assert_conserved(service.store)
    await assert_audit_clean(service)

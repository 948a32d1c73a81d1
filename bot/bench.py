"""`redpacket bench`: many members press many packets at once, measured."""

from __future__ import annotations

import asyncio
import os
import platform
import random
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from core.packets import Kind, Member, PacketRequest
from core.services import PressAnswer

from bot.engine import open_engine
from bot.settings import Settings


@dataclass
class BenchResult:
    gate: str
    packets: int
    shares_per_packet: int
    members: int
    presses: int
    concurrency: int
    seconds: float
    presses_per_s: float
    us_per_press: float
    settled_per_s: float
    p50_ms: float
    p99_ms: float
    turned_away: float | None  # None without a gate: nothing turns presses away before SQLite
    answers: dict[str, int]
    db_batches: int
    audit_ok: bool
    audit_problems: list[str]
    machine: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def machine_line() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


async def run_bench(
    settings: Settings,
    *,
    packets: int,
    shares: int,
    members: int,
    presses: int,
    concurrency: int,
    gate: bool,
    db_path: Path | None = None,
) -> BenchResult:
    workdir = tempfile.mkdtemp(prefix="redpacket-bench-")
    path = db_path or Path(workdir) / "bench.db"
    if db_path is None and settings.uses_postgres:
        path = None  # DATABASE_URL: a scratch PostgreSQL database
    engine = await open_engine(settings, db_path=path, use_gate=gate)
    service = engine.packets
    try:
        crowd = [Member(10_000 + i, f"member{i}") for i in range(members)]
        sender = Member(1, "Sender")
        await service.store.credit(
            sender, packets * shares * 100, kind="grant", key=f"bench:{workdir}", memo="bench",
            now_ms=service.clock.now_ms(),
        )
        sent = await asyncio.gather(*(
            service.send(
                PacketRequest(chat_id=-1, sender=sender, kind=Kind.LUCKY, count=shares,
                              amount=shares * 100),
                key=f"bench:{workdir}:{i}",
            )
            for i in range(packets)
        ))
        rng = random.Random(7)
        plan = [(rng.choice(sent).id, rng.choice(crowd)) for _ in range(presses)]
        latencies: list[float] = []
        answers: dict[str, int] = {}
        cursor = iter(plan)

        async def presser() -> None:
            for packet_id, member in cursor:
                started = time.perf_counter()
                result = await service.press(packet_id, member)
                latencies.append(time.perf_counter() - started)
                answers[result.answer.value] = answers.get(result.answer.value, 0) + 1

        batches_before = service.store.writer.batches if service.store.writer else 0
        started = time.perf_counter()
        await asyncio.gather(*(presser() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        report = await service.audit(repair=False)
        settled = answers.get(PressAnswer.GOT.value, 0)
        latencies.sort()
        return BenchResult(
            gate=("embedded" if engine.gate.embedded else "redis") if engine.gate else "off",
            packets=packets,
            shares_per_packet=shares,
            members=members,
            presses=presses,
            concurrency=concurrency,
            seconds=round(seconds, 3),
            presses_per_s=round(presses / seconds, 1),
            us_per_press=round(seconds * 1e6 / presses, 2),
            settled_per_s=round(settled / seconds, 1),
            p50_ms=round(statistics.median(latencies) * 1000, 2),
            p99_ms=round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
            turned_away=(round(sum(service.turned_away.values()) / presses, 4)
                         if engine.gate else None),
            answers=answers,
            db_batches=(service.store.writer.batches if service.store.writer else 0) - batches_before,
            audit_ok=report.ok,
            audit_problems=report.problems[:10],
            machine=machine_line(),
        )
    finally:
        await engine.close()

"""`redpacket verify` as anyone runs it: a real process on a real database file."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from core.allocation import Rule
from core.packets import Kind, Limits, Member, PacketRequest
from core.services import RedPackets
from storage.sqlite.store import SqliteStore
from tests.conftest import FakeClock, assert_audit_clean

SENDER = Member(1, "Alice")
TAKERS = [Member(10 + i, f"Member {i}") for i in range(6)]


def redpacket(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env,
        timeout=120,
    )


async def make_packet(
    service: RedPackets, clock: FakeClock, *, total: int, count: int, takers: int,
    rule: Rule | None = None, key: str,
) -> str:
    await service.greet(SENDER)
    request = PacketRequest(-100, SENDER, Kind.LUCKY, count, total)
    packet = await service.send(request, key, lucky_rule=rule)
    for member in TAKERS[:takers]:
        clock.advance(1)
        await service.greet(member)
        assert (await service.press(packet.id, member)).share is not None
    return packet.id


async def test_verify_agrees_on_genuine_packets_and_finds_a_changed_share(tmp_path: Path) -> None:
    db = tmp_path / "redpacket.db"
    clock = FakeClock()
    async with SqliteStore(db) as store:
        service = RedPackets(store, None, clock=clock, limits=Limits(ttl_ms=3_600_000),
                             welcome_bonus=100_00)
        lucky = await make_packet(service, clock, total=10_00, count=5, takers=5, key="a")
        segment = await make_packet(service, clock, total=7_77, count=3, takers=3,
                                    rule=Rule.SEGMENT, key="b")
        expired = await make_packet(service, clock, total=5_00, count=4, takers=2, key="c")
        clock.advance(3 * 3600)
        assert len(await service.expire_due()) == 1
        live = await make_packet(service, clock, total=3_00, count=3, takers=1, key="d")
        live_seed = (await store.get_packet(live)).seed  # type: ignore[union-attr]
        seeds = {pid: (await store.get_packet(pid)).seed for pid in (lucky, segment)}  # type: ignore[union-attr]
        await assert_audit_clean(service)

    for packet_id, count in ((lucky, 5), (segment, 3)):
        done = redpacket("verify", packet_id, "--db", str(db))
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert sum(line.endswith(": agrees") for line in lines) == count
        assert f"Seed: {seeds[packet_id].hex()}" in lines
        assert f"SHA-256 of the seed: {hashlib.sha256(seeds[packet_id]).hexdigest()}" in lines
        assert lines[-1] == f"All {count} share(s) taken agree with the seed."

    done = redpacket("verify", expired, "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert sum(": agrees" in line for line in done.stdout.splitlines()) == 2
    assert done.stdout.count("not taken (refunded)") == 2

    # A live packet keeps its seed: one line on stderr, exit 2, the seed nowhere.
    done = redpacket("verify", live, "--db", str(db))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "still live" in done.stderr
    assert "Traceback" not in done.stderr and live_seed.hex() not in done.stderr

    # Someone with database access pays share 3 one cent more.
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER shares_are_final")
        conn.execute(
            "UPDATE shares SET amount = amount + 1 WHERE packet_id = ? AND position = 3", (lucky,)
        )
    done = redpacket("verify", lucky, "--db", str(db))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    differs = [line for line in lines if line.endswith(": differs")]
    assert len(differs) == 1 and differs[0].startswith("position 3: paid ")
    assert sum(line.endswith(": agrees") for line in lines) == 4
    assert lines[-1] == "1 share(s) differ from the seed: position(s) 3."
    async with SqliteStore(db) as store:  # the audit sees it too
        report = await RedPackets(store, None).audit(repair=False)
        assert any(f"packet {lucky}: share 3" in p for p in report.problems)


def test_bad_input_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    cases = [
        (["verify", "AAAAAAAAAA", "--db", str(tmp_path / "none.db")], "no database at"),
        (["verify", "--seed", "xyz", "--rule", "segment", "--total", "1", "--count", "2"],
         "hexadecimal"),
        (["verify", "--seed", "00", "--rule", "fixed", "--total", "1.00", "--count", "3"],
         "whole number of equal shares"),
        (["verify"], "give a packet id, or --seed"),
    ]
    for args, words in cases:
        done = redpacket(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr

"""The `redpacket` command as a self-hoster runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.packets import Kind, Limits, Member, PacketRequest
from core.services import RedPackets
from tests.servers import free_port
from storage.sqlite.store import SqliteStore


def redpacket(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "DATABASE_URL"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd, timeout=240,
    )


def test_demo_ends_with_a_clean_audit(tmp_path: Path) -> None:
    result = redpacket("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Audit clean" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("gate", ["on", "off"])
def test_bench_prints_one_json_object(tmp_path: Path, gate: str) -> None:
    result = redpacket(
        "bench", "--packets", "3", "--shares", "10", "--members", "50", "--presses", "300",
        "--concurrency", "50", "--gate", gate, "--json", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for key in ("presses_per_s", "settled_per_s", "p50_ms", "p99_ms", "turned_away", "audit_ok"):
        assert key in figures
    assert figures["audit_ok"] is True
    assert figures["answers"]["got"] == 30


def test_bench_against_real_redis(tmp_path: Path, redis_server) -> None:  # type: ignore[no-untyped-def]
    if redis_server is None:
        pytest.skip("no redis-server here")
    result = redpacket(
        "bench", "--packets", "2", "--shares", "10", "--members", "40", "--presses", "200",
        "--json", env={"REDIS_URL": redis_server.url}, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["gate"] == "redis" and figures["audit_ok"] is True


async def _busy_database(path: Path) -> None:
    async with SqliteStore(path) as store:
        service = RedPackets(store, None, limits=Limits(), welcome_bonus=100_00)
        alice = Member(1, "Alice")
        packet = await service.send(PacketRequest(-1, alice, Kind.LUCKY, 5, 20_00), key="k")
        for i in range(7):
            await service.press(packet.id, Member(10 + i, f"m{i}"))


async def test_audit_is_clean_then_reports_tampering(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    await _busy_database(db)
    clean = redpacket("audit", "--db", str(db), cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Clean" in clean.stdout

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 'w:10'")
    dirty = redpacket("audit", "--db", str(db), cwd=tmp_path)
    assert dirty.returncode == 1
    assert "w:10" in dirty.stdout and "problem" in dirty.stdout
    assert "Traceback" not in dirty.stderr


def test_a_malformed_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = redpacket("audit", env={"DATABASE_URL": "mysql://nope"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_postgres_nobody_listens_on_is_one_clear_line(tmp_path: Path) -> None:
    url = f"postgresql://rp:hunter2@127.0.0.1:{free_port()}/rp"
    result = redpacket("audit", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_audit_without_a_database_says_so(tmp_path: Path) -> None:
    result = redpacket("audit", "--db", str(tmp_path / "missing.db"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no database" in result.stderr


async def test_stats_on_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    await _busy_database(db)
    result = redpacket("stats", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Packets sent" in result.stdout and "Alice" in result.stdout


def test_help_reads_plainly_and_every_command_says_what_it_does(tmp_path: Path) -> None:
    top = redpacket("--help", cwd=tmp_path)
    assert top.returncode == 0 and "`" not in top.stdout
    for command in ("run", "demo"):
        shown = redpacket(command, "--help", cwd=tmp_path)
        assert shown.returncode == 0
        description = shown.stdout.split("\n\n")[1]  # after the usage line
        assert not description.startswith("options:") and len(description) > 40


def test_the_demo_says_where_its_database_is_and_stats_reads_its_turned_away(
    tmp_path: Path,
) -> None:
    demo = redpacket("demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    out = " ".join(demo.stdout.split())  # rich wraps long lines
    assert "share(s)" not in out and "{'" not in out  # no raw Python in what people read
    assert "in 10 shares" in out and "in 1 share " in out
    db = out.split("redpacket stats --db ")[-1].split()[0]
    assert Path(db).exists()
    saved = int(out.split(" presses were turned away at the gate")[0].split()[-1])
    assert saved > 0
    stats = redpacket("stats", "--db", db, cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    (line,) = [line for line in stats.stdout.splitlines() if "turned away" in line]
    assert line.split("│")[-2].strip() == str(saved)


def test_bench_says_where_its_database_is(tmp_path: Path) -> None:
    result = redpacket(
        "bench", "--packets", "2", "--shares", "5", "--members", "20", "--presses", "40",
        "--concurrency", "10", "--json", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert Path(json.loads(result.stdout)["db"]).exists()


def test_a_database_in_a_missing_directory_is_said_in_one_log_line(tmp_path: Path) -> None:
    import asyncio
    import logging

    missing = tmp_path / "typo" / "redpacket.db"
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("storage.sqlite.store").addHandler(handler)
    try:
        async def open_and_close() -> None:
            store = SqliteStore(missing)
            await store.open()
            await store.close()

        asyncio.run(open_and_close())
        asyncio.run(open_and_close())  # the second time the file exists: nothing to say
    finally:
        logging.getLogger("storage.sqlite.store").removeHandler(handler)
    warnings = [r for r in records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "DATABASE_URL" in warnings[0].getMessage()
    assert str(missing.parent) in warnings[0].getMessage()


@pytest.mark.parametrize("url", ["notaurl", "http://foo", "redis://:badport/0"])
@pytest.mark.parametrize("command", ["run", "audit"])
def test_a_malformed_redis_url_stops_with_one_line(tmp_path: Path, command: str, url: str) -> None:
    env = {"REDIS_URL": url, "TELEGRAM_BOT_TOKEN": "123:ABC",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    result = redpacket(command, env=env, cwd=tmp_path)  # a hang trips the timeout
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "REDIS_URL" in line and "redis://" in line and "unix://" in line

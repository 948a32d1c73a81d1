"""`redpacket bench`: bad options say so in one line; through the bot, a small crowd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def redpacket(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "DATABASE_URL"))}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


@pytest.mark.parametrize(("options", "message"), [
    (["--packets", "0"], "--packets must be at least 1"),
    (["--shares", "500"], "--shares must be at most 100 (MAX_SHARES)"),
    (["--shares", "0"], "--shares must be at least 1"),
    (["--presses", "-3"], "--presses must be at least 1"),
    (["--concurrency", "0"], "--concurrency must be at least 1"),
    (["--through-bot", "--packets", "0"], "--packets must be at least 1"),
    (["--through-bot", "--gate", "off"], "--gate off is for the services bench"),
])
def test_bad_options_give_one_line_and_fail(tmp_path: Path, options: list[str],
                                            message: str) -> None:
    result = redpacket("bench", *options, cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"redpacket: {message}")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_every_bench_option_is_explained(tmp_path: Path) -> None:
    from bot.cli import _parser

    bench = _parser()._subparsers._group_actions[0].choices["bench"]  # type: ignore[union-attr]
    for action in bench._actions:
        assert action.help, action.option_strings


def test_without_a_gate_nothing_is_reported_turned_away(tmp_path: Path) -> None:
    args = ["bench", "--packets", "2", "--shares", "10", "--members", "30", "--presses", "200",
            "--concurrency", "20", "--gate", "off"]
    printed = redpacket(*args, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert "turned away" not in printed.stdout
    figures = json.loads(redpacket(*args, "--json", cwd=tmp_path).stdout)
    assert figures["turned_away"] is None and figures["audit_ok"] is True


@pytest.mark.timeout(600)  # three processes on a shared machine; no speed is asserted
def test_through_the_bot_every_press_is_answered_once_and_the_audit_is_clean(
    tmp_path: Path,
) -> None:
    result = redpacket("bench", "--through-bot", "--presses", "200", "--packets", "2",
                       "--shares", "30", "--answer-window", "120", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout)
    for key in ("answered_per_s", "p50_ms", "p95_ms", "p99_ms", "peak_rss_mb",
                "client_floor_per_s", "audit_ok"):
        assert key in figures
    assert figures["audit_ok"] is True and figures["answered_once"] is True
    assert figures["answered"] == 200 and figures["unanswered"] == 0
    assert figures["got"] == figures["shares_taken"] == 60  # both packets ran out
    assert figures["final_edit_ok"] is True  # the last edit shows them finished
    assert figures["max_edits_per_min"] <= 20
    assert figures["peak_rss_mb"] > 0 and figures["client_floor_per_s"] > 0
    assert figures["bot_cpu_ms_per_press"] > 0 and figures["client_cpu_ms_per_answer"] > 0


def test_the_services_bench_runs_on_the_postgresql_database_it_is_given(
    tmp_path: Path, pg_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "bench", "--packets", "2", "--shares", "10",
         "--members", "30", "--presses", "200", "--concurrency", "20", "--json"],
        capture_output=True, text=True, env={**env, "DATABASE_URL": pg_url}, cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["audit_ok"] is True and figures["answers"]["got"] == 20
    assert figures["db"].startswith("postgresql://") and not list(tmp_path.iterdir())
    import psycopg

    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM shares").fetchone() == (20,)

"""`redpacket migrate`: a database made by `redpacket demo`, copied into PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from core.services import RedPackets
from storage.stores import store_for
from tests.conftest import Postgres
from tests.integration.helpers import project_root


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
        cwd=project_root(), env={**os.environ, **(env or {})}, timeout=300,
    )


async def balances(url: str) -> tuple[dict[str, int], list[str], int]:
    async with store_for(url) as store:
        report = await RedPackets(store, None).audit(repair=False)
        rows = await store.fetchall("SELECT id, balance FROM accounts")
        (shares,) = await store.fetchone("SELECT COUNT(*) FROM shares")
    return dict(rows), report.problems, shares


def test_a_demo_database_moves_to_postgres_whole(tmp_path: Path, postgres: Postgres) -> None:
    demo = cli("demo", env={"TMPDIR": str(tmp_path), "DATABASE_URL": "sqlite:///unused.db"})
    assert demo.returncode == 0, demo.stderr
    (db,) = tmp_path.glob("redpacket-demo-*/demo.db")
    source = f"sqlite:///{db}"
    target = postgres.server.url(postgres.empty_database())

    moved = cli("migrate", "--from", source, "--to", target)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "both audits clean" in moved.stdout

    lite_balances, lite_problems, lite_shares = asyncio.run(balances(source))
    pg_balances, pg_problems, pg_shares = asyncio.run(balances(target))
    assert lite_problems == [] and pg_problems == []
    assert lite_balances == pg_balances and len(pg_balances) > 50
    assert lite_shares == pg_shares > 0

    again = cli("migrate", "--from", source, "--to", target)
    assert again.returncode == 1
    assert "not empty" in again.stdout and "Traceback" not in again.stdout + again.stderr
    assert asyncio.run(balances(target))[0] == pg_balances  # nothing copied twice


def test_migrate_refuses_what_it_cannot_read_in_one_line(
    tmp_path: Path, postgres: Postgres
) -> None:
    missing = cli("migrate", "--from", f"sqlite:///{tmp_path}/none.db",
                  "--to", postgres.server.url("postgres"))
    assert missing.returncode == 1 and "no SQLite database" in missing.stdout
    wrong = cli("migrate", "--from", f"sqlite:///{tmp_path}/none.db", "--to", "mysql://x")
    assert wrong.returncode == 1 and "--to must be" in wrong.stdout
    assert "Traceback" not in missing.stderr + wrong.stderr

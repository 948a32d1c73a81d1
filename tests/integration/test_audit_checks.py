"""The audit's checks come from one explicit list, and its keys from one place."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from storage.sqlite import keys
from storage.sqlite.audit import ALL_CHECKS, CAMPAIGN_CHECKS, PACKET_CHECKS
from storage.stores import store_for


def test_a_store_audits_campaigns_without_the_campaign_module_imported(tmp_path: Path) -> None:
    """Nothing registers checks on import: a process that never imports the
    campaign adapter still finds a stray campaign escrow."""
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from storage.sqlite.store import SqliteStore

        async def main():
            async with SqliteStore({str(tmp_path / "a.db")!r}) as store:
                await store.write(lambda c: c.execute("INSERT INTO accounts(id) VALUES ('c:Stray00001')"))
                problems = await store.ledger_problems()
            assert "storage.sqlite.campaigns" not in sys.modules, "imported the campaigns"
            print(problems)

        asyncio.run(main())
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "escrow account c:Stray00001 belongs to no campaign" in run.stdout


async def test_the_store_runs_the_checks_it_is_given(database_url: str) -> None:
    async with store_for(database_url, audit_checks=PACKET_CHECKS) as store:
        await store.write(lambda c: c.execute("INSERT INTO accounts(id) VALUES ('c:Stray00001')"))
        assert await store.ledger_problems() == []
        assert store.audit_checks == PACKET_CHECKS
    async with store_for(database_url) as store:
        assert store.audit_checks == ALL_CHECKS
        assert len(await store.ledger_problems()) == 1
    assert set(CAMPAIGN_CHECKS) <= set(ALL_CHECKS) and set(PACKET_CHECKS) <= set(ALL_CHECKS)


def test_key_formats_build_the_same_key_in_python_and_in_sql() -> None:
    conn = sqlite3.connect(":memory:")
    cases = [
        (keys.WALLET, (42,)), (keys.PACKET_ESCROW, ("AbCdEf1234",)),
        (keys.CAMPAIGN_ESCROW, ("Zz09Zz09Zz",)), (keys.SHARE, ("AbCdEf1234", 7)),
        (keys.WIN, ("Zz09Zz09Zz", 3)), (keys.FUND, ("Zz09Zz09Zz",)),
        (keys.CAMPAIGN_REFUND, ("Zz09Zz09Zz",)), (keys.SEND, ("AbCdEf1234",)),
    ]
    for key_format, parts in cases:
        columns = [f"?{i + 1}" for i in range(len(parts))]
        (in_sql,) = conn.execute(f"SELECT {key_format.sql(*columns)}", parts).fetchone()
        built = key_format(*parts)
        assert in_sql == built
        (matches, first) = conn.execute(
            f"SELECT ?1 LIKE {key_format.sql_like()}, {key_format.sql_part('?1')}", (built,)
        ).fetchone()
        assert matches and first == ":".join(map(str, parts))
    assert keys.WALLET(42) == "w:42" and keys.SHARE("p", 1) == "share:p:1"

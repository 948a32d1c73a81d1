"""SQLite's crowd greeting (``greet_members``) does what ``greet_member`` does one by one."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from core.packets import Member
from storage.sqlite.store import SqliteStore, greet_member, greet_members, upsert_member
from storage.stores import store_for

_member = st.builds(
    Member, st.integers(1, 30), st.sampled_from(["Ann", "Bo", "陈", "Dee"]),
    st.none() | st.sampled_from(["ann", "bo"]))
_batch = st.lists(_member, max_size=12).map(lambda ms: list({m.id: m for m in ms}.values()))

TABLES = ("SELECT id, name, username, created_at FROM members ORDER BY id",
          "SELECT key, kind, src, dst, amount, packet_id, memo, at FROM transfers ORDER BY key",
          "SELECT id, balance FROM accounts ORDER BY id")


async def _run(folder: Path, known: list[Member], batches: list[list[Member]], bonus: int,
               crowd: bool) -> tuple[list[list[bool]], list[list[object]]]:
    name = "crowd" if crowd else "one_by_one"
    async with store_for(f"sqlite:///{folder / name}.db") as store:
        assert isinstance(store, SqliteStore)
        for member in known:  # stored by something else first (a /grant), no bonus yet
            await store.write(lambda c, m=member: upsert_member(c, m, 0))
        said = []
        for at, batch in enumerate(batches, start=1):
            if crowd:
                said.append(await store.write(lambda c, b=batch, t=at: greet_members(c, b, bonus, t)))
            else:
                said.append(await store.write(
                    lambda c, b=batch, t=at: [greet_member(c, m, bonus, t) for m in b]))
        tables = [list(map(tuple, await store.fetchall(sql))) for sql in TABLES]
        assert await store.run_checks(store.audit_checks) == []  # the ledger balances
        return said, tables


@settings(max_examples=25, deadline=None)
@given(_batch, st.lists(_batch, min_size=1, max_size=5), st.sampled_from([0, 100_00]))
def test_a_crowd_is_greeted_as_one_by_one(
    known: list[Member], batches: list[list[Member]], bonus: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        crowd = asyncio.run(_run(Path(folder), known, batches, bonus, crowd=True))
        alone = asyncio.run(_run(Path(folder), known, batches, bonus, crowd=False))
    assert crowd == alone

"""A crowd's first contact in one write does what ``upsert_member`` and the welcome
``transfer`` do one member at a time: on SQLite (``greet_members``, hypothesis) and
on PostgreSQL (``PgWrite.greet_members``, the store's own ``greet_many``)."""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from core.packets import Member
from storage.sqlite import keys
from storage.sqlite.keys import LedgerKind
from storage.sqlite.store import SqliteStore, transfer, upsert_member
from storage.stores import Store, store_for

_member = st.builds(
    Member, st.integers(1, 30), st.sampled_from(["Ann", "Bo", "陈", "Dee"]),
    st.none() | st.sampled_from(["ann", "bo"]))
_batch = st.lists(_member, max_size=12).map(lambda ms: list({m.id: m for m in ms}.values()))

TABLES = ("SELECT id, name, username, created_at FROM members ORDER BY id",
          "SELECT key, kind, src, dst, amount, packet_id, memo, at FROM transfers ORDER BY key",
          "SELECT id, balance FROM accounts ORDER BY id")

Outcome = tuple[list[list[bool]], list[list[tuple[object, ...]]]]


def one_by_one(conn: object, members: list[Member], bonus: int, now_ms: int) -> list[bool]:
    """The reference: each member on its own, as a single greeting does it."""
    said = []
    for member in members:
        is_new = upsert_member(conn, member, now_ms)  # type: ignore[arg-type]
        said.append(is_new if bonus <= 0 else transfer(
            conn, key=keys.WELCOME(member.id), kind=LedgerKind.WELCOME,  # type: ignore[arg-type]
            src=keys.MINT, dst=keys.WALLET(member.id), amount=bonus, at=now_ms))
    return said


async def _play(store: Store, known: list[Member], batches: list[list[Member]], bonus: int,
                crowd: bool) -> Outcome:
    for member in known:  # stored by something else first (a /grant), no bonus yet
        await store.write(lambda c, m=member: upsert_member(c, m, 0))
    said = []
    for at, batch in enumerate(batches, start=1):
        if crowd:
            said.append(await store.greet_many(batch, bonus, at))
        else:
            said.append(await store.write(lambda c, b=batch, t=at: one_by_one(c, b, bonus, t)))
    tables = [[tuple(row) for row in await store.fetchall(sql)] for sql in TABLES]
    assert await store.ledger_problems() == []
    return said, tables


async def _on_sqlite(folder: Path, name: str, known: list[Member], batches: list[list[Member]],
                     bonus: int, crowd: bool) -> Outcome:
    async with store_for(f"sqlite:///{folder / name}.db") as store:
        assert isinstance(store, SqliteStore)
        return await _play(store, known, batches, bonus, crowd)


@settings(max_examples=25, deadline=None)
@given(_batch, st.lists(_batch, min_size=1, max_size=5), st.sampled_from([0, 100_00]))
def test_sqlite_greets_a_crowd_as_one_by_one(
    known: list[Member], batches: list[list[Member]], bonus: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:  # the store's greet_many: greet_members
        crowd = asyncio.run(_on_sqlite(Path(folder), "crowd", known, batches, bonus, True))
        alone = asyncio.run(_on_sqlite(Path(folder), "alone", known, batches, bonus, False))
    assert crowd == alone


async def test_each_engine_greets_a_crowd_as_one_by_one(
    database_url: str, tmp_path: Path
) -> None:
    """Random crowds (repeat visitors, renamed members, members stored earlier), with
    and without a bonus, on the engine under test against the reference on SQLite."""
    draw = random.Random(8)
    names = ["Ann", "Bo", "陈", "Dee"]
    known = [Member(n, draw.choice(names), None) for n in range(1, 60, 7)]
    batches = [list({m.id: m for m in (
        Member(draw.randint(1, 90), draw.choice(names), draw.choice([None, "ann", "bo"]))
        for _ in range(draw.randint(0, 40)))}.values()) for _ in range(6)]
    for bonus in (100_00, 0):
        async with store_for(database_url) as store:
            await store.execute("DELETE FROM transfers")
            await store.execute("DELETE FROM accounts")
            await store.execute("DELETE FROM members")
            crowd = await _play(store, known, batches, bonus, crowd=True)
        alone = await _on_sqlite(tmp_path, f"alone{bonus}", known, batches, bonus, False)
        assert crowd == alone

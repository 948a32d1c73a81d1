"""Random sequences of send / press / advance / expire never make or lose a cent."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.errors import DomainError
from core.packets import Kind, Limits, PacketRequest
from core.services import PressAnswer, RedPackets
from storage.gate.redis_gate import RedisGate, connect_gate
from storage.stores import store_for
from tests.conftest import FakeClock
from tests.integration.helpers import CHAT_ID, WELCOME_BONUS, assert_conserved, member, money

MEMBERS = 5
LIMITS = Limits(max_share=30_00, max_count=6, ttl_ms=3600 * 1000)

sends = st.tuples(
    st.just("send"),
    st.integers(0, MEMBERS - 1),
    st.sampled_from([Kind.LUCKY, Kind.FIXED]),
    st.integers(0, 7),  # beyond max_count and zero: refused, nothing moves
    st.integers(-1, 60_00),
)
presses = st.tuples(st.just("press"), st.integers(0, 5), st.integers(0, MEMBERS - 1))
taps = st.tuples(st.just("tap"), st.integers(0, 5), st.integers(0, MEMBERS - 1))
advances = st.tuples(st.just("advance"), st.sampled_from([1, 600, 1800, 3601]))
expiries = st.tuples(st.just("expire"))
flushes = st.tuples(st.just("flush"))  # Redis lost everything: gates rebuild from SQLite
operations = st.lists(
    st.one_of(sends, presses, presses, taps, advances, expiries, flushes), min_size=1, max_size=40
)


async def play(ops: list[tuple[Any, ...]], with_gate: bool, fresh_url: Callable[[str], str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        gate = connect_gate("") if with_gate else None
        try:
            async with store_for(fresh_url(folder)) as store:
                clock = FakeClock()
                service = RedPackets(
                    store, gate, clock=clock, limits=LIMITS, welcome_bonus=WELCOME_BONUS
                )
                await run_operations(service, clock, ops)
                report = await service.audit(repair=False)
                assert report.ok, report.problems
                await assert_conserved(store)
                # Sweeping everything at the end leaves no escrow at all.
                clock.advance(LIMITS.ttl_ms / 1000)
                await service.expire_due()
                assert (await money(store)).escrow == 0
                report = await service.audit(repair=False)
                assert report.ok, report.problems
                await assert_conserved(store)
        finally:
            if gate is not None:
                await gate.aclose()


async def run_operations(
    service: RedPackets, clock: FakeClock, ops: list[tuple[Any, ...]]
) -> None:
    sent: list[str] = []
    paid: dict[tuple[str, int], int] = {}
    for n, op in enumerate(ops):
        match op:
            case ("send", who, kind, count, amount):
                request = PacketRequest(CHAT_ID, member(who), kind, count, amount)
                try:
                    packet = await service.send(request, key=f"op{n}")
                except DomainError:
                    continue
                sent.append(packet.id)
            case ("press" | "tap", index, who) if index < len(sent):
                times = 2 if op[0] == "tap" else 1
                results = await asyncio.gather(
                    *(service.press(sent[index], member(who)) for _ in range(times))
                )
                for result in results:
                    assert result.answer in {
                        PressAnswer.GOT, PressAnswer.ALREADY, PressAnswer.TOO_SLOW, PressAnswer.EXPIRED
                    }, result
                    if result.answer is PressAnswer.GOT:
                        assert result.share is not None
                        key = (sent[index], member(who).id)
                        assert key not in paid
                        paid[key] = result.share.amount
            case ("advance", seconds):
                clock.advance(seconds)
            case ("expire",):
                await service.expire_due()
            case ("flush",) if isinstance(service.gate, RedisGate):
                await service.gate.client.flushall()
        await assert_conserved(service.store)
    for packet_id in sent:
        found = await service.packet_and_shares(packet_id)
        assert found is not None
        packet, shares = found
        assert len(shares) <= packet.count
        assert sum(s.amount for s in shares) <= packet.total
        assert {(packet_id, s.member_id): s.amount for s in shares} == {
            k: v for k, v in paid.items() if k[0] == packet_id
        }


@pytest.fixture
def fresh_url(db_kind: str, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """A new empty database for each example: a file in its folder, or a PostgreSQL copy
    (dropped when the test ends)."""
    if db_kind == "sqlite":
        yield lambda folder: f"sqlite:///{Path(folder) / 'p.db'}"
        return
    postgres = request.getfixturevalue("postgres")
    made: list[str] = []

    def fresh(folder: str) -> str:
        made.append(postgres.fresh_database())
        return postgres.server.url(made[-1])

    yield fresh
    for name in made:
        postgres.drop(name)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations, with_gate=st.booleans())
def test_random_operations_keep_the_ledger_whole(
    ops: list[tuple[Any, ...]], with_gate: bool, fresh_url: Callable[[str], str]
) -> None:
    asyncio.run(play(ops, with_gate, fresh_url))

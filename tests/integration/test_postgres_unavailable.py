"""A PostgreSQL server that cannot answer is ``StoreUnavailable`` to core, never
a psycopg error: presses answer "not this time", and the store recovers."""

from __future__ import annotations

import psycopg
import pytest

from core.errors import StoreUnavailable
from core.packets import Member
from core.services import PressAnswer, RedPackets
from storage.postgres.store import PostgresStore
from tests.conftest import FakeClock, assert_audit_clean
from tests.integration.helpers import fund, lucky, member
from tests.servers import free_port


def cut_off(url: str, admin_url: str) -> int:
    """Every connection to ``url``'s database ended by the server (admin shutdown)."""
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


async def test_a_server_that_refuses_connections_is_store_unavailable() -> None:
    store = PostgresStore(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    with pytest.raises(StoreUnavailable):
        await store.open()


async def test_connections_ended_by_the_server_are_unavailable_then_reopened(
    pg_url: str, postgres: object, clock: FakeClock
) -> None:
    admin_url = postgres.server.url()  # type: ignore[attr-defined]
    async with PostgresStore(pg_url) as store:
        packets = RedPackets(store, None, clock=clock, welcome_bonus=100_00)
        sender = member(0)
        await fund(packets, sender, 10_00)
        packet = await packets.send(lucky(sender, 3, 3_00), key="outage")
        assert cut_off(pg_url, admin_url) >= 2  # the writer's and the readers'

        with pytest.raises(StoreUnavailable):
            await store.balance(sender.id)
        with pytest.raises(StoreUnavailable):
            await store.greet(Member(77, "Late"), 0, clock.now_ms())
        # A press during the outage fails with the port's error (the bot answers
        # it), or goes through once its connection was made again.
        for n in (1, 2):
            try:
                answer = (await packets.press(packet.id, member(n))).answer
            except StoreUnavailable:
                continue
            assert answer in (PressAnswer.NOT_THIS_TIME, PressAnswer.GOT)
        # The server is back for new connections: the store carries on.
        assert (await packets.press(packet.id, member(3))).answer is PressAnswer.GOT
        assert await store.greet(Member(78, "Later"), 0, clock.now_ms())
        await assert_audit_clean(packets)

"""The gate on a real 3-master Redis Cluster: one slot per packet, scripts unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from core.packets import Limits
from core.ports import Grab
from core.services import PressAnswer, RedPackets
from storage.gate.redis_gate import RedisGate, capacity_key, connect_gate, holders_key
from storage.gate.shake_gate import campaign_keys, cooldown_key
from storage.stores import Store
from tests.conftest import FakeClock, assert_audit_clean
from tests.integration.helpers import (
    WELCOME_BONUS,
    assert_storm_outcome,
    fund,
    lucky,
    member,
    members,
    storm,
)
from tests.servers import RedisCluster as ClusterServers


@pytest.fixture
async def cluster_gate(redis_cluster: ClusterServers) -> AsyncIterator[RedisGate]:
    gate = connect_gate(redis_cluster.url)
    assert isinstance(gate.client, RedisCluster)
    await gate.client.flushdb()  # every primary
    yield gate
    await gate.aclose()


@pytest.fixture
async def cluster_packets(store: Store, cluster_gate: RedisGate, clock: FakeClock) -> RedPackets:
    return RedPackets(store, cluster_gate, clock=clock, limits=Limits(), welcome_bonus=WELCOME_BONUS)


async def node_of(cluster: RedisCluster, key: str) -> Redis:
    """A plain client of the master that owns ``key``'s slot."""
    node = cluster.get_node_from_key(key)
    return Redis(host=node.host, port=node.port)


async def test_a_packets_keys_share_one_slot_and_packets_spread_over_every_node(
    cluster_gate: RedisGate,
) -> None:
    client = cluster_gate.client
    assert isinstance(client, RedisCluster)
    owners = set()
    for n in range(60):
        packet_id = f"Pk{n:08d}"
        slots = {await client.cluster_keyslot(capacity_key(packet_id)),
                 await client.cluster_keyslot(holders_key(packet_id))}
        assert len(slots) == 1
        owners.add(client.get_node_from_key(capacity_key(packet_id)).port)
        tag_slots = {await client.cluster_keyslot(k) for k in campaign_keys(packet_id)}
        tag_slots.add(await client.cluster_keyslot(cooldown_key(packet_id, 42)))
        assert len(tag_slots) == 1
    assert len(owners) == 3  # the load is spread over the three masters


async def test_the_scripts_run_unchanged_and_admit_exactly_the_capacity(
    cluster_gate: RedisGate,
) -> None:
    ids = [f"Cap{n:07d}" for n in range(12)]  # slots on every node, one pipeline
    for packet_id in ids:
        await cluster_gate.prime(packet_id, 5, (), 60_000)
    grabs = [(p, m) for p in ids for m in range(20)] * 2
    results = await asyncio.gather(*(cluster_gate.grab(p, m) for p, m in grabs))
    for packet_id in ids:
        mine = [r for (p, _), r in zip(grabs, results) if p == packet_id]
        assert mine.count(Grab.GRANTED) == 5
        state = await cluster_gate.state(packet_id)
        assert state is not None and state.tickets == 0 and len(state.holders) == 5
    await cluster_gate.release(ids[0], next(iter((await cluster_gate.state(ids[0])).holders)))
    assert (await cluster_gate.state(ids[0])).tickets == 1  # type: ignore[union-attr]
    assert await cluster_gate.grab("NeverPrimed", 1) is Grab.MISSING


async def test_a_storm_through_the_cluster_gives_every_share_once(
    cluster_packets: RedPackets,
) -> None:
    sender = member(0)
    await fund(cluster_packets, sender, 1_000_00)
    packet = await cluster_packets.send(lucky(sender, 100, 500_00), key="cluster-storm")
    crowd = members(400, start=1)
    balances = {m.id: 0 for m in crowd}
    results = await storm(cluster_packets, packet.id, crowd, presses_each=5)
    assert len(results) == 2_000
    await assert_storm_outcome(cluster_packets, packet.id, results, balances_before=balances)
    await assert_audit_clean(cluster_packets)


async def test_the_gate_is_rebuilt_after_a_nodes_keys_are_flushed(
    cluster_packets: RedPackets, cluster_gate: RedisGate
) -> None:
    sender = member(0)
    await fund(cluster_packets, sender, 100_00)
    packet = await cluster_packets.send(lucky(sender, 10, 10_00), key="flushed-node")
    first = members(4, start=1)
    for m in first:
        assert (await cluster_packets.press(packet.id, m)).answer is PressAnswer.GOT
    assert isinstance(cluster_gate.client, RedisCluster)
    node = await node_of(cluster_gate.client, capacity_key(packet.id))
    try:
        await node.flushall()  # that master lost its keys (a restart without persistence)
        await node.script_flush()  # and its scripts
    finally:
        await node.aclose()
    assert await cluster_gate.state(packet.id) is None

    assert (await cluster_packets.press(packet.id, first[0])).answer is PressAnswer.ALREADY
    results = await asyncio.gather(
        *(cluster_packets.press(packet.id, m) for m in members(30, start=10))
    )
    assert sum(r.answer is PressAnswer.GOT for r in results) == 6
    state = await cluster_gate.state(packet.id)
    assert state is not None and state.tickets == 0 and len(state.holders) == 10
    shares = await cluster_packets.store.shares(packet.id)
    assert len(shares) == 10 and len({s.member_id for s in shares}) == 10
    await assert_audit_clean(cluster_packets)

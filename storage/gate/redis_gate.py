"""The grab gate on Redis, or in-process on the embedded Lua host: one script, two homes."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.errors import GateUnavailable
from core.ports import GateState, Grab
from storage.gate.cluster import cluster_client, is_cluster_url
from storage.gate.health import GateHealth, where
from storage.gate.pipeline import ScriptPipeline
from storage.gate.scripts import lua

_GRAB_RESULTS = {1: Grab.GRANTED, 2: Grab.HELD, 0: Grab.EMPTY, -1: Grab.MISSING}


def capacity_key(packet_id: str) -> str:
    # The {hash tag} keeps a packet's keys in one Redis Cluster slot.
    return f"rp:{{{packet_id}}}:c"


def holders_key(packet_id: str) -> str:
    return f"rp:{{{packet_id}}}:h"


class RedisGate:
    def __init__(
        self, client: Redis, *, embedded: bool = False, health: GateHealth | None = None
    ) -> None:
        self.client = client
        self.embedded = embedded
        self.health = health or GateHealth("the embedded gate" if embedded else "redis")
        self._grab = client.register_script(lua("grab"))
        self._prime = client.register_script(lua("prime"))
        self._release = client.register_script(lua("release"))
        self._pipeline = ScriptPipeline(client, self.health)

    async def grab(self, packet_id: str, member_id: int) -> Grab:
        keys = (capacity_key(packet_id), holders_key(packet_id))
        result = await self._pipeline.call(self._grab, keys, (member_id,))
        return _GRAB_RESULTS[int(result)]

    async def prime(
        self, packet_id: str, capacity: int, holders: Sequence[int], ttl_ms: int
    ) -> None:
        keys = (capacity_key(packet_id), holders_key(packet_id))
        await self._pipeline.call(self._prime, keys, (capacity, max(ttl_ms, 1), *holders))

    async def release(self, packet_id: str, member_id: int) -> None:
        keys = (capacity_key(packet_id), holders_key(packet_id))
        await self._pipeline.call(self._release, keys, (member_id,))

    async def state(self, packet_id: str) -> GateState | None:
        try:
            capacity = await self.client.get(capacity_key(packet_id))
            holders = await self.client.smembers(holders_key(packet_id))
        except (RedisError, OSError) as exc:
            self.health.failed(exc)
            raise GateUnavailable(f"redis: {exc!r}") from exc
        self.health.answered()
        if capacity is None:
            return None
        return GateState(int(capacity) - len(holders), frozenset(int(h) for h in holders))

    async def reset(self, packet_id: str) -> None:
        try:
            await self.client.delete(capacity_key(packet_id), holders_key(packet_id))
        except (RedisError, OSError) as exc:
            self.health.failed(exc)
            raise GateUnavailable(f"redis: {exc!r}") from exc
        self.health.answered()

    async def ping(self) -> bool:
        """Whether Redis answers now (an outage is logged once, by ``health``)."""
        try:
            answered = bool(await self.client.ping())
        except (RedisError, OSError) as exc:
            self.health.failed(exc)
            return False
        self.health.answered()
        return answered

    async def aclose(self) -> None:
        await self.client.aclose()


def connect_gate(redis_url: str, *, timeout_s: float = 1.0, cluster: bool = False) -> RedisGate:
    """A gate on ``redis_url`` (a Redis Cluster if the URL is ``redis+cluster://``
    or ``cluster`` is set), or the embedded one when the URL is empty."""
    if not redis_url:
        from storage.gate.embedded import EmbeddedRedis

        return RedisGate(EmbeddedRedis(), embedded=True)  # type: ignore[arg-type]
    if cluster or is_cluster_url(redis_url):
        return RedisGate(
            cluster_client(redis_url, timeout_s=timeout_s),  # type: ignore[arg-type]
            health=GateHealth("redis cluster"),
        )
    client = Redis.from_url(
        redis_url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
    )
    return RedisGate(client, health=GateHealth(where(redis_url)))

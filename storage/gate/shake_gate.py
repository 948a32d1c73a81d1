"""The shake gate (``core.ports.ShakeGate``) on Redis or the embedded Lua host."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.errors import GateUnavailable
from core.ports import GateReply, Verdict
from storage.gate.health import GateHealth
from storage.gate.pipeline import ScriptPipeline
from storage.gate.scripts import lua

_VERDICTS = {
    1: Verdict.WIN, 0: Verdict.LOSE, 2: Verdict.COOLDOWN, 3: Verdict.MAXED,
    4: Verdict.EMPTY, -1: Verdict.MISSING,
}


def campaign_keys(campaign_id: str) -> tuple[str, str, str]:
    # The {hash tag} keeps a campaign's keys in one Redis Cluster slot.
    tag = f"sk:{{{campaign_id}}}"
    return f"{tag}:p", f"{tag}:n", f"{tag}:w"


def cooldown_key(campaign_id: str, member_id: int) -> str:
    return f"sk:{{{campaign_id}}}:c:{member_id}"


class RedisShakeGate:
    """Shares the Redis client (and so the connection pool) of the packet gate."""

    def __init__(self, client: Redis, health: GateHealth | None = None) -> None:
        self.client = client
        self.health = health or GateHealth("redis")
        self._shake = client.register_script(lua("shake"))
        self._prime = client.register_script(lua("shake_prime"))
        self._release = client.register_script(lua("shake_release"))
        self._pipeline = ScriptPipeline(client, self.health)

    async def shake(
        self, campaign_id: str, member_id: int, *, interval_ms: int, max_wins: int, win: bool
    ) -> GateReply:
        keys = (*campaign_keys(campaign_id), cooldown_key(campaign_id, member_id))
        args = (member_id, max(interval_ms, 0), max_wins, 1 if win else 0)
        verdict, left, shakes, wait = await self._pipeline.call(self._shake, keys, args)
        return GateReply(_VERDICTS[int(verdict)], int(left), int(shakes), int(wait))

    async def prime(
        self, campaign_id: str, prizes: int, wins: dict[int, int], ttl_ms: int
    ) -> None:
        pairs = [str(x) for member, n in wins.items() if n > 0 for x in (member, n)]
        await self._pipeline.call(
            self._prime, campaign_keys(campaign_id), (max(prizes, 0), max(ttl_ms, 1), *pairs)
        )

    async def release(self, campaign_id: str, member_id: int) -> None:
        await self._pipeline.call(self._release, campaign_keys(campaign_id), (member_id,))

    async def reset(self, campaign_id: str) -> None:
        try:
            await self.client.delete(*campaign_keys(campaign_id))
        except (RedisError, OSError) as exc:
            self.health.failed(exc)
            raise GateUnavailable(f"redis: {exc!r}") from exc
        self.health.answered()

    async def state(self, campaign_id: str) -> tuple[int, dict[int, int]] | None:
        """Prizes left and wins per member as the gate sees them; None if not built."""
        prizes_key, _, wins_key = campaign_keys(campaign_id)
        try:
            prizes = await self.client.get(prizes_key)
            wins = await self.client.hgetall(wins_key)
        except (RedisError, OSError) as exc:
            self.health.failed(exc)
            raise GateUnavailable(f"redis: {exc!r}") from exc
        self.health.answered()
        if prizes is None:
            return None
        return int(prizes), {int(m): int(n) for m, n in wins.items() if int(n) > 0}

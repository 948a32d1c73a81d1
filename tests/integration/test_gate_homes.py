"""One script, two homes: the embedded Lua host answers exactly as redis-server does."""

from __future__ import annotations

import random

import pytest

from storage.gate.redis_gate import connect_gate
from storage.gate.scripts import lua
from tests.conftest import RedisServer

SCRIPTS = ("grab", "prime", "release", "shake", "shake_prime", "shake_release")


def _operations(seed: int) -> list[tuple[str, list[str], list[object]]]:
    rng = random.Random(seed)
    packet = [f"rp:{{p{seed}}}:c", f"rp:{{p{seed}}}:h"]
    campaign = [f"sk:{{c{seed}}}:p", f"sk:{{c{seed}}}:n", f"sk:{{c{seed}}}:w"]
    ops: list[tuple[str, list[str], list[object]]] = [
        ("grab", packet, [1]),  # missing
        ("prime", packet, [3, 60_000, 7, 8]),
        ("prime", packet, [9, 60_000]),  # exists: no change
        ("shake", [*campaign, f"sk:{{c{seed}}}:c:1"], [1, 0, 1, 1]),  # missing
        ("shake_prime", campaign, [3, 60_000]),
    ]
    for _ in range(60):
        member = rng.randint(1, 6)
        kind = rng.choice(["grab", "grab", "release", "shake", "shake_release"])
        if kind == "grab":
            ops.append(("grab", packet, [member]))
        elif kind == "release":
            ops.append(("release", packet, [member]))
        elif kind == "shake":
            ops.append((
                "shake", [*campaign, f"sk:{{c{seed}}}:c:{member}"],
                [member, rng.choice([0, 50_000]), 2, rng.choice([0, 1])],
            ))
        else:
            ops.append(("shake_release", campaign, [member]))
    # The prizes key lost (a flush of one key): the rebuild keeps the shake count (SET … NX).
    ops += [("DEL", campaign[:1], []), ("shake_prime", campaign, [2, 60_000, 1, 1])]
    ops.append(("shake", [*campaign, f"sk:{{c{seed}}}:c:9"], [9, 0, 2, 1]))
    return ops


@pytest.mark.parametrize("seed", range(5))
async def test_the_embedded_host_replies_as_redis_does(
    seed: int, redis_server: RedisServer | None
) -> None:
    if redis_server is None:
        pytest.skip("no redis-server here to compare with")
    real, embedded = connect_gate(redis_server.url), connect_gate("")
    try:
        replies: dict[str, list[object]] = {}
        for name, gate in (("redis", real), ("embedded", embedded)):
            shas = {s: await gate.client.script_load(lua(s)) for s in SCRIPTS}
            out: list[object] = []
            for script, keys, args in _operations(seed):
                if script == "DEL":
                    out.append(await gate.client.delete(*keys))
                    continue
                reply = await gate.client.evalsha(shas[script], len(keys), *keys, *args)
                # The wait of a cooldown is a TTL: compare whether there is one, not its ms.
                if script == "shake" and isinstance(reply, list):
                    reply = [*reply[:3], reply[3] > 0]
                out.append(reply)
            replies[name] = out
        assert replies["embedded"] == replies["redis"]
    finally:
        await real.aclose()
        await embedded.aclose()

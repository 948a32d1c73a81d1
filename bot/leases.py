"""One process of many runs the expiry sweep and the periodic audit at a time.

On PostgreSQL (several processes, several machines) a lease row decides who;
the others skip that turn. On SQLite (one machine) every process runs the job:
it is safe to run twice (a refund is keyed once per packet), only wasted work.
"""

from __future__ import annotations

import os
import secrets
import socket

from bot.app import BotContext

# This process's name in the lease table: host, pid and a random part (a pid
# is reused after a restart; the lease of the dead process must not pass).
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def hold(ctx: BotContext, name: str, interval_s: float) -> bool:
    """True if this process should run job ``name`` now (and holds it for a while)."""
    take = getattr(ctx.store, "take_lease", None)
    if take is None:
        return True
    # Renewed every interval; lapses half an interval after its holder stops.
    ttl_ms = int(interval_s * 1500)
    return bool(await take(name, HOLDER, ctx.clock.now_ms(), max(ttl_ms, 1_000)))

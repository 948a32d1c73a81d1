"""Wires storage into core: the money engine every entry point shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.allocation import Rule
from core.eligibility import ChatRules, Eligibility
from core.packets import Limits
from core.ports import Clock
from core.services import RedPackets, SystemClock
from core.shake import ShakeLimits
from core.shake_service import ShakeService
from storage.gate.redis_gate import RedisGate, connect_gate
from storage.gate.shake_gate import RedisShakeGate
from storage.sqlite.standing import ChatStanding
from storage.stores import Store, campaigns_for, store_for

from bot.settings import Settings


def rule_defaults(settings: Settings) -> ChatRules:
    """Who may open, for chats that chose nothing (``.env``)."""
    return ChatRules(
        newcomer_hours=settings.newcomer_hours,
        premium_only=settings.premium_only,
        daily_limit=settings.daily_send_limit,
        personal=settings.personal_packets,
    )


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_share=settings.max_share,
        max_count=settings.max_shares,
        max_total=settings.max_total,
        ttl_ms=settings.packet_ttl_seconds * 1000,
    )


@dataclass
class Engine:
    store: Store
    gate: RedisGate | None
    packets: RedPackets
    shake: ShakeService | None = None
    eligibility: Eligibility | None = None
    standing: ChatStanding | None = None

    async def close(self) -> None:
        await self.packets.aclose()
        if self.shake is not None:
            await self.shake.aclose()
        if self.gate is not None:
            await self.gate.aclose()
        await self.store.close()


async def open_engine(
    settings: Settings,
    *,
    db_path: str | Path | None = None,
    clock: Clock | None = None,
    use_gate: bool = True,
) -> Engine:
    """Open the store DATABASE_URL names (``db_path``: this SQLite file instead)
    and the gate (Redis, Redis Cluster, or embedded when no URL)."""
    url = f"sqlite:///{db_path}" if db_path is not None else settings.database_url
    store = store_for(
        url, writers=settings.database_write_connections,
        readers=settings.database_read_connections,
    )
    await store.open()
    try:
        gate = (
            connect_gate(settings.redis_url, cluster=settings.redis_cluster)
            if use_gate else None
        )
    except BaseException:
        await store.close()  # its worker thread would keep the process alive
        raise
    standing = ChatStanding(store)
    eligibility = Eligibility(standing, rule_defaults(settings), clock or SystemClock())
    packets = RedPackets(
        store,
        gate,
        clock=clock,
        limits=limits_from(settings),
        lucky_rule=Rule(settings.lucky_rule),
        welcome_bonus=settings.welcome_bonus,
        eligibility=eligibility,
    )
    shake = ShakeService(
        campaigns_for(store),
        RedisShakeGate(gate.client, gate.health) if gate is not None else None,
        clock=clock,
        limits=ShakeLimits(
            interval_ms=int(settings.shake_interval_seconds * 1000),
            max_wins=settings.shake_max_wins,
            max_pool=settings.max_total,
        ),
        eligibility=eligibility,
    )
    return Engine(store=store, gate=gate, packets=packets, shake=shake,
                  eligibility=eligibility, standing=standing)

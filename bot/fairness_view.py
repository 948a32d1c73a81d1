"""The fairness lines of a packet's private result view (docs/fairness.md).

While the packet is live: the commitment (SHA-256 of the seed), the first 16 hex
digits in the Details view, all 64 in the detail opened from /records. Once no
share can be opened: the seed itself and the command that recomputes the split.
The seed of a live packet is never passed to any text.
"""

from __future__ import annotations

from core.allocation import Rule
from core.fairness import commitment, revealed_seed, short_commitment
from core.money import format_cents
from core.packets import Packet

from bot.app import BotContext


def verify_command(packet: Packet, seed_hex: str) -> str:
    """``redpacket verify --seed … --rule … --total … --count … --cap …`` for ``packet``."""
    return (
        f"redpacket verify --seed {seed_hex} --rule {Rule(packet.rule).value}"
        f" --total {format_cents(packet.total)} --count {packet.count}"
        f" --cap {format_cents(packet.cap)}"
    )


def fairness_lines(
    ctx: BotContext, packet: Packet, lang: str, now_ms: int, *, full: bool = False
) -> list[str]:
    digest = commitment(packet.seed) if full else short_commitment(packet.seed) + "…"
    seed_hex = revealed_seed(packet, now_ms)
    if seed_hex is None:
        key = "fair.sealed_full" if full else "fair.sealed_short"
        return [ctx.html(lang, key, digest=digest)]
    return [
        ctx.html(lang, "fair.revealed", seed=seed_hex, digest=digest),
        ctx.html(lang, "fair.how_to_check", command=verify_command(packet, seed_hex),
                 packet_id=packet.id),
    ]

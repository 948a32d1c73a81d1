"""The shake campaign in ``redpacket demo``."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from core.money import format_cents
from core.packets import Member
from core.shake import JACKPOT, CampaignRequest, Mode, prize_range
from core.shake_service import ShakeAnswer, ShakeService

from bot.demo_words import tally_text
from bot.edit_budget import shows_new_figure
from bot.engine import Engine

ROUNDS = 10
DEMO_CHAT = -100_200_301
Print = Callable[..., Any]


def _money(cents: int) -> str:
    return f"¥{format_cents(cents)}"


async def run_demo_campaign(engine: Engine, members: Sequence[Member], console_print: Print) -> None:
    """A campaign funded by one member, rounds of concurrent shakes, the end and the refund."""
    if engine.shake is None or len(members) < 2:
        return
    base = engine.shake
    # Simulated minutes pass in milliseconds, so a cooldown in real time would
    # freeze the crowd: the demo campaign has none, and one win per member.
    shakes = ShakeService(
        base.store, base.gate, clock=base.clock,
        limits=replace(base.limits, interval_ms=0, max_wins=1),
        rng=random.Random(2024),
    )
    funder = members[1]
    await engine.store.credit(funder, 200_00, kind="grant", key="demo:shake-grant",
                              memo="demo", now_ms=base.clock.now_ms())
    minutes = ROUNDS
    campaign = await shakes.start(
        CampaignRequest(DEMO_CHAT, funder, 150_00, 30, minutes * 60_000, Mode.TIERS), "demo:shake"
    )
    shown = prize_range(campaign.mode, campaign.tiers, campaign.pool, campaign.count)
    jackpot = f", or the {_money(JACKPOT)} jackpot" if shown.jackpot else ""
    console_print(
        f"\n[bold]🎲 {funder.name}[/] starts a shake campaign: {_money(campaign.pool)} in "
        f"{campaign.count} prizes over {minutes} minutes (prizes {_money(shown.low)} to "
        f"{_money(shown.high or shown.low)}{jackpot}: what this pool can pay)"
    )
    tally: Counter[str] = Counter()
    ended = None
    for minute in range(ROUNDS):
        results = await asyncio.gather(*(shakes.shake(campaign.id, m) for m in members))
        tally.update(r.answer.value for r in results)
        won = [r for r in results if r.answer is ShakeAnswer.WON and r.win is not None]
        for result in results:
            if shows_new_figure(result) and result.campaign is not None:
                console_print(f"  (message edited: prizes left {result.campaign.prizes_left}"
                              f"/{campaign.count})")
            if result.ended is not None:
                ended = result.ended
        names = ", ".join(f"{r.win.member_name} {_money(r.win.amount)}" for r in won if r.win)
        console_print(f"minute {minute + 1}: {len(members)} members shake at once, "
                      f"{len(won)} win{': ' + names if names else ''}")
        if ended is not None:
            break
        shakes.clock.advance(60)  # type: ignore[attr-defined]
    if ended is None:
        shakes.clock.advance(1)  # type: ignore[attr-defined]
        due = await shakes.end_due()
        ended = next((e for e in due if e.campaign.id == campaign.id), None)
    console_print(f"every shake answered: {tally_text(dict(tally))}")
    if ended is None:
        return
    final = ended.campaign
    how = {"finished": "every prize was won", "expired": "time is up"}.get(final.status.value,
                                                                          final.status.value)
    console_print(
        f"Campaign over ({how}): {len(ended.wins)}/{final.count} prizes, "
        f"{_money(final.won_amount)} paid out"
    )
    for win in ended.jackpots:
        console_print(f"  🏆 jackpot: {win.member_name} {_money(win.amount)}")
    console_print(f"Refunded {_money(final.refunded)} to {final.funder_name}; "
                  f"a second sweep ends {len(await shakes.end_due())} campaigns.")

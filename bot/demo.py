"""`redpacket demo`: a simulated busy group on the embedded defaults, no Telegram."""

from __future__ import annotations

import asyncio
import html
import random
import re
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from core.audit import audit_everything
from core.money import format_cents
from core.packets import Kind, Member, PacketRequest
from core.services import RedPackets
from core.views import PacketView, packet_view

from bot.context import BotContext
from bot.demo_shake import run_demo_campaign
from bot.engine import Engine, open_engine
from bot.render import packet_text
from bot.demo_words import shares_text, tally_text
from bot.settings import Settings
from storage.sqlite.records import Records

NAMES = [
    "Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy",
    "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Uma", "Victor", "Walter",
    "小明", "小红", "李雷", "韩梅梅", "王芳", "张伟", "刘洋", "陈静", "杨帆", "赵磊",
    "Amir", "Noor", "Yusuf", "Leila", "Omar", "Sofia", "Mateo", "Lucas", "Emma", "Mia",
    "Hiro", "Yuki", "Sora", "Ren", "Aiko", "Kenji", "Nina", "Lars", "Ingrid", "Björn",
]


class SimClock:
    """Real time, plus whatever the demo fast-forwards."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def advance(self, seconds: float) -> None:
        self.offset_ms += int(seconds * 1000)


def _money(settings: Settings, cents: int) -> str:
    return f"{settings.currency_symbol}{format_cents(cents)}"


def _plain(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def describe(ctx: BotContext, view: PacketView, *, public: bool) -> str:
    """What Telegram would show, as plain text: the bot's own rendering, tags removed."""
    text = _plain(packet_text(ctx.words, view, "en", public=public))
    buttons = ["🧧 Open", "Details"] if public and not view.is_over else []
    buttons += [b for b, on in (("Send again", view.send_again), ("My red packets", view.my_packets)) if on]
    return text + ("\n[" + "] [".join(buttons) + "]" if buttons else "")


async def _show(console: Console, ctx: BotContext, packet_id: str) -> None:
    service = ctx.packets
    found = await service.packet_and_shares(packet_id)
    assert found is not None
    packet, shares = found
    now = service.clock.now_ms()
    group = describe(ctx, packet_view(packet, shares, None, now), public=True)
    sender = describe(ctx, packet_view(packet, shares, packet.sender_id, now), public=False)
    console.print(Panel(group, title="the group sees", expand=False))
    console.print(Panel(sender, title=f"{packet.sender_name} (sender) sees", expand=False))


async def _storm(service: RedPackets, packet_id: str, crowd: list[Member], presses: int) -> dict[str, int]:
    rng = random.Random(packet_id)
    pressers = [rng.choice(crowd) for _ in range(presses)]
    results = await asyncio.gather(*(service.press(packet_id, m) for m in pressers))
    tally: dict[str, int] = {}
    for r in results:
        tally[r.answer.value] = tally.get(r.answer.value, 0) + 1
    return tally


async def run_demo(settings: Settings, console: Console | None = None) -> bool:
    console = console or Console()
    workdir = Path(tempfile.mkdtemp(prefix="redpacket-demo-"))
    settings = settings.model_copy(update={"redis_url": ""})
    clock = SimClock()
    engine: Engine = await open_engine(settings, db_path=workdir / "demo.db", clock=clock)
    service = engine.packets
    ctx = BotContext(settings=settings, clock=clock, engine=engine)
    try:
        console.rule("[bold red]redpacket demo[/] — a busy group of 50, embedded gate, SQLite")
        crowd = [Member(1000 + i, name) for i, name in enumerate(NAMES)]
        await asyncio.gather(*(service.greet(m) for m in crowd))
        console.print(
            f"{len(crowd)} members joined; each got the welcome bonus of "
            f"{_money(settings, settings.welcome_bonus)}.  Database: {workdir / 'demo.db'}"
        )
        alice, bob, carol, dave, eve, frank = crowd[:6]
        chat = -100_200_300

        async def send(req: PacketRequest, key: str) -> str:
            packet = await service.send(req, key)
            console.print(f"\n[bold]{req.sender.name}[/] sends {_money(settings, packet.total)} "
                          f"in {shares_text(packet.count)} ({packet.kind.value})")
            return packet.id

        lucky = await send(PacketRequest(chat, alice, Kind.LUCKY, 10, 100_00, "恭喜发财! 🧧"), "demo:1")
        tally = await _storm(service, lucky, crowd, 400)
        console.print(f"400 concurrent presses on Open: {tally_text(tally)}")
        await _show(console, ctx, lucky)

        fixed = await send(PacketRequest(chat, bob, Kind.FIXED, 8, 5_00, "Lunch is on me"), "demo:2")
        tally = await _storm(service, fixed, crowd, 120)
        console.print(f"120 concurrent presses on Open: {tally_text(tally)}")
        await _show(console, ctx, fixed)

        personal = await send(
            PacketRequest(chat, carol, Kind.FIXED, 1, 8_88, "Happy birthday, Dave!", recipient=dave),
            "demo:3",
        )
        await _show(console, ctx, personal)
        eve_try = await service.press(personal, eve)
        dave_try = await service.press(personal, dave)
        console.print(f"Eve presses: {eve_try.answer.value}; Dave presses: {dave_try.answer.value} "
                      f"({_money(settings, dave_try.share.amount if dave_try.share else 0)})")
        await _show(console, ctx, personal)

        slow = await send(PacketRequest(chat, frank, Kind.LUCKY, 20, 50_00, "Anyone awake?"), "demo:4")
        tally = await _storm(service, slow, crowd[10:16], 12)
        console.print(f"Only 6 members are around: {tally_text(tally)}")
        clock.advance(settings.packet_ttl_seconds + 60)
        console.print(f"[italic]… {settings.packet_ttl_seconds // 3600} hours pass …[/]")
        late = await service.press(slow, crowd[30])
        refunds = await service.expire_due()
        again = await service.expire_due()
        console.print(f"A late press answers: {late.answer.value}")
        for refund in refunds:
            console.print(f"Refunded {_money(settings, refund.amount)} to {refund.packet.sender_name} "
                          f"(a second sweep refunds {len(again)} packets)")
        await _show(console, ctx, slow)

        await _demo_campaign(engine, crowd, console)

        # Presses turned away are counted in memory and saved by the bot's flush job:
        # save them now, so that `redpacket stats --db` on this file shows them.
        saved = await Records(engine.store).flush_turned_away(service.turned_away)
        console.print(f"\n{saved} presses were turned away at the gate, before the database "
                      "(a member's repeated presses are answered together); saved for "
                      "redpacket stats.")
        report = await audit_everything(service, engine.shake, repair=False)
        problems = report.problems
        console.rule("audit")
        if problems:
            for problem in problems:
                console.print(f"[red]✗ {problem}[/]")
            console.print("[bold red]Audit FAILED[/]")
            return False
        console.print(
            f"[bold green]Audit clean[/]: the ledger balances, every wallet equals its entries, "
            f"every share recomputes from its seed ({report.packets} packets checked)."
        )
        console.print(f"The demo's database stays at {workdir / 'demo.db'}: "
                      f"see it with redpacket stats --db {workdir / 'demo.db'}")
        return True
    finally:
        await engine.close()


async def _demo_campaign(engine: Engine, crowd: list[Member], console: Console) -> None:
    await run_demo_campaign(engine, crowd, console.print)


if __name__ == "__main__":
    from bot.settings import load_settings

    asyncio.run(run_demo(load_settings(env_file=None)))

"""`redpacket audit`: docs/rules.md §6 checks on a database (and the gate, with REDIS_URL)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from core.audit import audit_everything

from bot.engine import open_engine
from bot.settings import Settings
from storage.stores import redacted


async def run_audit(
    settings: Settings, db: Path | None, *, repair: bool, console: Console
) -> int:
    """Exit code 0 when clean; 1 with a readable report otherwise."""
    # Without REDIS_URL there is no shared gate to check: the embedded one lives
    # inside the bot process and is rebuilt from the database at every start.
    engine = await open_engine(settings, db_path=db, use_gate=bool(settings.redis_url))
    try:
        report = await audit_everything(engine.packets, engine.shake, repair=repair)
        problems = report.problems
    finally:
        await engine.close()
    gate = "the Redis gate" if settings.redis_url else "no shared gate (REDIS_URL is empty)"
    where = db if db is not None else redacted(settings.database_url)
    console.print(f"Audited {where}: {report.packets} packets, {gate}.")
    for note in report.repaired:
        console.print(f"[yellow]repaired:[/] {note}")
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/] {problem}")
        console.print(f"[bold red]{len(problems)} problem(s) found.[/]")
        return 1
    console.print("[bold green]Clean:[/] the ledger balances and nothing was created or lost.")
    return 0

"""`redpacket bench --through-bot`: a crowd pressing through the real bot process.

Three processes: this one (the crowd and the measurements), the loopback Bot API
(``bot.loopback_api``) and ``redpacket run`` itself (polling), each with its
own CPU (started as ``python -m bot.runner``, the very code of ``redpacket run``). The sender posts M packets (one group each) with ``/hongbao``; then N
members press at once — N callback-query updates made available together — and
every answer is timed on the server from the moment its update could be fetched.
Afterwards, with the bot stopped, the same HTTP client the bot uses sends N bare
``answerCallbackQuery`` requests to the same server: the floor a press costs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from telegram import Bot

from bot.bench import machine_line
from bot.answering import answer_callback
from bot.loopback_api import BOT_USER, LoopbackControl, LoopbackHandle, serve_in_process
from bot.request import bot_requests
from bot.settings import Settings
from storage.stores import is_postgres, redacted, store_for

__all__ = ["ThroughBotResult", "run_through_bot"]

TOKEN = "424242:BENCH-through-the-bot"
SENDER = {"id": 1, "is_bot": False, "first_name": "Sender", "language_code": "en"}
_FIRST_MEMBER = 10_000
_SHARE_CENTS = 100  # each packet holds shares × 1.00

Progress = Callable[[str, int, int], None]


@dataclass
class ThroughBotResult:
    packets: int
    shares_per_packet: int
    presses: int
    gate: str
    seconds: float
    answered: int
    unanswered: int
    refused_answers: int
    answered_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    got: int
    shares_taken: int
    peak_rss_mb: float
    client_floor_per_s: float
    # CPU time, which a busy machine disturbs far less than rates: the bot's
    # (every thread) from the first press until the edits settle, per press;
    # and the bench's own client's per bare answer while it measured the floor.
    bot_cpu_ms_per_press: float
    client_cpu_ms_per_answer: float
    max_edits_per_min: int
    final_edit_ok: bool
    answered_once: bool
    audit_ok: bool
    audit_problems: list[str]
    machine: str
    bot_log_tail: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _group(index: int) -> dict[str, Any]:
    chat_id = -1_000_000 - index
    return {"id": chat_id, "type": "supergroup", "title": f"bench group {index}"}


def _command(index: int, shares: int) -> dict[str, Any]:
    text = f"/hongbao {shares * _SHARE_CENTS // 100} {shares} bench"
    return {"message": {
        "message_id": 1, "date": int(time.time()), "from": SENDER, "chat": _group(index),
        "text": text, "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
    }}


def _press(member: int, chat: dict[str, Any], message_id: int, data: str) -> dict[str, Any]:
    user = {"id": member, "is_bot": False, "first_name": f"member{member}",
            "language_code": "en" if member % 2 else "zh"}
    return {"callback_query": {
        "id": f"press-{member}", "from": user, "chat_instance": f"ci{chat['id']}", "data": data,
        "message": {"message_id": message_id, "date": int(time.time()), "chat": chat,
                    "from": BOT_USER, "text": "🧧"},
    }}


def _open_data(markup: Any) -> str | None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if str(button.get("callback_data", "")).startswith("o:"):
                return str(button["callback_data"])
    return None


def _bot_env(settings: Settings, api: LoopbackHandle, url: str, packets: int,
             shares: int) -> dict[str, str]:
    total = shares * _SHARE_CENTS
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env.update({
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.api_base_url,
        "DATABASE_URL": url,
        "REDIS_URL": settings.redis_url,
        "WELCOME_BONUS": f"{packets * total // 100 + 1}.00",
        "MAX_SHARES": str(max(shares, 100)),
        "MAX_TOTAL": f"{max(total // 100, 200)}.00",
        "MAX_SHARE": f"{max(total // 100, 200)}.00",
        "DRAFT_SKIP_BELOW": f"{total // 100 + 1}.00",  # post at once, no draft
        "AUDIT_INTERVAL_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    })
    return env


def _peak_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _wait(check: Callable[[], bool], seconds: float, what: str, bot: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if bot.poll() is not None:
            raise RuntimeError(f"the bot exited while {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out {what}")
        time.sleep(0.1)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def _max_edits_per_minute(control: LoopbackControl) -> int:
    edits: dict[int, list[float]] = defaultdict(list)
    for call in control.calls():
        if call["method"].startswith("editMessage") and call["status"] == 200:
            edits[int(call["params"].get("chat_id") or 0)].append(call["at"])
    worst = 0
    for times in edits.values():
        times.sort()
        start = 0
        for end, at in enumerate(times):
            while at - times[start] > 60:
                start += 1
            worst = max(worst, end - start + 1)
    return worst


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _client_floor(api: LoopbackHandle, presses: int) -> tuple[float, float]:
    """Bare answers per second, and the client's CPU milliseconds per answer."""
    ids = [uuid.uuid4().hex for _ in range(presses)]
    api.control.allow_queries(ids)
    calls, _ = bot_requests()
    async with Bot(TOKEN, base_url=api.api_base_url, request=calls) as bot:
        started, cpu = time.perf_counter(), time.process_time()
        # the bot's own answering path (bot.answering), with a press's usual text
        await asyncio.gather(*(answer_callback(bot, query_id, "🧧 ¥1.00", False)
                               for query_id in ids))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return presses / seconds, cpu * 1000 / presses


@dataclass(frozen=True)
class _Outcome:
    audit_ok: bool
    problems: list[str]
    gate: str
    shares_taken: int
    finished_chats: set[int]


async def _outcome(settings: Settings, url: str) -> _Outcome:
    """The audit, and what the database holds after the storm (either engine)."""
    from bot.engine import open_engine

    engine = await open_engine(settings.model_copy(update={"database_url": url}))
    try:
        report = await engine.packets.audit(repair=False)
        gate = ("embedded" if engine.gate.embedded else "redis") if engine.gate else "off"
        (taken,) = await engine.store.fetchone("SELECT COUNT(*) FROM shares")
        finished = {int(chat) for chat, status in await engine.store.fetchall(
            "SELECT chat_id, status FROM packets") if status != "live"}
        return _Outcome(report.ok, report.problems[:10], gate, int(taken), finished)
    finally:
        await engine.close()


async def _is_empty(url: str) -> bool:
    async with store_for(url) as store:
        (packets,) = await store.fetchone("SELECT COUNT(*) FROM packets")
        return int(packets) == 0


def database_for(settings: Settings, workdir: Path) -> str:
    """A fresh SQLite file, or the PostgreSQL database ``DATABASE_URL`` names (it must
    hold no packet yet: the bench counts every share in it)."""
    if not is_postgres(settings.database_url):
        return f"sqlite:///{workdir / 'bot.db'}"
    if not asyncio.run(_is_empty(settings.database_url)):
        raise RuntimeError(f"DATABASE_URL ({redacted(settings.database_url)}) already holds"
                         " packets: give the bench an empty database")
    return settings.database_url


def run_through_bot(
    settings: Settings,
    *,
    packets: int,
    shares: int,
    presses: int,
    answer_window: float = 15.0,
    progress: Progress | None = None,
    profile: Path | None = None,
) -> ThroughBotResult:
    """Run the storm; ``progress(stage, done, total)`` is called while it runs."""
    report = progress or (lambda stage, done, total: None)
    workdir = Path(tempfile.mkdtemp(prefix="redpacket-bench-bot-"))
    url = database_for(settings, workdir)
    api = serve_in_process(token=TOKEN, answer_window=answer_window)
    log = (workdir / "bot.log").open("w+")
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.runner"], cwd=workdir,  # what `redpacket run` runs
        env=_bot_env(settings, api, url, packets, shares), stdout=log, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        control = api.control
        spy: subprocess.Popen[bytes] | None = None
        try:
            report("starting the bot", 0, 1)
            _wait(lambda: control.state()["polling"], 60, "starting", bot)
            for index in range(packets):
                control.chat(_group(index)["id"], member_count=presses + 10)
            control.enqueue(*(_command(index, shares) for index in range(packets)))
            posted: dict[int, tuple[int, str]] = {}

            def all_posted() -> bool:
                for call in control.calls("sendMessage"):
                    data = _open_data(call["params"].get("reply_markup"))
                    chat_id = int(call["params"]["chat_id"])
                    if data and call["status"] == 200:
                        message = [m for m in control.messages(chat_id) if m["from_bot"]]
                        posted[chat_id] = (message[0]["message_id"], data)
                report("posting packets", len(posted), packets)
                return len(posted) == packets

            _wait(all_posted, 60 + packets, "posting the packets", bot)
            crowd = []
            for number in range(presses):
                chat = _group(number % packets)
                message_id, data = posted[chat["id"]]
                crowd.append(_press(_FIRST_MEMBER + number, chat, message_id, data))
            if profile is not None:
                kind = "flamegraph" if profile.suffix == ".svg" else "raw"  # raw: collapsed stacks
                spy = subprocess.Popen(["py-spy", "record", "-o", str(profile), "--pid", str(bot.pid),
                                        "--rate", "200", "--nonblocking", "--format", kind],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.0)
            cpu_before = _cpu_seconds(bot.pid)
            control.enqueue(*crowd)

            def all_answered() -> bool:
                answered, unanswered = control.answer_counts()  # cheap: the server is busy
                report("pressing", answered, presses)
                return unanswered == 0

            deadline = answer_window + 30 + presses / 100
            try:
                _wait(all_answered, deadline, "waiting for answers", bot)
            except RuntimeError:
                pass  # reported as unanswered
            answers = control.answers()
            quiet_for = settings.edit_interval_seconds + 2
            last_edit = [time.monotonic(), len(control.calls("editMessageText"))]

            def edits_settled() -> bool:
                count = len(control.calls("editMessageText"))
                if count != last_edit[1]:
                    last_edit[:] = [time.monotonic(), count]
                report("final edits", 0, 0)
                return time.monotonic() - last_edit[0] > quiet_for

            _wait(edits_settled, 120, "waiting for the final edits", bot)
            peak_rss = _peak_rss_mb(bot.pid)
            bot_cpu = _cpu_seconds(bot.pid) - cpu_before
            refused = sum(1 for c in control.calls("answerCallbackQuery") if c["status"] != 200)
            max_edits = _max_edits_per_minute(control)
            final_markups = {m["chat_id"]: m["reply_markup"] for m in control.messages()
                             if m["from_bot"] and (m["chat_id"], m["message_id"]) in
                             {(c, mid) for c, (mid, _) in posted.items()}}
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            bot.send_signal(signal.SIGINT)
            try:
                bot.wait(60)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()
        report("client floor", 0, 1)
        floor, client_cpu = asyncio.run(_client_floor(api, presses))
    finally:
        api.stop()  # also when the bot failed: the server is a process of its own
    log.seek(0)
    tail = log.read().splitlines()[-20:]
    log.close()
    outcome = asyncio.run(_outcome(settings, url))
    audit_ok, problems, gate, taken = (
        outcome.audit_ok, outcome.problems, outcome.gate, outcome.shares_taken)
    final_ok = all(_open_data(final_markups.get(chat)) is None
                   for chat in outcome.finished_chats)
    timed = answers["answers"]
    got = sum(1 for a in timed if a["show_alert"])
    latencies = sorted(a["answered_at"] - a["available_at"] for a in timed)
    span = (max(a["answered_at"] for a in timed) - min(a["available_at"] for a in timed)
            if timed else 0.0)
    return ThroughBotResult(
        packets=packets, shares_per_packet=shares, presses=presses, gate=gate,
        seconds=round(span, 3), answered=len(timed), unanswered=answers["unanswered"],
        refused_answers=refused,
        answered_per_s=round(len(timed) / span, 1) if span else 0.0,
        p50_ms=round(statistics.median(latencies) * 1000, 1) if latencies else 0.0,
        p95_ms=round(_percentile(latencies, 0.95) * 1000, 1),
        p99_ms=round(_percentile(latencies, 0.99) * 1000, 1),
        got=got, shares_taken=int(taken),
        peak_rss_mb=peak_rss, client_floor_per_s=round(floor, 1),
        bot_cpu_ms_per_press=round(bot_cpu * 1000 / presses, 3),
        client_cpu_ms_per_answer=round(client_cpu, 3),
        max_edits_per_min=max_edits, final_edit_ok=final_ok,
        answered_once=answers["unanswered"] == 0 and refused == 0 and got == int(taken),
        audit_ok=audit_ok,
        audit_problems=problems, machine=machine_line(),
        bot_log_tail=tail if not audit_ok or answers["unanswered"] or refused else [],
    )

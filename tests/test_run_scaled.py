"""Two `redpacket run` webhook processes on one PostgreSQL and one Redis Cluster."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.packets import Member
from core.services import RedPackets
from storage.gate.redis_gate import connect_gate
from storage.sqlite.packet_messages import PacketMessages
from storage.stores import store_for
from tests.conftest import free_port
from tests.integration.helpers import lucky
from tests.servers import RedisCluster
from tests.test_run import TOKEN, FakeBotApi

CHAT = {"id": -100_777, "type": "supergroup", "title": "Many machines"}
MESSAGE_ID = 500
SECRET = "many_machines"


class GroupBotApi(FakeBotApi):
    """The Bot API of a busy group: edits and callback answers are recorded."""

    # Two bots answering 300 presses at once: more than the default backlog of 5.
    request_queue_size = 512
    daemon_threads = True

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "editMessageText":
            with self.lock:
                self.calls.append((method, params))
            return {"message_id": int(params["message_id"]), "date": int(time.time()),
                    "chat": CHAT, "text": params.get("text", "")}
        return super().answer(method, params)

    def of(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for m, p in self.calls if m == method]


async def seed(url: str, redis_url: str) -> str:
    """A sender, a packet of 20 shares, and its group message."""
    gate = connect_gate(redis_url)
    try:
        async with store_for(url) as store:
            service = RedPackets(store, gate)
            sender = Member(1, "Sender")
            await service.greet(sender)
            await store.credit(sender, 500_00, kind="grant", key="grant:sender", memo="",
                               now_ms=service.clock.now_ms())
            request = replace(lucky(sender, 20, 200_00), chat_id=CHAT["id"])
            packet = await service.send(request, key="scaled")
            await store.set_message(packet.id, MESSAGE_ID)
            # As the bot records the message it posted: the editors find it here.
            await PacketMessages(store).add(CHAT["id"], MESSAGE_ID, packet.id)
            return packet.id
    finally:
        await gate.aclose()


def press(n: int, packet_id: str) -> bytes:
    user = {"id": 5_000 + n % 150, "is_bot": False, "first_name": f"M{n % 150}",
            "language_code": "en"}
    return json.dumps({"update_id": 10_000 + n, "callback_query": {
        "id": f"cq{n}", "from": user, "chat_instance": "ci", "data": f"o:{packet_id}",
        "message": {"message_id": MESSAGE_ID, "date": int(time.time()), "chat": CHAT,
                    "from": {"id": 999, "is_bot": True, "first_name": "Red"}, "text": "packet"},
    }}).encode()


def post(port: int, body: bytes, secret: str = SECRET) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hook", data=body, method="POST",
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@pytest.mark.timeout(400)
def test_two_webhook_processes_storm_one_packet(
    tmp_path: Path, pg_url: str, redis_cluster: RedisCluster
) -> None:
    packet_id = asyncio.run(seed(pg_url, redis_cluster.url))
    api = GroupBotApi(free_port())
    api.delivered = True
    threading.Thread(target=api.serve_forever, daemon=True).start()
    ports = [free_port(), free_port()]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{api.server_address[1]}/bot",
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_cluster.url,
        "WEBHOOK_URL": "https://bot.example.invalid/hook",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_SECRET": SECRET,
        "EDIT_INTERVAL_SECONDS": "0.2",
    })
    bots = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path,
            env={**env, "WEBHOOK_PORT": str(port)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for port in ports
    ]
    presses = 300  # 150 members, each pressing twice, through both processes
    try:
        deadline = time.monotonic() + 300
        for port, bot in zip(ports, bots):
            while post(port, b"{}", "wrong") != 403 and time.monotonic() < deadline:
                assert bot.poll() is None, "a bot process ended early"
                time.sleep(0.2)
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda n: post(ports[n % 2], press(n, packet_id)),
                                     range(presses)))
        assert statuses == [200] * presses
        started = time.monotonic()
        while len(api.of("answerCallbackQuery")) < presses and time.monotonic() < deadline:
            time.sleep(0.1)
        answered = [p["callback_query_id"] for p in api.of("answerCallbackQuery")]
        print("answered", len(answered), "in", time.monotonic() - started)
        missing = sorted(set(f"cq{n}" for n in range(presses)) - set(answered))
        if missing:
            for bot in bots:
                bot.send_signal(signal.SIGINT)
            print("MISSING", missing, [bot.communicate(timeout=60)[0][-3000:] for bot in bots])
        assert sorted(answered) == sorted(f"cq{n}" for n in range(presses))  # once each

        def final_edit_shown() -> bool:
            edits = [e for e in api.of("editMessageText") if e["message_id"] == str(MESSAGE_ID)]
            return bool(edits) and f"o:{packet_id}" not in edits[-1].get("reply_markup", "")

        while not final_edit_shown() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert final_edit_shown(), "the packet message never showed the finished packet"
    finally:
        for bot in bots:
            bot.send_signal(signal.SIGINT)
        outputs = [bot.communicate(timeout=60)[0] for bot in bots]
        api.shutdown()
    assert [bot.returncode for bot in bots] == [0, 0], outputs
    edits = [e for e in api.of("editMessageText") if e["message_id"] == str(MESSAGE_ID)]
    assert f"o:{packet_id}" not in edits[-1].get("reply_markup", "")  # still, after the stop

    async def check() -> tuple[int, int, int]:
        async with store_for(pg_url) as store:
            shares = await store.shares(packet_id)
            packet = await store.get_packet(packet_id)
            assert packet is not None
            return len(shares), len({s.member_id for s in shares}), packet.claimed_amount

    count, members, amount = asyncio.run(check())
    assert (count, members, amount) == (20, 20, 200_00)
    audit = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit", "--no-repair"], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr

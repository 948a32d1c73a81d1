"""`redpacket run` as a self-hoster starts it: a real process, a Bot API on loopback, polling and webhook."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.conftest import free_port

TOKEN = "123456:ABCdef_ghi-jkl"
USER = {"id": 42, "is_bot": False, "first_name": "Ada", "language_code": "en"}


class FakeBotApi(ThreadingHTTPServer):
    """Serves the few Bot API methods polling needs, and one /start update."""

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.delivered = False
        self.lock = threading.Lock()

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            self.calls.append((method, params))
        if method == "getMe":
            return {"id": 999, "is_bot": True, "first_name": "Red", "username": "rp_bot"}
        if method == "getUpdates":
            with self.lock:
                first, self.delivered = not self.delivered, True
            if first:
                return [{"update_id": 1, "message": {
                    "message_id": 1, "date": int(time.time()), "from": USER,
                    "chat": {"id": 42, "type": "private", "first_name": "Ada"},
                    "text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                }}]
            time.sleep(0.2)
            return []
        if method == "sendMessage":
            return {"message_id": 10, "date": int(time.time()),
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                    "text": params.get("text", "")}
        return True

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [p for m, p in self.calls if m == "sendMessage" and p.get("chat_id") == str(chat_id)]


class _Handler(BaseHTTPRequestHandler):
    server: FakeBotApi

    def do_POST(self) -> None:  # noqa: N802
        method = self.path.rsplit("/", 1)[-1]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        params = {k: v[0] for k, v in parse_qs(body).items()}
        payload = json.dumps({"ok": True, "result": self.server.answer(method, params)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_run_polls_greets_a_new_member_and_stops_cleanly(tmp_path: Path) -> None:
    api = FakeBotApi(free_port())
    threading.Thread(target=api.serve_forever, daemon=True).start()
    db = tmp_path / "bot.db"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{api.server_address[1]}/bot",
        "DATABASE_URL": f"sqlite:///{db}",
        "LOG_LEVEL": "DEBUG",
    })
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not api.sent_to(42) and time.monotonic() < deadline and bot.poll() is None:
            time.sleep(0.1)
        welcome = api.sent_to(42)
        assert welcome, "the bot never answered /start"
        assert welcome[0]["parse_mode"] == "HTML" and "Ada" in welcome[0]["text"]
        polls = [p for m, p in list(api.calls) if m == "getUpdates"]
        assert "chat_member" in polls[0]["allowed_updates"]  # joins, for the newcomer rule
    finally:
        bot.send_signal(signal.SIGINT)
        output, _ = bot.communicate(timeout=30)
        api.shutdown()
    assert bot.returncode == 0, output
    assert TOKEN not in output and "ABCdef" not in output  # never in the logs, even at DEBUG
    with sqlite3.connect(db) as conn:
        (balance,) = conn.execute("SELECT balance FROM accounts WHERE id = 'w:42'").fetchone()
    assert balance == 100_00  # the welcome bonus, paid once through the ledger
    audit = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit", "--db", str(db)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_run_with_a_webhook_takes_updates_posted_to_it(tmp_path: Path) -> None:
    import urllib.request

    api = FakeBotApi(free_port())
    api.delivered = True  # no polling here: updates come through the webhook
    threading.Thread(target=api.serve_forever, daemon=True).start()
    port, secret = free_port(), "s3cret_token"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{api.server_address[1]}/bot",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "WEBHOOK_URL": "https://bot.example.invalid/rp/hook",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": secret,
    })
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    update = json.dumps({"update_id": 7, "message": {
        "message_id": 1, "date": int(time.time()), "from": USER,
        "chat": {"id": 42, "type": "private", "first_name": "Ada"},
        "text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }}).encode()

    def post(token: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/rp/hook", data=update, method="POST",
            headers={"Content-Type": "application/json",
                     "X-Telegram-Bot-Api-Secret-Token": token},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    try:
        deadline = time.monotonic() + 60
        while post("wrong") == 0 and time.monotonic() < deadline and bot.poll() is None:
            time.sleep(0.2)  # until the webhook server listens
        assert post("wrong") == 403  # Telegram's secret is checked
        assert post(secret) == 200
        while not api.sent_to(42) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert api.sent_to(42), "the bot never answered /start"
        (hook,) = [p for m, p in api.calls if m == "setWebhook"]
        assert hook["url"] == "https://bot.example.invalid/rp/hook"
        assert hook["secret_token"] == secret
    finally:
        bot.send_signal(signal.SIGINT)
        output, _ = bot.communicate(timeout=30)
        api.shutdown()
    assert bot.returncode == 0, output
    assert TOKEN not in output


def test_run_with_redis_unreachable_warns_once_and_tells_the_bot_admins(tmp_path: Path) -> None:
    api = FakeBotApi(free_port())
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update({
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{api.server_address[1]}/bot",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "BOT_ADMIN_IDS": "7",
    })
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (api.sent_to(7) and api.sent_to(42)) and time.monotonic() < deadline:
            if bot.poll() is not None:
                break
            time.sleep(0.1)
        (notice,) = api.sent_to(7)
        assert "Redis" in notice["text"] and "REDIS_URL" in notice["text"]
        assert api.sent_to(42), "the bot stopped answering without Redis"
    finally:
        bot.send_signal(signal.SIGINT)
        output, _ = bot.communicate(timeout=30)
        api.shutdown()
    assert bot.returncode == 0, output
    warnings = [line for line in output.splitlines() if "unreachable" in line]
    assert len(warnings) == 1, output
    assert "Redis at 127.0.0.1:" in warnings[0] and "Traceback" not in output

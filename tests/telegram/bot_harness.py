"""The red-packet bot on the offline fake Telegram: the real ``Application`` built
by ``bot.app.build_application`` (so the real ``install()``), a real database,
the embedded gate and a settable clock. The one harness of the Telegram tests;
the ``bot`` and ``wallet_bot`` fixtures in ``conftest.py`` are built on it.

The database is a SQLite file in the test's directory, or the PostgreSQL
database of the test when ``conftest.py`` runs it on PostgreSQL
(``use_database``); every bot a test starts shares it, as processes would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application
from telegram.request import RequestData

from bot.app import BotContext, bot_context, build_application, start, stop
from bot.settings import Settings, load_settings
from core.money import format_cents
from core.packets import Kind, Member, PacketRequest
from core.services import RedPackets
from storage.stores import Store
from tests.conftest import FakeClock, assert_audit_clean
from tests.telegram.fake_telegram import JSON, RecordingRequest, UpdateFactory

GROUP_ID = -1009876543210
ADMIN_ID = 7
# What the wallet, records and stats tests run with: a bot admin, both bonuses
# and Stars top-ups on.
WALLET_SETTINGS: dict[str, Any] = dict(
    bot_admin_ids=str(ADMIN_ID), welcome_bonus="100.00", daily_bonus="10.00",
    currency_symbol="¥", topup_enabled=True, topup_cents_per_star=2, default_language="en",
)


def money(cents: int) -> str:
    """An amount as members read it with the default currency symbol."""
    return f"¥{format_cents(cents)}"


class UploadRecordingRequest(RecordingRequest):
    """Also keeps the files of multipart calls (``sendPhoto``): (method, name, bytes)."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[tuple[str, str, bytes]] = []

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.multipart_data:
            api = url.rsplit("/", 1)[-1]
            for name, part in request_data.multipart_data.items():
                self.uploads.append((api, name, part[1] if isinstance(part, tuple) else part))
        return await super().do_request(url, method, request_data, *args, **kwargs)


# The database of the running test when it is not the SQLite file in its
# directory (``conftest.py`` sets it for the test's PostgreSQL run).
_database_url: str | None = None


def use_database(url: str | None) -> None:
    """Bots of the running test use ``url`` (``None``: a SQLite file in ``tmp_path``)."""
    global _database_url
    _database_url = url


def database_url(tmp_path: Path, name: str = "redpacket.db") -> str:
    """The running test's database: the SQLite file ``tmp_path / name``, or its
    PostgreSQL database (whatever ``name``)."""
    return _database_url or f"sqlite:///{tmp_path / name}"


def bot_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": "123:ABC",
        "database_url": database_url(tmp_path),
        "redis_url": "",
        "edit_interval_seconds": 0,
        "expiry_sweep_seconds": 3600,
    }
    values.update(overrides)
    return load_settings(env_file=None, **values)


@dataclass
class Bot:
    app: Application[Any, Any, Any, Any, Any, Any]
    req: UploadRecordingRequest
    updates: UpdateFactory
    clock: FakeClock
    group: JSON = field(default_factory=lambda: {"id": GROUP_ID, "type": "supergroup",
                                                 "title": "Red packet test group"})

    @property
    def ctx(self) -> BotContext:
        return bot_context(self.app)

    @property
    def packets(self) -> RedPackets:
        return self.ctx.packets

    @property
    def database_url(self) -> str:
        return self.ctx.settings.database_url

    @property
    def store(self) -> Store:
        return self.ctx.store

    async def process(self, raw: JSON) -> JSON:
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        await self.ctx.drain()
        return raw

    async def command(self, user: JSON, text: str, **kwargs: Any) -> JSON:
        return await self.process(self.updates.command(self.group, user, text, **kwargs))

    async def command_in(self, chat: JSON, user: JSON, text: str, **kwargs: Any) -> JSON:
        """A command in another chat than the test group."""
        return await self.process(self.updates.command(chat, user, text, **kwargs))

    async def private(self, user: JSON, text: str) -> JSON:
        return await self.process(self.updates.private_command(user, text))

    async def press(self, user: JSON, message_id: int, data: str, chat: JSON | None = None) -> JSON:
        """Press a button; returns the one answerCallbackQuery call of this press."""
        raw = self.updates.callback(chat or self.group, user, message_id, data)
        await self.process(raw)
        return self.answer_of(raw)

    def answer_of(self, raw: JSON) -> JSON:
        query_id = raw["callback_query"]["id"]
        answers = self.req.calls_of("answerCallbackQuery", callback_query_id=query_id)
        assert len(answers) == 1, f"press {query_id} answered {len(answers)} times"
        return answers[0]

    def last_bot_message(self, chat_id: int = GROUP_ID) -> JSON:
        return self.req.messages_in(chat_id)[-1]

    def text(self, message_id: int, chat_id: int = GROUP_ID) -> str:
        return self.req.plain_text(chat_id, message_id)

    def buttons(self, message_id: int, chat_id: int = GROUP_ID) -> list[tuple[str, str]]:
        """(label, callback data or url) of each button."""
        return [
            (b["text"], b.get("callback_data") or b.get("url", ""))
            for b in self.req.buttons(chat_id, message_id)
        ]

    def replies(self, chat_id: int) -> list[str]:
        """Plain texts of the messages sent to ``chat_id``, oldest first."""
        return [
            self.req.plain_text(chat_id, m["message_id"])
            for m in self.req.messages_in(chat_id) if "text" in m
        ]

    def last_reply(self, chat_id: int) -> str:
        return self.replies(chat_id)[-1]

    async def balance(self, user_id: int) -> int:
        return await self.ctx.store.balance(user_id)

    async def transfers(self) -> int:
        row = await self.store.fetchone("SELECT COUNT(*) FROM transfers")
        return int(row[0])

    async def audit(self) -> None:
        await assert_audit_clean(self.ctx.packets)

    async def lucky_packet(self, sender: Member, total: int, takers: list[Member],
                           count: int | None = None, chat_id: int = GROUP_ID,
                           key: str | None = None) -> str:
        """A lucky packet sent by ``sender`` (greeted first) and opened by ``takers``,
        straight through the service (no draft, no message)."""
        await self.ctx.ready()
        await self.packets.greet(sender)
        count = count or max(len(takers), 1)
        request = PacketRequest(chat_id, sender, Kind.LUCKY, count, total)
        packet = await self.packets.send(request, key or f"k{self.clock.now_ms()}{sender.id}")
        for member in takers:
            self.clock.advance(1)
            await self.packets.greet(member)
            assert (await self.packets.press(packet.id, member)).share is not None
        return packet.id


@asynccontextmanager
async def running_bot(
    tmp_path: Path, req: RecordingRequest | None = None, clock: FakeClock | None = None,
    **overrides: Any,
) -> AsyncIterator[Bot]:
    req = req or UploadRecordingRequest()
    clock = clock or FakeClock()
    settings = bot_settings(tmp_path, **overrides)
    app = build_application(
        settings, request=req, clock=clock, rate_limiter=False,
        db_path=None if settings.uses_postgres else str(settings.database_path),
    )
    async with app:
        await start(app)
        try:
            yield Bot(app, req, UpdateFactory(), clock)  # type: ignore[arg-type]
        finally:
            await stop(app)

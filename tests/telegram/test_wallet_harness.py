"""A bot with the wallet, records and stats features over the offline fake Telegram.

Shared by test_wallet*.py, test_records*.py and test_stats*.py (no tests here).
It registers only the modules these tests need, in ``FEATURES`` order, so the
suite does not depend on the other features.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Defaults
from telegram.request import RequestData

from core.packets import Kind, Member, PacketRequest
from core.services import RedPackets
from storage.sqlite.store import SqliteStore

from bot.edits import PacketEditor
from bot.notify import Notifier
from bot.app import CONTEXT_KEY, AnyApplication, BotContext, start, stop
from bot.settings import Settings, load_settings
from tests.conftest import FakeClock, assert_audit_clean
from tests.telegram.fake_telegram import RecordingRequest, UpdateFactory, application_builder

GROUP_ID = -1001234567890
ADMIN_ID = 7
MODULES = (
    "bot.handlers.members",
    "bot.handlers.wallet",
    "bot.handlers.records",
    "bot.handlers.stats",
)


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


@dataclass
class WalletBot:
    app: AnyApplication
    req: UploadRecordingRequest
    updates: UpdateFactory
    ctx: BotContext
    clock: FakeClock

    @property
    def packets(self) -> RedPackets:
        return self.ctx.packets

    @property
    def store(self) -> SqliteStore:
        return self.ctx.store

    async def process(self, raw: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        await self.ctx.drain()

    async def command(self, chat: dict[str, Any], user: dict[str, Any], text: str,
                      **kwargs: Any) -> dict[str, Any]:
        raw = self.updates.command(chat, user, text, **kwargs)
        await self.process(raw)
        return raw

    async def private(self, user: dict[str, Any], text: str) -> dict[str, Any]:
        raw = self.updates.private_command(user, text)
        await self.process(raw)
        return raw

    def replies(self, chat_id: int) -> list[str]:
        """Plain texts of the messages sent to ``chat_id``, oldest first."""
        return [
            self.req.plain_text(chat_id, m["message_id"])
            for m in self.req.messages_in(chat_id) if "text" in m
        ]

    def last_reply(self, chat_id: int) -> str:
        return self.replies(chat_id)[-1]

    async def balance(self, member_id: int) -> int:
        return await self.store.balance(member_id)

    async def transfers(self) -> int:
        row = await self.store.fetchone("SELECT COUNT(*) FROM transfers")
        return int(row[0])

    async def audit(self) -> None:
        await assert_audit_clean(self.packets)

    async def lucky_packet(self, sender: Member, total: int, takers: list[Member],
                           count: int | None = None, chat_id: int = GROUP_ID,
                           key: str | None = None) -> str:
        """A lucky packet sent by ``sender`` (greeted first) and opened by ``takers``."""
        await self.packets.greet(sender)
        count = count or max(len(takers), 1)
        request = PacketRequest(chat_id, sender, Kind.LUCKY, count, total)
        packet = await self.packets.send(request, key or f"k{self.clock.now_ms()}{sender.id}")
        for member in takers:
            self.clock.advance(1)
            await self.packets.greet(member)
            assert (await self.packets.press(packet.id, member)).share is not None
        return packet.id


def wallet_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        telegram_bot_token="123:ABC", redis_url="", bot_admin_ids=str(ADMIN_ID),
        welcome_bonus="100.00", daily_bonus="10.00", currency_symbol="¥",
        topup_enabled=True, topup_cents_per_star=2, default_language="en",
    )
    values.update(overrides)
    return load_settings(env_file=None, **values)


@pytest.fixture
def upload_request() -> UploadRecordingRequest:
    return UploadRecordingRequest()


@pytest.fixture
async def wallet_bot(
    upload_request: UploadRecordingRequest, updates: UpdateFactory, tmp_path: Path,
    clock: FakeClock,
) -> AsyncIterator[WalletBot]:
    application = (
        application_builder(upload_request).defaults(Defaults(parse_mode=ParseMode.HTML)).build()
    )
    ctx = BotContext(settings=wallet_settings(), clock=clock, db_path=str(tmp_path / "bot.db"))
    ctx.application = application
    application.bot_data[CONTEXT_KEY] = ctx
    ctx.editor, ctx.notifier = PacketEditor(ctx), Notifier(ctx)
    for name in MODULES:
        importlib.import_module(name).register(application, ctx)
    async with application:
        await start(application)
        try:
            yield WalletBot(application, upload_request, updates, ctx, clock)
        finally:
            await stop(application)

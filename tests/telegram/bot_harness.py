"""The red-packet bot on the offline fake Telegram: the real ``Application``, a real
SQLite file, the embedded gate and a settable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import BotContext, bot_context, build_application, start, stop
from bot.settings import Settings, load_settings
from tests.conftest import FakeClock, assert_audit_clean
from tests.telegram.fake_telegram import JSON, RecordingRequest, UpdateFactory

GROUP_ID = -1009876543210


def bot_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": "123:ABC",
        "database_url": f"sqlite:///{tmp_path / 'redpacket.db'}",
        "redis_url": "",
        "edit_interval_seconds": 0,
        "expiry_sweep_seconds": 3600,
    }
    values.update(overrides)
    return load_settings(env_file=None, **values)


@dataclass
class Bot:
    app: Application[Any, Any, Any, Any, Any, Any]
    req: RecordingRequest
    updates: UpdateFactory
    clock: FakeClock
    group: JSON = field(default_factory=lambda: {"id": GROUP_ID, "type": "supergroup",
                                                 "title": "Red packet test group"})

    @property
    def ctx(self) -> BotContext:
        return bot_context(self.app)

    async def process(self, raw: JSON) -> JSON:
        await self.app.process_update(Update.de_json(raw, self.app.bot))
        await self.ctx.drain()
        return raw

    async def command(self, user: JSON, text: str, **kwargs: Any) -> JSON:
        return await self.process(self.updates.command(self.group, user, text, **kwargs))

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

    async def balance(self, user_id: int) -> int:
        return await self.ctx.store.balance(user_id)

    async def audit(self) -> None:
        await assert_audit_clean(self.ctx.packets)


@asynccontextmanager
async def running_bot(
    tmp_path: Path, req: RecordingRequest | None = None, clock: FakeClock | None = None,
    **overrides: Any,
) -> AsyncIterator[Bot]:
    req = req or RecordingRequest()
    clock = clock or FakeClock()
    app = build_application(
        bot_settings(tmp_path, **overrides), request=req, clock=clock, rate_limiter=False
    )
    async with app:
        await start(app)
        try:
            yield Bot(app, req, UpdateFactory(), clock)
        finally:
            await stop(app)

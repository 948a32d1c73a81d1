"""Start and stop: open the engine and run every feature's start-up; the reverse."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application

from storage.sqlite.chats import ChatSettings
from storage.sqlite.drafts import Drafts
from storage.sqlite.keyboards import KeyboardMessages
from storage.sqlite.packet_messages import PacketMessages
from storage.sqlite.records import Records
from storage.sqlite.trust import Trust

from bot.engine import open_engine

if TYPE_CHECKING:
    from bot.context import BotContext

__all__ = ["AnyApplication", "Hook", "Lifecycle"]

_log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Hook = Callable[[AnyApplication, "BotContext"], Awaitable[None]]


@dataclass
class Lifecycle:
    """The features' start-up and shut-down steps, run once each by ``start``/``stop``."""

    # Run by ``start`` after the engine opens, and by ``stop`` (reversed) before it closes.
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    started: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def start(self, application: AnyApplication, ctx: BotContext) -> None:
        """Open the engine, build the adapters the handlers use, run the start-up steps.

        The adapters speak SQL both engines run (``storage.sql_store``): the same
        ones serve a SQLite and a PostgreSQL store.
        """
        async with self.lock:
            if self.started:
                return
            if ctx.engine is None:
                ctx.engine = await open_engine(ctx.settings, db_path=ctx.db_path, clock=ctx.clock)
            store = ctx.engine.store
            ctx.drafts = Drafts(store)
            ctx.chats = ChatSettings(store, ctx.clock.now_ms)
            ctx.keyboards = KeyboardMessages(store)
            ctx.records = Records(store)
            ctx.trust = Trust(store)
            ctx.packet_messages = PacketMessages(store)
            self.started = True
            await self._run_start(application, ctx)

    async def stop(self, application: AnyApplication, ctx: BotContext) -> None:
        """Stop the features, finish pending edits, close the engine."""
        async with self.lock:
            if ctx.engine is None:
                return
            await self._run_stop(application, ctx)
            if ctx.editor is not None:
                await ctx.editor.flush()
            await ctx.background.drain()
            await ctx.engine.close()
            ctx.engine = None
            self.started = False

    async def _run_start(self, application: AnyApplication, ctx: BotContext) -> None:
        for hook in self.on_start:
            try:
                await hook(application, ctx)
            except Exception:
                _log.exception("start-up step %s failed", getattr(hook, "__name__", hook))

    async def _run_stop(self, application: AnyApplication, ctx: BotContext) -> None:
        for hook in reversed(self.on_stop):
            try:
                await hook(application, ctx)
            except Exception:
                _log.exception("shut-down step %s failed", getattr(hook, "__name__", hook))

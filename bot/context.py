"""What a handler reaches: one typed field per service, kept in ``application.bot_data``.

Handlers find it with ``bot_context(context)``. The composition root
(``bot.app``) builds it; the adapters over the database are built once when the
engine opens (``bot.lifecycle``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, ContextTypes

from core.cache import BoundedCache
from core.ports import Clock
from core.services import RedPackets
from storage.sqlite.chats import ChatSettings
from storage.sqlite.drafts import Drafts
from storage.sqlite.keyboards import KeyboardMessages
from storage.sqlite.packet_messages import PacketMessages
from storage.sqlite.records import Records
from storage.sqlite.trust import Trust
from storage.stores import Store

from bot.answered import AnsweredPresses
from bot.campaign_messages import CampaignMessages
from bot.edits import PacketEditor
from bot.engine import Engine
from bot.greeter import Greeter
from bot.lifecycle import AnyApplication, Hook, Lifecycle
from bot.notify import Notifier
from bot.once_per_minute import OncePerMinute
from bot.settings import Settings
from bot.tasks import Background, OneAtATime
from bot.words import Words

__all__ = ["CONTEXT_KEY", "AnyApplication", "BotContext", "bot_context", "start", "stop"]

CONTEXT_KEY = "redpacket"

PACKET_LANGS_REMEMBERED = 10_000
PACKET_LANG_SECONDS = 3600


@dataclass
class BotContext:
    """Everything a handler needs, kept in ``application.bot_data[CONTEXT_KEY]``."""

    settings: Settings
    clock: Clock
    words: Words = field(init=False)
    engine: Engine | None = None
    db_path: str | None = None
    # The handler group features add their handlers to (``application.add_handler(h, ctx.group)``).
    group: int = 0
    application: AnyApplication | None = None
    # Built by the composition root.
    editor: PacketEditor | None = None
    notifier: Notifier | None = None
    # Built when the engine opens (``bot.lifecycle``).
    drafts: Drafts | None = None
    chats: ChatSettings | None = None
    records: Records | None = None
    trust: Trust | None = None
    packet_messages: PacketMessages | None = None
    # Which bot message carries which keyboard (checked before a press acts on it).
    keyboards: KeyboardMessages | None = None
    # Commands of the menu (``setMyCommands``); each needs ``command.<name>`` in the catalogs.
    commands: list[str] = field(default_factory=list)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    background: Background = field(default_factory=Background)
    answered: AnsweredPresses = field(default_factory=AnsweredPresses)
    # First-contact writes beside presses, many members per write; and who was
    # greeted for the first time by this process (``/start`` mentions the bonus).
    greeter: Greeter = field(default_factory=Greeter)
    # The features' own state.
    campaigns: CampaignMessages = field(default_factory=CampaignMessages)
    expiry: OneAtATime = field(default_factory=OneAtATime)
    top: OncePerMinute = field(default_factory=OncePerMinute)
    _packet_langs: BoundedCache[str, str] = field(
        default_factory=lambda: BoundedCache(PACKET_LANGS_REMEMBERED, PACKET_LANG_SECONDS)
    )

    def __post_init__(self) -> None:
        self.words = Words(self.settings.currency_symbol, self.settings.default_language)

    # -- the engine ----------------------------------------------------------

    async def ready(self) -> Engine:
        """The open engine; opens it (and runs start-up) on first use."""
        if self.engine is not None and self.lifecycle.started:
            return self.engine
        assert self.application is not None, "install() was not called"
        await self.lifecycle.start(self.application, self)
        assert self.engine is not None
        return self.engine

    @property
    def started(self) -> bool:
        return self.lifecycle.started

    @property
    def on_start(self) -> list[Hook]:
        return self.lifecycle.on_start

    @property
    def on_stop(self) -> list[Hook]:
        return self.lifecycle.on_stop

    @property
    def packets(self) -> RedPackets:
        assert self.engine is not None, "engine not open: await ctx.ready() first"
        return self.engine.packets

    @property
    def store(self) -> Store:
        assert self.engine is not None, "engine not open: await ctx.ready() first"
        return self.engine.store

    @property
    def bot_username(self) -> str:
        assert self.application is not None
        return self.application.bot.username

    # -- languages -----------------------------------------------------------

    async def lang_of(self, chat_id: int | None, language_code: str | None) -> str:
        """The chat's ``/lang`` override, else the member's Telegram language."""
        if chat_id is not None and self.chats is not None:
            override = await self.chats.lang(chat_id)
            if override:
                return override
        return self.lang(language_code)

    async def packet_lang(self, packet_id: str, chat_id: int) -> str:
        """The language a packet's group message was first written in."""
        lang = self._packet_langs.get(packet_id)
        if lang is None:
            stored = await self.drafts.lang_of_packet(packet_id) if self.drafts else None
            lang = stored or await self.lang_of(chat_id, None)
            self._packet_langs.put(packet_id, lang)
        return lang

    def remember_packet_lang(self, packet_id: str, lang: str) -> None:
        self._packet_langs.put(packet_id, lang)

    # -- words (``self.words``, for handlers' brevity) -------------------------

    def money(self, cents: int) -> str:
        return self.words.money(cents)

    def lang(self, code: str | None) -> str:
        return self.words.lang(code)

    def text(self, lang: str, key: str, **params: Any) -> str:
        return self.words.text(lang, key, **params)

    def html(self, lang: str, key: str, **params: Any) -> str:
        return self.words.html(lang, key, **params)

    # -- background work (``self.background``) ---------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self.background.spawn(coro)

    async def drain(self) -> None:
        """Wait until background tasks and pending message edits are done."""
        await self.background.drain()


def bot_context(source: ContextTypes.DEFAULT_TYPE | AnyApplication) -> BotContext:
    """The ``BotContext`` from a handler's ``context`` or from the application."""
    application = source if isinstance(source, Application) else source.application
    return application.bot_data[CONTEXT_KEY]


async def start(application: AnyApplication) -> BotContext:
    """Open the engine and run every feature's start-up (idempotent)."""
    ctx = bot_context(application)
    await ctx.lifecycle.start(application, ctx)
    return ctx


async def stop(application: AnyApplication) -> None:
    """Finish pending edits, stop features, close the engine (idempotent)."""
    ctx = bot_context(application)
    await ctx.lifecycle.stop(application, ctx)

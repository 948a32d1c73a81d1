"""Composition root: builds the PTB ``Application`` and wires the red-packet features.

Two ways in:

* ``build_application(settings)`` — the standalone bot (``redpacket run``).
* ``install(application, settings)`` — a plugin inside an existing PTB app. It adds
  our handlers (group ``0`` by default, after the host's own) and chains
  ``post_init``/``post_shutdown`` to ``start``/``stop``. Because ``post_init`` only
  runs under ``run_polling``/``run_webhook``, an app driven by ``async with app:``
  either calls ``await start(app)`` / ``await stop(app)`` itself, or lets the first
  update open the engine lazily (``BotContext.ready``); ``stop`` is then still needed
  to close the database cleanly.

A feature is a module listed in ``FEATURES`` exposing ``register(application, ctx)``;
it reads everything it needs from the ``BotContext`` (``ctx.packets``, ``ctx.store``,
``ctx.text(...)``). Handlers find the context with ``bot_context(context)``.
"""

from __future__ import annotations

import asyncio
import html
import importlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, ContextTypes, Defaults
from telegram.request import BaseRequest

from core.amount import Amount
from core.money import format_cents
from core.ports import Clock
from core.services import RedPackets, SystemClock
from storage.sqlite.chats import ChatSettings
from storage.sqlite.drafts import Drafts
from storage.stores import Store
from storage.sqlite.keyboards import KeyboardMessages

from bot.arrivals import StampedUpdateProcessor, StampingUpdateQueue
from core.cache import BoundedCache
from bot.engine import Engine, open_engine
from bot.i18n import Translator, get_translator, normalize_language
from bot.settings import Settings

__all__ = [
    "CONTEXT_KEY",
    "FEATURES",
    "BotContext",
    "bot_context",
    "build_application",
    "install",
    "start",
    "stop",
]

_log = logging.getLogger(__name__)

CONTEXT_KEY = "redpacket"

# Handler modules, each with ``register(application, ctx)``; registered in this order
# (the first matching handler of a group wins). Add your feature module here.
FEATURES: list[str] = [
    "bot.handlers.members",  # group -1: open lazily, greet (welcome bonus)
    "bot.handlers.gate_health",  # at start: warn (log, bot admins) when Redis does not answer
    "bot.handlers.send",  # /hongbao, /fixed
    "bot.handlers.draft",  # draft buttons
    "bot.handlers.press",  # Open
    "bot.handlers.result",  # /start p_<id>, Send again, My red packets
    "bot.handlers.start",  # /start, /help
    "bot.handlers.wallet",  # /balance, /daily, /grant, /topup
    "bot.handlers.records",  # /records and its page buttons
    "bot.handlers.stats",  # /stats, turned-away flush job
    "bot.handlers.lang",  # /lang
    "bot.handlers.chat_rules",  # /settings: split rule, draft skip, who may open
    "bot.handlers.password",  # /password (口令红包) and the replies that unlock it
    "bot.handlers.blocks",  # /block, /unblock
    "bot.handlers.expiry",  # expiry sweep job, at start and every EXPIRY_SWEEP_SECONDS
    "bot.handlers.resync",  # packet messages left behind: edited at start, then now and then
    "bot.handlers.audit",  # the periodic audit, every AUDIT_INTERVAL_SECONDS
    "bot.handlers.shake",  # /shake campaigns, the Shake button, the end sweep
    "bot.handlers.trust",  # /suspects (grabber report), /top (leaderboard)
    "bot.handlers.menu",  # setMyCommands in English and Chinese, at start
]

# Registered after every feature, standalone only: answers callback data nobody
# claimed ("This button is no longer valid"). A host app keeps its own callbacks.
CATCH_ALL = "bot.handlers.fallback"

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


@dataclass
class BotContext:
    """Everything a handler needs, kept in ``application.bot_data[CONTEXT_KEY]``."""

    settings: Settings
    clock: Clock
    translator: Translator = field(default_factory=get_translator)
    engine: Engine | None = None
    db_path: str | None = None
    # The handler group features add their handlers to (``application.add_handler(h, ctx.group)``).
    group: int = 0
    # Set by ``install``: bot.edits.PacketEditor and bot.notify.Notifier.
    editor: Any = None
    notifier: Any = None
    # Set by ``start`` once the database is open.
    drafts: Drafts | None = None
    chats: ChatSettings | None = None
    # Which bot message carries which keyboard (checked before a press acts on it).
    keyboards: KeyboardMessages | None = None
    # Commands of the menu (``setMyCommands``); each needs ``command.<name>`` in the catalogs.
    commands: list[str] = field(default_factory=list)
    # Free room for features: ``ctx.extra["shake"] = ...``.
    extra: dict[str, Any] = field(default_factory=dict)
    # Coroutines run by ``start``/``stop`` after the engine opens / before it closes.
    on_start: list[Callable[[AnyApplication, BotContext], Awaitable[None]]] = field(
        default_factory=list
    )
    on_stop: list[Callable[[AnyApplication, BotContext], Awaitable[None]]] = field(
        default_factory=list
    )
    application: AnyApplication | None = None
    started: bool = False
    # Members greeted for the first time by this process (``/start`` mentions the bonus).
    fresh_members: set[int] = field(default_factory=set)
    _answered: dict[str, None] = field(default_factory=dict)
    _packet_langs: BoundedCache[str, str] = field(
        default_factory=lambda: BoundedCache(10_000, 3600)
    )
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    # -- the engine ----------------------------------------------------------

    async def ready(self) -> Engine:
        """The open engine; opens it (and runs start-up) on first use."""
        if self.engine is not None and self.started:
            return self.engine
        assert self.application is not None, "install() was not called"
        await start(self.application)
        assert self.engine is not None
        return self.engine

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

    # -- callback answers ----------------------------------------------------

    def mark_answered(self, query_id: str) -> None:
        self._answered[query_id] = None
        if len(self._answered) > 50_000:
            for old in list(self._answered)[:25_000]:
                del self._answered[old]

    def was_answered(self, query_id: str) -> bool:
        return query_id in self._answered

    # -- words and money -----------------------------------------------------

    def money(self, cents: int) -> str:
        return f"{self.settings.currency_symbol}{format_cents(cents)}"

    def lang(self, code: str | None) -> str:
        """A Telegram ``language_code`` (or stored override) as ``en``/``zh``."""
        return normalize_language(code or self.settings.default_language)

    def _params(self, params: dict[str, Any], escape: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in params.items():
            if isinstance(value, Amount):
                out[name] = self.money(int(value))
            elif escape and isinstance(value, str) and not isinstance(value, Markup):
                out[name] = html.escape(value, quote=False)
            else:
                out[name] = value
        return out

    def text(self, lang: str, key: str, **params: Any) -> str:
        """Plain text (callback answers): ``Amount`` params become money."""
        return self.translator.translate(lang, key, **self._params(params, escape=False))

    def html(self, lang: str, key: str, **params: Any) -> str:
        """HTML text: ``str`` params are escaped, ``Amount`` params become money.

        Pass pre-rendered HTML fragments wrapped in ``Markup`` to skip escaping.
        """
        return self.translator.translate(lang, key, **self._params(params, escape=True))

    # -- background work -----------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; ``drain`` waits for it (tests, shutdown)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("background task failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until background tasks and pending message edits are done."""
        while True:
            pending = set(self._tasks)
            if self.editor is not None:
                pending |= self.editor.pending()
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)


class Markup(str):
    """An HTML fragment we built ourselves: ``BotContext.html`` does not escape it."""


def bot_context(source: ContextTypes.DEFAULT_TYPE | AnyApplication) -> BotContext:
    """The ``BotContext`` from a handler's ``context`` or from the application."""
    application = source if isinstance(source, Application) else source.application
    return application.bot_data[CONTEXT_KEY]


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    clock: Clock | None = None,
    db_path: str | None = None,
    rate_limiter: BaseRateLimiter[Any] | None | bool = True,
) -> AnyApplication:
    """The standalone bot: HTML defaults, concurrent updates, flood limits, our features.

    ``request`` replaces the network (tests pass a recording ``BaseRequest``);
    without it the bot talks through ``bot.request.AiohttpRequest`` (one for
    calls, one long-lived for ``getUpdates``), via ``TELEGRAM_PROXY_URL`` if set.
    ``rate_limiter=True`` uses ``bot.ratelimit.PriorityRateLimiter``: Telegram's limits,
    retries on 429, and a chat's edits before its other messages.
    """
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        Application.builder()
        .token(settings.require_token() if request is None else settings.bot_token or "1:TEST")
        .base_url(settings.telegram_api_base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
    )
    # Presses must be answered within seconds: never queue them behind each other;
    # and each update's handlers know how long it waited (bot.arrivals).
    clock = clock or SystemClock()
    queue = StampingUpdateQueue(clock.now_ms)
    builder = builder.update_queue(queue).concurrent_updates(StampedUpdateProcessor(queue))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        from bot.request import bot_requests

        calls, updates = bot_requests(settings.telegram_proxy_url or None)
        builder = builder.request(calls).get_updates_request(updates)
    if rate_limiter is True:
        from bot.ratelimit import PriorityRateLimiter

        builder = builder.rate_limiter(PriorityRateLimiter(max_retries=3))
    elif rate_limiter:
        builder = builder.rate_limiter(rate_limiter)
    application = builder.build()
    install(application, settings, clock=clock, db_path=db_path, catch_all=True)
    return application


def install(
    application: AnyApplication,
    settings: Settings,
    *,
    clock: Clock | None = None,
    db_path: str | None = None,
    group: int = 0,
    catch_all: bool = False,
) -> BotContext:
    """Add the red-packet features to ``application`` without touching its own handlers."""
    if CONTEXT_KEY in application.bot_data:
        raise RuntimeError("red packets are already installed in this application")
    ctx = BotContext(
        settings=settings, clock=clock or SystemClock(), db_path=db_path, group=group
    )
    ctx.application = application
    application.bot_data[CONTEXT_KEY] = ctx
    from bot.edits import PacketEditor
    from bot.notify import Notifier

    ctx.editor = PacketEditor(ctx)
    ctx.notifier = Notifier(ctx)
    for name in FEATURES + ([CATCH_ALL] if catch_all else []):
        importlib.import_module(name).register(application, ctx)
    _chain_lifecycle(application)
    return ctx


def _chain_lifecycle(application: AnyApplication) -> None:
    host_init, host_shutdown = application.post_init, application.post_shutdown

    async def post_init(app: AnyApplication) -> None:
        await start(app)
        if host_init is not None:
            await host_init(app)

    async def post_shutdown(app: AnyApplication) -> None:
        if host_shutdown is not None:
            await host_shutdown(app)
        await stop(app)

    application.post_init = post_init
    application.post_shutdown = post_shutdown


async def start(application: AnyApplication) -> BotContext:
    """Open the engine and run every feature's start-up (idempotent)."""
    ctx = bot_context(application)
    async with ctx._lock:
        if ctx.started:
            return ctx
        if ctx.engine is None:
            ctx.engine = await open_engine(ctx.settings, db_path=ctx.db_path, clock=ctx.clock)
        ctx.drafts = Drafts(ctx.engine.store)
        ctx.chats = ChatSettings(ctx.engine.store, ctx.clock.now_ms)
        ctx.keyboards = KeyboardMessages(ctx.engine.store)
        ctx.started = True
        for hook in ctx.on_start:
            try:
                await hook(application, ctx)
            except Exception:
                _log.exception("start-up step %s failed", getattr(hook, "__name__", hook))
    return ctx


async def stop(application: AnyApplication) -> None:
    """Finish pending edits, stop features, close the engine (idempotent)."""
    ctx = bot_context(application)
    async with ctx._lock:
        if ctx.engine is None:
            return
        for hook in reversed(ctx.on_stop):
            try:
                await hook(application, ctx)
            except Exception:
                _log.exception("shut-down step %s failed", getattr(hook, "__name__", hook))
        if ctx.editor is not None:
            await ctx.editor.flush()
        await ctx.drain()
        await ctx.engine.close()
        ctx.engine = None
        ctx.started = False

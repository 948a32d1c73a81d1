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
it reads everything it needs from the ``BotContext`` (``bot.context``: ``ctx.packets``,
``ctx.store``, ``ctx.text(...)``). Handlers find the context with
``bot_context(context)``; no module imports this one back.
"""

from __future__ import annotations

from typing import Any, Protocol

from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, Defaults
from telegram.request import BaseRequest

from core.ports import Clock
from core.services import SystemClock

from bot.arrivals import StampedUpdateProcessor, StampingUpdateQueue
from bot.context import CONTEXT_KEY, AnyApplication, BotContext, bot_context, start, stop
from bot.edits import PacketEditor
from bot.handlers import (
    audit,
    blocks,
    chat_rules,
    draft,
    expiry,
    fallback,
    gate_health,
    lang,
    members,
    menu,
    password,
    press,
    records,
    result,
    resync,
    send,
    shake,
    stats,
    trust,
    wallet,
)
from bot.handlers import start as start_help
from bot.notify import Notifier
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


class Feature(Protocol):
    """A handler module: adds its handlers (and start/stop steps) to the application."""

    def register(self, application: AnyApplication, ctx: BotContext) -> None: ...


# Handler modules, each with ``register(application, ctx)``; registered in this order
# (the first matching handler of a group wins). Add your feature module here.
FEATURES: list[Feature] = [
    members,  # group -1: open lazily, greet (welcome bonus)
    gate_health,  # at start: warn (log, bot admins) when Redis does not answer
    send,  # /hongbao, /fixed
    draft,  # draft buttons
    press,  # Open
    result,  # /start p_<id>, Send again, My red packets
    start_help,  # /start, /help
    wallet,  # /balance, /daily, /grant, /topup
    records,  # /records and its page buttons
    stats,  # /stats, turned-away flush job
    lang,  # /lang
    chat_rules,  # /settings: split rule, draft skip, who may open
    password,  # /password (口令红包) and the replies that unlock it
    blocks,  # /block, /unblock
    expiry,  # expiry sweep job, at start and every EXPIRY_SWEEP_SECONDS
    resync,  # packet messages left behind: edited at start, then now and then
    audit,  # the periodic audit, every AUDIT_INTERVAL_SECONDS
    shake,  # /shake campaigns, the Shake button, the end sweep
    trust,  # /suspects (grabber report), /top (leaderboard)
    menu,  # setMyCommands in English and Chinese, at start
]

# Registered after every feature, standalone only: answers callback data nobody
# claimed ("This button is no longer valid"). A host app keeps its own callbacks.
CATCH_ALL: Feature = fallback


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
    ctx.editor = PacketEditor(ctx)
    ctx.notifier = Notifier(ctx.words, ctx.packet_lang, lambda: application.bot)
    ctx.background.also_wait_for(ctx.editor.pending)
    for feature in FEATURES + ([CATCH_ALL] if catch_all else []):
        feature.register(application, ctx)
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

"""At start, check that the shared Redis answers: if not, one warning line in the
log (``storage.gate``, which also logs when it is back) and a word to the bot admins."""

from __future__ import annotations

import logging

from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application

from bot.app import BotContext

_log = logging.getLogger(__name__)


async def _check(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    assert ctx.engine is not None
    gate = ctx.engine.gate
    if gate is None or gate.embedded or await gate.ping():
        return
    lang = ctx.lang(None)
    text = ctx.html(lang, "gate.unreachable_admin", where=gate.health.place)
    for admin in ctx.settings.bot_admin_ids:
        try:
            await application.bot.send_message(admin, text, parse_mode=ParseMode.HTML)
        except TelegramError as error:
            _log.info("could not tell bot admin %s that Redis is down: %s", admin, error)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    ctx.on_start.append(_check)

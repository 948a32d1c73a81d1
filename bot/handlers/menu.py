"""The command menu in English (default) and Chinese (``setMyCommands`` with language_code)."""

from __future__ import annotations

import logging

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import Application

from bot.context import BotContext

_log = logging.getLogger(__name__)


def menu(ctx: BotContext, lang: str) -> list[BotCommand]:
    seen: dict[str, None] = dict.fromkeys(ctx.commands)
    return [BotCommand(name, ctx.text(lang, f"command.{name}")) for name in seen]


async def _start(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    try:
        await application.bot.set_my_commands(menu(ctx, "en"))
        await application.bot.set_my_commands(menu(ctx, "zh"), language_code="zh")
    except TelegramError as error:
        _log.warning("could not set the command menu: %s", error)


def register(application: Application, ctx: BotContext) -> None:  # type: ignore[type-arg]
    ctx.on_start.append(_start)

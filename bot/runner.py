"""``redpacket run``: the standalone bot, long polling or a webhook (docs/rules.md §10).

Problems a self-hoster can fix (no token, a token Telegram refuses, a database
that cannot be opened, an unreachable Bot API) stop start-up with one
``SettingsError`` line, never a traceback. The token never reaches the logs.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
from typing import Any
from urllib.parse import urlsplit

import psycopg
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot import frozen_objects, pressed_messages
from bot.app import build_application
from bot.retry import one_line_rate_limit_logs
from bot.settings import Settings, SettingsError
from storage.stores import redacted

_log = logging.getLogger(__name__)


class RedactToken(logging.Filter):
    """Replaces the bot token in every log record (URLs in library logs carry it).

    Start-up failures PTB logs with a traceback ("Bootstrap ...") are reduced to
    their message: ``run`` raises them again as one ``SettingsError`` line.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._format = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and "Bootstrap" in message:
            record.exc_info, record.exc_text = None, None
        elif record.exc_info and not record.exc_text:
            record.exc_text = self._format.formatException(record.exc_info)
        if not self.token:
            return True
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "<token>")
        return True


def configure_logging(settings: Settings, token: str) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    one_line_rate_limit_logs()
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)


# Young objects collected every this many allocations (CPython's default is 700):
# under a crowd the bot holds thousands of live updates and tasks, and each
# collection walks every young survivor again.
GC_YOUNG_THRESHOLD = 20_000


def settle_collector() -> None:
    """Keep what start-up made (modules, handlers, catalogs: the process's whole
    life) out of every later collection, and collect young objects less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def _settle_after_start(application: Any) -> None:
    started = application.post_init

    async def post_init(app: Any) -> None:
        if started is not None:
            await started(app)
        settle_collector()

    application.post_init = post_init


def webhook_path(url: str) -> str:
    """The path Telegram posts to, taken from ``WEBHOOK_URL`` (``/`` when none)."""
    return urlsplit(url).path.lstrip("/")


def run(settings: Settings) -> None:
    """Run the bot until interrupted; raise ``SettingsError`` (one line) when it cannot start."""
    token = settings.require_token()
    configure_logging(settings, token)
    frozen_objects.install()
    pressed_messages.install()
    application = build_application(settings)
    _settle_after_start(application)
    try:
        if settings.webhook_url:
            _log.info("starting with a webhook at %s", settings.webhook_url)
            application.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=webhook_path(settings.webhook_url),
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value() or None,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            _log.info("starting with long polling")
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN was refused by Telegram: check it with @BotFather"
        ) from None
    except NetworkError as error:
        raise SettingsError(
            f"Cannot reach the Bot API at TELEGRAM_API_BASE_URL "
            f"({settings.telegram_api_base_url}): {_clean(str(error), token)}"
        ) from None
    except (sqlite3.Error, psycopg.Error, OSError) as error:
        raise SettingsError(
            f"DATABASE_URL ({redacted(settings.database_url)}) cannot be opened: "
            f"{_clean(first_line(error), token)}"
        ) from None
    except TelegramError as error:
        raise SettingsError(f"Telegram refused to start the bot: {_clean(str(error), token)}") from None


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _clean(text: str, token: str) -> str:
    return text.replace(token, "<token>") if token else text


def main() -> int:
    """``python -m bot.runner``: what ``redpacket run`` does (the through-bot bench starts it)."""
    import sys

    from bot.settings import load_settings

    try:
        run(load_settings())
    except SettingsError as exc:
        print(f"redpacket: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

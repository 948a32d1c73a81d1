"""What to do when a Bot API call fails: wait, try again, or give up (and log once).

* 429 (``RetryAfter``): wait what Telegram says, then try again.
* 5xx, a timeout or a lost connection (``NetworkError`` but not ``BadRequest``):
  transient; back off and try again.
* "message to edit not found", "message can't be edited", a chat the bot left:
  the message is gone for good.
* Any other 400: our request is wrong; trying again cannot help.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram.error import (
    BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError,
)

T = TypeVar("T")

_log = logging.getLogger(__name__)

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
POST_ATTEMPTS = 4  # a posted message: about 0.5 + 1 + 2 s of waiting at most, besides 429s

_GONE = (
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
    "message to delete not found",
    "chat not found",
)


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore")
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1`` after a transient failure."""
    return float(min(BACKOFF_FIRST * 2**attempt, BACKOFF_MAX))


def is_transient(error: TelegramError) -> bool:
    """A 5xx, a timeout or a lost connection: the same call may well work later."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def is_not_modified(error: TelegramError) -> bool:
    return isinstance(error, BadRequest) and "not modified" in error.message.lower()


def is_gone(error: TelegramError) -> bool:
    """Telegram will never let the bot edit this message again."""
    if isinstance(error, (Forbidden, ChatMigrated)):
        return True
    return isinstance(error, BadRequest) and any(g in error.message.lower() for g in _GONE)


async def post(call: Callable[[], Awaitable[T]], what: str) -> T | None:
    """Make a call that posts something, trying again after 429s and transient failures.

    Trying again after a lost response may post twice; every message we post
    stays usable when that happens (its buttons name what they act on). Returns
    ``None`` (logged in one line) when Telegram refused or stayed unreachable.
    """
    failures = 0
    while True:
        try:
            return await call()
        except RetryAfter as error:
            await asyncio.sleep(retry_seconds(error))
        except TelegramError as error:
            if not is_transient(error) or failures + 1 >= POST_ATTEMPTS:
                _log.warning("%s failed: %s", what, error)
                return None
            await asyncio.sleep(backoff(failures))
            failures += 1


class _WithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


def one_line_rate_limit_logs() -> None:
    """PTB's rate limiter logs a traceback when it stops retrying a 429; the caller
    (the editor, ``post``) goes on waiting, so one line says it all."""
    logging.getLogger("telegram.ext.AIORateLimiter").addFilter(_WithoutTraceback())

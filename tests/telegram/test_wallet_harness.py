"""Deprecated import path, kept while other branches' tests still import from it.

The wallet harness is now the shared one (``bot_harness.running_bot``, the
real ``install()``); the ``wallet_bot`` and ``upload_request`` fixtures live
in ``conftest.py``. Import from there; this module goes once nothing does.
"""

from __future__ import annotations

from typing import Any

from bot.settings import Settings, load_settings
from tests.telegram.bot_harness import ADMIN_ID, GROUP_ID, WALLET_SETTINGS, Bot, UploadRecordingRequest
from tests.telegram.conftest import upload_request, wallet_bot

WalletBot = Bot

__all__ = [
    "ADMIN_ID", "GROUP_ID", "UploadRecordingRequest", "WalletBot", "upload_request", "wallet_bot",
    "wallet_settings",
]


def wallet_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"telegram_bot_token": "123:ABC", "redis_url": "", **WALLET_SETTINGS}
    values.update(overrides)
    return load_settings(env_file=None, **values)

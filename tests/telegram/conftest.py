"""Fixtures for PTB handler tests against the offline fake Telegram.

``bot`` is the whole bot (``running_bot``, the real ``install()``) with the
harness defaults; a test module changes its settings by overriding
``bot_overrides``. ``wallet_bot`` is the same bot with the wallet settings
(``WALLET_SETTINGS``: a bot admin, bonuses, Stars top-ups).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeClock
from tests.telegram.bot_harness import WALLET_SETTINGS, Bot, UploadRecordingRequest, running_bot
from tests.telegram.fake_telegram import RecordingRequest, UpdateFactory


@pytest.fixture
def recording_request() -> RecordingRequest:
    return RecordingRequest()


@pytest.fixture
def updates() -> UpdateFactory:
    return UpdateFactory()


@pytest.fixture
def bot_overrides() -> dict[str, Any]:
    """Settings for the ``bot`` fixture beyond the harness defaults."""
    return {}


@pytest.fixture
async def bot(tmp_path: Path, bot_overrides: dict[str, Any]) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, **bot_overrides) as running:
        yield running


@pytest.fixture
def upload_request() -> UploadRecordingRequest:
    return UploadRecordingRequest()


@pytest.fixture
async def wallet_bot(
    upload_request: UploadRecordingRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path, req=upload_request, clock=clock, **WALLET_SETTINGS) as running:
        yield running

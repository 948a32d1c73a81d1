"""Fixtures for PTB handler tests against the offline fake Telegram.

``bot`` is the whole bot (``running_bot``, the real ``install()``) with the
harness defaults; a test module changes its settings by overriding
``bot_overrides``. ``wallet_bot`` is the same bot with the wallet settings
(``WALLET_SETTINGS``: a bot admin, bonuses, Stars top-ups).

Every test runs on SQLite; a test (or module) marked ``on_postgres`` runs on
PostgreSQL too: one parametrised database (``bot_database``), not copies. The
marked tests exercise every table adapter and every handler family (the whole
folder on both engines would add minutes to the suite); set
``TELEGRAM_ON_POSTGRES=all`` to run every test here on both but those marked
``sqlite_only``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeClock
from tests.telegram.bot_harness import (
    WALLET_SETTINGS,
    Bot,
    UploadRecordingRequest,
    running_bot,
    use_database,
)
from tests.telegram.fake_telegram import RecordingRequest, UpdateFactory

ON_POSTGRES = "on_postgres"
SQLITE_ONLY = "sqlite_only"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{ON_POSTGRES}: this Telegram test runs on PostgreSQL as well as SQLite"
    )
    config.addinivalue_line(
        "markers", f"{SQLITE_ONLY}(reason): this Telegram test is about SQLite, or no database"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bot_database" not in metafunc.fixturenames:
        return
    marked = metafunc.definition.get_closest_marker
    both = (
        os.environ.get("TELEGRAM_ON_POSTGRES") == "all" or marked(ON_POSTGRES) is not None
    ) and marked(SQLITE_ONLY) is None
    kinds = ["sqlite", "postgres"] if both else ["sqlite"]
    metafunc.parametrize("bot_database", kinds, indirect=True)


@pytest.fixture(autouse=True)
def bot_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The engine of every bot the test starts: a SQLite file in ``tmp_path``, or a
    fresh PostgreSQL database (``pg_url`` of tests/conftest.py) they all share."""
    kind = getattr(request, "param", "sqlite")
    use_database(request.getfixturevalue("pg_url") if kind == "postgres" else None)
    try:
        yield kind
    finally:
        use_database(None)


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

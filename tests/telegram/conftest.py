"""Fixtures for PTB handler tests against the offline fake Telegram."""

from __future__ import annotations

import pytest

from tests.telegram.fake_telegram import RecordingRequest, UpdateFactory


@pytest.fixture
def recording_request() -> RecordingRequest:
    return RecordingRequest()


@pytest.fixture
def updates() -> UpdateFactory:
    return UpdateFactory()

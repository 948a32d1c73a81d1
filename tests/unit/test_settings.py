"""Settings: defaults, env and .env overrides, clean one-line errors, hidden secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

TOKEN = "123456:AAHsecretTOKENvalue-xyz"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the runner's environment or a stray .env."""
    names = {name.upper() for name in Settings.model_fields}
    for key in list(os.environ):
        if key.upper() in names:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = load_settings()
    assert s.bot_token == ""
    assert s.telegram_api_base_url == "https://api.telegram.org/bot"
    assert s.database_url == "sqlite:///redpacket.db"
    assert s.database_path == Path("redpacket.db")
    assert s.redis_url == ""
    assert s.bot_admin_ids == []
    assert (s.welcome_bonus, s.daily_bonus) == (10_000, 1_000)
    assert s.currency_symbol == "¥"
    assert (s.max_share, s.max_shares, s.max_total) == (20_000, 100, 2_000_000)
    assert s.packet_ttl_seconds == 86_400
    assert s.draft_skip_below == 0
    assert s.lucky_rule == "double_mean"
    assert s.default_language == "en"
    assert (s.webhook_url, s.webhook_listen, s.webhook_port) == ("", "0.0.0.0", 8443)
    assert s.webhook_secret.get_secret_value() == ""
    assert s.edit_interval_seconds == 3.0
    assert s.expiry_sweep_seconds == 30
    assert (s.shake_interval_seconds, s.shake_max_wins) == (5, 1)
    assert (s.topup_enabled, s.topup_cents_per_star) == (False, 1)
    assert s.log_level == "INFO"


def test_env_overrides_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_SHARES", "20")
    monkeypatch.setenv("lucky_rule", "Segment")
    monkeypatch.setenv("Topup_Enabled", "true")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "ZH")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    s = load_settings()
    assert (s.max_shares, s.lucky_rule, s.topup_enabled) == (20, "segment", True)
    assert (s.default_language, s.log_level) == ("zh", "DEBUG")


def test_dotenv_file_is_read_and_env_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("DAILY_BONUS=2.5\nMAX_SHARES=7\nUNRELATED=1\n")
    monkeypatch.setenv("MAX_SHARES", "9")
    s = load_settings()
    assert (s.daily_bonus, s.max_shares) == (250, 9)
    assert load_settings(env_file=None).daily_bonus == 1_000


def test_env_example_lists_every_setting_with_its_default() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    values = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert set(values) == {name.upper() for name in Settings.model_fields}
    assert load_settings(**values) == load_settings()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,2", [1, 2]), (" 1 , 22 ,333 ", [1, 22, 333]), ("", []), ("7,", [7]), ("42", [42])],
)
def test_admin_ids(monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[int]) -> None:
    monkeypatch.setenv("BOT_ADMIN_IDS", raw)
    assert load_settings().bot_admin_ids == expected


def test_money_settings_are_cents() -> None:
    s = load_settings(
        welcome_bonus="0", daily_bonus="0.5", max_share="１２.３４", max_total="100",
        draft_skip_below="5.00",
    )
    assert (s.welcome_bonus, s.daily_bonus, s.max_share, s.max_total) == (0, 50, 1234, 10_000)
    assert s.draft_skip_below == 500
    assert load_settings(daily_bonus="0.00").daily_bonus == 0
    assert load_settings(max_share=150).max_share == 150  # an int override is cents


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MAX_SHARE", "1,000", "MAX_SHARE must be an amount like 10 or 10.50"),
        ("MAX_SHARE", "0", "MAX_SHARE must be an amount"),
        ("WELCOME_BONUS", "1.005", "WELCOME_BONUS must be 0 or an amount"),
        ("DAILY_BONUS", "-1", "DAILY_BONUS must be 0 or an amount"),
        ("MAX_SHARES", "lots", "MAX_SHARES"),
        ("MAX_SHARES", "0", "greater than or equal to 1"),
        ("BOT_ADMIN_IDS", "1,bob", "BOT_ADMIN_IDS must be comma-separated Telegram user ids"),
        ("LUCKY_RULE", "random", "'double_mean' or 'segment'"),
        ("DEFAULT_LANGUAGE", "fr", "'en' or 'zh'"),
        ("DATABASE_URL", "mysql://db/x", "sqlite:///relative/path.db"),
        ("DATABASE_URL", "sqlite:///", "sqlite:////absolute/path.db"),
        ("WEBHOOK_URL", "http://example.com/hook", "https://"),
        ("WEBHOOK_PORT", "70000", "WEBHOOK_PORT"),
        ("MAX_TOTAL", "100", "MAX_SHARE (200.00) must not be larger than MAX_TOTAL (100.00)"),
    ],
)
def test_malformed_setting_is_one_clean_line_without_the_token(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert TOKEN not in message
    assert "Traceback" not in message and "pydantic" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_bad_webhook_secret_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(webhook_secret="has spaces and hunter2")
    assert "WEBHOOK_SECRET" in str(caught.value) and "hunter2" not in str(caught.value)


def test_token_hidden_in_repr_and_str() -> None:
    s = load_settings(telegram_bot_token=TOKEN)
    assert TOKEN not in repr(s) and TOKEN not in str(s)
    assert s.require_token() == TOKEN


@pytest.mark.parametrize(("token", "expected"), [("", "is empty"), ("   ", "is empty"),
                                                  ("not-a-token", "is malformed")])
def test_require_token(token: str, expected: str) -> None:
    s = load_settings(telegram_bot_token=token)
    with pytest.raises(SettingsError, match=expected) as caught:
        s.require_token()
    assert "\n" not in str(caught.value) and "TELEGRAM_BOT_TOKEN" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "path"),
    [("sqlite:///data/rp.db", Path("data/rp.db")), ("sqlite:////var/lib/rp.db", Path("/var/lib/rp.db"))],
)
def test_database_path(url: str, path: Path) -> None:
    assert load_settings(database_url=url).database_path == path

"""Deployment settings from the environment and a ``.env`` file (docs/rules.md §10).

Money limits are written in ``.env`` as decimal amounts (``200.00``) and held
here as ``int`` cents. Programmatic overrides may pass either form: a ``str``
is parsed like the ``.env`` value, an ``int`` is taken as cents already.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from core.errors import DomainError
from core.amount import Cents
from core.money import format_cents, parse_amount
from storage.gate.cluster import is_cluster_url, startup_nodes

__all__ = ["Settings", "SettingsError", "load_settings"]

_SQLITE_PREFIX = "sqlite:///"
_ZERO_AMOUNT = re.compile(r"0+(?:\.0{0,2})?|\.0{1,2}")
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_SECRET_FIELDS = frozenset({"telegram_bot_token", "webhook_secret", "telegram_proxy_url"})
_REDIS_HELP = (
    "must be empty (the embedded gate) or redis://[:password@]host[:port][/db], "
    "rediss://... (TLS), unix:///path/to/redis.sock or redis+cluster://host:port,host:port"
)
_AMOUNT_HELP = "an amount like 10 or 10.50 (at most two decimals, no separators)"


class SettingsError(Exception):
    """A configuration problem, described in one line fit for a terminal."""


def _cents(value: Any, *, allow_zero: bool) -> Any:
    if isinstance(value, bool) or isinstance(value, float):
        raise PydanticCustomError("money", "must be " + _AMOUNT_HELP)
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("money", "must be " + _AMOUNT_HELP)
    if allow_zero and _ZERO_AMOUNT.fullmatch(value.strip()):
        return 0
    try:
        return parse_amount(value)
    except DomainError:
        floor = "0 or " if allow_zero else ""
        raise PydanticCustomError("money", f"must be {floor}{_AMOUNT_HELP}") from None


def _positive_cents(value: Any) -> Any:
    return _cents(value, allow_zero=False)


def _cents_or_zero(value: Any) -> Any:
    return _cents(value, allow_zero=True)


def _id_list(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    ids: list[int] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if not re.fullmatch(r"-?\d+", part):
            raise PydanticCustomError(
                "id_list", "must be comma-separated Telegram user ids like 12345,67890"
            )
        ids.append(int(part))
    return ids


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


PositiveCents = Annotated[Cents, BeforeValidator(_positive_cents), Field(gt=0)]
CentsOrZero = Annotated[Cents, BeforeValidator(_cents_or_zero), Field(ge=0)]


class Settings(BaseSettings):
    """Every knob a self-hoster can turn; see ``.env.example`` for meanings."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="ignore",
        validate_default=True,
    )

    telegram_bot_token: SecretStr = SecretStr("")
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_proxy_url: str = ""
    database_url: str = "sqlite:///redpacket.db"
    # PostgreSQL only: connections of each process that commit batches of
    # writes, and connections that serve reads.
    database_write_connections: int = Field(1, ge=1, le=32)
    database_read_connections: int = Field(4, ge=1, le=64)
    redis_url: str = ""
    # REDIS_URL names one node of a Redis Cluster (or use redis+cluster://a:1,b:2).
    redis_cluster: bool = False
    bot_admin_ids: Annotated[list[int], NoDecode, BeforeValidator(_id_list)] = []

    welcome_bonus: CentsOrZero = "100.00"  # type: ignore[assignment]
    daily_bonus: CentsOrZero = "10.00"  # type: ignore[assignment]
    currency_symbol: str = "¥"
    max_share: PositiveCents = "200.00"  # type: ignore[assignment]
    max_shares: int = Field(100, ge=1, le=10_000)
    max_total: PositiveCents = "20000.00"  # type: ignore[assignment]
    packet_ttl_seconds: int = Field(86_400, ge=60)
    draft_skip_below: CentsOrZero = "0"  # type: ignore[assignment]
    lucky_rule: Annotated[Literal["double_mean", "segment"], BeforeValidator(_lower)] = (
        "double_mean"
    )
    default_language: Annotated[Literal["en", "zh"], BeforeValidator(_lower)] = "en"
    # Who may open, for chats that chose nothing with /settings (docs/rules.md §12).
    newcomer_hours: int = Field(0, ge=0, le=24 * 365)
    premium_only: bool = False
    daily_send_limit: CentsOrZero = "0"  # type: ignore[assignment]
    personal_packets: bool = True

    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65_535)
    webhook_secret: SecretStr = SecretStr("")

    edit_interval_seconds: float = Field(3.0, ge=0)
    edit_lease_seconds: float = Field(10.0, gt=0)
    expiry_sweep_seconds: float = Field(30, gt=0)
    audit_interval_seconds: float = Field(3600, ge=0)
    shake_interval_seconds: float = Field(5, ge=0)
    shake_max_wins: int = Field(1, ge=1)
    suspect_median_seconds: float = Field(0.5, gt=0, le=60)
    suspect_first_percent: float = Field(60, ge=0, le=100)
    topup_enabled: bool = False
    topup_cents_per_star: int = Field(1, ge=1)
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
    ] = "INFO"

    @field_validator("telegram_api_base_url", "webhook_url", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise PydanticCustomError(
                "url", "must be an http(s) URL like https://api.telegram.org/bot"
            )
        return value

    @field_validator("telegram_proxy_url", mode="before")
    @classmethod
    def _proxy_url(cls, value: Any) -> Any:
        value = value.strip() if isinstance(value, str) else value
        if value and not str(value).startswith(("http://", "https://")):
            raise PydanticCustomError(
                "url", "must be empty or an http(s) proxy URL like http://127.0.0.1:3128"
            )
        return value

    @field_validator("webhook_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        if value and not value.startswith("https://"):
            raise PydanticCustomError(
                "url", "must be empty (polling) or an https:// URL Telegram can reach"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _sqlite_url(cls, value: str) -> str:
        value = value.strip()
        if value.startswith(("postgresql://", "postgres://")):
            return value
        path = value[len(_SQLITE_PREFIX) :] if value.startswith(_SQLITE_PREFIX) else ""
        if not path or "?" in path:
            raise PydanticCustomError(
                "sqlite_url",
                "must be sqlite:///relative/path.db, sqlite:////absolute/path.db"
                " or postgresql://user:password@host:5432/database",
            )
        return value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if value and not _is_redis_url(value):
            raise PydanticCustomError("redis_url", _REDIS_HELP)
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and not _WEBHOOK_SECRET.fullmatch(secret):
            raise PydanticCustomError(
                "webhook_secret", "must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        return value

    @model_validator(mode="after")
    def _limits_agree(self) -> Settings:
        if self.max_share > self.max_total:
            raise PydanticCustomError(
                "limits",
                "MAX_SHARE ({share}) must not be larger than MAX_TOTAL ({total})",
                {"share": format_cents(self.max_share), "total": format_cents(self.max_total)},
            )
        return self

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def database_path(self) -> Path:
        """``sqlite:///a.db`` -> ``a.db``; ``sqlite:////abs/a.db`` -> ``/abs/a.db``."""
        return Path(self.database_url[len(_SQLITE_PREFIX) :])

    @property
    def bot_token(self) -> str:
        """The token as a plain string ("" when unset); never log it."""
        return self.telegram_bot_token.get_secret_value()

    def require_token(self) -> str:
        """The token, or a one-line ``SettingsError`` when it is unusable."""
        token = self.bot_token.strip()
        if not token:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is empty: set it in .env or the environment "
                "(get one from @BotFather)"
            )
        if not _TOKEN.fullmatch(token):
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is malformed: it must look like 123456:ABC-def "
                "as given by @BotFather"
            )
        return token


def _is_redis_url(url: str) -> bool:
    """What redis-py's ``from_url`` accepts and can connect with, checked up front
    (or the nodes of a Redis Cluster)."""
    if is_cluster_url(url):
        try:
            return bool(startup_nodes(url))
        except ValueError:
            return False
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a port that is no number
    except ValueError:
        return False
    if parts.scheme == "unix":
        return bool(parts.path) and not parts.netloc
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        return False
    if port is not None and not 0 < port < 65_536:
        return False
    db = parts.path.strip("/")
    return db == "" or db.isdigit()


_UNSET: Any = object()


def load_settings(*, env_file: str | Path | None = _UNSET, **overrides: Any) -> Settings:
    """Build ``Settings`` from env, ``.env`` and ``overrides``; errors as one line.

    Override names are field names in any case (``max_shares`` or ``MAX_SHARES``).
    ``env_file=None`` ignores any ``.env`` file (useful in tests).
    """
    kwargs: dict[str, Any] = {name.lower(): value for name, value in overrides.items()}
    if env_file is not _UNSET:
        kwargs["_env_file"] = env_file
    try:
        return Settings(**kwargs)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    except _SourceError as exc:
        raise SettingsError(f"Configuration could not be read: {exc}") from None


def _describe(exc: ValidationError) -> str:
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        if not field:
            problems.append(message)
            continue
        line = f"{field.upper()} {message}" if message.startswith("must") else (
            f"{field.upper()}: {message}"
        )
        shown = error.get("input")
        if field not in _SECRET_FIELDS and isinstance(shown, (str, int, float)):
            shown = re.sub(r"//[^@/]*@", "//***@", str(shown))  # a password in a URL
            line += f" (got {shown[:60]!r})"
        problems.append(line)
    return "Invalid setting: " + "; ".join(problems)

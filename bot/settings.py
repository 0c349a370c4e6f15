"""Settings of SPEC §7, read from the environment or a ``.env`` file."""

from __future__ import annotations

import hashlib
import importlib
import re
from functools import cached_property
from typing import Annotated, TypedDict
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from db.engine import normalise_url

# Telegram user ids are BIGINT in the store; anything outside never reaches the database.
TELEGRAM_ID_MAX = 2**63 - 1
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Telegram accepts 1-256 of these characters; 16 at least so the secret cannot be guessed.
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")
# A token's secret part is 35 characters; shorter fragments would blank out ordinary words.
_MIN_SECRET_PART = 8


class ConfigurationError(Exception):
    """A setting is missing or wrong: the message is one line that names the setting."""


class WebhookArguments(TypedDict):
    """What ``run_webhook`` and ``Updater.start_webhook`` need, besides ``allowed_updates``."""

    listen: str
    port: int
    url_path: str
    webhook_url: str
    secret_token: str


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    database_url: str = "sqlite+aiosqlite:///learnbot.db"
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_timezone: str = "UTC"
    reminder_hour: int = Field(18, ge=0, le=23)
    reminder_inactive_days: int = Field(2, ge=1)
    reminder_repeat_days: int = Field(3, ge=1)
    reminder_sweep_minutes: int = Field(15, ge=1)
    send_rate_per_second: float = Field(25, gt=0, le=30)
    invite_ttl_days: int = Field(7, ge=1, le=365)  # how long an /invite link stays valid
    # Updates of different users processed at once (each user's own always in order).
    max_concurrent_updates: int = Field(32, ge=1, le=1024)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    log_level: str = "INFO"

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
            if not all(re.fullmatch(r"-?\d+", part) for part in parts):
                raise ValueError(f"expected comma-separated Telegram user ids, got {value!r}")
            value = [int(part) for part in parts]
        if isinstance(value, int):
            value = [value]
        if isinstance(value, list) and any(
            isinstance(item, int) and not 1 <= item <= TELEGRAM_ID_MAX for item in value
        ):
            raise ValueError(f"Telegram user ids are between 1 and {TELEGRAM_ID_MAX}")
        return value

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        """Only the two supported stores, with their async drivers installed."""
        value = normalise_url(value)
        try:
            drivername = make_url(value).drivername
        except ArgumentError:
            drivername = ""
        if drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("expected sqlite:///FILE or postgresql://user:password@host/db")
        if drivername == "postgresql+asyncpg":
            try:
                importlib.import_module("asyncpg")
            except ImportError:
                raise ValueError(
                    "PostgreSQL needs the asyncpg driver: install the `postgres` extra: "
                    'pip install -e ".[postgres]"'
                ) from None
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
        return level

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
            raise ValueError("expected the public https:// address Telegram should call")
        return value.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not _WEBHOOK_SECRET_RE.fullmatch(value.get_secret_value()):
            raise ValueError("use 16 to 256 characters from A-Z, a-z, 0-9, _ and -")
        return value

    @cached_property
    def token(self) -> str:
        """The bot token; a clear error rather than a ``None`` deep inside PTB."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value():
            raise ConfigurationError(
                "TELEGRAM_BOT_TOKEN is not set: put it in the environment or in a .env file."
            )
        return self.telegram_bot_token.get_secret_value()

    def _webhook_digest(self) -> str:
        """The last part of the webhook's path: SHA-256 of WEBHOOK_SECRET, in hex.

        Nobody who lacks the secret can find the endpoint, it stays the same across restarts,
        and it does not reveal the secret, which travels in every request's header.
        """
        assert self.webhook_secret is not None
        return hashlib.sha256(self.webhook_secret.get_secret_value().encode()).hexdigest()

    def webhook_arguments(self) -> WebhookArguments:
        """The webhook server and what Telegram is told; refuses a webhook without a secret."""
        if self.webhook_url is None:
            raise ConfigurationError("WEBHOOK_URL is not set")
        if self.webhook_secret is None:
            raise ConfigurationError(
                "WEBHOOK_SECRET is required with WEBHOOK_URL: without it anyone could send the "
                "bot forged updates (see README, Configuration)"
            )
        digest = self._webhook_digest()
        # A reverse proxy in front passes the path on unchanged: WEBHOOK_URL's path is kept.
        return WebhookArguments(
            listen=self.webhook_listen,
            port=self.webhook_port,
            url_path=f"{urlsplit(self.webhook_url).path}/{digest}",
            webhook_url=f"{self.webhook_url}/{digest}",
            secret_token=self.webhook_secret.get_secret_value(),
        )

    def secrets(self) -> list[str]:
        """What must never appear in any output: the token (and its secret part), the webhook
        secret and the path derived from it."""
        found: list[str] = []
        if self.telegram_bot_token is not None and self.telegram_bot_token.get_secret_value():
            token = self.telegram_bot_token.get_secret_value()
            found.append(token)
            secret_part = token.partition(":")[2]
            if len(secret_part) >= _MIN_SECRET_PART:
                found.append(secret_part)
        if self.webhook_secret is not None:
            found += [self.webhook_secret.get_secret_value(), self._webhook_digest()]
        return found


def load_settings() -> Settings:
    """The settings, or a :class:`ConfigurationError` naming the wrong settings in one line."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError(describe(error)) from None


def describe(error: ValidationError) -> str:
    """``invalid setting REMINDER_HOUR: Input should be a valid integer``: every wrong setting on
    one line, without pydantic's quote of the input (it may be a secret)."""
    return "; ".join(
        f"invalid setting {str(item['loc'][0]).upper() if item['loc'] else 'value'}: "
        + item["msg"].removeprefix("Value error, ")
        for item in error.errors(include_url=False, include_input=False)
    )

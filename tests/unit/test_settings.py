"""Settings: what is accepted, how a mistake is described, and the webhook's secret path."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from bot.settings import ConfigurationError, Settings, load_settings

SECRET = "a-webhook-secret_0123456789"
DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: no .env in the working folder, no setting from the caller."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_the_webhook_is_served_on_a_path_derived_from_its_secret():
    arguments = settings(
        webhook_url="https://bot.example.org/learnbot/", webhook_secret=SECRET
    ).webhook_arguments()
    assert arguments == {
        "listen": "0.0.0.0",
        "port": 8443,
        "url_path": f"/learnbot/{DIGEST}",
        "webhook_url": f"https://bot.example.org/learnbot/{DIGEST}",
        "secret_token": SECRET,
    }
    other = settings(webhook_url="https://bot.example.org", webhook_secret=SECRET + "x")
    assert other.webhook_arguments()["url_path"] != f"/{DIGEST}"


def test_a_webhook_without_a_secret_is_refused():
    with pytest.raises(ConfigurationError, match="WEBHOOK_SECRET is required with WEBHOOK_URL"):
        settings(webhook_url="https://bot.example.org").webhook_arguments()


@pytest.mark.parametrize("secret", ["too-short", "with spaces in the secret", "é" * 20, "x" * 257])
def test_a_webhook_secret_telegram_would_refuse_is_invalid(secret: str, monkeypatch):
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert str(raised.value) == (
        "invalid setting WEBHOOK_SECRET: use 16 to 256 characters from A-Z, a-z, 0-9, _ and -"
    )
    assert secret not in str(raised.value)


def test_secrets_cover_the_token_its_secret_part_and_the_webhook():
    found = settings(
        telegram_bot_token="123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789",
        webhook_url="https://bot.example.org",
        webhook_secret=SECRET,
    ).secrets()
    assert found == [
        "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789",
        "ABCdefGHIjklMNOpqrSTUvwxYZ0123456789",
        SECRET,
        DIGEST,
    ]
    assert settings().secrets() == []


def test_every_wrong_setting_is_named_on_one_line(monkeypatch):
    monkeypatch.setenv("REMINDER_HOUR", "abc")
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert str(raised.value) == (
        "invalid setting REMINDER_HOUR: Input should be a valid integer, unable to parse string "
        "as an integer; invalid setting LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, "
        "CRITICAL, got 'LOUD'"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1, 2;3", [1, 2, 3]), ("", []), ("9223372036854775807", [2**63 - 1])],
)
def test_admin_ids_are_comma_separated(value: str, expected: list[int], monkeypatch):
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", value)
    assert Settings(_env_file=None).admin_telegram_ids == expected


@pytest.mark.parametrize("value", ["0", "-3", "9223372036854775808", "1,x"])
def test_impossible_admin_ids_are_invalid(value: str, monkeypatch):
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", value)
    with pytest.raises(ConfigurationError, match=r"^invalid setting ADMIN_TELEGRAM_IDS: "):
        load_settings()


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("sqlite:///learnbot.db", "sqlite+aiosqlite:///learnbot.db"),
        ("postgres://u:p@host/db", "postgresql+asyncpg://u:p@host/db"),
        ("postgresql+asyncpg://u:p@host/db", "postgresql+asyncpg://u:p@host/db"),
    ],
)
def test_database_urls_people_paste_are_accepted(url: str, normalised: str):
    assert settings(database_url=url).database_url == normalised


@pytest.mark.parametrize("url", ["notaurl", "mysql://u:p@host/db", "sqlite+pysqlite:///x.db"])
def test_other_database_urls_are_invalid(url: str, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigurationError, match="expected sqlite:///FILE or postgresql://"):
        load_settings()


def test_the_log_level_ignores_case():
    assert settings(log_level="debug").log_level == "DEBUG"

"""Loopback Telegram Bot API emulator and test-user API (for e2e tests and the sandbox)."""

from bot.emulator.server import DEFAULT_TOKEN, ApiError, BotApiEmulator, RecordedRequest
from bot.emulator.tghtml import TelegramHtmlError, parse_html, utf16_len
from bot.emulator.users import CallbackAnswer, ChatMessage, StoredFile, TestUser

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "BotApiEmulator",
    "CallbackAnswer",
    "ChatMessage",
    "RecordedRequest",
    "StoredFile",
    "TelegramHtmlError",
    "TestUser",
    "parse_html",
    "utf16_len",
]

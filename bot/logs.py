"""Logging for the ``learnbot`` command, with every secret blanked out of whatever is written."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.settings import Settings

REDACTED = "<redacted>"


class RedactSecrets(logging.Filter):
    """Blank out secrets (the bot token, the webhook secret) in every log line, whoever logged it.

    PTB logs its API URLs, which contain the token, at DEBUG level, and ``InvalidToken`` carries
    the token in its message: the message, the exception text and the stack are all redacted.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is blanked out whole.
        self.secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
        self._formatter = logging.Formatter()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # Formatters reuse ``exc_text`` once it is set, so the traceback is redacted here once.
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(settings: Settings) -> RedactSecrets:
    """Log to stderr at LOG_LEVEL; returns the filter, which also redacts the CLI's error lines."""
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level
    )
    redactor = RedactSecrets(settings.secrets())
    for handler in logging.getLogger().handlers:
        # main() may run more than once in one process (the tests): one filter, the latest.
        for old in [f for f in handler.filters if isinstance(f, RedactSecrets)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
    # httpx logs every request URL (token included) at INFO, and Alembic, which every command
    # runs first, four lines per start: keep them quiet unless debugging.
    if settings.log_level != "DEBUG":
        for name in ("httpx", "httpcore", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return redactor

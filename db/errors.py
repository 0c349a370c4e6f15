"""Domain errors raised by ``db/`` and turned into short replies in one place (handlers.common)."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal a user should read: the message is short, friendly and safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object is gone or never existed (or the caller may not know it exists)."""


class Forbidden(DomainError):
    """The caller's role or ownership does not allow this."""


class Conflict(DomainError):
    """The action clashes with the current state (already done, step has passed)."""


class Invalid(DomainError):
    """The input is malformed or out of range."""

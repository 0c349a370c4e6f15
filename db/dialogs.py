"""Dialogs: the one prompt a user's next typed text answers, stored with the account.

A dialog is opened by a button (Enroll on a course with a key, Accept/Reject a review) and left by
the answer, /cancel, any other button or command, or its timeout. It lives in three columns of
``users`` so that a restart loses nothing and reading it costs no extra statement: the wrapper
already loads the account on every update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User, utcnow


@dataclass(frozen=True)
class Dialog:
    """An open dialog: its kind, the step it is at (a wizard has several), and what it has
    gathered so far."""

    kind: str
    data: dict[str, Any]
    opened_at: datetime

    @property
    def step(self) -> str:
        return str(self.data.get("step", ""))

    def is_expired(self, cutoff: datetime) -> bool:
        return self.opened_at < cutoff


def dialog_of(user: User) -> Dialog | None:
    if user.dialog_kind is None or user.dialog_at is None:
        return None
    return Dialog(user.dialog_kind, dict(user.dialog_data or {}), user.dialog_at)


def open_dialog(user: User, kind: str, *, step: str = "", **data: Any) -> None:
    """Make ``kind`` (at ``step``) the user's open dialog, replacing any other, with ``data``
    (JSON) for the steps to come; written with the transaction. A wizard calls it again for
    each next step, so every step restarts the timeout."""
    user.dialog_kind, user.dialog_at = kind, utcnow()
    user.dialog_data = {"step": step, **data} if step else data


def close_dialog(user: User) -> None:
    if user.dialog_kind is not None:
        user.dialog_kind, user.dialog_data, user.dialog_at = None, None, None


async def end_dialog(session: AsyncSession, user_id: int) -> None:
    """Close a user's dialog by id (for when the session's objects were rolled back)."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(dialog_kind=None, dialog_data=None, dialog_at=None)
        .execution_options(synchronize_session=False)
    )


async def expire_dialogs(session: AsyncSession, cutoff: datetime) -> list[int]:
    """Close every dialog opened before ``cutoff``; the Telegram ids of their users.

    One ``UPDATE … RETURNING``: a dialog is expired (and its user told) once, even when two
    sweeps or a sweep and the user's own update meet.
    """
    result = await session.execute(
        update(User)
        .where(User.dialog_at < cutoff)
        .values(dialog_kind=None, dialog_data=None, dialog_at=None)
        .returning(User.telegram_id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())

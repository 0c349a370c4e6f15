"""Throttling of secret guesses (enrollment keys; invite codes later), per user and scope.

Checking a secret is deliberately slow (argon2), and a secret can be guessed: after
``MAX_WRONG_GUESSES`` wrong guesses within ``WINDOW`` the user must wait ``LOCKOUT``. The counts
are rows, so a restart of the bot does not reset them.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.dialect import upsert
from db.errors import Conflict, Reason
from db.models import GuessThrottle, User, utcnow

MAX_WRONG_GUESSES = 5
WINDOW = timedelta(hours=1)
LOCKOUT = timedelta(minutes=15)


class TooManyGuesses(Conflict):
    """Too many wrong guesses: the user must wait ``minutes`` before the next one."""

    def __init__(self, wait: timedelta) -> None:
        self.minutes = max(1, math.ceil(wait.total_seconds() / 60))
        super().__init__(Reason.too_many_guesses, minutes=self.minutes)


async def _row(
    session: AsyncSession, user: User, scope: str, *, lock: bool = False
) -> GuessThrottle | None:
    query = select(GuessThrottle).where(
        GuessThrottle.user_id == user.id, GuessThrottle.scope == scope
    )
    if lock:  # two wrong guesses at once on PostgreSQL each count
        query = query.with_for_update()
    return await session.scalar(query.execution_options(populate_existing=True))


async def check_guesses(session: AsyncSession, user: User, scope: str) -> None:
    """Refuse the guess (``TooManyGuesses``) while the user is locked out of ``scope``."""
    row = await _row(session, user, scope)
    now = utcnow()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise TooManyGuesses(row.locked_until - now)


async def record_wrong_guess(session: AsyncSession, user: User, scope: str) -> bool:
    """Count a wrong guess; the ``MAX_WRONG_GUESSES``-th in a window locks the scope.

    Returns whether the user is now locked out.
    """
    now = utcnow()
    await session.execute(
        upsert(
            session,
            GuessThrottle,
            values={"user_id": user.id, "scope": scope, "failures": 0, "window_started_at": now},
            index_elements=["user_id", "scope"],
            update=None,
        )
    )
    row = await _row(session, user, scope, lock=True)
    assert row is not None
    if row.window_started_at < now - WINDOW or _unlocked_since(row, now):
        row.failures, row.window_started_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= MAX_WRONG_GUESSES:
        row.locked_until = now + LOCKOUT
    await session.flush()
    return row.locked_until is not None


def _unlocked_since(row: GuessThrottle, now: datetime) -> bool:
    return row.locked_until is not None and row.locked_until <= now


def course_key_scope(course_id: int) -> str:
    """The scope of guesses at one course's enrollment key."""
    return f"course-key:{course_id}"


async def forget_scope(session: AsyncSession, scope: str) -> None:
    """Everyone's count for a scope that is gone (a deleted course: its id may come back)."""
    await session.execute(
        delete(GuessThrottle)
        .where(GuessThrottle.scope == scope)
        .execution_options(synchronize_session=False)
    )


async def forget_guesses(session: AsyncSession, user: User, scope: str) -> None:
    """A right guess clears the count."""
    await session.execute(
        delete(GuessThrottle)
        .where(GuessThrottle.user_id == user.id, GuessThrottle.scope == scope)
        .execution_options(synchronize_session=False)
    )

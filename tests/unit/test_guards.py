"""Guess throttling and stored dialogs, on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.texts import refusal
from db.dialogs import dialog_of, expire_dialogs, open_dialog
from db.engine import Database
from db.models import GuessThrottle, Role, User, utcnow
from db.throttle import (
    LOCKOUT,
    MAX_WRONG_GUESSES,
    WINDOW,
    TooManyGuesses,
    check_guesses,
    forget_guesses,
    record_wrong_guess,
)
from tests.conftest import make_user

SCOPE = "course-key:1"


async def _wrong(database: Database, user: User, times: int) -> list[bool]:
    locked = []
    async with database.session() as session:
        for _ in range(times):
            locked.append(await record_wrong_guess(session, user, SCOPE))
    return locked


async def _shift(database: Database, **ago: timedelta) -> None:
    """Move the throttle's clocks into the past, as if time had passed."""
    async with database.session() as session:
        row = await session.scalar(select(GuessThrottle))
        for name, delta in ago.items():
            setattr(row, name, getattr(row, name) - delta)


async def test_the_fifth_wrong_guess_locks_until_the_lockout_passes(database: Database):
    ann = await make_user(database, 1)
    assert await _wrong(database, ann, MAX_WRONG_GUESSES) == [False] * 4 + [True]
    async with database.session() as session:
        with pytest.raises(TooManyGuesses) as refused:
            await check_guesses(session, ann, SCOPE)
    assert refused.value.minutes == 15
    assert refusal(refused.value) == "Too many wrong tries. Try again in 15 minutes."

    await _shift(database, locked_until=LOCKOUT - timedelta(seconds=61))
    async with database.session() as session:
        with pytest.raises(TooManyGuesses) as refused:
            await check_guesses(session, ann, SCOPE)
    assert refusal(refused.value) == "Too many wrong tries. Try again in 2 minutes."

    await _shift(database, locked_until=timedelta(minutes=2))
    async with database.session() as session:
        await check_guesses(session, ann, SCOPE)  # free again
    assert await _wrong(database, ann, 1) == [False], "counting starts afresh after a lockout"


async def test_guesses_spread_over_more_than_the_window_never_lock(database: Database):
    ann = await make_user(database, 1)
    await _wrong(database, ann, MAX_WRONG_GUESSES - 1)
    await _shift(database, window_started_at=WINDOW + timedelta(minutes=1))
    assert await _wrong(database, ann, MAX_WRONG_GUESSES - 1) == [False] * 4


async def test_a_right_guess_forgets_only_its_scope_and_user(database: Database):
    ann, bob = await make_user(database, 1), await make_user(database, 2, name="Bob")
    await _wrong(database, ann, 3)
    await _wrong(database, bob, 3)
    async with database.session() as session:
        await record_wrong_guess(session, ann, "course-key:2")
        await forget_guesses(session, ann, SCOPE)
    async with database.session() as session:
        rows = await session.execute(select(GuessThrottle.user_id, GuessThrottle.scope))
        assert sorted(rows) == sorted([(ann.id, "course-key:2"), (bob.id, SCOPE)])


async def test_expired_dialogs_are_closed_once(database: Database):
    ann, bob = await make_user(database, 1), await make_user(database, 2, name="Bob")
    async with database.session() as session:
        for user in (await session.get(User, ann.id), await session.get(User, bob.id)):
            open_dialog(user, "enroll-key", course_id=7)
    async with database.session() as session:
        await session.execute(
            update(User).where(User.id == ann.id).values(dialog_at=utcnow() - timedelta(hours=1))
        )
    cutoff = utcnow() - timedelta(minutes=15)
    async with database.session() as session:
        assert await expire_dialogs(session, cutoff) == [1]
    async with database.session() as session:
        assert await expire_dialogs(session, cutoff) == []
        ann_now, bob_now = await session.get(User, ann.id), await session.get(User, bob.id)
        assert dialog_of(ann_now) is None
        dialog = dialog_of(bob_now)
        assert (
            dialog is not None and dialog.kind == "enroll-key" and dialog.data == {"course_id": 7}
        )


async def test_deleting_a_course_forgets_the_guesses_at_its_key(database: Database):
    from db.teaching import delete_course
    from db.throttle import course_key_scope
    from tests.conftest import make_course

    owner = await make_user(database, 1, Role.instructor, "Owner")
    ann = await make_user(database, 2)
    course = await make_course(database, owner, key="sesame")
    async with database.session() as session:
        await record_wrong_guess(session, ann, course_key_scope(course.id))
        await record_wrong_guess(session, ann, "course-key:999")
    async with database.session() as session:
        await delete_course(session, owner, course.id)
    async with database.session() as session:
        scopes = list(await session.scalars(select(GuessThrottle.scope)))
    assert scopes == ["course-key:999"], "a new course that reuses the id starts with no lockout"

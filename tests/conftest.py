"""Shared fixtures: a real SQLite database file per test, and small factories for rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.accounts import Profile, touch_user
from db.authoring import CourseDraft, LessonDraft, create_course
from db.engine import Database
from db.models import Base, Course, Role, User


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database file with the whole schema."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


async def make_user(
    database: Database, telegram_id: int, role: Role = Role.student, name: str = "Ann"
) -> User:
    async with database.session() as session:
        user = await touch_user(session, Profile(telegram_id, None, name, "en"))
        user.role = role
    return user


async def make_course(
    database: Database,
    owner: User,
    lessons: int = 3,
    *,
    title: str = "Python Basics",
    published: bool = True,
    key: str | None = None,
    draft: CourseDraft | None = None,
) -> Course:
    draft = draft or CourseDraft(
        title=title,
        description="Your first steps.",
        category="Programming",
        published=published,
        enrollment_key=key,
        lessons=[LessonDraft(f"Lesson {i + 1}", f"Content {i + 1}") for i in range(lessons)],
    )
    async with database.session() as session:
        course = await create_course(session, owner, draft)
    return course

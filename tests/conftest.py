"""Shared fixtures: a real SQLite database file per test, and small factories for rows."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from db.accounts import Profile, touch_user
from db.authoring import CourseDraft, LessonDraft, create_course
from db.engine import Database
from db.models import Base, Course, Role, User

# Set to a PostgreSQL URL (an empty database the tests may wipe) to run the store's tests there too.
POSTGRES_URL = os.environ.get("LEARNBOT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


async def empty_database_url(backend: str, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or the test PostgreSQL database wiped clean."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    assert POSTGRES_URL is not None
    database = Database(POSTGRES_URL)
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await database.dispose()
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return await empty_database_url(request.param, tmp_path)


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database with the whole schema: a SQLite file, and PostgreSQL when configured."""
    database = Database(await empty_database_url(request.param, tmp_path))
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

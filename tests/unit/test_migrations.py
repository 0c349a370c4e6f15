"""The migrations build exactly the models' schema and survive a round trip with data in it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from bot.migrate import downgrade, upgrade
from db.accounts import Profile, touch_user
from db.authoring import CourseDraft, LessonDraft, create_course
from db.engine import Database
from db.learning import enroll
from db.models import Base, Enrollment, Lesson


async def test_autogenerate_finds_no_difference(empty_url: str):
    url = empty_url
    await upgrade(url)
    database = Database(url)
    async with database.engine.connect() as connection:

        def diff(sync_connection):
            context = MigrationContext.configure(
                sync_connection, opts={"compare_type": True, "render_as_batch": True}
            )
            return compare_metadata(context, Base.metadata)

        assert await connection.run_sync(diff) == []
    await database.dispose()


async def test_upgrade_downgrade_upgrade_with_rows(empty_url: str):
    url = empty_url
    await upgrade(url)
    database = Database(url)
    async with database.session() as session:
        owner = await touch_user(session, Profile(1, "teach", "Teacher", "en"))
        student = await touch_user(session, Profile(2, None, "Student", "en"))
        course = await create_course(
            session, owner, CourseDraft("C", published=True, lessons=[LessonDraft("L", "x")])
        )
        await enroll(session, student, course.id)
    await database.dispose()

    await downgrade(url, "base")
    database = Database(url)
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert set(tables) <= {"alembic_version"}
    await database.dispose()

    await upgrade(url)
    await upgrade(url)  # already at head: nothing to do, no error
    database = Database(url)
    async with database.session() as session:
        assert await session.scalar(select(func.count(Enrollment.id))) == 0
        assert await session.scalar(select(func.count(Lesson.id))) == 0
    await database.dispose()

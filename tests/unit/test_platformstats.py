"""/stats figures against a seeded platform, on both backends; the sparkline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.formatting import sparkline
from db.broadcasts import audience_size
from db.engine import Database
from db.learning import complete_lesson, enroll
from db.models import LessonCompletion, ReminderSent, Role, User
from db.platformstats import SPARK_DAYS, admin_counts, daily_learners, platform_stats
from tests.conftest import make_course, make_user

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def seeded(database: Database):
    owner = await make_user(database, 1, Role.instructor, "Tess")
    await make_user(database, 2, Role.admin, "Ada")
    course = await make_course(database, owner, lessons=2)
    await make_course(database, owner, lessons=1, title="Draft", published=False)
    ann = await make_user(database, 10, name="Ann")
    bob = await make_user(database, 11, name="Bob")
    cleo = await make_user(database, 12, name="Cleo")
    async with database.session() as session:
        for student in (ann, bob):
            await enroll(session, student, course.id)
        lessons = [lesson.id for lesson in await _lessons(session, course.id)]
        for lesson in lessons:
            await complete_lesson(session, ann, lesson)  # Ann completes the course
        await complete_lesson(session, bob, lessons[0])
        # Ann's two completions were yesterday just before midnight UTC and today; Bob's
        # three days ago. Cleo blocked the bot and was last seen 40 days ago.
        await session.execute(
            update(LessonCompletion)
            .where(LessonCompletion.student_id == ann.id, LessonCompletion.lesson_id == lessons[0])
            .values(completed_at=NOW.replace(hour=0, minute=0) - timedelta(seconds=1))
        )
        await session.execute(
            update(LessonCompletion)
            .where(LessonCompletion.student_id == ann.id, LessonCompletion.lesson_id == lessons[1])
            .values(completed_at=NOW.replace(hour=0, minute=30))
        )
        await session.execute(
            update(LessonCompletion)
            .where(LessonCompletion.student_id == bob.id)
            .values(completed_at=NOW - timedelta(days=3))
        )
        await session.execute(
            update(User)
            .where(User.id == cleo.id)
            .values(is_blocked=True, last_active_at=NOW - timedelta(days=40))
        )
        await session.execute(
            update(User).where(User.id == bob.id).values(last_active_at=NOW - timedelta(days=5))
        )
        await session.execute(
            update(User)
            .where(User.id.not_in([bob.id, cleo.id]))
            .values(last_active_at=NOW - timedelta(hours=2))
        )
        await session.execute(update(User).values(created_at=NOW - timedelta(days=10)))
        # Bob was reminded an hour before his completion three days ago, Ann ten days ago.
        session.add(
            ReminderSent(
                user_id=bob.id, course_id=course.id, sent_at=NOW - timedelta(days=3, hours=1)
            )
        )
        session.add(
            ReminderSent(user_id=ann.id, course_id=course.id, sent_at=NOW - timedelta(days=10))
        )
        await session.execute(
            update(User).where(User.id == ann.id).values(created_at=NOW - timedelta(days=1))
        )
    return course


async def _lessons(session, course_id):
    from sqlalchemy import select

    from db.models import Lesson

    return list(
        await session.scalars(
            select(Lesson).where(Lesson.course_id == course_id).order_by(Lesson.order_index)
        )
    )


async def test_the_figures_match_the_seeded_platform(database: Database):
    course = await seeded(database)
    async with database.session() as session:
        counts = await admin_counts(session)
        stats = await platform_stats(session, NOW)
        learners = await daily_learners(session, NOW)
        everyone = await audience_size(session, {"kind": "everyone"}, NOW)
        inactive = await audience_size(session, {"kind": "inactive", "days": 4}, NOW)
        students = await audience_size(session, {"kind": "course", "course_id": course.id}, NOW)
    assert counts.users_by_role == {Role.student: 3, Role.instructor: 1, Role.admin: 1}
    assert counts.blocked == 1 and counts.pending_reviews == 0
    assert (stats.active_1, stats.active_7, stats.active_30) == (3, 4, 4)
    assert stats.new_this_week == 1
    assert (stats.enrollments, stats.completions) == (2, 1)
    assert (stats.courses_published, stats.courses_draft) == (1, 1)
    assert (stats.attempts, stats.attempts_passed) == (0, 0)
    assert (stats.reminders_7, stats.came_back) == (1, 1)
    assert len(learners) == SPARK_DAYS
    # Days are UTC days: Ann counts yesterday and today, Bob three days ago.
    assert learners[-1] == 1 and learners[-2] == 1 and learners[-4] == 1
    assert sum(learners) == 3
    assert (everyone.reachable, everyone.blocked) == (4, 1)
    assert (inactive.reachable, inactive.blocked) == (1, 0)  # Bob: a learner, 5 days away
    assert (students.reachable, students.blocked) == (2, 0)


def test_the_sparkline_scales_to_the_best_day():
    assert sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"
    assert sparkline([0, 0, 0]) == "▁▁▁"
    assert sparkline([5]) == "█"
    assert sparkline([1, 1000]) == "▂█", "a small day is never drawn as nothing"

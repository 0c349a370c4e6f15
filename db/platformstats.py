"""The platform at a glance, for admins: /admin's counts and /stats' figures.

Each figure is one aggregate query (never a query per user or per course). The counts of users
scan the users table once; the 30-day trend reads only the last 30 days of activity, from
covering indexes (``lesson_completions (completed_at, student_id)``, ``quiz_attempts
(started_at, student_id)``). ``tests/benchmarks/bench_admin.py`` measures them on 100,000 users.

A *learner is active* on a day (UTC) when they completed a lesson or started a quiz attempt
that day; the sparkline counts them for each of the last 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Date, cast, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from db.coursestats import FINISHED, count_where
from db.models import (
    AttemptStatus,
    Course,
    Enrollment,
    LessonCompletion,
    QuizAttempt,
    Role,
    User,
    utcnow,
)
from db.reminders import reminder_stats

SPARK_DAYS = 30


@dataclass(frozen=True)
class AdminCounts:
    """What /admin shows at a glance."""

    users_by_role: dict[Role, int]
    pending_reviews: int
    blocked: int


@dataclass(frozen=True)
class PlatformStats:
    users_by_role: dict[Role, int]
    active_1: int
    active_7: int
    active_30: int
    new_this_week: int
    blocked: int
    enrollments: int
    completions: int  # enrollments completed (100 %)
    courses_published: int
    courses_draft: int
    attempts: int  # finished quiz attempts
    attempts_passed: int
    pending_reviews: int
    daily_learners: list[int]  # the last SPARK_DAYS days, oldest first, today last
    reminders_7: int = 0  # reminders sent in the last 7 days
    came_back: int = 0  # of those, followed by the student's activity in that course within a day

    @property
    def users(self) -> int:
        return sum(self.users_by_role.values())


async def _users_by_role(session: AsyncSession) -> dict[Role, int]:
    rows = await session.execute(select(User.role, func.count(User.id)).group_by(User.role))
    counts = {role: 0 for role in Role}
    counts.update({Role(role): count for role, count in rows.all()})
    return counts


async def _pending_reviews(session: AsyncSession) -> int:
    return (
        await session.scalar(
            select(func.count(QuizAttempt.id)).where(
                QuizAttempt.status == AttemptStatus.pending_review
            )
        )
        or 0
    )


async def admin_counts(session: AsyncSession) -> AdminCounts:
    blocked = await session.scalar(select(func.count(User.id)).where(User.is_blocked.is_(True)))
    return AdminCounts(await _users_by_role(session), await _pending_reviews(session), blocked or 0)


def _utc_day(column: ColumnElement[datetime], dialect: str) -> ColumnElement[date]:
    if dialect == "postgresql":  # the session's time zone must not shift the day
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)  # SQLite stores UTC ISO text


async def daily_learners(session: AsyncSession, now: datetime) -> list[int]:
    """Distinct active learners per UTC day for the last ``SPARK_DAYS`` days (one query)."""
    today = now.date()
    first = today - timedelta(days=SPARK_DAYS - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    dialect = session.get_bind().dialect.name
    activity = union_all(
        select(
            LessonCompletion.student_id.label("student"),
            _utc_day(LessonCompletion.completed_at, dialect).label("day"),
        ).where(LessonCompletion.completed_at >= since),
        select(
            QuizAttempt.student_id.label("student"),
            _utc_day(QuizAttempt.started_at, dialect).label("day"),
        ).where(QuizAttempt.started_at >= since),
    ).subquery()
    rows = await session.execute(
        select(activity.c.day, func.count(activity.c.student.distinct())).group_by(activity.c.day)
    )
    per_day = {
        (day if isinstance(day, date) else date.fromisoformat(str(day))): count
        for day, count in rows.all()
    }
    return [per_day.get(first + timedelta(days=n), 0) for n in range(SPARK_DAYS)]


async def platform_stats(session: AsyncSession, now: datetime | None = None) -> PlatformStats:
    now = now or utcnow()
    active_1, active_7, active_30, new_week, blocked = (
        await session.execute(
            select(
                count_where(User.last_active_at >= now - timedelta(days=1)),
                count_where(User.last_active_at >= now - timedelta(days=7)),
                count_where(User.last_active_at >= now - timedelta(days=30)),
                count_where(User.created_at >= now - timedelta(days=7)),
                count_where(User.is_blocked.is_(True)),
            )
        )
    ).one()
    enrollments, completions = (
        await session.execute(
            select(func.count(Enrollment.id), func.count(Enrollment.completed_at))
        )
    ).one()
    published, draft = (
        await session.execute(
            select(
                count_where(Course.is_published.is_(True)),
                count_where(Course.is_published.is_(False)),
            )
        )
    ).one()
    attempts, passed = (
        await session.execute(
            select(func.count(QuizAttempt.id), count_where(QuizAttempt.passed.is_(True))).where(
                QuizAttempt.status.in_(FINISHED)
            )
        )
    ).one()
    reminders_7, came_back = await reminder_stats(session, now)
    return PlatformStats(
        users_by_role=await _users_by_role(session),
        active_1=int(active_1),
        active_7=int(active_7),
        active_30=int(active_30),
        new_this_week=int(new_week),
        blocked=int(blocked),
        enrollments=enrollments,
        completions=completions,
        courses_published=int(published),
        courses_draft=int(draft),
        attempts=attempts,
        attempts_passed=int(passed),
        pending_reviews=await _pending_reviews(session),
        daily_learners=await daily_learners(session, now),
        reminders_7=reminders_7,
        came_back=came_back,
    )

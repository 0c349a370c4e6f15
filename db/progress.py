"""Progress of enrollments, recomputed by one SQL statement (never read-modify-write in Python)."""

from __future__ import annotations

from sqlalchemy import Integer, case, cast, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TS, Enrollment, Lesson, LessonCompletion, utcnow


async def recompute_progress(
    session: AsyncSession, course_id: int, student_id: int | None = None
) -> None:
    """Make ``progress_percentage`` and ``completed_at`` true again for a course's enrollments.

    Called after a completion (one student) and after a lesson is added or deleted (everyone).
    The percentage is ``round(100 * done / total)`` but never shows 100 before the last lesson is
    done (with 200+ lessons, 199/200 would round up); ``completed_at`` is kept when already set,
    set when everything is done and cleared when a new lesson makes the course unfinished.
    """
    total = (
        select(func.count(Lesson.id))
        .where(Lesson.course_id == Enrollment.course_id)
        .scalar_subquery()
    )
    done = (
        select(func.count(LessonCompletion.id))
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .where(
            Lesson.course_id == Enrollment.course_id,
            LessonCompletion.student_id == Enrollment.student_id,
        )
        .scalar_subquery()
    )
    finished = (total > 0) & (done >= total)
    rounded = cast(func.round(100.0 * done / func.nullif(total, 0)), Integer)
    percentage = case(
        (finished, 100),
        (total == 0, 0),
        else_=func.min(rounded, 99) if _is_sqlite(session) else func.least(rounded, 99),
    )
    stmt = (
        update(Enrollment)
        .where(Enrollment.course_id == course_id)
        .values(
            progress_percentage=percentage,
            completed_at=case(
                (finished, func.coalesce(Enrollment.completed_at, literal(utcnow(), TS))),
                else_=None,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    if student_id is not None:
        stmt = stmt.where(Enrollment.student_id == student_id)
    await session.execute(stmt)


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"

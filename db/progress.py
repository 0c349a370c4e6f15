"""Progress of enrollments, recomputed by one SQL statement (never read-modify-write in Python)."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Integer, Numeric, Update, bindparam, case, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TS, Enrollment, Lesson, LessonCompletion, utcnow


async def recompute_progress(
    session: AsyncSession, course_id: int, student_id: int | None = None, *, touch: bool = False
) -> tuple[int, datetime | None]:
    """Make ``progress_percentage`` and ``completed_at`` true again for a course's enrollments.

    Called after a completion (one student) and after a lesson is added or deleted (everyone).
    The percentage is ``round(100 * done / total)`` but never shows 100 before the last lesson is
    done (with 200+ lessons, 199/200 would round up); ``completed_at`` is kept when already set,
    set when everything is done and cleared when a new lesson makes the course unfinished.

    For one student it returns the new (percentage, completed_at) in the same statement, and
    ``touch`` also records the activity; for a whole course it returns (0, None).
    """
    params = {"of_course": course_id, "now": utcnow()}
    stmt = _progress_update(_is_sqlite(session), touch=touch, one=student_id is not None)
    if student_id is None:
        await session.execute(stmt, params)
        return 0, None
    row = (await session.execute(stmt, {**params, "of_student": student_id})).first()
    return (row[0], row[1]) if row is not None else (0, None)


@functools.cache
def _progress_update(sqlite: bool, *, touch: bool, one: bool) -> Update:
    """The statement, built once per kind (see ``db.access``): bind parameters ``of_course``,
    ``now`` and, for ``one`` student, ``of_student`` (then it returns the new values)."""
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
    # Halves round up on both backends: SQLite rounds a REAL half away from zero, PostgreSQL
    # does so for NUMERIC but rounds a float half to even (1 of 8 lessons would show 12 %).
    share = (
        100.0 * done / func.nullif(total, 0)
        if sqlite
        else cast(100 * done, Numeric) / func.nullif(total, 0)
    )
    rounded = cast(func.round(share), Integer)
    percentage = case(
        (finished, 100),
        (total == 0, 0),
        else_=func.min(rounded, 99) if sqlite else func.least(rounded, 99),
    )
    now = bindparam("now", type_=TS)
    values = {
        "progress_percentage": percentage,
        "completed_at": case((finished, func.coalesce(Enrollment.completed_at, now)), else_=None),
    }
    if touch:
        values["last_activity_at"] = now
    stmt = (
        update(Enrollment)
        .where(Enrollment.course_id == bindparam("of_course"))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if not one:
        return stmt
    return stmt.where(Enrollment.student_id == bindparam("of_student")).returning(
        Enrollment.progress_percentage, Enrollment.completed_at
    )


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"

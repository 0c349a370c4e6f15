"""Course statistics and the gradebook export, for a course's managers (its instructor, admins).

Everything is counted in SQL with a handful of aggregate queries, never a query per student.
To anyone else the course looks like one that does not exist (``Reason.course_not_available``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Integer, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    AttemptStatus,
    Enrollment,
    Lesson,
    LessonCompletion,
    Quiz,
    QuizAttempt,
    User,
    utcnow,
)
from db.teaching import managed_course

# Attempts that count as handed in and scored (pending review is counted apart).
FINISHED = (AttemptStatus.submitted, AttemptStatus.graded)
ACTIVE_WINDOW = timedelta(days=7)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class LessonFunnel:
    title: str
    completed: int  # students who completed this lesson


@dataclass(frozen=True)
class QuizStats:
    title: str
    submitted: int  # finished attempts (submitted or graded)
    passed: int
    average_score: int | None  # rounded mean score of the scored finished attempts


@dataclass(frozen=True)
class CourseStats:
    title: str
    enrolled: int
    active_7_days: int
    average_progress: int
    completed: int
    pending_reviews: int
    lessons: list[LessonFunnel]
    quizzes: list[QuizStats]


def _rounded_mean(total: int | None, count: int) -> int | None:
    """Round half up, in integers (the same on every backend, no float or Decimal)."""
    if not count or total is None:
        return None
    return (2 * int(total) + count) // (2 * count)


def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def course_stats(
    session: AsyncSession, user: User, course_id: int, now: datetime | None = None
) -> CourseStats:
    course = await managed_course(session, user, course_id)
    cutoff = (now or utcnow()) - ACTIVE_WINDOW

    enrolled, active, progress_total, completed = (
        await session.execute(
            select(
                func.count(Enrollment.id),
                count_where(Enrollment.last_activity_at >= cutoff),
                func.sum(Enrollment.progress_percentage),
                func.count(Enrollment.completed_at),
            ).where(Enrollment.course_id == course.id)
        )
    ).one()

    # Completions by students still enrolled in the course.
    completions = (
        select(func.count(LessonCompletion.id))
        .join(
            Enrollment,
            (Enrollment.student_id == LessonCompletion.student_id)
            & (Enrollment.course_id == course.id),
        )
        .where(LessonCompletion.lesson_id == Lesson.id)
        .correlate(Lesson)
        .scalar_subquery()
    )
    lessons = [
        LessonFunnel(title, count)
        for title, count in await session.execute(
            select(Lesson.title, completions)
            .where(Lesson.course_id == course.id)
            .order_by(Lesson.order_index)
        )
    ]

    finished = QuizAttempt.status.in_(FINISHED)
    scored = finished & QuizAttempt.score.is_not(None)
    rows = await session.execute(
        select(
            Quiz.title,
            count_where(finished),
            count_where(finished & QuizAttempt.passed.is_(True)),
            func.sum(case((scored, QuizAttempt.score), else_=None)),
            count_where(scored),
            count_where(QuizAttempt.status == AttemptStatus.pending_review),
        )
        .join(Lesson, Lesson.id == Quiz.lesson_id)
        .outerjoin(QuizAttempt, QuizAttempt.quiz_id == Quiz.id)
        .where(Lesson.course_id == course.id)
        .group_by(Quiz.id, Quiz.title, Lesson.order_index)
        .order_by(Lesson.order_index)
    )
    quizzes: list[QuizStats] = []
    pending = 0
    for title, submitted, passed, score_total, score_count, waiting in rows:
        quizzes.append(
            QuizStats(title, int(submitted), int(passed), _rounded_mean(score_total, score_count))
        )
        pending += int(waiting)

    return CourseStats(
        title=course.title,
        enrolled=int(enrolled),
        active_7_days=int(active),
        average_progress=_rounded_mean(progress_total, int(enrolled)) or 0,
        completed=int(completed),
        pending_reviews=pending,
        lessons=lessons,
        quizzes=quizzes,
    )


def _cell(value: object) -> str:
    """A cell's text, with a would-be formula neutralised by a leading single quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


async def gradebook_csv(session: AsyncSession, user: User, course_id: int) -> str:
    course = await managed_course(session, user, course_id)

    quizzes = (
        await session.execute(
            select(Quiz.id, Quiz.title)
            .join(Lesson, Lesson.id == Quiz.lesson_id)
            .where(Lesson.course_id == course.id)
            .order_by(Lesson.order_index)
        )
    ).all()
    students = (
        await session.execute(
            select(User, Enrollment)
            .join(Enrollment, Enrollment.student_id == User.id)
            .where(Enrollment.course_id == course.id)
        )
    ).all()
    best: dict[tuple[int, int], int] = {
        (student_id, quiz_id): int(score)
        for student_id, quiz_id, score in await session.execute(
            select(
                QuizAttempt.student_id,
                QuizAttempt.quiz_id,
                func.max(QuizAttempt.score).cast(Integer),
            )
            .select_from(Quiz)
            .join(Lesson, Lesson.id == Quiz.lesson_id)
            .join(QuizAttempt, QuizAttempt.quiz_id == Quiz.id)
            .join(
                Enrollment,
                (Enrollment.student_id == QuizAttempt.student_id)
                & (Enrollment.course_id == course.id),
            )
            .where(
                Lesson.course_id == course.id,
                QuizAttempt.status.in_(FINISHED),
                QuizAttempt.score.is_not(None),
            )
            .group_by(QuizAttempt.student_id, QuizAttempt.quiz_id)
        )
    }

    # Sorted here, not in SQL, so the order does not depend on the database's collation.
    students.sort(key=lambda row: (row[0].display_name.casefold(), row[0].id))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [_cell(h) for h in ("student", "username", "enrolled", "progress", "completed")]
        + [_cell(title) for _, title in quizzes]
    )
    for student, enrollment in students:
        completed = enrollment.completed_at.date().isoformat() if enrollment.completed_at else ""
        writer.writerow(
            [
                _cell(student.display_name),
                _cell(student.username),
                enrollment.enrolled_at.date().isoformat(),
                enrollment.progress_percentage,
                completed,
            ]
            + [_cell(best.get((student.id, quiz_id))) for quiz_id, _ in quizzes]
        )
    return out.getvalue()

"""Enrollment, lessons and progress: the student's learning loop."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import can_manage, get_enrollment, visible_course
from db.dialect import upsert
from db.errors import Conflict, Forbidden, Invalid, NotFound
from db.models import Course, Enrollment, Lesson, LessonCompletion, Quiz, User, utcnow
from db.progress import recompute_progress
from db.security import verify_secret

MAX_KEY_LENGTH = 128


class KeyRequired(Conflict):
    """The course has an enrollment key and none was given."""


@dataclass(frozen=True)
class EnrollOutcome:
    course: Course
    enrollment: Enrollment
    created: bool


@dataclass(frozen=True)
class LessonView:
    lesson: Lesson
    course: Course
    position: int
    total: int
    previous_id: int | None
    next_id: int | None
    completed: bool
    quiz: Quiz | None
    enrolled: bool


@dataclass(frozen=True)
class CompletionOutcome:
    lesson: Lesson
    newly_completed: bool
    progress: int
    course_finished_now: bool
    next_lesson_id: int | None


@dataclass(frozen=True)
class CourseProgress:
    course: Course
    enrollment: Enrollment
    done: int
    total: int
    next_lesson_id: int | None

    @property
    def percentage(self) -> int:
        return self.enrollment.progress_percentage

    @property
    def completed_at(self) -> datetime | None:
        return self.enrollment.completed_at


async def enroll(
    session: AsyncSession, student: User, course_id: int, key: str | None = None
) -> EnrollOutcome:
    """Enroll once in a published course, checking its key against the stored hash.

    The unique constraint on (student, course) is the final guard: the insert does nothing when
    the row exists, so a double tap gives one enrollment and ``created=False``.
    """
    course = await visible_course(session, student, course_id)
    existing = await get_enrollment(session, student, course.id)
    if existing is not None:
        return EnrollOutcome(course, existing, created=False)
    if not course.is_published:
        raise Conflict("This course is not open for enrollment.")
    if course.enrollment_key_hash is not None:
        if key is None:
            raise KeyRequired("This course needs an enrollment key.")
        if len(key) > MAX_KEY_LENGTH or not verify_secret(key.strip(), course.enrollment_key_hash):
            raise Invalid("That key is not right. Try again, or /cancel.")
    now = utcnow()
    result = await session.execute(
        upsert(
            session,
            Enrollment,
            values={
                "student_id": student.id,
                "course_id": course.id,
                "enrolled_at": now,
                "last_activity_at": now,
                "progress_percentage": 0,
            },
            index_elements=["student_id", "course_id"],
            update=None,
        )
    )
    enrollment = await get_enrollment(session, student, course.id)
    assert enrollment is not None
    # Completions kept from an earlier enrollment (or none): make the new row true at once.
    await recompute_progress(session, course.id, student.id)
    await session.refresh(enrollment)
    return EnrollOutcome(course, enrollment, created=result.rowcount == 1)


async def _lesson_with_course(session: AsyncSession, lesson_id: int) -> tuple[Lesson, Course]:
    row = (
        await session.execute(
            select(Lesson, Course)
            .join(Course, Course.id == Lesson.course_id)
            .where(Lesson.id == lesson_id)
        )
    ).first()
    if row is None:
        raise NotFound("This lesson no longer exists.")
    return row[0], row[1]


async def _neighbours(
    session: AsyncSession, lesson: Lesson
) -> tuple[int, int, int | None, int | None]:
    """(position, total, previous id, next id) of a lesson in its course, in one query."""
    ids = list(
        await session.scalars(
            select(Lesson.id)
            .where(Lesson.course_id == lesson.course_id)
            .order_by(Lesson.order_index)
        )
    )
    index = ids.index(lesson.id)
    previous_id = ids[index - 1] if index > 0 else None
    next_id = ids[index + 1] if index + 1 < len(ids) else None
    return index + 1, len(ids), previous_id, next_id


async def _is_completed(session: AsyncSession, student: User, lesson_id: int) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    LessonCompletion.student_id == student.id,
                    LessonCompletion.lesson_id == lesson_id,
                )
            )
        )
    )


async def open_lesson(session: AsyncSession, user: User, lesson_id: int) -> LessonView:
    """A lesson for an enrolled student (or the course's managers, who may preview it)."""
    lesson, course = await _lesson_with_course(session, lesson_id)
    enrollment = await get_enrollment(session, user, course.id)
    if enrollment is None and not can_manage(user, course):
        if course.is_published:
            raise Forbidden("Enroll in this course to open its lessons.")
        raise NotFound("This lesson no longer exists.")
    if enrollment is not None:
        await _touch_enrollment(session, enrollment.id)
    position, total, previous_id, next_id = await _neighbours(session, lesson)
    quiz = await session.scalar(select(Quiz).where(Quiz.lesson_id == lesson.id))
    return LessonView(
        lesson=lesson,
        course=course,
        position=position,
        total=total,
        previous_id=previous_id,
        next_id=next_id,
        completed=await _is_completed(session, user, lesson.id),
        quiz=quiz,
        enrolled=enrollment is not None,
    )


async def _touch_enrollment(session: AsyncSession, enrollment_id: int) -> None:
    await session.execute(
        update(Enrollment)
        .where(Enrollment.id == enrollment_id)
        .values(last_activity_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def record_completion(
    session: AsyncSession, student: User, lesson: Lesson
) -> CompletionOutcome:
    """Insert the completion (at most once) and make the enrollment's progress true.

    Shared by the Complete button and by passing a quiz, inside the caller's transaction.
    """
    # Completions of one enrollment take turns: each recount then sees the ones before it.
    enrollment = await get_enrollment(session, student, lesson.course_id, lock=True)
    if enrollment is None:
        raise Forbidden("Enroll in this course to complete its lessons.")
    was_finished = enrollment.completed_at is not None
    result = await session.execute(
        upsert(
            session,
            LessonCompletion,
            values={"student_id": student.id, "lesson_id": lesson.id, "completed_at": utcnow()},
            index_elements=["student_id", "lesson_id"],
            update=None,
        )
    )
    newly = result.rowcount == 1
    if newly:
        await recompute_progress(session, lesson.course_id, student.id)
    await _touch_enrollment(session, enrollment.id)
    await session.refresh(enrollment)
    return CompletionOutcome(
        lesson=lesson,
        newly_completed=newly,
        progress=enrollment.progress_percentage,
        course_finished_now=not was_finished and enrollment.completed_at is not None,
        next_lesson_id=await next_lesson_id(session, student, lesson.course_id),
    )


async def complete_lesson(
    session: AsyncSession, student: User, lesson_id: int
) -> tuple[CompletionOutcome, LessonView]:
    """The Complete button: only for lessons without a quiz (a quiz is passed instead).

    Returns the outcome and the lesson as it now stands, to redraw its buttons.
    """
    view = await open_lesson(session, student, lesson_id)
    if not view.enrolled:
        raise Forbidden("Enroll in this course to complete its lessons.")
    if view.quiz is not None:
        raise Conflict("Pass this lesson's quiz to complete it.")
    outcome = await record_completion(session, student, view.lesson)
    return outcome, replace(view, completed=True)


async def next_lesson_id(session: AsyncSession, student: User, course_id: int) -> int | None:
    """The first lesson of the course, in order, that the student has not completed."""
    done = select(LessonCompletion.id).where(
        LessonCompletion.lesson_id == Lesson.id, LessonCompletion.student_id == student.id
    )
    return await session.scalar(
        select(Lesson.id)
        .where(Lesson.course_id == course_id, ~exists(done))
        .order_by(Lesson.order_index)
        .limit(1)
    )


async def first_lesson_id(session: AsyncSession, course_id: int) -> int | None:
    return await session.scalar(
        select(Lesson.id).where(Lesson.course_id == course_id).order_by(Lesson.order_index).limit(1)
    )


async def continue_course(session: AsyncSession, student: User, course_id: int) -> int:
    """Where **Continue** leads: the next unfinished lesson, or the first one when all are done."""
    course = await visible_course(session, student, course_id)
    if await get_enrollment(session, student, course.id) is None:
        raise Forbidden("Enroll in this course first.")
    lesson_id = await next_lesson_id(session, student, course.id) or await first_lesson_id(
        session, course.id
    )
    if lesson_id is None:
        raise NotFound("This course has no lessons yet.")
    return lesson_id


async def my_progress(session: AsyncSession, student: User) -> list[CourseProgress]:
    """Every enrollment of the student with lessons done/total and the next lesson, in 2 queries."""
    total = select(func.count(Lesson.id)).where(Lesson.course_id == Course.id).scalar_subquery()
    done = (
        select(func.count(LessonCompletion.id))
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .where(Lesson.course_id == Course.id, LessonCompletion.student_id == student.id)
        .scalar_subquery()
    )
    not_done = ~exists(
        select(LessonCompletion.id).where(
            LessonCompletion.lesson_id == Lesson.id, LessonCompletion.student_id == student.id
        )
    )
    next_id = (
        select(Lesson.id)
        .where(and_(Lesson.course_id == Course.id, not_done))
        .order_by(Lesson.order_index)
        .limit(1)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Enrollment, Course, done, total, next_id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.student_id == student.id)
        .order_by(Enrollment.completed_at.is_not(None), Enrollment.last_activity_at.desc())
        .execution_options(populate_existing=True)
    )
    return [
        CourseProgress(course, enrollment, done_count or 0, total_count or 0, next_lesson)
        for enrollment, course, done_count, total_count, next_lesson in rows
    ]

"""Enrollment, lessons and progress: the student's learning loop."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Select, Update, and_, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from db.access import access, access_of, get_enrollment, own_enrollment
from db.catalog import visible_course
from db.dialect import insert_for, upsert
from db.errors import Conflict, Forbidden, Invalid, NotFound, Reason
from db.models import Course, Enrollment, Lesson, LessonCompletion, Quiz, User, utcnow
from db.paging import Page
from db.progress import recompute_progress
from db.security import verify_secret_off_loop
from db.throttle import (
    LOCKOUT,
    TooManyGuesses,
    check_guesses,
    course_key_scope,
    forget_guesses,
    record_wrong_guess,
)

MAX_KEY_LENGTH = 128


class KeyRequired(Conflict):
    """The course has an enrollment key and none was given."""


class WrongKey(Invalid):
    """The typed enrollment key does not match (the guess is counted)."""


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

    A key is checked in a worker thread **between two transactions**: this function commits
    what came before it, so neither the event loop nor SQLite's write lock waits for the
    ~0.4 s argon2 check, and it commits a wrong guess before refusing it, so the count (see
    ``db.throttle``) sticks.
    """
    seen = await visible_course(session, student, course_id)
    course = seen.course
    if seen.enrollment is not None:
        return EnrollOutcome(course, seen.enrollment, created=False)
    if not course.is_published:
        raise Conflict(Reason.course_closed)
    if course.enrollment_key_hash is not None:
        await _check_key(session, student, course, key)
    now = utcnow()
    created = await session.scalar(
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
        ).returning(Enrollment.id)
    )
    # Completions kept from an earlier enrollment (or none): make the new row true at once.
    await recompute_progress(session, course.id, student.id)
    enrollment = await get_enrollment(session, student, course.id)
    assert enrollment is not None
    return EnrollOutcome(course, enrollment, created=created is not None)


async def _check_key(session: AsyncSession, student: User, course: Course, key: str | None) -> None:
    if key is None:
        raise KeyRequired(Reason.key_required)
    scope = course_key_scope(course.id)
    await check_guesses(session, student, scope)
    hashed = course.enrollment_key_hash
    assert hashed is not None
    await session.commit()
    if len(key) <= MAX_KEY_LENGTH and await verify_secret_off_loop(key.strip(), hashed):
        await forget_guesses(session, student, scope)
        return
    locked = await record_wrong_guess(session, student, scope)
    await session.commit()
    if locked:
        raise TooManyGuesses(LOCKOUT)
    raise WrongKey(Reason.wrong_key)


@dataclass(frozen=True)
class _Outline:
    """A course's lessons in order, with which ones the student has completed."""

    ids: list[int]
    done: set[int]

    def around(self, lesson_id: int) -> tuple[int, int | None, int | None]:
        """(position, previous id, next id) of a lesson."""
        index = self.ids.index(lesson_id)
        previous_id = self.ids[index - 1] if index > 0 else None
        next_id = self.ids[index + 1] if index + 1 < len(self.ids) else None
        return index + 1, previous_id, next_id

    def next_unfinished(self, besides: int | None = None) -> int | None:
        """The first lesson not completed (counting ``besides`` as completed)."""
        return next((i for i in self.ids if i not in self.done and i != besides), None)


@functools.cache
def _outline_query() -> Select[tuple[int, int]]:
    """Built once (see ``db.access``)."""
    return (
        select(Lesson.id, LessonCompletion.id)
        .outerjoin(
            LessonCompletion,
            and_(
                LessonCompletion.lesson_id == Lesson.id,
                LessonCompletion.student_id == bindparam("student_id"),
            ),
        )
        .where(Lesson.course_id == bindparam("course_id"))
        .order_by(Lesson.order_index)
    )


async def _outline(session: AsyncSession, student: User, course_id: int) -> _Outline:
    """The course's lesson ids in order and the student's completions among them: one query."""
    rows = await session.execute(
        _outline_query(), {"student_id": student.id, "course_id": course_id}
    )
    ids, done = [], set()
    for lesson_id, completion_id in rows:
        ids.append(lesson_id)
        if completion_id is not None:
            done.add(lesson_id)
    return _Outline(ids, done)


@functools.cache
def _lesson_query() -> Select[tuple[Lesson, Course, Quiz, Enrollment]]:
    """Built once (see ``db.access``)."""
    return (
        select(Lesson, Course, Quiz, Enrollment)
        .join(Course, Course.id == Lesson.course_id)
        .outerjoin(Quiz, Quiz.lesson_id == Lesson.id)
        .outerjoin(Enrollment, own_enrollment())
        .where(Lesson.id == bindparam("lesson_id"))
    )


async def _lesson(
    session: AsyncSession, lesson_id: int, viewer: User
) -> tuple[Lesson, Course, Quiz | None, Enrollment | None]:
    """A lesson with its course, its quiz if any, and the viewer's enrollment: one query."""
    params = {"lesson_id": lesson_id, "viewer_id": viewer.id}
    row = (await session.execute(_lesson_query(), params)).first()
    if row is None:
        raise NotFound(Reason.lesson_gone)
    return row[0], row[1], row[2], row[3]


async def _lesson_view(
    session: AsyncSession, user: User, lesson_id: int, *, lock: bool = False
) -> tuple[LessonView, Enrollment | None, _Outline]:
    """A lesson for an enrolled student (or the course's managers, who may preview it);
    ``lock`` reads the enrollment again, locked (see ``db.access.get_enrollment``)."""
    lesson, course, quiz, enrollment = await _lesson(session, lesson_id, user)
    if lock and enrollment is not None:
        seen = await access(session, user, course, lock=True)
    else:
        seen = access_of(user, course, enrollment)
    seen.require_lessons_open(Reason.enroll_to_open_lessons, Reason.lesson_gone)
    outline = await _outline(session, user, course.id)
    return _view(lesson, course, quiz, outline, seen.enrollment), seen.enrollment, outline


def _view(
    lesson: Lesson,
    course: Course,
    quiz: Quiz | None,
    outline: _Outline,
    enrollment: Enrollment | None,
) -> LessonView:
    position, previous_id, next_id = outline.around(lesson.id)
    return LessonView(
        lesson=lesson,
        course=course,
        position=position,
        total=len(outline.ids),
        previous_id=previous_id,
        next_id=next_id,
        completed=lesson.id in outline.done,
        quiz=quiz,
        enrolled=enrollment is not None,
    )


async def open_lesson(session: AsyncSession, user: User, lesson_id: int) -> LessonView:
    """A lesson to read; opening it counts as activity in the course."""
    view, enrollment, _ = await _lesson_view(session, user, lesson_id)
    if enrollment is not None:
        await _touch_enrollment(session, enrollment.id)
    return view


async def _touch_enrollment(session: AsyncSession, enrollment_id: int) -> None:
    await session.execute(_touch_query(), {"enrollment_id": enrollment_id, "now": utcnow()})


@functools.cache
def _touch_query() -> Update:
    """Built once (see ``db.access``)."""
    return (
        update(Enrollment)
        .where(Enrollment.id == bindparam("enrollment_id"))
        .values(last_activity_at=bindparam("now"))
        .execution_options(synchronize_session=False)
    )


@functools.cache
def _completion_insert(dialect: str) -> ReturningInsert[tuple[int]]:
    """A completion, at most once (the new id, or nothing); built once (see ``db.access``),
    its values given at execution."""
    return (
        insert_for(dialect, LessonCompletion)
        .on_conflict_do_nothing(index_elements=["student_id", "lesson_id"])
        .returning(LessonCompletion.id)
    )


async def record_completion(
    session: AsyncSession,
    student: User,
    lesson: Lesson,
    *,
    enrollment: Enrollment | None = None,
    outline: _Outline | None = None,
) -> CompletionOutcome:
    """Insert the completion (at most once) and make the enrollment's progress true.

    Shared by the Complete button and by passing a quiz, inside the caller's transaction.
    Callers that already hold the enrollment (locked) and the course outline pass them in.
    """
    if enrollment is None:
        # Completions of one enrollment take turns: each recount then sees the ones before it.
        enrollment = await get_enrollment(session, student, lesson.course_id, lock=True)
    if enrollment is None:
        raise Forbidden(Reason.enroll_to_complete_lessons)
    was_finished = enrollment.completed_at is not None
    inserted = await session.scalar(
        _completion_insert(session.get_bind().dialect.name),
        {"student_id": student.id, "lesson_id": lesson.id, "completed_at": utcnow()},
    )
    newly = inserted is not None
    progress, completed_at = enrollment.progress_percentage, enrollment.completed_at
    if newly:
        progress, completed_at = await recompute_progress(
            session, lesson.course_id, student.id, touch=True
        )
    else:
        await _touch_enrollment(session, enrollment.id)
    if outline is None:
        outline = await _outline(session, student, lesson.course_id)
    return CompletionOutcome(
        lesson=lesson,
        newly_completed=newly,
        progress=progress,
        course_finished_now=not was_finished and completed_at is not None,
        next_lesson_id=outline.next_unfinished(besides=lesson.id),
    )


async def complete_lesson(
    session: AsyncSession, student: User, lesson_id: int
) -> tuple[CompletionOutcome, LessonView]:
    """The Complete button: only for lessons without a quiz (a quiz is passed instead).

    Returns the outcome and the lesson as it now stands, to redraw its buttons.
    """
    view, enrollment, outline = await _lesson_view(session, student, lesson_id, lock=True)
    if enrollment is None:
        raise Forbidden(Reason.enroll_to_complete_lessons)
    if view.quiz is not None:
        raise Conflict(Reason.pass_the_quiz)
    outcome = await record_completion(
        session, student, view.lesson, enrollment=enrollment, outline=outline
    )
    return outcome, replace(view, completed=True)


async def continue_course(session: AsyncSession, student: User, course_id: int) -> LessonView:
    """Where **Continue** leads: the next unfinished lesson, or the first one when all are done,
    opened (as ``open_lesson`` does) from what finding it read."""
    seen = await visible_course(session, student, course_id)
    seen.require_enrolled(Reason.enroll_first, Reason.course_not_available)
    assert seen.enrollment is not None
    outline = await _outline(session, student, course_id)
    lesson_id = outline.next_unfinished() or (outline.ids[0] if outline.ids else None)
    if lesson_id is None:
        raise NotFound(Reason.course_has_no_lessons)
    lesson, course, quiz, _ = await _lesson(session, lesson_id, student)
    await _touch_enrollment(session, seen.enrollment.id)
    return _view(lesson, course, quiz, outline, seen.enrollment)


async def my_courses_page(session: AsyncSession, student: User, page: int) -> Page[CourseProgress]:
    """One page of /mycourses."""
    return Page.of(await my_progress(session, student), page)


@functools.cache
def _progress_query() -> Select[tuple[Enrollment, Course, int, int, int]]:
    """Built once (see ``db.access``)."""
    student_id = bindparam("student_id")
    total = select(func.count(Lesson.id)).where(Lesson.course_id == Course.id).scalar_subquery()
    done = (
        select(func.count(LessonCompletion.id))
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .where(Lesson.course_id == Course.id, LessonCompletion.student_id == student_id)
        .scalar_subquery()
    )
    not_done = ~exists(
        select(LessonCompletion.id).where(
            LessonCompletion.lesson_id == Lesson.id, LessonCompletion.student_id == student_id
        )
    )
    next_id = (
        select(Lesson.id)
        .where(and_(Lesson.course_id == Course.id, not_done))
        .order_by(Lesson.order_index)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(Enrollment, Course, done, total, next_id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.student_id == student_id)
        .order_by(Enrollment.completed_at.is_not(None), Enrollment.last_activity_at.desc())
        .execution_options(populate_existing=True)
    )


async def my_progress(session: AsyncSession, student: User) -> list[CourseProgress]:
    """Every enrollment of the student with lessons done/total and the next lesson: one query."""
    rows = await session.execute(_progress_query(), {"student_id": student.id})
    return [
        CourseProgress(course, enrollment, done_count or 0, total_count or 0, next_lesson)
        for enrollment, course, done_count, total_count, next_lesson in rows
    ]

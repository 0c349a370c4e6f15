"""Instructor authoring (SPEC §1, §3): the courses one manages, their fields, key, state, lessons.

Every operation is for the course's managers (``db.access.manages``: its instructor and every
admin); to anyone else a course or lesson looks exactly like one that does not exist.

Changes to one course take turns: each locks the course row first (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so "has a lesson" stays
true while publishing, and the next ``order_index`` or a swap is never computed twice at once.
Enrolled students' progress is recomputed in the same transaction whenever lessons come or go.
Input is checked before the database is touched; refusals carry a ``Reason`` and no words.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

from sqlalchemy import Select, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import managed_by, manages
from db.accounts import require_role
from db.errors import Conflict, Invalid, NotFound, Reason
from db.limits import (
    MAX_CATEGORY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_DURATION_MINUTES,
    MAX_ENROLLMENT_KEY_LENGTH,
    MAX_LESSON_CONTENT_LENGTH,
    MAX_MEDIA_FILE_ID_LENGTH,
    MAX_TITLE_LENGTH,
    UNSTORABLE_CHARACTERS,
)
from db.models import Course, Difficulty, Enrollment, Lesson, MediaKind, Quiz, Role, User, utcnow
from db.paging import PAGE_SIZE, Page, clamp_page
from db.progress import recompute_progress
from db.security import hash_secret
from db.throttle import course_key_scope, forget_scope

COURSE_FIELDS = ("title", "description", "category", "difficulty", "duration_minutes")

# Text fields of a course: (longest, whether it may be empty).
_COURSE_TEXTS = {
    "title": (MAX_TITLE_LENGTH, False),
    "description": (MAX_DESCRIPTION_LENGTH, True),
    "category": (MAX_CATEGORY_LENGTH, True),
}


@dataclass(frozen=True)
class TeachingEntry:
    course: Course
    lesson_count: int
    enrolled_count: int


@dataclass(frozen=True)
class LessonLine:
    id: int
    title: str
    has_quiz: bool
    media_kind: MediaKind | None


@dataclass(frozen=True)
class CourseManagement:
    course: Course
    lessons: list[LessonLine]
    enrolled_count: int
    has_key: bool


# -- validation -----------------------------------------------------------------------------------


def clean_text(field: str, value: object, limit: int, *, may_be_empty: bool) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be text, not {type(value).__name__}")
    value = value.strip()
    if not value and not may_be_empty:
        raise Invalid(Reason.field_empty, field=field)
    if len(value) > limit:
        raise Invalid(Reason.field_too_long, field=field, limit=limit)
    if UNSTORABLE_CHARACTERS.search(value):
        raise Invalid(Reason.field_unstorable, field=field)
    return value


def _clean_duration(value: object) -> int:
    if isinstance(value, str):
        digits = value.strip()
        value = int(digits) if digits.isdecimal() and len(digits) <= 9 else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(Reason.duration_out_of_range, limit=MAX_DURATION_MINUTES)
    if not 0 <= value <= MAX_DURATION_MINUTES:
        raise Invalid(Reason.duration_out_of_range, limit=MAX_DURATION_MINUTES)
    return value


def _clean_difficulty(value: object) -> Difficulty:
    if isinstance(value, Difficulty):
        return value
    if isinstance(value, str) and value.strip().lower() in Difficulty.__members__:
        return Difficulty(value.strip().lower())
    raise Invalid(Reason.difficulty_unknown)


def validate_course_field(name: str, value: object) -> object:
    """The one check of a course field, for create, update and the chat wizard's steps.

    Text is stripped (the description is Telegram HTML: only its length is checked here, its
    markup by the caller); the duration may be typed digits; the difficulty a member or its name.
    Returns the cleaned value, or raises ``Invalid`` saying what to fix.
    """
    if name in _COURSE_TEXTS:
        limit, may_be_empty = _COURSE_TEXTS[name]
        return clean_text(name, value, limit, may_be_empty=may_be_empty)
    if name == "duration_minutes":
        return _clean_duration(value)
    if name == "difficulty":
        return _clean_difficulty(value)
    raise ValueError(f"not a course field: {name!r}")


def _clean_media(
    kind: MediaKind | str | None, file_id: str | None
) -> tuple[MediaKind | None, str | None]:
    """Media come from Telegram, never typed: a mismatched pair is a bug, not input."""
    if (kind is None) != (file_id is None):
        raise ValueError("media_kind and media_file_id go together")
    if kind is None:
        return None, None
    return MediaKind(kind), clean_text(
        "media", file_id, MAX_MEDIA_FILE_ID_LENGTH, may_be_empty=False
    )


# -- loading what the user manages ----------------------------------------------------------------


async def managed_course(
    session: AsyncSession, user: User, course_id: int, *, lock: bool = False
) -> Course:
    query = select(Course).where(Course.id == course_id)
    if lock:
        query = query.with_for_update()
    course = await session.scalar(query.execution_options(populate_existing=True))
    if course is None or not manages(user, course):
        raise NotFound(Reason.course_not_available)
    return course


async def managed_lesson(
    session: AsyncSession, user: User, lesson_id: int
) -> tuple[Lesson, Course]:
    """A lesson and its course, for their managers only: one query."""
    row = (
        await session.execute(
            select(Lesson, Course)
            .join(Course, Course.id == Lesson.course_id)
            .where(Lesson.id == lesson_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None or not manages(user, row[1]):
        raise NotFound(Reason.lesson_gone)
    return row[0], row[1]


async def lesson_to_change(
    session: AsyncSession, user: User, lesson_id: int
) -> tuple[Lesson, Course]:
    """A managed lesson with its course row locked, read after the lock (so a concurrent
    move or deletion that committed meanwhile is seen)."""
    course_id = select(Lesson.course_id).where(Lesson.id == lesson_id).scalar_subquery()
    course = await session.scalar(
        select(Course)
        .where(Course.id == course_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if course is None or not manages(user, course):
        raise NotFound(Reason.lesson_gone)
    lesson = await session.scalar(
        select(Lesson).where(Lesson.id == lesson_id).execution_options(populate_existing=True)
    )
    if lesson is None:
        raise NotFound(Reason.lesson_gone)
    return lesson, course


def _lesson_count(course_id: Any) -> Select[tuple[int]]:
    return select(func.count(Lesson.id)).where(Lesson.course_id == course_id)


def _enrolled_count(course_id: Any) -> Select[tuple[int]]:
    return select(func.count(Enrollment.id)).where(Enrollment.course_id == course_id)


# -- reading --------------------------------------------------------------------------------------


async def teaching_page(session: AsyncSession, user: User, page: int) -> Page[TeachingEntry]:
    """/teach: the courses the user manages with their counts, the user's own first (an admin
    manages everyone's), newest first; one query for the rows and one for the total."""
    require_role(user, Role.instructor)
    condition = managed_by(user)
    total = await session.scalar(select(func.count(Course.id)).where(condition)) or 0
    page, pages = clamp_page(page, total)
    rows = await session.execute(
        select(
            Course,
            _lesson_count(Course.id).scalar_subquery(),
            _enrolled_count(Course.id).scalar_subquery(),
        )
        .where(condition)
        .order_by(
            case((Course.instructor_id == user.id, 0), else_=1),
            Course.created_at.desc(),
            Course.id.desc(),
        )
        .limit(PAGE_SIZE)
        .offset(page * PAGE_SIZE)
        .execution_options(populate_existing=True)
    )
    entries = [
        TeachingEntry(course, lessons or 0, enrolled or 0) for course, lessons, enrolled in rows
    ]
    return Page(entries, page, pages, total)


async def course_management(session: AsyncSession, user: User, course_id: int) -> CourseManagement:
    """The management card: the course with its enrolled count, then its lessons in order."""
    row = (
        await session.execute(
            select(Course, _enrolled_count(Course.id).scalar_subquery())
            .where(Course.id == course_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None or not manages(user, row[0]):
        raise NotFound(Reason.course_not_available)
    course, enrolled = row
    lessons = await session.execute(
        select(Lesson.id, Lesson.title, Quiz.id, Lesson.media_kind)
        .outerjoin(Quiz, Quiz.lesson_id == Lesson.id)
        .where(Lesson.course_id == course.id)
        .order_by(Lesson.order_index)
    )
    return CourseManagement(
        course=course,
        lessons=[
            LessonLine(lesson_id, title, quiz_id is not None, media_kind)
            for lesson_id, title, quiz_id, media_kind in lessons
        ],
        enrolled_count=enrolled or 0,
        has_key=course.enrollment_key_hash is not None,
    )


# -- the course -----------------------------------------------------------------------------------


async def create_draft(
    session: AsyncSession,
    user: User,
    *,
    title: str,
    description: str = "",
    category: str = "",
    difficulty: Difficulty = Difficulty.beginner,
    duration_minutes: int = 0,
) -> Course:
    """A new unpublished course owned by the user (an instructor or an admin)."""
    require_role(user, Role.instructor)
    fields = {
        "title": title,
        "description": description,
        "category": category,
        "difficulty": difficulty,
        "duration_minutes": duration_minutes,
    }
    course = Course(
        **{name: validate_course_field(name, value) for name, value in fields.items()},
        is_published=False,
        instructor_id=user.id,
    )
    session.add(course)
    await session.flush()
    return course


async def update_course(session: AsyncSession, user: User, course_id: int, **fields: Any) -> Course:
    """Change some of ``COURSE_FIELDS``, each validated; only the changed columns are written."""
    unknown = set(fields) - set(COURSE_FIELDS)
    if unknown:
        raise TypeError(f"not course fields: {', '.join(sorted(unknown))}")
    cleaned = {name: validate_course_field(name, value) for name, value in fields.items()}
    course = await managed_course(session, user, course_id, lock=True)
    for name, value in cleaned.items():
        setattr(course, name, value)
    course.updated_at = utcnow()
    await session.flush()
    return course


async def set_enrollment_key(
    session: AsyncSession, user: User, course_id: int, key: str | None
) -> None:
    """Set (1 to 128 characters, stored hashed) or, with ``None``, clear the enrollment key.

    The ~0.4 s argon2 hash runs in a worker thread **after committing** what came before, so
    neither the event loop nor SQLite's write lock waits for it (as ``db.learning.enroll``
    does for a check); the key is then written by one UPDATE that checks management again.
    """
    if key is not None:
        key = clean_text("key", key, MAX_ENROLLMENT_KEY_LENGTH, may_be_empty=False)
    course = await managed_course(session, user, course_id)
    hashed = None
    if key is not None:
        await session.commit()
        hashed = await asyncio.to_thread(hash_secret, key)
    written = await session.scalar(
        update(Course)
        .where(Course.id == course.id, managed_by(user))
        .values(enrollment_key_hash=hashed, updated_at=utcnow())
        .returning(Course)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if written is None:  # deleted (or taken away) while the key was hashed
        raise NotFound(Reason.course_not_available)


async def publish(session: AsyncSession, user: User, course_id: int) -> Course:
    """Into the catalog; a course needs a lesson first."""
    course = await managed_course(session, user, course_id, lock=True)
    if not await session.scalar(select(exists().where(Lesson.course_id == course.id))):
        raise Conflict(Reason.publish_needs_a_lesson)
    return await _set_published(session, course, True)


async def unpublish(session: AsyncSession, user: User, course_id: int) -> Course:
    """Out of the catalog and closed to new enrollments; enrolled students keep their access."""
    course = await managed_course(session, user, course_id, lock=True)
    return await _set_published(session, course, False)


async def _set_published(session: AsyncSession, course: Course, published: bool) -> Course:
    if course.is_published != published:
        course.is_published = published
        course.updated_at = utcnow()
        await session.flush()
    return course


async def delete_course(session: AsyncSession, user: User, course_id: int) -> str:
    """Delete the course and, by the foreign keys' ``ON DELETE CASCADE``, its lessons, quizzes,
    enrollments, completions and attempts. Returns its title for the reply."""
    course = await managed_course(session, user, course_id, lock=True)
    title = course.title
    await session.delete(course)
    await forget_scope(session, course_key_scope(course_id))
    await session.flush()
    return title


# -- lessons --------------------------------------------------------------------------------------


async def add_lesson(
    session: AsyncSession,
    user: User,
    course_id: int,
    *,
    title: str,
    content: str = "",
    media_kind: MediaKind | None = None,
    media_file_id: str | None = None,
) -> Lesson:
    """Append a lesson. ``content`` is Telegram HTML whose markup the caller has checked.

    Enrolled students' progress drops to match (a finished course is unfinished again).
    """
    title = clean_text("title", title, MAX_TITLE_LENGTH, may_be_empty=False)
    content = clean_text("content", content, MAX_LESSON_CONTENT_LENGTH, may_be_empty=True)
    media_kind, media_file_id = _clean_media(media_kind, media_file_id)
    course = await managed_course(session, user, course_id, lock=True)
    last = await session.scalar(
        select(func.max(Lesson.order_index)).where(Lesson.course_id == course.id)
    )
    lesson = Lesson(
        course_id=course.id,
        title=title,
        content=content,
        media_kind=media_kind,
        media_file_id=media_file_id,
        order_index=0 if last is None else last + 1,
    )
    session.add(lesson)
    course.updated_at = utcnow()
    await session.flush()
    await recompute_progress(session, course.id)
    return lesson


async def update_lesson(
    session: AsyncSession,
    user: User,
    lesson_id: int,
    *,
    title: str | None = None,
    content: str | None = None,
    media_kind: MediaKind | EllipsisType | None = ...,
    media_file_id: str | EllipsisType | None = ...,
) -> Lesson:
    """Change a lesson's title, content or media; ``None`` title/content and ``...`` media
    leave them as they are, ``media_kind=None`` removes the media."""
    if title is not None:
        title = clean_text("title", title, MAX_TITLE_LENGTH, may_be_empty=False)
    if content is not None:
        content = clean_text("content", content, MAX_LESSON_CONTENT_LENGTH, may_be_empty=True)
    media: tuple[MediaKind | None, str | None] | None = None
    if media_kind is not ...:
        file_id = None if media_file_id is ... else media_file_id
        media = _clean_media(media_kind, file_id)
    elif media_file_id is not ...:
        raise ValueError("media_file_id is changed together with media_kind")
    lesson, course = await lesson_to_change(session, user, lesson_id)
    if title is not None:
        lesson.title = title
    if content is not None:
        lesson.content = content
    if media is not None:
        lesson.media_kind, lesson.media_file_id = media
    course.updated_at = utcnow()
    await session.flush()
    return lesson


async def move_lesson(session: AsyncSession, user: User, lesson_id: int, offset: int) -> Lesson:
    """Swap a lesson with the one before (``-1``) or after (``+1``) it."""
    if offset not in (-1, 1):
        raise ValueError(f"a lesson moves by -1 or +1, not {offset}")
    lesson, course = await lesson_to_change(session, user, lesson_id)
    here = lesson.order_index
    side = Lesson.order_index < here if offset < 0 else Lesson.order_index > here
    nearest = Lesson.order_index.desc() if offset < 0 else Lesson.order_index.asc()
    neighbour = await session.scalar(
        select(Lesson)
        .where(Lesson.course_id == course.id, side)
        .order_by(nearest)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if neighbour is None:
        raise Conflict(Reason.lesson_at_edge)
    there = neighbour.order_index
    pair = Lesson.id.in_([lesson.id, neighbour.id])
    # UNIQUE(course_id, order_index) is checked row by row: park both on free negative
    # indexes first, then give each the other's place.
    await session.execute(
        update(Lesson)
        .where(pair)
        .values(order_index=-Lesson.order_index - 1)
        .execution_options(synchronize_session=False)
    )
    swapped = await session.scalars(
        update(Lesson)
        .where(pair)
        .values(order_index=case((Lesson.id == lesson.id, there), else_=here))
        .returning(Lesson)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    swapped.all()  # the rows refresh both lessons as they are read
    course.updated_at = utcnow()
    await session.flush()
    return lesson


async def delete_lesson(session: AsyncSession, user: User, lesson_id: int) -> Course:
    """Delete a lesson (its quiz, completions and attempts go with it), close the gap in the
    order, and make enrolled students' progress true (it may now reach 100 %).

    A published course keeps at least one lesson: unpublish it to delete its last one.
    """
    lesson, course = await lesson_to_change(session, user, lesson_id)
    if course.is_published and await session.scalar(_lesson_count(course.id)) == 1:
        raise Conflict(Reason.published_course_keeps_a_lesson)
    removed = lesson.order_index
    await session.delete(lesson)
    await session.flush()
    after = (Lesson.course_id == course.id, Lesson.order_index > removed)
    # Shift the later lessons up by one without ever holding two on one index (see move_lesson).
    await session.execute(
        update(Lesson)
        .where(*after)
        .values(order_index=-Lesson.order_index)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Lesson)
        .where(Lesson.course_id == course.id, Lesson.order_index < 0)
        .values(order_index=-Lesson.order_index - 1)
        .execution_options(synchronize_session=False)
    )
    course.updated_at = utcnow()
    await session.flush()
    await recompute_progress(session, course.id)
    return course

"""Replacing a course in place from a course file: what stays and what goes.

A replacement is one transaction on the locked course row (``FOR UPDATE`` on PostgreSQL;
SQLite's ``BEGIN IMMEDIATE`` already serialises writers), for the course's managers only
(``db.access.manages``; to anyone else the course looks like one that does not exist):

- The course's fields follow the file: title, description, category, difficulty, duration and
  published. The enrollment key is set (hashed) when the file has one and **kept** when it has
  none: an export never carries the key, so a file without one can't mean "clear it" (the
  🔓 Clear key button does that).
- A lesson of the file whose ``key`` (the file's ``id:``) is a lesson of this course *is* that
  lesson, updated in place: its id, and so its students' completions, stay. Every other lesson
  of the file is new. A lesson of the course that the file leaves out is deleted, and its
  completions and quiz attempts with it (``ON DELETE CASCADE``). The order is the file's.
- A kept lesson's quiz that the file does not change is not touched (its ids and attempts stay).
  When only its settings change (title, passing score, attempts allowed) they are written in
  place. When its questions change, the quiz row stays and its questions are replaced under
  the rule of ``db.quizauthoring`` for a confirmed change of a quiz students have taken:
  finished attempts and completions stay, attempts in progress start again. A quiz the file
  drops is deleted with its attempts (completions stay), as 🗑 Delete quiz does; a new one is
  created.
- Enrollments always stay, and every enrolled student's progress is recomputed in the same
  transaction, so ``progress_percentage`` and ``completed_at`` stay true.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from db.authoring import (
    CourseDraft,
    LessonDraft,
    QuizDraft,
    questions_from_drafts,
    quiz_as_draft,
    quiz_from_draft,
)
from db.errors import Conflict, NotFound, Reason
from db.models import Course, Enrollment, Lesson, Question, Quiz, User, utcnow
from db.progress import recompute_progress
from db.quizauthoring import may_change
from db.security import hash_secret
from db.teaching import managed_course


@dataclass(frozen=True)
class ReplacementSummary:
    """What a replacement does (or did): lessons kept, added and removed; students enrolled."""

    kept: int
    added: int
    removed: int
    enrolled: int


@dataclass(frozen=True)
class _Plan:
    kept: dict[int, int]  # the index of a lesson in the draft → the id of the lesson it is
    removed: list[int]  # ids of the course's lessons the draft leaves out

    def summary(self, draft: CourseDraft, enrolled: int) -> ReplacementSummary:
        kept = len(self.kept)
        return ReplacementSummary(kept, len(draft.lessons) - kept, len(self.removed), enrolled)


def _plan(draft: CourseDraft, lesson_ids: Sequence[int]) -> _Plan:
    """Which of the course's lessons each lesson of the draft is, by its key."""
    existing = set(lesson_ids)
    kept: dict[int, int] = {}
    seen: set[int] = set()
    for index, lesson in enumerate(draft.lessons):
        if lesson.key is None:
            continue
        if lesson.key in seen:  # a course file refuses this, naming the place
            raise ValueError(f"lesson id {lesson.key} is in the draft twice")
        seen.add(lesson.key)
        if lesson.key in existing:
            kept[index] = lesson.key
    taken = set(kept.values())
    return _Plan(kept, [lesson_id for lesson_id in lesson_ids if lesson_id not in taken])


async def _lesson_ids(session: AsyncSession, course_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(Lesson.id).where(Lesson.course_id == course_id).order_by(Lesson.order_index)
        )
    )


async def _enrolled(session: AsyncSession, course_id: int) -> int:
    query = select(func.count(Enrollment.id)).where(Enrollment.course_id == course_id)
    return await session.scalar(query) or 0


async def replacement_summary(
    session: AsyncSession, user: User, course_id: int, draft: CourseDraft
) -> ReplacementSummary:
    """What ``replace_course`` would do now, to ask before doing it; writes nothing."""
    course = await managed_course(session, user, course_id)
    plan = _plan(draft, await _lesson_ids(session, course.id))
    return plan.summary(draft, await _enrolled(session, course.id))


async def replace_course(
    session: AsyncSession, user: User, course_id: int, draft: CourseDraft
) -> ReplacementSummary:
    """Make the course what the draft says, in the caller's transaction (see the module).

    A key is hashed (argon2, ~0.4 s) in a worker thread before any statement of this function,
    so the lock is not held meanwhile when the caller's transaction has not begun yet.
    """
    if draft.published and not draft.lessons:
        raise Conflict(Reason.publish_needs_a_lesson)
    key_hash = (
        await asyncio.to_thread(hash_secret, draft.enrollment_key) if draft.enrollment_key else None
    )
    course = await managed_course(session, user, course_id, lock=True)
    plan = _plan(draft, await _lesson_ids(session, course.id))
    if plan.removed:
        await session.execute(
            delete(Lesson)
            .where(Lesson.id.in_(plan.removed))
            .execution_options(synchronize_session=False)
        )
    # UNIQUE(course_id, order_index) is checked row by row: park the kept lessons on free
    # negative indexes, then give each lesson its place in the file.
    await session.execute(
        update(Lesson)
        .where(Lesson.course_id == course.id)
        .values(order_index=-Lesson.order_index - 1)
        .execution_options(synchronize_session=False)
    )
    kept = {
        lesson.id: lesson
        for lesson in await session.scalars(
            select(Lesson)
            .where(Lesson.course_id == course.id)
            .execution_options(populate_existing=True)
        )
    }
    quizzes = {
        quiz.lesson_id: quiz
        for quiz in await session.scalars(
            select(Quiz)
            .where(Quiz.lesson_id.in_(list(kept)))
            .options(selectinload(Quiz.questions).selectinload(Question.options))
            .execution_options(populate_existing=True)
        )
    }
    for index, lesson_draft in enumerate(draft.lessons):
        lesson_id = plan.kept.get(index)
        if lesson_id is None:
            session.add(_new_lesson(course.id, index, lesson_draft))
            continue
        lesson = kept[lesson_id]
        lesson.title, lesson.content = lesson_draft.title, lesson_draft.content
        lesson.media_kind, lesson.media_file_id = (
            lesson_draft.media_kind,
            lesson_draft.media_file_id,
        )
        lesson.order_index = index
        await _replace_quiz(session, lesson, quizzes.get(lesson.id), lesson_draft.quiz)

    course.title, course.description = draft.title, draft.description
    course.category, course.difficulty = draft.category, draft.difficulty
    course.duration_minutes, course.is_published = draft.duration_minutes, draft.published
    if key_hash is not None:
        course.enrollment_key_hash = key_hash
    course.updated_at = utcnow()
    await session.flush()
    await recompute_progress(session, course.id)
    return plan.summary(draft, await _enrolled(session, course.id))


def _new_lesson(course_id: int, index: int, draft: LessonDraft) -> Lesson:
    return Lesson(
        course_id=course_id,
        title=draft.title,
        content=draft.content,
        media_kind=draft.media_kind,
        media_file_id=draft.media_file_id,
        order_index=index,
        quiz=quiz_from_draft(draft.quiz) if draft.quiz else None,
    )


async def _replace_quiz(
    session: AsyncSession, lesson: Lesson, quiz: Quiz | None, draft: QuizDraft | None
) -> None:
    """A kept lesson's quiz as the file has it (see the module for what stays)."""
    if quiz is None:
        if draft is not None:
            created = quiz_from_draft(draft)
            created.lesson_id = lesson.id
            session.add(created)
        return
    if draft is None:
        await session.execute(
            delete(Quiz).where(Quiz.id == quiz.id).execution_options(synchronize_session=False)
        )
        session.expunge(quiz)
        return
    current = quiz_as_draft(quiz)
    if current == draft:
        return
    quiz.title, quiz.passing_score, quiz.max_attempts = (
        draft.title,
        draft.passing_score,
        draft.max_attempts,
    )
    if current.questions == draft.questions:
        return
    await may_change(session, quiz.id, confirmed=True)
    # The old questions (and by the foreign keys their options) go first: UNIQUE(quiz_id,
    # order_index) would refuse a new question on an index an old one still holds.
    await session.execute(
        delete(Question)
        .where(Question.quiz_id == quiz.id)
        .execution_options(synchronize_session=False)
    )
    for old in quiz.questions:
        session.expunge(old)
    set_committed_value(quiz, "questions", [])
    quiz.questions = questions_from_drafts(draft.questions)


async def replace_course_as(
    session: AsyncSession, owner_telegram_id: int, course_id: int, draft: CourseDraft
) -> ReplacementSummary:
    """The command line's replacement, by the owner's Telegram id.

    The operator of the command line may learn which courses exist, so a missing course is
    ``no_such_course`` here; a course the owner does not manage (or an owner the bot has never
    seen) is ``course_not_available``, as in the chat. Nobody is created or promoted.
    """
    owner = await session.scalar(select(User).where(User.telegram_id == owner_telegram_id))
    if await session.scalar(select(Course.id).where(Course.id == course_id)) is None:
        raise NotFound(Reason.no_such_course, course_id=course_id)
    if owner is None:
        raise NotFound(Reason.course_not_available)
    await session.commit()  # nothing is held while the key is hashed
    return await replace_course(session, owner, course_id, draft)

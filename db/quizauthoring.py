"""Quiz authoring (SPEC §1, §3): a lesson's quiz, its questions, and deleting either.

As in ``db.teaching``, every operation is for the course's managers (``db.access.manages``);
to anyone else a quiz, question or lesson looks exactly like one that does not exist. Changes
lock the course row first (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers), so question order is never computed twice at once.

A quiz students have already taken changes only when ``confirmed``: until then the change is
refused with ``Reason.quiz_has_attempts`` and nothing is written. When confirmed, finished
attempts (submitted, pending review, graded) and lesson completions stay as they are, while
attempts in progress restart in place in the same transaction: answers dropped and
``restarted_at`` set, so their students are told at their next tap and start again on the
changed quiz (``db.quizzes.Restarted``).

Managers may also preview a quiz as a student receives it (``quiz_preview``, ``preview_tap``):
that reads, and records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.access import manages
from db.authoring import QuestionDraft
from db.errors import Conflict, Invalid, NotFound, Reason
from db.limits import MAX_PASSING_SCORE, MAX_QUESTIONS_PER_QUIZ, MAX_QUIZ_ATTEMPTS, MAX_TITLE_LENGTH
from db.models import (
    AnswerOption,
    AttemptStatus,
    Course,
    Lesson,
    Question,
    Quiz,
    QuizAttempt,
    User,
    utcnow,
)
from db.quizzes import QuestionView, QuizInfo
from db.teaching import clean_text, lesson_to_change, managed_lesson


@dataclass(frozen=True)
class QuizManagement:
    quiz: Quiz  # with its questions and their options loaded, in order
    lesson: Lesson
    course: Course
    attempts: int  # all attempts at this quiz, whatever their status
    in_progress: int  # those still in progress


@dataclass(frozen=True)
class QuizPreview:
    """A quiz as a student who has not taken it yet receives it."""

    info: QuizInfo  # what the intro says to such a student
    questions: list[QuestionView]  # without an attempt: their buttons record nothing


@dataclass(frozen=True)
class PreviewTap:
    """A preview button pressed: the question, and the option (``None`` for Submit)."""

    question: Question  # with its options loaded, in order
    option: AnswerOption | None


# -- validation -----------------------------------------------------------------------------------


def _clean_number(value: object, limit: int, reason: Reason) -> int:
    """A whole number from 0 to ``limit``, given as an int or typed digits."""
    if isinstance(value, str):
        digits = value.strip()
        value = int(digits) if digits.isdecimal() and len(digits) <= 9 else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise Invalid(reason, limit=limit)
    return value


# -- loading what the user manages ----------------------------------------------------------------


def _attempt_counts(quiz_id: int) -> Select[tuple[int, int]]:
    return select(
        func.count(QuizAttempt.id),
        func.count(case((QuizAttempt.status == AttemptStatus.in_progress, QuizAttempt.id))),
    ).where(QuizAttempt.quiz_id == quiz_id)


async def quiz_management(session: AsyncSession, user: User, quiz_id: int) -> QuizManagement:
    """A quiz with its questions, lesson, course and attempt counts, for its managers only."""
    row = (
        await session.execute(
            select(Quiz, Lesson, Course)
            .join(Lesson, Lesson.id == Quiz.lesson_id)
            .join(Course, Course.id == Lesson.course_id)
            .where(Quiz.id == quiz_id)
            .options(selectinload(Quiz.questions).selectinload(Question.options))
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None or not manages(user, row[2]):
        raise NotFound(Reason.quiz_gone)
    quiz, lesson, course = row
    attempts, in_progress = (await session.execute(_attempt_counts(quiz.id))).one()
    return QuizManagement(quiz, lesson, course, attempts or 0, in_progress or 0)


async def quiz_preview(session: AsyncSession, user: User, quiz_id: int) -> QuizPreview:
    """A managed quiz as a student who has not taken it yet receives it; records nothing."""
    card = await quiz_management(session, user, quiz_id)
    questions = card.quiz.questions
    info = QuizInfo(
        quiz=card.quiz,
        lesson=card.lesson,
        course=card.course,
        question_count=len(questions),
        attempts_used=0,
        open_attempt=None,
        passed=False,
        awaiting_review=False,
    )
    views = [
        QuestionView(None, question, number, len(questions))
        for number, question in enumerate(questions, start=1)
    ]
    return QuizPreview(info, views)


async def preview_tap(
    session: AsyncSession, user: User, question_id: int, option_id: int | None = None
) -> PreviewTap:
    """A preview button of a managed quiz's question: an option, or Submit (``None``)."""
    row = (
        await session.execute(
            select(Question, Course)
            .join(Quiz, Quiz.id == Question.quiz_id)
            .join(Lesson, Lesson.id == Quiz.lesson_id)
            .join(Course, Course.id == Lesson.course_id)
            .where(Question.id == question_id)
            .options(selectinload(Question.options))
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None or not manages(user, row[1]):
        raise NotFound(Reason.question_gone)
    question = row[0]
    if option_id is None:
        return PreviewTap(question, None)
    option = next((option for option in question.options if option.id == option_id), None)
    if option is None:
        raise Invalid(Reason.option_not_in_question)
    return PreviewTap(question, option)


async def lesson_quiz_id(session: AsyncSession, user: User, lesson_id: int) -> int | None:
    """The id of a managed lesson's quiz, or ``None`` when it has none."""
    lesson, _ = await managed_lesson(session, user, lesson_id)
    return await session.scalar(select(Quiz.id).where(Quiz.lesson_id == lesson.id))


async def _lock_course(session: AsyncSession, course_id: object) -> Course | None:
    """The course row, locked (``course_id`` may be a scalar subquery), read after the lock."""
    return await session.scalar(
        select(Course)
        .where(Course.id == course_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _quiz_to_change(
    session: AsyncSession, user: User, quiz_id: int, *, gone: Reason = Reason.quiz_gone
) -> tuple[Quiz, Course]:
    """A managed quiz with its course row locked, read after the lock."""
    course_id = (
        select(Lesson.course_id)
        .join(Quiz, Quiz.lesson_id == Lesson.id)
        .where(Quiz.id == quiz_id)
        .scalar_subquery()
    )
    course = await _lock_course(session, course_id)
    if course is None or not manages(user, course):
        raise NotFound(gone)
    quiz = await session.scalar(
        select(Quiz).where(Quiz.id == quiz_id).execution_options(populate_existing=True)
    )
    if quiz is None:
        raise NotFound(gone)
    return quiz, course


async def may_change(session: AsyncSession, quiz_id: int, confirmed: bool) -> None:
    """The attempts rule: refuse an unconfirmed change of a quiz students have taken; when
    confirmed, restart its attempts in progress (finished ones and completions stay).

    One statement, bumping ``version``: a student's answer read before it cannot be written
    over the restart (optimistic locking, see ``QuizAttempt``)."""
    attempts, in_progress = (await session.execute(_attempt_counts(quiz_id))).one()
    if attempts and not confirmed:
        raise Conflict(Reason.quiz_has_attempts, attempts=attempts)
    if in_progress:
        await session.execute(
            update(QuizAttempt)
            .where(
                QuizAttempt.quiz_id == quiz_id,
                QuizAttempt.status == AttemptStatus.in_progress,
            )
            .values(answers={}, restarted_at=utcnow(), version=QuizAttempt.version + 1)
            .execution_options(synchronize_session=False)
        )


# -- changing -------------------------------------------------------------------------------------


def validate_quiz_field(name: str, value: object) -> object:
    """The one check of a quiz's settings, for ``create_quiz`` and the chat wizard's steps."""
    if name == "title":
        return clean_text("title", value, MAX_TITLE_LENGTH, may_be_empty=False)
    if name == "passing_score":
        return _clean_number(value, MAX_PASSING_SCORE, Reason.passing_score_out_of_range)
    if name == "max_attempts":
        return _clean_number(value, MAX_QUIZ_ATTEMPTS, Reason.max_attempts_out_of_range)
    raise ValueError(f"not a quiz setting: {name!r}")


async def create_quiz(
    session: AsyncSession,
    user: User,
    lesson_id: int,
    *,
    title: str,
    passing_score: int | str = 70,
    max_attempts: int | str = 0,
) -> Quiz:
    """A new, empty quiz for a lesson that has none (``max_attempts`` 0 means unlimited)."""
    title = validate_quiz_field("title", title)
    score = validate_quiz_field("passing_score", passing_score)
    tries = validate_quiz_field("max_attempts", max_attempts)
    lesson, course = await lesson_to_change(session, user, lesson_id)
    if await session.scalar(select(Quiz.id).where(Quiz.lesson_id == lesson.id)) is not None:
        raise Conflict(Reason.lesson_has_quiz)
    quiz = Quiz(lesson_id=lesson.id, title=title, passing_score=score, max_attempts=tries)
    session.add(quiz)
    course.updated_at = utcnow()
    await session.flush()
    return quiz


async def add_questions(
    session: AsyncSession,
    user: User,
    quiz_id: int,
    drafts: list[QuestionDraft],
    *,
    confirmed: bool = False,
) -> QuizManagement:
    """Append questions (checked by the caller, e.g. ``bot.quizformat``) after the existing
    ones, in order; a quiz holds at most ``MAX_QUESTIONS_PER_QUIZ``."""
    if not drafts:
        raise ValueError("no questions to add")
    quiz, course = await _quiz_to_change(session, user, quiz_id)
    count, last = (
        await session.execute(
            select(func.count(Question.id), func.max(Question.order_index)).where(
                Question.quiz_id == quiz.id
            )
        )
    ).one()
    if count + len(drafts) > MAX_QUESTIONS_PER_QUIZ:
        raise Invalid(
            Reason.too_many_questions,
            limit=MAX_QUESTIONS_PER_QUIZ,
            room=max(0, MAX_QUESTIONS_PER_QUIZ - count),
        )
    await may_change(session, quiz.id, confirmed)
    start = 0 if last is None else last + 1
    session.add_all(
        Question(
            quiz_id=quiz.id,
            text=draft.text,
            type=draft.type,
            order_index=start + index,
            explanation=draft.explanation,
            options=[
                AnswerOption(text=option.text, is_correct=option.correct, order_index=o_index)
                for o_index, option in enumerate(draft.options)
            ],
        )
        for index, draft in enumerate(drafts)
    )
    course.updated_at = utcnow()
    await session.flush()
    return await quiz_management(session, user, quiz.id)


async def _question_to_change(
    session: AsyncSession, user: User, question_id: int
) -> tuple[Quiz, Course, int]:
    """The question's quiz and course (locked, managed by ``user``) and its place in the order."""
    quiz_id = await session.scalar(select(Question.quiz_id).where(Question.id == question_id))
    if quiz_id is None:
        raise NotFound(Reason.question_gone)
    quiz, course = await _quiz_to_change(session, user, quiz_id, gone=Reason.question_gone)
    index = await session.scalar(
        select(Question.order_index).where(Question.id == question_id, Question.quiz_id == quiz.id)
    )
    if index is None:  # deleted while waiting for the lock
        raise NotFound(Reason.question_gone)
    return quiz, course, index


async def delete_question(
    session: AsyncSession, user: User, question_id: int, *, confirmed: bool = False
) -> QuizManagement:
    """Delete a question (its options go with it) and close the gap in the order."""
    quiz, course, removed = await _question_to_change(session, user, question_id)
    await may_change(session, quiz.id, confirmed)
    await session.execute(
        delete(Question)
        .where(Question.id == question_id)
        .execution_options(synchronize_session=False)
    )
    # UNIQUE(quiz_id, order_index) is checked row by row: park the later questions on free
    # negative indexes, then bring each one up by one (as db.teaching.delete_lesson does).
    await session.execute(
        update(Question)
        .where(Question.quiz_id == quiz.id, Question.order_index > removed)
        .values(order_index=-Question.order_index)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Question)
        .where(Question.quiz_id == quiz.id, Question.order_index < 0)
        .values(order_index=-Question.order_index - 1)
        .execution_options(synchronize_session=False)
    )
    course.updated_at = utcnow()
    await session.flush()
    return await quiz_management(session, user, quiz.id)


async def move_question_up(
    session: AsyncSession, user: User, question_id: int, *, confirmed: bool = False
) -> QuizManagement:
    """Swap a question with the one before it (the order decides which question is next)."""
    quiz, course, index = await _question_to_change(session, user, question_id)
    if index == 0:
        raise Conflict(Reason.question_at_top)
    await may_change(session, quiz.id, confirmed)
    # UNIQUE(quiz_id, order_index): park the question on a free negative index first.
    for where, value in (
        (Question.id == question_id, -1),
        (Question.order_index == index - 1, index),
        (Question.id == question_id, index - 1),
    ):
        await session.execute(
            update(Question)
            .where(Question.quiz_id == quiz.id, where)
            .values(order_index=value)
            .execution_options(synchronize_session=False)
        )
    course.updated_at = utcnow()
    await session.flush()
    return await quiz_management(session, user, quiz.id)


async def delete_quiz(
    session: AsyncSession, user: User, quiz_id: int, *, confirmed: bool = False
) -> Lesson:
    """Delete a quiz with its questions and, by ``ON DELETE CASCADE``, all its attempts;
    lesson completions stay. Returns the lesson it belonged to."""
    quiz, course = await _quiz_to_change(session, user, quiz_id)
    await may_change(session, quiz.id, confirmed)
    lesson = await session.scalar(
        select(Lesson).where(Lesson.id == quiz.lesson_id).execution_options(populate_existing=True)
    )
    assert lesson is not None, "the course is locked: its lesson cannot go meanwhile"
    await session.delete(quiz)
    course.updated_at = utcnow()
    await session.flush()
    return lesson

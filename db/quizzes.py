"""Quizzes: attempts that survive restarts, scoring, max_attempts, and free-text review.

An attempt is a row from its first question on; each answer is committed as it is given. The
question a student is on is derived (the first one without an answer), so nothing about the
dialog lives only in memory: after a restart the buttons in the chat still work and the lesson
offers to resume.

When the instructor changes a quiz, its attempts in progress restart in place
(``db.quizauthoring``): answers dropped, ``restarted_at`` set. The student's next touch of such
an attempt (an old button, Start or Continue quiz, a typed answer) records nothing: it clears
``restarted_at`` and returns ``Restarted``, so the student is told once and gets question 1.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from db.access import access_of, managed_by, own_enrollment
from db.errors import Conflict, Forbidden, Invalid, NotFound, Reason
from db.learning import CompletionOutcome, record_completion
from db.models import (
    AnswerOption,
    AttemptStatus,
    Course,
    Enrollment,
    Lesson,
    Question,
    QuestionType,
    Quiz,
    QuizAttempt,
    Role,
    User,
    utcnow,
)

MAX_TEXT_ANSWER = 1000
MAX_REVIEW_COMMENT = 500
FINISHED = (AttemptStatus.submitted, AttemptStatus.pending_review, AttemptStatus.graded)

Answer = list[int] | str


@dataclass(frozen=True)
class Selection:
    """A multiple-choice selection as its buttons carry it: bit i is the i-th option."""

    mask: int


@dataclass(frozen=True)
class QuizInfo:
    """A quiz seen from one student: what the intro and the lesson need."""

    quiz: Quiz
    lesson: Lesson
    course: Course
    question_count: int
    attempts_used: int
    open_attempt: QuizAttempt | None
    passed: bool
    awaiting_review: bool

    @property
    def attempts_left(self) -> int | None:
        """``None`` means unlimited."""
        if self.quiz.max_attempts == 0:
            return None
        return max(0, self.quiz.max_attempts - self.attempts_used)

    @property
    def can_start(self) -> bool:
        return self.open_attempt is not None or (
            not self.passed and not self.awaiting_review and self.attempts_left != 0
        )


@dataclass(frozen=True)
class QuizStanding:
    """What a quiz lesson's buttons need: whether an attempt is open, how many were used."""

    quiz_id: int
    in_progress: bool
    attempts_used: int


async def quiz_standing(session: AsyncSession, student: User, quiz_id: int) -> QuizStanding:
    """The student's attempts at a quiz, in one query; the caller has checked access (the
    lesson view of an enrolled student)."""
    statuses = list(
        await session.scalars(
            select(QuizAttempt.status).where(
                QuizAttempt.quiz_id == quiz_id, QuizAttempt.student_id == student.id
            )
        )
    )
    return QuizStanding(
        quiz_id,
        in_progress=AttemptStatus.in_progress in statuses,
        attempts_used=sum(status in FINISHED for status in statuses),
    )


def may_retry(attempt: QuizAttempt, info: QuizInfo) -> bool:
    """Retry is offered after a failed (or rejected) attempt while attempts remain."""
    return attempt.passed is False and info.attempts_left != 0


@dataclass(frozen=True)
class QuestionView:
    attempt: QuizAttempt | None  # None: an instructor's preview, which records nothing
    question: Question
    number: int
    total: int


@dataclass(frozen=True)
class Restarted:
    """The student's first touch of an attempt restarted by a change of its quiz (now
    acknowledged): they are told, then get the first question."""

    info: QuizInfo
    first: QuestionView | None  # None: the quiz has no questions now


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    answer: Answer | None
    correct: bool | None  # None: a text answer, not auto-graded

    def chosen(self) -> list[AnswerOption]:
        if not isinstance(self.answer, list):
            return []
        return [option for option in self.question.options if option.id in self.answer]


@dataclass(frozen=True)
class AttemptResult:
    info: QuizInfo
    attempt: QuizAttempt
    rows: list[QuestionResult]
    completion: CompletionOutcome | None = None

    @property
    def can_retry(self) -> bool:
        return may_retry(self.attempt, self.info)


@dataclass(frozen=True)
class AnswerOutcome:
    """After an answer: either the next question or the attempt's result."""

    answered: QuestionResult
    next_question: QuestionView | None
    result: AttemptResult | None


@dataclass(frozen=True)
class ReviewItem:
    attempt: QuizAttempt
    student: User
    quiz: Quiz
    course: Course
    rows: list[QuestionResult]
    pending_total: int


@dataclass(frozen=True)
class ReviewOutcome:
    attempt: QuizAttempt
    student: User
    quiz: Quiz
    course: Course
    completion: CompletionOutcome | None
    can_retry: bool  # the student may try again (rejected, attempts left)


def _with_questions() -> list:
    """A quiz's questions and their options, in one more statement."""
    return [selectinload(Quiz.questions).joinedload(Question.options)]


@functools.cache
def _quiz_query() -> Select[tuple[Quiz, Lesson, Course, Enrollment]]:
    """A quiz with its questions, lesson, course and the viewer's enrollment; built once (see
    ``db.access``)."""
    return (
        select(Quiz, Lesson, Course, Enrollment)
        .join(Lesson, Lesson.id == Quiz.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .outerjoin(Enrollment, own_enrollment())
        .where(Quiz.id == bindparam("quiz_id"))
        .options(*_with_questions())
    )


async def _quiz_for_student(
    session: AsyncSession, student: User, quiz_id: int
) -> tuple[Quiz, Lesson, Course]:
    params = {"quiz_id": quiz_id, "viewer_id": student.id}
    row = (await session.execute(_quiz_query(), params)).first()
    if row is None:
        raise NotFound(Reason.quiz_gone)
    quiz, lesson, course, enrollment = row
    seen = access_of(student, course, enrollment)
    seen.require_enrolled(Reason.enroll_to_take_quizzes, Reason.quiz_gone)
    return quiz, lesson, course


@functools.cache
def _attempts_query() -> Select[tuple[QuizAttempt]]:
    """A student's attempts at a quiz, oldest first; built once (see ``db.access``)."""
    return (
        select(QuizAttempt)
        .where(
            QuizAttempt.quiz_id == bindparam("quiz_id"),
            QuizAttempt.student_id == bindparam("student_id"),
        )
        .order_by(QuizAttempt.id)
        .execution_options(populate_existing=True)
    )


async def quiz_info(session: AsyncSession, student: User, quiz_id: int) -> QuizInfo:
    quiz, lesson, course = await _quiz_for_student(session, student, quiz_id)
    attempts = list(
        await session.scalars(_attempts_query(), {"quiz_id": quiz.id, "student_id": student.id})
    )
    return QuizInfo(
        quiz=quiz,
        lesson=lesson,
        course=course,
        question_count=len(quiz.questions),
        attempts_used=sum(a.status in FINISHED for a in attempts),
        open_attempt=next((a for a in attempts if a.status == AttemptStatus.in_progress), None),
        passed=any(a.passed for a in attempts),
        awaiting_review=any(a.status == AttemptStatus.pending_review for a in attempts),
    )


def _current(quiz: Quiz, attempt: QuizAttempt) -> QuestionView | None:
    for number, question in enumerate(quiz.questions, start=1):
        if str(question.id) not in attempt.answers:
            return QuestionView(attempt, question, number, len(quiz.questions))
    return None


async def start_attempt(
    session: AsyncSession, student: User, quiz_id: int
) -> QuestionView | Restarted:
    """Resume the open attempt, or start one if the rules allow; the current question."""
    info = await quiz_info(session, student, quiz_id)
    attempt = info.open_attempt
    if attempt is None:
        if info.passed:
            raise Conflict(Reason.quiz_passed)
        if info.awaiting_review:
            raise Conflict(Reason.quiz_awaiting_review)
        if info.attempts_left == 0:
            raise Conflict(Reason.no_attempts_left)
        if not info.quiz.questions:
            raise NotFound(Reason.quiz_has_no_questions)
        attempt = QuizAttempt(quiz_id=info.quiz.id, student_id=student.id, answers={})
        session.add(attempt)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            # Another tap opened the attempt first: the partial unique index let one through.
            raise Conflict(Reason.quiz_already_started) from None
    elif attempt.restarted_at is not None:
        return await _acknowledge_restart(session, attempt, info)
    view = _current(info.quiz, attempt)
    if view is None and not info.quiz.questions:  # every question deleted meanwhile
        raise NotFound(Reason.quiz_has_no_questions)
    assert view is not None, "an in-progress attempt always has an unanswered question"
    return view


async def open_quiz(session: AsyncSession, student: User, quiz_id: int) -> QuizInfo | Restarted:
    """The quiz's intro; but an attempt the instructor restarted is told of first."""
    info = await quiz_info(session, student, quiz_id)
    attempt = info.open_attempt
    if attempt is not None and attempt.restarted_at is not None:
        return await _acknowledge_restart(session, attempt, info)
    return info


async def _acknowledge_restart(
    session: AsyncSession, attempt: QuizAttempt, info: QuizInfo
) -> Restarted:
    """Clear ``restarted_at`` (once: a concurrent tap loses on the version) and resume at the
    first question."""
    attempt.restarted_at = None
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(Reason.quiz_already_started) from None
    return Restarted(info, _current(info.quiz, attempt))


async def _attempt_of(
    session: AsyncSession, student: User, attempt_id: int
) -> tuple[QuizAttempt, QuizInfo]:
    attempt = await session.get(QuizAttempt, attempt_id, populate_existing=True)
    if attempt is None or attempt.student_id != student.id:
        # Another student's attempt looks exactly like a missing one.
        raise NotFound(Reason.attempt_gone)
    info = await quiz_info(session, student, attempt.quiz_id)
    return attempt, info


async def current_selection(
    session: AsyncSession, student: User, attempt_id: int, question_id: int, mask: int
) -> tuple[QuestionView, list[int]] | Restarted:
    """A multiple-choice selection on the question the attempt is at: its view and option ids."""
    attempt, info = await _attempt_of(session, student, attempt_id)
    if attempt.restarted_at is not None:
        return await _acknowledge_restart(session, attempt, info)
    view = _current(info.quiz, attempt) if attempt.status == AttemptStatus.in_progress else None
    if view is None:
        raise Conflict(Reason.attempt_finished)
    if view.question.id != question_id:
        if all(question.id != question_id for question in info.quiz.questions):
            raise NotFound(Reason.question_not_in_quiz)
        if str(question_id) in attempt.answers:
            raise Conflict(Reason.question_answered)
        raise Conflict(Reason.questions_in_order)  # a later one (a restarted attempt's, say)
    return view, selected_options(view.question, mask)


def _grade(question: Question, answer: Answer | None) -> bool | None:
    if question.type == QuestionType.text:
        return None
    correct = {option.id for option in question.options if option.is_correct}
    return isinstance(answer, list) and set(answer) == correct


def _results(quiz: Quiz, attempt: QuizAttempt) -> list[QuestionResult]:
    return [
        QuestionResult(q, attempt.answers.get(str(q.id)), _grade(q, attempt.answers.get(str(q.id))))
        for q in quiz.questions
    ]


def score_of(rows: list[QuestionResult]) -> int | None:
    """``round(100 * right / gradable)``, halves up; ``None`` when nothing is gradable."""
    graded = [row.correct for row in rows if row.correct is not None]
    if not graded:
        return None
    return (200 * sum(graded) + len(graded)) // (2 * len(graded))


def selected_options(question: Question, mask: int) -> list[int]:
    """Option ids from a selection bit mask (bit i is the i-th option); forged bits refused."""
    if mask < 0 or mask >> len(question.options):
        raise Invalid(Reason.selection_does_not_fit)
    return [option.id for index, option in enumerate(question.options) if mask >> index & 1]


def _validate(question: Question, answer: Answer) -> Answer:
    if question.type == QuestionType.text:
        if not isinstance(answer, str):
            raise Invalid(Reason.type_your_answer)
        text = answer.strip()
        if not text:
            raise Invalid(Reason.answer_empty)
        if len(text) > MAX_TEXT_ANSWER:
            raise Invalid(Reason.answer_too_long, length=len(text), limit=MAX_TEXT_ANSWER)
        return text
    if not isinstance(answer, list):
        raise Invalid(Reason.answer_with_buttons)
    ids = {option.id for option in question.options}
    if not answer:
        raise Invalid(Reason.select_at_least_one)
    if not set(answer) <= ids or len(set(answer)) != len(answer):
        raise Invalid(Reason.option_not_in_question)
    if question.type == QuestionType.single_choice and len(answer) != 1:
        raise Invalid(Reason.choose_one)
    return sorted(answer)


async def answer_question(
    session: AsyncSession,
    student: User,
    attempt_id: int,
    question_id: int,
    answer: Answer | Selection,
) -> AnswerOutcome | Restarted:
    """Record one answer (once); finish and score the attempt after the last question."""
    attempt, info = await _attempt_of(session, student, attempt_id)
    if attempt.restarted_at is not None:
        return await _acknowledge_restart(session, attempt, info)
    return await _answer(session, student, attempt, info, question_id, answer)


async def answer_text(
    session: AsyncSession, student: User, text: str
) -> AnswerOutcome | Restarted | None:
    """Typed text as the answer to the student's open text question, if one waits (the newest
    attempt first); ``None`` when no question waits for text.

    A restarted attempt takes the text without recording it: it may answer a question of the
    quiz as it was, never one the student has not seen yet."""
    attempts = await session.scalars(
        select(QuizAttempt)
        .where(
            QuizAttempt.student_id == student.id,
            QuizAttempt.status == AttemptStatus.in_progress,
        )
        .order_by(QuizAttempt.id.desc())
    )
    for attempt in list(attempts):
        info = await quiz_info(session, student, attempt.quiz_id)
        if attempt.restarted_at is not None:
            return await _acknowledge_restart(session, attempt, info)
        view = _current(info.quiz, attempt)
        if view is not None and view.question.type == QuestionType.text:
            return await _answer(session, student, attempt, info, view.question.id, text)
    return None


async def _answer(
    session: AsyncSession,
    student: User,
    attempt: QuizAttempt,
    info: QuizInfo,
    question_id: int,
    answer: Answer | Selection,
) -> AnswerOutcome:
    if attempt.status != AttemptStatus.in_progress:
        raise Conflict(Reason.attempt_finished)
    question = next((q for q in info.quiz.questions if q.id == question_id), None)
    if question is None:
        raise NotFound(Reason.question_not_in_quiz)
    if str(question.id) in attempt.answers:
        raise Conflict(Reason.question_answered)
    current = _current(info.quiz, attempt)
    if current is None or current.question.id != question.id:
        raise Conflict(Reason.questions_in_order)
    if isinstance(answer, Selection):
        answer = selected_options(question, answer.mask)
    value = _validate(question, answer)
    attempt.answers = {**attempt.answers, str(question.id): value}
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(Reason.question_answered) from None
    answered = QuestionResult(question, value, _grade(question, value))
    following = _current(info.quiz, attempt)
    if following is not None:
        return AnswerOutcome(answered, following, None)
    return AnswerOutcome(answered, None, await _finish(session, student, attempt, info))


async def _finish(
    session: AsyncSession, student: User, attempt: QuizAttempt, info: QuizInfo
) -> AttemptResult:
    rows = _results(info.quiz, attempt)
    attempt.submitted_at = utcnow()
    attempt.score = score_of(rows)
    if attempt.score is None:
        attempt.status = AttemptStatus.pending_review
        attempt.passed = None
    else:
        attempt.status = AttemptStatus.submitted
        attempt.passed = attempt.score >= info.quiz.passing_score
    await session.flush()
    completion = None
    if attempt.passed:
        # The same transaction: a passed quiz and its completed lesson commit together.
        completion = await record_completion(session, student, info.lesson)
    after = replace(
        info,
        attempts_used=info.attempts_used + 1,
        open_attempt=None,
        passed=info.passed or bool(attempt.passed),
        awaiting_review=info.awaiting_review or attempt.status == AttemptStatus.pending_review,
    )
    return AttemptResult(after, attempt, rows, completion)


async def history(
    session: AsyncSession, student: User, quiz_id: int
) -> tuple[QuizInfo, list[QuizAttempt]]:
    info = await quiz_info(session, student, quiz_id)
    attempts = list(
        await session.scalars(
            select(QuizAttempt)
            .where(
                QuizAttempt.quiz_id == quiz_id,
                QuizAttempt.student_id == student.id,
                QuizAttempt.status.in_(FINISHED),
            )
            .order_by(QuizAttempt.submitted_at.desc(), QuizAttempt.id.desc())
        )
    )
    return info, attempts


# -- review of free-text answers -----------------------------------------------------------------


def _reviewable(reviewer: User) -> ColumnElement[bool]:
    """Attempts a reviewer may grade: those of the courses they manage (``db.access``)."""
    if reviewer.role == Role.student:
        raise Forbidden(Reason.review_not_allowed)
    return managed_by(reviewer)


def _pending_query(reviewer: User) -> Select[tuple[QuizAttempt]]:
    return (
        select(QuizAttempt)
        .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
        .join(Lesson, Lesson.id == Quiz.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(QuizAttempt.status == AttemptStatus.pending_review, _reviewable(reviewer))
    )


async def _review_item(
    session: AsyncSession, attempt: QuizAttempt, pending_total: int
) -> ReviewItem:
    quiz = await session.scalar(
        select(Quiz).where(Quiz.id == attempt.quiz_id).options(*_with_questions())
    )
    assert quiz is not None
    lesson = await session.get(Lesson, quiz.lesson_id)
    course = await session.get(Course, lesson.course_id) if lesson else None
    student = await session.get(User, attempt.student_id)
    assert course is not None and student is not None
    return ReviewItem(attempt, student, quiz, course, _results(quiz, attempt), pending_total)


async def next_pending_review(
    session: AsyncSession, reviewer: User, after_id: int = 0
) -> ReviewItem | None:
    """The oldest pending attempt after ``after_id`` (wrapping round), or ``None``."""
    query = _pending_query(reviewer)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    attempt = await session.scalar(
        query.where(QuizAttempt.id > after_id).order_by(QuizAttempt.id).limit(1)
    ) or await session.scalar(query.order_by(QuizAttempt.id).limit(1))
    if attempt is None:
        return None
    return await _review_item(session, attempt, total)


async def review_item(session: AsyncSession, reviewer: User, attempt_id: int) -> ReviewItem:
    attempt = await session.scalar(_pending_query(reviewer).where(QuizAttempt.id == attempt_id))
    if attempt is None:
        await _explain_unreviewable(session, reviewer, attempt_id)
    assert attempt is not None
    return await _review_item(session, attempt, 0)


async def _explain_unreviewable(session: AsyncSession, reviewer: User, attempt_id: int) -> None:
    attempt = await session.get(QuizAttempt, attempt_id, populate_existing=True)
    if attempt is None:
        raise NotFound(Reason.answer_gone)
    visible = await session.scalar(
        select(QuizAttempt.id)
        .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
        .join(Lesson, Lesson.id == Quiz.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(QuizAttempt.id == attempt_id, _reviewable(reviewer))
    )
    if visible is None:
        raise Forbidden(Reason.review_not_yours)
    raise Conflict(Reason.answer_reviewed)


async def review_attempt(
    session: AsyncSession,
    reviewer: User,
    attempt_id: int,
    accept: bool,
    comment: str | None = None,
) -> ReviewOutcome:
    """Accept (pass, completing the lesson) or reject a pending attempt, once."""
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_REVIEW_COMMENT:
        raise Invalid(Reason.comment_too_long, limit=MAX_REVIEW_COMMENT)
    item = await review_item(session, reviewer, attempt_id)
    attempt = item.attempt
    attempt.status = AttemptStatus.graded
    attempt.passed = accept
    attempt.reviewer_id = reviewer.id
    attempt.reviewer_comment = comment
    attempt.reviewed_at = utcnow()
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(Reason.answer_reviewed) from None
    completion = None
    if accept:
        lesson = await session.get(Lesson, item.quiz.lesson_id)
        assert lesson is not None
        completion = await record_completion(session, item.student, lesson)
    info = await quiz_info(session, item.student, item.quiz.id)
    retry = may_retry(attempt, info)
    return ReviewOutcome(attempt, item.student, item.quiz, item.course, completion, retry)

"""Quiz rules of SPEC §3 on a real SQLite database: scoring, attempts, review, atomic completion."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.authoring import CourseDraft, LessonDraft, OptionDraft, QuestionDraft, QuizDraft
from db.errors import Conflict, Forbidden, Invalid, NotFound
from db.learning import enroll, my_progress
from db.models import AttemptStatus, LessonCompletion, QuestionType, Quiz, QuizAttempt, Role
from db.quizzes import (
    answer_question,
    history,
    next_pending_review,
    quiz_info,
    review_attempt,
    score_of,
    selected_options,
    start_attempt,
)
from tests.conftest import make_course, make_user

SINGLE = QuestionType.single_choice
MULTI = QuestionType.multiple_choice
TEXT = QuestionType.text


def single(text: str = "Pick a") -> QuestionDraft:
    return QuestionDraft(text, SINGLE, [OptionDraft("a", True), OptionDraft("b")], "a is right")


def multi() -> QuestionDraft:
    return QuestionDraft(
        "Pick a and c", MULTI, [OptionDraft("a", True), OptionDraft("b"), OptionDraft("c", True)]
    )


def text_question() -> QuestionDraft:
    return QuestionDraft("Explain", TEXT)


async def setup(database, questions, passing=70, max_attempts=0, lessons_before=0):
    teacher = await make_user(database, 1, Role.instructor, "Teacher")
    student = await make_user(database, 2, Role.student, "Student")
    lessons = [LessonDraft(f"Intro {i}", "x") for i in range(lessons_before)]
    lessons.append(
        LessonDraft("Quizzed", "x", quiz=QuizDraft("Check", passing, max_attempts, questions))
    )
    course = await make_course(
        database, teacher, draft=CourseDraft("Course", published=True, lessons=lessons)
    )
    async with database.session() as session:
        await enroll(session, student, course.id)
        quiz = await session.scalar(select(Quiz))
    return teacher, student, quiz


async def take(database, student, quiz_id, answers):
    """Answer each question in turn: an int is an option index, a set a multi selection."""
    outcome = None
    async with database.session() as session:
        view = await start_attempt(session, student, quiz_id)
    for given in answers:
        async with database.session() as session:
            question = view.question
            if isinstance(given, str):
                value = given
            else:
                indexes = given if isinstance(given, set) else {given}
                value = [question.options[i].id for i in sorted(indexes)]
            outcome = await answer_question(session, student, view.attempt.id, question.id, value)
            view = outcome.next_question
    return outcome


async def completions(database) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count(LessonCompletion.id)))


async def test_all_right_passes_and_completes_lesson_with_progress(database):
    _, student, quiz = await setup(database, [single(), multi()], lessons_before=1)
    outcome = await take(database, student, quiz.id, [0, {0, 2}])
    result = outcome.result
    assert result.attempt.score == 100 and result.attempt.passed
    assert result.attempt.status == AttemptStatus.submitted
    assert result.completion.newly_completed and result.completion.progress == 50
    async with database.session() as session:
        [row] = await my_progress(session, student)
        assert row.done == 1 and row.percentage == 50


async def test_partial_multiple_choice_is_wrong(database):
    _, student, quiz = await setup(database, [single(), multi()])
    outcome = await take(database, student, quiz.id, [0, {0}])
    assert outcome.result.attempt.score == 50 and outcome.result.attempt.passed is False
    assert [row.correct for row in outcome.result.rows] == [True, False]
    assert await completions(database) == 0


async def test_score_exactly_at_the_threshold_passes(database):
    _, student, quiz = await setup(database, [single(), single(), single(), single()], passing=75)
    outcome = await take(database, student, quiz.id, [0, 0, 0, 1])
    assert (outcome.result.attempt.score, outcome.result.attempt.passed) == (75, True)


def test_score_rounds_halves_up():
    from db.quizzes import QuestionResult

    rows = [
        QuestionResult(None, None, c)
        for c in (True, False, False, False, False, False, False, False)
    ]
    assert score_of(rows) == 13  # 12.5 rounds up
    assert score_of([QuestionResult(None, None, None)]) is None


async def test_max_attempts_is_enforced(database):
    _, student, quiz = await setup(database, [single()], max_attempts=2)
    for _ in range(2):
        outcome = await take(database, student, quiz.id, [1])
        assert outcome.result.attempt.passed is False
    assert not outcome.result.can_retry
    async with database.session() as session:
        info = await quiz_info(session, student, quiz.id)
        assert (info.attempts_used, info.attempts_left, info.can_start) == (2, 0, False)
        with pytest.raises(Conflict, match="no_attempts_left"):
            await start_attempt(session, student, quiz.id)


async def test_all_text_quiz_goes_to_review_then_accept_completes(database):
    teacher, student, quiz = await setup(database, [text_question()])
    outcome = await take(database, student, quiz.id, ["A variable names a value."])
    attempt = outcome.result.attempt
    assert attempt.status == AttemptStatus.pending_review and attempt.score is None
    assert await completions(database) == 0
    async with database.session() as session:
        with pytest.raises(Conflict, match="quiz_awaiting_review"):
            await start_attempt(session, student, quiz.id)
        item = await next_pending_review(session, teacher)
        assert item.attempt.id == attempt.id and item.rows[0].answer == "A variable names a value."
        done = await review_attempt(session, teacher, attempt.id, True, "Well put")
        assert done.completion.newly_completed
    async with database.session() as session:
        with pytest.raises(Conflict, match="answer_reviewed"):
            await review_attempt(session, teacher, attempt.id, False)
        assert await next_pending_review(session, teacher) is None
    assert await completions(database) == 1


async def test_only_the_courses_instructor_or_an_admin_reviews(database):
    _, student, quiz = await setup(database, [text_question()])
    outcome = await take(database, student, quiz.id, ["answer"])
    other = await make_user(database, 3, Role.instructor, "Other")
    admin = await make_user(database, 4, Role.admin, "Admin")
    async with database.session() as session:
        assert await next_pending_review(session, other) is None
        with pytest.raises(Forbidden):
            await review_attempt(session, other, outcome.result.attempt.id, True)
        with pytest.raises(Forbidden):
            await next_pending_review(session, student)
        assert (await next_pending_review(session, admin)) is not None
        rejected = await review_attempt(session, admin, outcome.result.attempt.id, False, "No")
        assert rejected.attempt.passed is False and rejected.completion is None


async def test_mixed_quiz_scores_gradable_questions_and_keeps_text(database):
    _, student, quiz = await setup(database, [single(), text_question()], passing=100)
    outcome = await take(database, student, quiz.id, [0, "my words"])
    result = outcome.result
    assert (result.attempt.score, result.attempt.passed) == (100, True)
    assert result.attempt.answers[str(result.rows[1].question.id)] == "my words"


async def test_answers_are_kept_once_and_in_order(database):
    _, student, quiz = await setup(database, [single(), multi()])
    async with database.session() as session:
        view = await start_attempt(session, student, quiz.id)
    first, option = view.question, view.question.options[0].id
    async with database.session() as session:
        await answer_question(session, student, view.attempt.id, first.id, [option])
    async with database.session() as session:
        with pytest.raises(Conflict, match="question_answered"):
            await answer_question(session, student, view.attempt.id, first.id, [option])
        resumed = await start_attempt(session, student, quiz.id)
        assert resumed.attempt.id == view.attempt.id and resumed.number == 2
        with pytest.raises(Invalid, match="select_at_least_one"):
            await answer_question(session, student, view.attempt.id, resumed.question.id, [])
        with pytest.raises(Invalid):
            selected_options(resumed.question, 0b1000)
        with pytest.raises(Invalid):
            await answer_question(session, student, view.attempt.id, resumed.question.id, [option])


async def test_another_students_attempt_is_not_found(database):
    _, student, quiz = await setup(database, [single()])
    intruder = await make_user(database, 9, Role.student, "Intruder")
    async with database.session() as session:
        view = await start_attempt(session, student, quiz.id)
    async with database.session() as session:
        with pytest.raises(NotFound):
            await answer_question(
                session, intruder, view.attempt.id, view.question.id, [view.question.options[0].id]
            )
        with pytest.raises(Forbidden):
            await start_attempt(session, intruder, quiz.id)
        assert (await session.get(QuizAttempt, view.attempt.id)).answers == {}


async def test_over_long_text_answer_is_refused(database):
    _, student, quiz = await setup(database, [text_question()])
    async with database.session() as session:
        view = await start_attempt(session, student, quiz.id)
        with pytest.raises(Invalid, match=r"answer_too_long\(length=1001, limit=1000\)"):
            await answer_question(session, student, view.attempt.id, view.question.id, "x" * 1001)


async def test_history_lists_finished_attempts(database):
    _, student, quiz = await setup(database, [single()])
    await take(database, student, quiz.id, [1])
    await take(database, student, quiz.id, [0])
    async with database.session() as session:
        info, attempts = await history(session, student, quiz.id)
        assert [a.passed for a in attempts] == [True, False] and info.passed
        with pytest.raises(Conflict, match="quiz_passed"):
            await start_attempt(session, student, quiz.id)


async def test_passing_and_completing_commit_together_or_not_at_all(database):
    _, student, quiz = await setup(database, [single()])
    async with database.session() as session:
        view = await start_attempt(session, student, quiz.id)
    with pytest.raises(RuntimeError):
        async with database.session() as session:
            outcome = await answer_question(
                session, student, view.attempt.id, view.question.id, [view.question.options[0].id]
            )
            assert outcome.result.attempt.passed and outcome.result.completion.newly_completed
            raise RuntimeError("the process dies before the commit")
    assert await completions(database) == 0
    async with database.session() as session:
        attempt = await session.get(QuizAttempt, view.attempt.id)
        assert attempt.status == AttemptStatus.in_progress and attempt.answers == {}
        [row] = await my_progress(session, student)
        assert row.percentage == 0

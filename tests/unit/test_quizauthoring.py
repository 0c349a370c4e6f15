"""Quiz authoring (db.quizauthoring): instructor A vs instructor B vs admin vs student, on a real
database; question order stays contiguous; a quiz students have taken changes only when
confirmed, keeping finished attempts and completions and restarting attempts in progress (their
students are told once, at their next touch); a preview shows a quiz to its managers only and
records nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from db.authoring import CourseDraft, LessonDraft, OptionDraft, QuestionDraft, QuizDraft
from db.engine import Database
from db.errors import Conflict, DomainError, Invalid, NotFound, Reason
from db.learning import enroll
from db.limits import MAX_QUESTIONS_PER_QUIZ, MAX_TITLE_LENGTH
from db.models import (
    AnswerOption,
    AttemptStatus,
    LessonCompletion,
    Question,
    QuestionType,
    Quiz,
    QuizAttempt,
    Role,
    User,
)
from db.quizauthoring import (
    add_questions,
    create_quiz,
    delete_question,
    delete_quiz,
    lesson_quiz_id,
    move_question_up,
    preview_tap,
    quiz_management,
    quiz_preview,
)
from db.quizzes import (
    QuestionView,
    Restarted,
    answer_question,
    answer_text,
    current_selection,
    open_quiz,
    quiz_info,
    start_attempt,
)
from tests.conftest import make_course, make_user
from tests.unit.test_teaching import cast, lessons_of, refused, run, snapshot


def question(text: str) -> QuestionDraft:
    return QuestionDraft(
        text, QuestionType.single_choice, [OptionDraft("right", True), OptionDraft("wrong")]
    )


@dataclass(frozen=True)
class Ids:
    course: int
    quizzed_lesson: int  # its first lesson, with a quiz
    plain_lesson: int  # its second lesson, without one
    quiz: int
    questions: list[int]  # in order


async def quizzed_course(database: Database, owner: User, questions: int = 2, **kw: Any) -> Ids:
    """A published course whose first lesson has a quiz of ``questions`` questions."""
    quiz = QuizDraft("Check", questions=[question(f"Q{i}") for i in range(questions)], **kw)
    draft = CourseDraft(
        "Course",
        published=True,
        lessons=[LessonDraft("Quizzed", "x", quiz=quiz), LessonDraft("Plain", "y")],
    )
    course = await make_course(database, owner, draft=draft)
    (quizzed, _, _), (plain, _, _) = await lessons_of(database, course.id)
    async with database.session() as session:
        quiz_id = await session.scalar(select(Quiz.id).where(Quiz.lesson_id == quizzed))
        ids = await session.scalars(
            select(Question.id).where(Question.quiz_id == quiz_id).order_by(Question.order_index)
        )
        return Ids(course.id, quizzed, plain, quiz_id, list(ids))


async def questions_of(database: Database, quiz_id: int) -> list[tuple[str, int, list[str]]]:
    """(text, order_index, option texts) of a quiz's questions, in order."""
    async with database.session() as session:
        management = await quiz_management(session, await admin_of(database), quiz_id)
        return [
            (q.text, q.order_index, [o.text for o in q.options]) for q in management.quiz.questions
        ]


async def admin_of(database: Database) -> User:
    async with database.session() as session:
        admin = await session.scalar(select(User).where(User.role == Role.admin))
    assert admin is not None
    return admin


# -- who may do what -------------------------------------------------------------------------------

Operation = Callable[[Any, User, Ids], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    call: Operation
    gone: Reason
    writes: bool = True


CASES = {
    "quiz_management": Case(lambda s, u, i: quiz_management(s, u, i.quiz), Reason.quiz_gone, False),
    "lesson_quiz_id": Case(
        lambda s, u, i: lesson_quiz_id(s, u, i.quizzed_lesson), Reason.lesson_gone, False
    ),
    "create_quiz": Case(
        lambda s, u, i: create_quiz(s, u, i.plain_lesson, title="New"), Reason.lesson_gone
    ),
    "add_questions": Case(
        lambda s, u, i: add_questions(s, u, i.quiz, [question("More")]), Reason.quiz_gone
    ),
    "delete_question": Case(
        lambda s, u, i: delete_question(s, u, i.questions[0]), Reason.question_gone
    ),
    "delete_quiz": Case(lambda s, u, i: delete_quiz(s, u, i.quiz), Reason.quiz_gone),
    "move_question_up": Case(
        lambda s, u, i: move_question_up(s, u, i.questions[1]), Reason.question_gone
    ),
    "quiz_preview": Case(lambda s, u, i: quiz_preview(s, u, i.quiz), Reason.quiz_gone, False),
    "preview_tap": Case(
        lambda s, u, i: preview_tap(s, u, i.questions[0]), Reason.question_gone, False
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_only_the_instructor_and_admins_author_quizzes(database: Database, case: Case):
    alice, bert, admin, sam = await cast(database)
    first, second = await quizzed_course(database, alice), await quizzed_course(database, alice)
    await quizzed_course(database, bert)
    async with database.session() as session:
        await enroll(session, sam, first.course)

    before = await snapshot(database)
    for outsider in (bert, sam):
        error = await refused(database, lambda s, u=outsider: case.call(s, u, first))
        assert isinstance(error, NotFound) and error.reason == case.gone, outsider.full_name
    assert await snapshot(database) == before, "a refusal changes nothing"

    for manager, ids in ((alice, first), (admin, second)):
        await run(database, lambda s, u=manager, i=ids: case.call(s, u, i))
        after = await snapshot(database)
        assert (after != before) is case.writes, manager.full_name
        before = after


async def test_unknown_ids_look_gone(database: Database):
    alice, *_ = await cast(database)
    for call, reason in (
        (lambda s: quiz_management(s, alice, 999), Reason.quiz_gone),
        (lambda s: lesson_quiz_id(s, alice, 999), Reason.lesson_gone),
        (lambda s: create_quiz(s, alice, 999, title="Q"), Reason.lesson_gone),
        (lambda s: add_questions(s, alice, 999, [question("Q")]), Reason.quiz_gone),
        (lambda s: delete_question(s, alice, 999), Reason.question_gone),
        (lambda s: delete_quiz(s, alice, 999), Reason.quiz_gone),
        (lambda s: quiz_preview(s, alice, 999), Reason.quiz_gone),
        (lambda s: preview_tap(s, alice, 999, 1), Reason.question_gone),
    ):
        error = await refused(database, call)
        assert isinstance(error, NotFound) and error.reason == reason


# -- creating --------------------------------------------------------------------------------------


async def test_a_lesson_has_one_quiz(database: Database):
    alice, *_ = await cast(database)
    ids = await quizzed_course(database, alice)
    async with database.session() as session:
        assert await lesson_quiz_id(session, alice, ids.quizzed_lesson) == ids.quiz
        assert await lesson_quiz_id(session, alice, ids.plain_lesson) is None
        quiz = await create_quiz(
            session, alice, ids.plain_lesson, title="  Final ", passing_score="80", max_attempts=3
        )
    async with database.session() as session:
        assert await lesson_quiz_id(session, alice, ids.plain_lesson) == quiz.id
        management = await quiz_management(session, alice, quiz.id)
    assert (management.quiz.title, management.quiz.passing_score) == ("Final", 80)
    assert management.quiz.max_attempts == 3 and management.quiz.questions == []
    assert management.lesson.id == ids.plain_lesson and management.course.id == ids.course
    assert (management.attempts, management.in_progress) == (0, 0)

    before = await snapshot(database)
    for lesson_id in (ids.plain_lesson, ids.quizzed_lesson):
        error = await refused(database, lambda s, n=lesson_id: create_quiz(s, alice, n, title="2"))
        assert isinstance(error, Conflict) and error.reason == Reason.lesson_has_quiz
    assert await snapshot(database) == before


INVALID = [
    ({"title": ""}, Reason.field_empty, {"field": "title"}),
    ({"title": "   "}, Reason.field_empty, {"field": "title"}),
    (
        {"title": "x" * (MAX_TITLE_LENGTH + 1)},
        Reason.field_too_long,
        {"field": "title", "limit": MAX_TITLE_LENGTH},
    ),
    ({"title": "a\x00b"}, Reason.field_unstorable, {"field": "title"}),
    *[
        ({"passing_score": value}, Reason.passing_score_out_of_range, {"limit": 100})
        for value in (-1, 101, "101", "-1", "7.5", "abc", "", True, None, 70.0, "9" * 12)
    ],
    *[
        ({"max_attempts": value}, Reason.max_attempts_out_of_range, {"limit": 1000})
        for value in (-1, 1001, "1001", "x", "", False, None)
    ],
]


@pytest.mark.parametrize(("fields", "reason", "data"), INVALID, ids=[repr(f) for f, *_ in INVALID])
async def test_a_quiz_is_validated(database: Database, fields, reason, data):
    alice, *_ = await cast(database)
    ids = await quizzed_course(database, alice)
    before = await snapshot(database)
    kwargs = {"title": "Quiz", **fields}
    error = await refused(database, lambda s: create_quiz(s, alice, ids.plain_lesson, **kwargs))
    assert isinstance(error, Invalid) and error.reason == reason and error.data == data
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("score", "tries", "stored"),
    [(0, 0, (0, 0)), (100, 1000, (100, 1000)), (" 55 ", "12", (55, 12)), ("0", "1000", (0, 1000))],
)
async def test_the_bounds_are_accepted(database: Database, score, tries, stored):
    alice, *_ = await cast(database)
    ids = await quizzed_course(database, alice)
    async with database.session() as session:
        quiz = await create_quiz(
            session, alice, ids.plain_lesson, title="Q", passing_score=score, max_attempts=tries
        )
    async with database.session() as session:
        quiz = await session.get(Quiz, quiz.id)
        assert quiz is not None and (quiz.passing_score, quiz.max_attempts) == stored


# -- questions -------------------------------------------------------------------------------------


async def test_questions_are_appended_in_order(database: Database):
    alice, *_ = await cast(database)
    ids = await quizzed_course(database, alice)
    third = QuestionDraft(
        "Q2", QuestionType.multiple_choice, [OptionDraft("a", True), OptionDraft("b", True)], "both"
    )
    async with database.session() as session:
        management = await add_questions(
            session, alice, ids.quiz, [third, QuestionDraft("Q3", QuestionType.text)]
        )
    assert [(q.text, q.order_index) for q in management.quiz.questions] == [
        ("Q0", 0),
        ("Q1", 1),
        ("Q2", 2),
        ("Q3", 3),
    ]
    assert await questions_of(database, ids.quiz) == [
        ("Q0", 0, ["right", "wrong"]),
        ("Q1", 1, ["right", "wrong"]),
        ("Q2", 2, ["a", "b"]),
        ("Q3", 3, []),
    ]
    async with database.session() as session:
        added = await session.scalar(select(Question).where(Question.text == "Q2"))
        assert added is not None
        assert (added.type, added.explanation) == (QuestionType.multiple_choice, "both")
        options = await session.scalars(
            select(AnswerOption.is_correct).where(AnswerOption.question_id == added.id)
        )
        assert list(options) == [True, True]


async def test_a_quiz_holds_at_most_fifty_questions(database: Database):
    alice, *_ = await cast(database)
    ids = await quizzed_course(database, alice)
    room = MAX_QUESTIONS_PER_QUIZ - 2
    before = await snapshot(database)
    many = [question(f"N{i}") for i in range(room + 1)]
    error = await refused(database, lambda s: add_questions(s, alice, ids.quiz, many))
    assert isinstance(error, Invalid) and error.reason == Reason.too_many_questions
    assert error.data == {"limit": MAX_QUESTIONS_PER_QUIZ, "room": room}
    assert await snapshot(database) == before

    async with database.session() as session:
        management = await add_questions(session, alice, ids.quiz, many[:room])
    assert len(management.quiz.questions) == MAX_QUESTIONS_PER_QUIZ
    assert [q.order_index for q in management.quiz.questions] == list(range(50))
    error = await refused(database, lambda s: add_questions(s, alice, ids.quiz, [question("X")]))
    assert isinstance(error, Invalid) and error.data["room"] == 0


async def test_deleting_a_question_closes_the_gap(database: Database):
    alice, *_ = await cast(database)
    ids = await quizzed_course(database, alice, questions=5)
    q0, q1, _, _, q4 = ids.questions
    for question_id, left in (
        (q1, ["Q0", "Q2", "Q3", "Q4"]),
        (q0, ["Q2", "Q3", "Q4"]),
        (q4, ["Q2", "Q3"]),
    ):
        async with database.session() as session:
            management = await delete_question(session, alice, question_id)
        assert [(q.text, q.order_index) for q in management.quiz.questions] == [
            (text, index) for index, text in enumerate(left)
        ]
        assert [(t, i) for t, i, _ in await questions_of(database, ids.quiz)] == [
            (text, index) for index, text in enumerate(left)
        ]
    async with database.session() as session:
        assert (
            await session.scalar(select(AnswerOption).where(AnswerOption.question_id == q1)) is None
        )
    error = await refused(database, lambda s: delete_question(s, alice, q1))
    assert isinstance(error, NotFound) and error.reason == Reason.question_gone
    # New questions follow the renumbered ones.
    async with database.session() as session:
        management = await add_questions(session, alice, ids.quiz, [question("Q5")])
    assert [(q.text, q.order_index) for q in management.quiz.questions][-1] == ("Q5", 2)


async def test_deleting_a_quiz_leaves_its_lesson(database: Database):
    alice, *_ = await cast(database)
    ids = await quizzed_course(database, alice)
    async with database.session() as session:
        lesson = await delete_quiz(session, alice, ids.quiz)
    assert lesson.id == ids.quizzed_lesson
    assert len(await lessons_of(database, ids.course)) == 2
    async with database.session() as session:
        assert await lesson_quiz_id(session, alice, ids.quizzed_lesson) is None
        assert await session.scalar(select(Question.id)) is None
        assert await session.scalar(select(AnswerOption.id)) is None
        # The lesson may have a new quiz.
        await create_quiz(session, alice, ids.quizzed_lesson, title="Again")


# -- a quiz students have taken --------------------------------------------------------------------


async def test_a_question_moves_up_until_it_is_first(database: Database):
    alice, *_ = await cast(database)
    ids = await quizzed_course(database, alice, questions=3)
    q2 = ids.questions[2]
    async with database.session() as session:
        management = await move_question_up(session, alice, q2)
    assert [q.text for q in management.quiz.questions] == ["Q0", "Q2", "Q1"]
    async with database.session() as session:
        await move_question_up(session, alice, q2)
    assert [(t, i) for t, i, _ in await questions_of(database, ids.quiz)] == [
        ("Q2", 0),
        ("Q0", 1),
        ("Q1", 2),
    ]
    before = await snapshot(database)
    error = await refused(database, lambda s: move_question_up(s, alice, q2))
    assert isinstance(error, Conflict) and error.reason == Reason.question_at_top
    assert await snapshot(database) == before


async def taken_quiz(database: Database) -> tuple[User, User, User, Ids, int, int]:
    """Alice's quiz of two questions: Sam passed it (a submitted attempt and a completion), Pat
    has answered its first question (an attempt in progress)."""
    alice, _, _, sam = await cast(database)
    pat = await make_user(database, 5, Role.student, "Pat")
    ids = await quizzed_course(database, alice)
    attempts = []
    for student, answered in ((sam, 2), (pat, 1)):
        async with database.session() as session:
            await enroll(session, student, ids.course)
            view = await start_attempt(session, student, ids.quiz)
        for _ in range(answered):
            async with database.session() as session:
                right = view.question.options[0].id
                outcome = await answer_question(
                    session, student, view.attempt.id, view.question.id, [right]
                )
                view = outcome.next_question or view
        attempts.append(view.attempt.id)
    async with database.session() as session:
        statuses = [(await session.get(QuizAttempt, a)).status for a in attempts]  # type: ignore[union-attr]
    assert statuses == [AttemptStatus.submitted, AttemptStatus.in_progress]
    return alice, sam, pat, ids, attempts[0], attempts[1]


CHANGES: dict[str, Callable[..., Awaitable[Any]]] = {
    "add_questions": lambda s, u, i, **kw: add_questions(s, u, i.quiz, [question("New")], **kw),
    "delete_question": lambda s, u, i, **kw: delete_question(s, u, i.questions[1], **kw),
    "delete_quiz": lambda s, u, i, **kw: delete_quiz(s, u, i.quiz, **kw),
    "move_question_up": lambda s, u, i, **kw: move_question_up(s, u, i.questions[1], **kw),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
async def test_a_taken_quiz_changes_only_when_confirmed(database: Database, change):
    alice, sam, pat, ids, submitted, in_progress = await taken_quiz(database)
    async with database.session() as session:
        management = await quiz_management(session, alice, ids.quiz)
    assert (management.attempts, management.in_progress) == (2, 1)

    before = await snapshot(database)
    error = await refused(database, lambda s: change(s, alice, ids))
    assert isinstance(error, Conflict) and error.reason == Reason.quiz_has_attempts
    assert error.data == {"attempts": 2}
    assert await snapshot(database) == before, "an unconfirmed change writes nothing"
    async with database.session() as session:
        version = await session.scalar(
            select(QuizAttempt.version).where(QuizAttempt.id == in_progress)
        )

    await run(database, lambda s: change(s, alice, ids, confirmed=True))
    after = await snapshot(database)
    async with database.session() as session:
        remaining = list(await session.scalars(select(QuizAttempt).order_by(QuizAttempt.id)))
        completions = list(
            await session.execute(select(LessonCompletion.student_id, LessonCompletion.lesson_id))
        )
    assert [tuple(row) for row in completions] == [(sam.id, ids.quizzed_lesson)]
    if change is CHANGES["delete_quiz"]:
        assert remaining == [], "its attempts went with the quiz"
        error = await refused(
            database, lambda s: answer_question(s, pat, in_progress, ids.questions[1], [1])
        )
        assert isinstance(error, NotFound) and error.reason == Reason.attempt_gone
        return

    # Sam's result stays exactly as it was; Pat's attempt restarts in place.
    assert [a.id for a in remaining] == [submitted, in_progress]
    assert after["quiz_attempts"][0] == before["quiz_attempts"][0]
    restarted = remaining[1]
    assert restarted.status == AttemptStatus.in_progress and restarted.answers == {}
    assert restarted.restarted_at is not None
    assert restarted.version == version + 1, "an answer read before cannot be written over it"
    async with database.session() as session:
        management = await quiz_management(session, alice, ids.quiz)
    assert (management.attempts, management.in_progress) == (2, 1)

    # Pat's next tap on an old button (its question may be gone) tells him, once, and records
    # nothing; then he is on question 1 of the changed quiz.
    async with database.session() as session:
        told = await answer_question(session, pat, in_progress, ids.questions[1], [1])
    assert isinstance(told, Restarted) and told.first is not None
    assert (told.first.number, told.first.attempt) == (1, told.info.open_attempt)
    async with database.session() as session:
        attempt = await session.get(QuizAttempt, in_progress)
        assert attempt is not None and attempt.restarted_at is None and attempt.answers == {}
        view = await start_attempt(session, pat, ids.quiz)
    assert isinstance(view, QuestionView) and view.attempt is not None
    assert (view.attempt.id, view.number) == (in_progress, 1)


async def test_finished_attempts_alone_also_need_confirmation(database: Database):
    alice, _, _, sam = await cast(database)
    ids = await quizzed_course(database, alice, questions=1)
    async with database.session() as session:
        await enroll(session, sam, ids.course)
        view = await start_attempt(session, sam, ids.quiz)
    async with database.session() as session:
        await answer_question(
            session, sam, view.attempt.id, view.question.id, [view.question.options[1].id]
        )
    error = await refused(database, lambda s: add_questions(s, alice, ids.quiz, [question("N")]))
    assert isinstance(error, Conflict) and error.data == {"attempts": 1}
    async with database.session() as session:
        management = await add_questions(session, alice, ids.quiz, [question("N")], confirmed=True)
    assert (management.attempts, management.in_progress) == (1, 0)
    assert len(management.quiz.questions) == 2


TOUCHES: dict[str, Callable[..., Awaitable[Any]]] = {
    "start_attempt": lambda s, u, i, a: start_attempt(s, u, i.quiz),
    "open_quiz": lambda s, u, i, a: open_quiz(s, u, i.quiz),
    "current_selection": lambda s, u, i, a: current_selection(s, u, a, i.questions[1], 1),
    "answer_question": lambda s, u, i, a: answer_question(s, u, a, i.questions[1], [1]),
    "answer_text": lambda s, u, i, a: answer_text(s, u, "my old answer"),
}


@pytest.mark.parametrize("touch", TOUCHES.values(), ids=TOUCHES.keys())
async def test_a_restarted_attempt_is_told_once_at_any_touch(database: Database, touch):
    alice, _, pat, ids, _, in_progress = await taken_quiz(database)
    await run(
        database, lambda s: add_questions(s, alice, ids.quiz, [question("New")], confirmed=True)
    )
    async with database.session() as session:
        told = await touch(session, pat, ids, in_progress)
    assert isinstance(told, Restarted) and told.first is not None
    assert (told.first.number, told.first.total) == (1, 3)
    async with database.session() as session:
        try:
            again = await touch(session, pat, ids, in_progress)
        except DomainError as error:  # an old button of a later question, now stale
            again = error
    assert not isinstance(again, Restarted), "told once"
    if isinstance(again, DomainError):
        assert again.reason == Reason.questions_in_order
    async with database.session() as session:
        info = await quiz_info(session, pat, ids.quiz)
    assert info.open_attempt is not None and info.open_attempt.id == in_progress
    assert info.open_attempt.restarted_at is None and info.open_attempt.answers == {}
    assert (info.attempts_used, info.question_count) == (0, 3)


async def test_a_restarted_quiz_without_questions_says_so(database: Database):
    alice, _, pat, ids, _, _ = await taken_quiz(database)
    for question_id in ids.questions:
        await run(database, lambda s, q=question_id: delete_question(s, alice, q, confirmed=True))
    async with database.session() as session:
        told = await start_attempt(session, pat, ids.quiz)
    assert isinstance(told, Restarted) and told.first is None
    error = await refused(database, lambda s: start_attempt(s, pat, ids.quiz))
    assert isinstance(error, NotFound) and error.reason == Reason.quiz_has_no_questions


async def test_a_preview_shows_a_new_students_quiz_and_records_nothing(database: Database):
    alice, *_ = await cast(database)
    explained = QuestionDraft(
        "Q2",
        QuestionType.multiple_choice,
        [OptionDraft("a", True), OptionDraft("b"), OptionDraft("c", True)],
        "a and c",
    )
    ids = await quizzed_course(database, alice, max_attempts=3)
    await run(database, lambda s: add_questions(s, alice, ids.quiz, [explained]))
    before = await snapshot(database)
    async with database.session() as session:
        preview = await quiz_preview(session, alice, ids.quiz)
    info = preview.info
    assert (info.question_count, info.attempts_used, info.attempts_left) == (3, 0, 3)
    assert info.open_attempt is None and info.can_start
    assert [(v.number, v.total, v.attempt, v.question.text) for v in preview.questions] == [
        (1, 3, None, "Q0"),
        (2, 3, None, "Q1"),
        (3, 3, None, "Q2"),
    ]
    multiple = preview.questions[2].question
    async with database.session() as session:
        right = await preview_tap(session, alice, multiple.id, multiple.options[2].id)
        submit = await preview_tap(session, alice, multiple.id)
    assert right.option is not None and right.option.is_correct and right.question.id == multiple.id
    assert submit.option is None and [o.text for o in submit.question.options] == ["a", "b", "c"]
    other = preview.questions[0].question.options[0].id
    error = await refused(database, lambda s: preview_tap(s, alice, multiple.id, other))
    assert isinstance(error, Invalid) and error.reason == Reason.option_not_in_question
    assert await snapshot(database) == before, "a preview records nothing"

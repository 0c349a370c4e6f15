"""Replacing a course in place from a course file (db.replacing), on every backend: enrollments
stay, lessons that keep their id keep their completions, a quiz the file did not change keeps
its attempts, the file sets the order and the fields, and it is all one transaction."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from db.authoring import (
    CourseDraft,
    LessonDraft,
    OptionDraft,
    QuestionDraft,
    QuizDraft,
    course_draft,
)
from db.engine import Database
from db.errors import Conflict, NotFound, Reason
from db.learning import complete_lesson, enroll
from db.models import (
    AttemptStatus,
    Course,
    Difficulty,
    LessonCompletion,
    MediaKind,
    Question,
    QuestionType,
    Quiz,
    QuizAttempt,
    Role,
    User,
)
from db.replacing import ReplacementSummary, replace_course, replacement_summary
from db.security import verify_secret
from tests.conftest import make_course, make_user
from tests.unit.test_quizauthoring import question, taken_quiz
from tests.unit.test_teaching import cast, enrollment_of, lessons_of, refused, run, snapshot


async def complete(database: Database, student: User, *lesson_ids: int) -> None:
    for lesson_id in lesson_ids:
        async with database.session() as session:
            await complete_lesson(session, student, lesson_id)


async def completions(database: Database) -> set[tuple[int, int]]:
    async with database.session() as session:
        rows = await session.execute(
            select(LessonCompletion.student_id, LessonCompletion.lesson_id)
        )
        return {(student, lesson) for student, lesson in rows}


async def replace(database: Database, user: User, course_id: int, draft: CourseDraft) -> Any:
    async with database.session() as session:
        return await replace_course(session, user, course_id, draft)


async def stored(database: Database, course_id: int) -> CourseDraft:
    async with database.session() as session:
        return await course_draft(session, course_id)


def edited(draft: CourseDraft, **changes: Any) -> CourseDraft:
    return dataclasses.replace(draft, **changes)


# -- lessons, completions, progress ----------------------------------------------------------------


async def test_kept_lessons_keep_their_completions_and_the_file_sets_everything_else(
    database: Database,
):
    alice, _, _, sam = await cast(database)
    course = await make_course(database, alice, lessons=3)
    (one, _, _), (two, _, _), (three, _, _) = await lessons_of(database, course.id)
    async with database.session() as session:
        await enroll(session, sam, course.id)
    await complete(database, sam, one, two)
    assert (await enrollment_of(database, sam, course.id)).progress_percentage == 67

    draft = CourseDraft(
        "Python Basics, second edition",
        description="All <b>new</b>.",
        category="Code",
        difficulty=Difficulty.advanced,
        duration_minutes=120,
        published=True,
        lessons=[
            LessonDraft("Welcome", "A new first lesson."),
            LessonDraft("Lesson 3", "Content 3", key=three),
            LessonDraft("Variables", "<b>Rewritten</b>", MediaKind.photo, "AgAC", key=one),
        ],
    )
    summary = await replace(database, alice, course.id, draft)

    assert summary == ReplacementSummary(kept=2, added=1, removed=1, enrolled=1)
    rows = await lessons_of(database, course.id)
    assert [(title, index) for _, title, index in rows] == [
        ("Welcome", 0),
        ("Lesson 3", 1),
        ("Variables", 2),
    ]
    assert [lesson_id for lesson_id, _, _ in rows][1:] == [three, one], "the same lessons"
    assert rows[0][0] not in (one, two, three)
    assert await completions(database) == {(sam.id, one)}, "lesson 2 went with its completion"
    enrollment = await enrollment_of(database, sam, course.id)
    assert (enrollment.progress_percentage, enrollment.completed_at) == (33, None)

    after = await stored(database, course.id)
    keys = [rows[0][0], three, one]
    expected = edited(
        draft,
        lessons=[
            dataclasses.replace(lesson, key=key)
            for lesson, key in zip(draft.lessons, keys, strict=True)
        ],
    )
    assert after == expected
    async with database.session() as session:
        row = await session.get(Course, course.id)
    assert row is not None and row.updated_at > course.updated_at


async def test_progress_and_the_completion_date_follow_the_lessons_that_remain(
    database: Database,
):
    alice, _, _, sam = await cast(database)
    pat = await make_user(database, 5, Role.student, "Pat")
    course = await make_course(database, alice, lessons=3)
    (one, _, _), (two, _, _), (three, _, _) = await lessons_of(database, course.id)
    for student in (sam, pat):
        async with database.session() as session:
            await enroll(session, student, course.id)
    await complete(database, sam, one, two)
    await complete(database, pat, one, two, three)
    finished = (await enrollment_of(database, pat, course.id)).completed_at
    assert finished is not None

    before = await stored(database, course.id)
    summary = await replace(database, alice, course.id, edited(before, lessons=before.lessons[:2]))
    assert summary == ReplacementSummary(kept=2, added=0, removed=1, enrolled=2)
    for student in (sam, pat):
        enrollment = await enrollment_of(database, student, course.id)
        assert enrollment.progress_percentage == 100 and enrollment.completed_at is not None
    assert (await enrollment_of(database, pat, course.id)).completed_at == finished, "kept"

    lessons = [*before.lessons[:2], LessonDraft("Lesson 3, again", "new")]
    summary = await replace(database, alice, course.id, edited(before, lessons=lessons))
    assert summary == ReplacementSummary(kept=2, added=1, removed=0, enrolled=2)
    for student in (sam, pat):
        enrollment = await enrollment_of(database, student, course.id)
        assert (enrollment.progress_percentage, enrollment.completed_at) == (67, None)


async def test_the_file_may_reverse_the_order_of_every_lesson(database: Database):
    alice, *_ = await cast(database)
    course = await make_course(database, alice, lessons=6)
    before = await stored(database, course.id)
    rows = await lessons_of(database, course.id)
    await replace(database, alice, course.id, edited(before, lessons=before.lessons[::-1]))
    assert await lessons_of(database, course.id) == [
        (lesson_id, title, index) for index, (lesson_id, title, _) in enumerate(rows[::-1])
    ]


async def test_ids_of_other_courses_or_of_no_lesson_make_new_lessons(database: Database):
    alice, *_ = await cast(database)
    mine = await make_course(database, alice, lessons=1)
    other = await make_course(database, alice, lessons=1, title="Other")
    [(own, _, _)] = await lessons_of(database, mine.id)
    [(foreign, _, _)] = await lessons_of(database, other.id)
    other_before = await stored(database, other.id)
    draft = edited(
        await stored(database, mine.id),
        lessons=[
            LessonDraft("Mine", key=own),
            LessonDraft("Theirs", key=foreign),
            LessonDraft("Nobody's", key=999_999),
        ],
    )
    summary = await replace(database, alice, mine.id, draft)
    assert summary == ReplacementSummary(kept=1, added=2, removed=0, enrolled=0)
    rows = await lessons_of(database, mine.id)
    assert [title for _, title, _ in rows] == ["Mine", "Theirs", "Nobody's"]
    assert rows[0][0] == own and not {foreign, 999_999} & {lesson_id for lesson_id, _, _ in rows}
    assert await stored(database, other.id) == other_before, "the other course is untouched"


async def test_a_draft_with_one_id_twice_is_a_bug(database: Database):
    alice, *_ = await cast(database)
    course = await make_course(database, alice, lessons=1)
    [(own, _, _)] = await lessons_of(database, course.id)
    draft = CourseDraft("T", lessons=[LessonDraft("A", key=own), LessonDraft("B", key=own)])
    with pytest.raises(ValueError, match="twice"):
        await replace(database, alice, course.id, draft)


async def test_the_summary_says_what_a_replacement_would_do_and_writes_nothing(
    database: Database,
):
    alice, _, _, sam = await cast(database)
    course = await make_course(database, alice, lessons=3)
    async with database.session() as session:
        await enroll(session, sam, course.id)
    current = await stored(database, course.id)
    draft = edited(current, lessons=[current.lessons[2], LessonDraft("New"), LessonDraft("Newer")])
    before = await snapshot(database)
    async with database.session() as session:
        preview = await replacement_summary(session, alice, course.id, draft)
    assert preview == ReplacementSummary(kept=1, added=2, removed=2, enrolled=1)
    assert await snapshot(database) == before
    assert await replace(database, alice, course.id, draft) == preview


# -- the course's fields and its key ---------------------------------------------------------------


async def test_the_files_key_replaces_the_old_one_and_no_key_keeps_it(database: Database):
    alice, *_ = await cast(database)
    course = await make_course(database, alice, lessons=1, key="old-key")
    current = await stored(database, course.id)
    assert current.enrollment_key is None, "never exported"

    async def key_hash() -> str | None:
        async with database.session() as session:
            row = await session.get(Course, course.id)
        assert row is not None
        return row.enrollment_key_hash

    old = await key_hash()
    await replace(database, alice, course.id, edited(current, title="Renamed"))
    assert await key_hash() == old, "a file without a key keeps the course's key"
    await replace(database, alice, course.id, edited(current, enrollment_key="new-key"))
    new = await key_hash()
    assert new is not None and verify_secret("new-key", new) and not verify_secret("old-key", new)


async def test_the_file_publishes_and_unpublishes(database: Database):
    alice, _, _, sam = await cast(database)
    course = await make_course(database, alice, lessons=1)
    async with database.session() as session:
        await enroll(session, sam, course.id)
    current = await stored(database, course.id)
    await replace(database, alice, course.id, edited(current, published=False))
    async with database.session() as session:
        row = await session.get(Course, course.id)
    assert row is not None and not row.is_published
    assert (await enrollment_of(database, sam, course.id)).course_id == course.id, "stays"
    error = await refused(
        database,
        lambda s: replace_course(s, alice, course.id, edited(current, lessons=[])),
    )
    assert isinstance(error, Conflict) and error.reason == Reason.publish_needs_a_lesson


# -- who may ---------------------------------------------------------------------------------------


async def test_only_the_instructor_and_admins_replace_a_course(database: Database):
    alice, bert, admin, sam = await cast(database)
    course = await make_course(database, alice, lessons=2)
    async with database.session() as session:
        await enroll(session, sam, course.id)
    draft = edited(await stored(database, course.id), title="Taken over")
    before = await snapshot(database)
    for outsider in (bert, sam):
        for call in (replace_course, replacement_summary):
            error = await refused(database, lambda s, u=outsider, c=call: c(s, u, course.id, draft))
            assert isinstance(error, NotFound) and error.reason == Reason.course_not_available
    for missing in (course.id + 1000,):
        error = await refused(database, lambda s, m=missing: replace_course(s, alice, m, draft))
        assert isinstance(error, NotFound) and error.reason == Reason.course_not_available
    assert await snapshot(database) == before, "a refusal changes nothing"

    await replace(database, admin, course.id, draft)
    assert (await stored(database, course.id)).title == "Taken over"
    await replace(database, alice, course.id, edited(draft, title="Mine again"))
    assert (await stored(database, course.id)).title == "Mine again"


async def test_a_replacement_is_one_transaction(database: Database):
    alice, _, _, sam = await cast(database)
    course = await make_course(database, alice, lessons=3)
    async with database.session() as session:
        await enroll(session, sam, course.id)
    current = await stored(database, course.id)
    before = await snapshot(database)
    # The database refuses the last lesson (media without a file): nothing before it stays.
    broken = LessonDraft("Broken", media_kind=MediaKind.photo, media_file_id=None)
    draft = edited(current, title="Half", lessons=[current.lessons[1], LessonDraft("New"), broken])
    with pytest.raises(IntegrityError):
        await replace(database, alice, course.id, draft)
    assert await snapshot(database) == before


# -- quizzes ---------------------------------------------------------------------------------------


async def quiz_rows(database: Database) -> dict[str, Any]:
    """The quiz tables only (attempts included), to compare before and after."""
    tables = await snapshot(database)
    return {
        name: rows
        for name, rows in tables.items()
        if name in ("quizzes", "questions", "answer_options", "quiz_attempts")
    }


async def test_an_unchanged_quiz_keeps_its_ids_and_every_attempt(database: Database):
    alice, sam, _, ids, _, _ = await taken_quiz(database)
    current = await stored(database, ids.course)
    before = await quiz_rows(database)
    lessons = [edited_lesson(current.lessons[0], title="Quizzed, renamed"), current.lessons[1]]
    await replace(database, alice, ids.course, edited(current, lessons=lessons))
    assert await quiz_rows(database) == before
    assert await completions(database) == {(sam.id, ids.quizzed_lesson)}


def edited_lesson(lesson: LessonDraft, **changes: Any) -> LessonDraft:
    return dataclasses.replace(lesson, **changes)


async def test_changed_settings_are_written_in_place_and_attempts_stay(database: Database):
    alice, _, _, ids, _, _ = await taken_quiz(database)
    current = await stored(database, ids.course)
    quiz = current.lessons[0].quiz
    assert quiz is not None
    changed = dataclasses.replace(quiz, title="Renamed check", passing_score=90, max_attempts=3)
    lessons = [edited_lesson(current.lessons[0], quiz=changed), current.lessons[1]]
    before = await quiz_rows(database)
    await replace(database, alice, ids.course, edited(current, lessons=lessons))
    after = await quiz_rows(database)
    assert after["questions"] == before["questions"]
    assert after["quiz_attempts"] == before["quiz_attempts"], "no question changed"
    async with database.session() as session:
        row = await session.get(Quiz, ids.quiz)
    assert row is not None and (row.title, row.passing_score, row.max_attempts) == (
        "Renamed check",
        90,
        3,
    )


async def test_changed_questions_follow_the_quiz_change_rule(database: Database):
    """Finished attempts and completions stay; no attempt in progress is left answering a
    question that is gone (the rule of db.quizauthoring, as if the change was confirmed)."""
    alice, sam, _, ids, submitted, _ = await taken_quiz(database)
    current = await stored(database, ids.course)
    quiz = current.lessons[0].quiz
    assert quiz is not None
    new_questions = [
        question("Q0"),
        question("Brand new"),
        QuestionDraft("Why?", QuestionType.text),
    ]
    changed = dataclasses.replace(quiz, questions=new_questions)
    lessons = [edited_lesson(current.lessons[0], quiz=changed), current.lessons[1]]
    await replace(database, alice, ids.course, edited(current, lessons=lessons))

    after = await stored(database, ids.course)
    assert after.lessons[0].quiz == changed
    async with database.session() as session:
        assert await session.get(Quiz, ids.quiz) is not None, "the quiz row stays"
        questions = await session.scalar(select(func.count(Question.id)))
        attempts = list(await session.scalars(select(QuizAttempt).order_by(QuizAttempt.id)))
    assert questions == 3, "the old questions are gone"
    finished = [a for a in attempts if a.status is not AttemptStatus.in_progress]
    assert [a.id for a in finished] == [submitted]
    # (SQLite may give a new question an old one's id: an old answer must not survive.)
    assert all(a.answers == {} for a in attempts if a.status is AttemptStatus.in_progress)
    assert await completions(database) == {(sam.id, ids.quizzed_lesson)}


async def test_a_quiz_removed_by_the_file_goes_with_its_attempts_and_one_added_comes(
    database: Database,
):
    alice, sam, _, ids, _, _ = await taken_quiz(database)
    current = await stored(database, ids.course)
    added = QuizDraft("Plain check", 50, 2, [question("New one")])
    lessons = [
        edited_lesson(current.lessons[0], quiz=None),
        edited_lesson(current.lessons[1], quiz=added),
    ]
    summary = await replace(database, alice, ids.course, edited(current, lessons=lessons))
    assert summary == ReplacementSummary(kept=2, added=0, removed=0, enrolled=2)
    async with database.session() as session:
        gone = select(Quiz.id).where(Quiz.lesson_id == ids.quizzed_lesson)
        assert await session.scalar(gone) is None
        assert list(await session.scalars(select(QuizAttempt.id))) == []
    after = await stored(database, ids.course)
    assert after.lessons[0].quiz is None and after.lessons[1].quiz == added
    assert await completions(database) == {(sam.id, ids.quizzed_lesson)}, "completions stay"
    assert (await enrollment_of(database, sam, ids.course)).progress_percentage == 50


async def test_a_question_with_options_of_another_kind_is_a_change(database: Database):
    """Equality looks at every part of a question: option texts, correctness, type, why."""
    alice, *_ = await cast(database)
    base = QuestionDraft(
        "Pick", QuestionType.single_choice, [OptionDraft("a", True), OptionDraft("b")], "why"
    )
    variants = [
        dataclasses.replace(base, explanation=None),
        dataclasses.replace(base, options=[OptionDraft("a", True), OptionDraft("c")]),
        dataclasses.replace(
            base,
            type=QuestionType.multiple_choice,
            options=[OptionDraft("a", True), OptionDraft("b", True)],
        ),
        dataclasses.replace(base, text="Pick one"),
    ]
    draft = CourseDraft("Q", lessons=[LessonDraft("L", quiz=QuizDraft("Check", questions=[base]))])
    course = await make_course(database, alice, draft=draft)
    for variant in variants:
        current = await stored(database, course.id)
        assert current.lessons[0].quiz is not None
        quiz = dataclasses.replace(current.lessons[0].quiz, questions=[variant])
        lessons = [edited_lesson(current.lessons[0], quiz=quiz)]
        await replace(database, alice, course.id, edited(current, lessons=lessons))
        assert (await stored(database, course.id)).lessons[0].quiz == quiz, variant


async def test_the_command_lines_replace_names_a_missing_course(database: Database):
    from db.replacing import replace_course_as

    alice, bert, *_ = await cast(database)
    course = await make_course(database, alice, lessons=1)
    draft = edited(await stored(database, course.id), title="T")
    for telegram_id, course_id, reason in (
        (alice.telegram_id, 999, Reason.no_such_course),
        (bert.telegram_id, course.id, Reason.course_not_available),
        (123_456, course.id, Reason.course_not_available),
    ):
        error = await refused(
            database, lambda s, t=telegram_id, c=course_id: replace_course_as(s, t, c, draft)
        )
        assert isinstance(error, NotFound) and error.reason == reason
    summary = await run(
        database, lambda s: replace_course_as(s, alice.telegram_id, course.id, draft)
    )
    assert summary == ReplacementSummary(kept=1, added=0, removed=0, enrolled=0)

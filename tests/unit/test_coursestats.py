"""Course statistics and the gradebook CSV (db.coursestats), against a hand-built course."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from db.authoring import CourseDraft, LessonDraft, OptionDraft, QuestionDraft, QuizDraft
from db.coursestats import CourseStats, LessonFunnel, QuizStats, course_stats, gradebook_csv
from db.engine import Database
from db.errors import NotFound, Reason
from db.learning import complete_lesson, enroll
from db.models import (
    AttemptStatus,
    Enrollment,
    Lesson,
    LessonCompletion,
    QuestionType,
    Quiz,
    QuizAttempt,
    Role,
    User,
    utcnow,
)
from tests.conftest import make_course, make_user

EVIL_NAME = "=cmd|' /C calc'!A0"
QUIZ_A = 'Quiz, "one"'  # a comma and quotes: csv must escape them


def _quiz(title: str) -> QuizDraft:
    question = QuestionDraft(
        "Which?", QuestionType.single_choice, [OptionDraft("this", True), OptionDraft("that")]
    )
    return QuizDraft(title, questions=[question])


@dataclass
class World:
    alice: User  # the course's instructor
    bert: User  # another instructor
    admin: User
    sam: User  # a student, not enrolled
    bea: User  # enrolled, completes everything
    evil: User  # enrolled, named like a formula
    course_id: int
    now: datetime


async def build(database: Database) -> World:
    alice = await make_user(database, 1, Role.instructor, "Alice")
    bert = await make_user(database, 2, Role.instructor, "Bert")
    admin = await make_user(database, 3, Role.admin, "Admin")
    sam = await make_user(database, 4, Role.student, "Sam")
    bea = await make_user(database, 5, Role.student, "Bea")
    evil = await make_user(database, 6, Role.student, EVIL_NAME)
    draft = CourseDraft(
        title="Stats 101",
        published=True,
        lessons=[
            LessonDraft("Intro", "Read me."),
            LessonDraft("Practice", "Try it.", quiz=_quiz(QUIZ_A)),
            LessonDraft("Exam", "Last one.", quiz=_quiz("Final")),
        ],
    )
    course = await make_course(database, alice, draft=draft)
    other = await make_course(database, bert, 1, title="Elsewhere")
    now = utcnow()
    async with database.session() as session:
        for student in (bea, evil):
            await enroll(session, student, course.id)
        await enroll(session, bea, other.id)
        ids = {
            title: lesson_id
            for title, lesson_id in await session.execute(
                select(Lesson.title, Lesson.id).where(Lesson.course_id == course.id)
            )
        }
        quiz = {
            title: quiz_id
            for title, quiz_id in await session.execute(
                select(Quiz.title, Quiz.id).join(Lesson).where(Lesson.course_id == course.id)
            )
        }
        other_lesson = await session.scalar(select(Lesson.id).where(Lesson.course_id == other.id))
        assert other_lesson is not None
    async with database.session() as session:
        await complete_lesson(session, bea, ids["Intro"])
        await complete_lesson(session, evil, ids["Intro"])
        await complete_lesson(session, bea, other_lesson)
    async with database.session() as session:
        # Quiz lessons are completed by passing; written directly, with their outcome.
        session.add_all(
            [
                LessonCompletion(student_id=bea.id, lesson_id=ids["Practice"]),
                LessonCompletion(student_id=bea.id, lesson_id=ids["Exam"]),
            ]
        )
        attempts = [
            (bea, QUIZ_A, AttemptStatus.graded, 50, False),
            (bea, QUIZ_A, AttemptStatus.submitted, 100, True),
            (evil, QUIZ_A, AttemptStatus.submitted, 40, False),
            (evil, QUIZ_A, AttemptStatus.in_progress, None, None),
            (bea, "Final", AttemptStatus.submitted, 90, True),
            (evil, "Final", AttemptStatus.pending_review, None, None),
        ]
        for student, title, status, score, passed in attempts:
            session.add(
                QuizAttempt(
                    quiz_id=quiz[title],
                    student_id=student.id,
                    status=status,
                    score=score,
                    passed=passed,
                    answers={},
                )
            )
        await session.execute(
            update(Enrollment)
            .where(Enrollment.course_id == course.id, Enrollment.student_id == bea.id)
            .values(progress_percentage=100, completed_at=now, last_activity_at=now)
        )
        await session.execute(
            update(Enrollment)
            .where(Enrollment.course_id == course.id, Enrollment.student_id == evil.id)
            .values(progress_percentage=33, last_activity_at=now - timedelta(days=8))
        )
        await session.execute(update(User).where(User.id == bea.id).values(username="bea"))
    return World(alice, bert, admin, sam, bea, evil, course.id, now)


EXPECTED = CourseStats(
    title="Stats 101",
    enrolled=2,
    active_7_days=1,
    average_progress=67,  # (100 + 33) / 2 = 66.5, rounded half up
    completed=1,
    pending_reviews=1,
    lessons=[LessonFunnel("Intro", 2), LessonFunnel("Practice", 1), LessonFunnel("Exam", 1)],
    quizzes=[QuizStats(QUIZ_A, 3, 1, 63), QuizStats("Final", 1, 1, 90)],  # 190 / 3 = 63.3
)


async def test_stats_match_the_hand_built_course(database: Database):
    world = await build(database)
    for manager in (world.alice, world.admin):
        async with database.session() as session:
            stats = await course_stats(session, manager, world.course_id, now=world.now)
        assert stats == EXPECTED


async def test_activity_window_follows_now(database: Database):
    world = await build(database)
    async with database.session() as session:
        later = await course_stats(session, world.alice, world.course_id, world.now + timedelta(8))
        earlier = await course_stats(
            session, world.alice, world.course_id, world.now - timedelta(2)
        )
    assert later.active_7_days == 0
    assert earlier.active_7_days == 2


async def test_an_empty_course_has_zeros(database: Database):
    alice = await make_user(database, 1, Role.instructor, "Alice")
    course = await make_course(database, alice, 2, draft=None)
    async with database.session() as session:
        stats = await course_stats(session, alice, course.id)
    assert stats.enrolled == stats.active_7_days == stats.average_progress == 0
    assert stats.completed == stats.pending_reviews == 0
    assert stats.lessons == [LessonFunnel("Lesson 1", 0), LessonFunnel("Lesson 2", 0)]
    assert stats.quizzes == []


@pytest.mark.parametrize("who", ["bert", "sam", "bea", "evil"])
async def test_non_managers_are_refused(database: Database, who: str):
    world = await build(database)
    user = getattr(world, who)
    for operation in (course_stats, gradebook_csv):
        async with database.session() as session:
            with pytest.raises(NotFound) as refused:
                await operation(session, user, world.course_id)
        assert refused.value.reason == Reason.course_not_available
    async with database.session() as session:
        with pytest.raises(NotFound):
            await course_stats(session, world.alice, 10**6)


async def test_gradebook_parses_back_and_matches_the_database(database: Database):
    world = await build(database)
    async with database.session() as session:
        text = await gradebook_csv(session, world.alice, world.course_id)
        enrolled = {
            student_id: at.date().isoformat()
            for student_id, at in await session.execute(
                select(Enrollment.student_id, Enrollment.enrolled_at).where(
                    Enrollment.course_id == world.course_id
                )
            )
        }
    rows = list(csv.reader(io.StringIO(text)))
    today = world.now.date().isoformat()
    assert rows == [
        ["student", "username", "enrolled", "progress", "completed", QUIZ_A, "Final"],
        # Sorted by name ("=" before "B"); a pending review has no score yet.
        ["'" + EVIL_NAME, "", enrolled[world.evil.id], "33", "", "40", ""],
        ["Bea", "bea", enrolled[world.bea.id], "100", today, "100", "90"],
    ]
    assert '"Quiz, ""one"""' in text.splitlines()[0]


async def test_formula_cells_are_neutralised(database: Database):
    world = await build(database)
    async with database.session() as session:
        await session.execute(
            update(User).where(User.id == world.bea.id).values(full_name="+1", username="@x")
        )
        await session.execute(update(Quiz).where(Quiz.title == "Final").values(title="-Final"))
    async with database.session() as session:
        rows = list(
            csv.reader(io.StringIO(await gradebook_csv(session, world.admin, world.course_id)))
        )
    assert rows[0][-1] == "'-Final"
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert ["'+1", "'@x"] in [row[:2] for row in rows]
    assert ["'" + EVIL_NAME, ""] in [row[:2] for row in rows]


async def test_a_few_queries_whatever_the_class_size(database: Database):
    world = await build(database)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(("BEGIN", "PRAGMA")):
            statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with database.session() as session:
            await course_stats(session, world.alice, world.course_id)
            stats_queries = len(statements)
            await gradebook_csv(session, world.alice, world.course_id)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert stats_queries == 4, statements
    assert len(statements) - stats_queries == 4, statements

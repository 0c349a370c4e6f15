"""Rules of SPEC §3 for enrollment, lessons and progress, on a real SQLite database."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from db.authoring import CourseDraft, LessonDraft, OptionDraft, QuestionDraft, QuizDraft
from db.catalog import catalog_page, course_card
from db.errors import Conflict, Forbidden, Invalid, NotFound
from db.learning import (
    KeyRequired,
    complete_lesson,
    continue_course,
    enroll,
    my_progress,
    open_lesson,
)
from db.models import Enrollment, Lesson, LessonCompletion, QuestionType, Role
from db.progress import recompute_progress
from tests.conftest import make_course, make_user


async def lesson_ids(database, course) -> list[int]:
    async with database.session() as session:
        return list(
            await session.scalars(
                select(Lesson.id).where(Lesson.course_id == course.id).order_by(Lesson.order_index)
            )
        )


async def test_enroll_once_and_double_enroll_is_harmless(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    course = await make_course(database, teacher)
    async with database.session() as session:
        first = await enroll(session, student, course.id)
    async with database.session() as session:
        second = await enroll(session, student, course.id)
    assert first.created and not second.created
    async with database.session() as session:
        assert await session.scalar(select(func.count(Enrollment.id))) == 1


async def test_concurrent_enrollments_make_one_row(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    course = await make_course(database, teacher)

    async def tap() -> bool:
        async with database.session() as session:
            return (await enroll(session, student, course.id)).created

    created = await asyncio.gather(*(tap() for _ in range(8)))
    assert created.count(True) == 1
    async with database.session() as session:
        assert await session.scalar(select(func.count(Enrollment.id))) == 1


async def test_draft_course_is_hidden_and_not_enrollable(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    draft = await make_course(database, teacher, published=False, title="Secret")
    async with database.session() as session:
        page = await catalog_page(session, student)
        assert page.total == 0
        with pytest.raises(NotFound):
            await course_card(session, student, draft.id)
        with pytest.raises(NotFound):
            await enroll(session, student, draft.id)
        # The owner sees the card but cannot enroll in a draft.
        assert (await course_card(session, teacher, draft.id)).course.title == "Secret"
        with pytest.raises(Conflict):
            await enroll(session, teacher, draft.id)


async def test_enrollment_key_is_checked_against_its_hash(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    course = await make_course(database, teacher, key="open sesame")
    assert course.enrollment_key_hash and "open sesame" not in course.enrollment_key_hash
    async with database.session() as session:
        with pytest.raises(KeyRequired):
            await enroll(session, student, course.id)
        with pytest.raises(Invalid):
            await enroll(session, student, course.id, "wrong")
    async with database.session() as session:
        assert (await enroll(session, student, course.id, " open sesame ")).created


async def test_progress_rounds_and_completes_at_100(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    course = await make_course(database, teacher, lessons=3)
    ids = await lesson_ids(database, course)
    async with database.session() as session:
        await enroll(session, student, course.id)
    seen = []
    for lesson_id in ids:
        async with database.session() as session:
            outcome, view = await complete_lesson(session, student, lesson_id)
            assert view.completed
            seen.append((outcome.progress, outcome.course_finished_now))
    assert seen == [(33, False), (67, False), (100, True)]
    async with database.session() as session:
        again, _ = await complete_lesson(session, student, ids[0])
        assert not again.newly_completed and not again.course_finished_now
        assert await session.scalar(select(func.count(LessonCompletion.id))) == 3
        [row] = await my_progress(session, student)
        assert (row.done, row.total, row.percentage) == (3, 3, 100)
        assert row.completed_at is not None and row.next_lesson_id is None


async def test_adding_a_lesson_reopens_a_finished_course(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    course = await make_course(database, teacher, lessons=1)
    [only] = await lesson_ids(database, course)
    async with database.session() as session:
        await enroll(session, student, course.id)
        await complete_lesson(session, student, only)
    async with database.session() as session:
        session.add(Lesson(course_id=course.id, title="New", content="x", order_index=1))
        await session.flush()
        await recompute_progress(session, course.id)
    async with database.session() as session:
        [row] = await my_progress(session, student)
        assert (row.percentage, row.completed_at) == (50, None)


async def test_99_never_rounds_up_to_100(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    course = await make_course(database, teacher, lessons=201)
    ids = await lesson_ids(database, course)
    async with database.session() as session:
        await enroll(session, student, course.id)
        session.add_all(LessonCompletion(student_id=student.id, lesson_id=i) for i in ids[:-1])
        await session.flush()
        await recompute_progress(session, course.id, student.id)
        [row] = await my_progress(session, student)
        assert (row.percentage, row.completed_at) == (99, None)


async def test_lessons_need_enrollment_and_quiz_lessons_need_the_quiz(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    quiz = QuizDraft(
        "Check",
        questions=[
            QuestionDraft(
                "Q?", QuestionType.single_choice, [OptionDraft("a", True), OptionDraft("b")]
            )
        ],
    )
    course = await make_course(
        database,
        teacher,
        draft=CourseDraft("Quizzed", published=True, lessons=[LessonDraft("L1", "x", quiz=quiz)]),
    )
    [lesson_id] = await lesson_ids(database, course)
    async with database.session() as session:
        with pytest.raises(Forbidden):
            await open_lesson(session, student, lesson_id)
        with pytest.raises(Forbidden):
            await complete_lesson(session, student, lesson_id)
        with pytest.raises(NotFound):
            await open_lesson(session, student, 999_999)
        await enroll(session, student, course.id)
        view = await open_lesson(session, student, lesson_id)
        assert view.quiz is not None and (view.position, view.total) == (1, 1)
        with pytest.raises(Conflict):
            await complete_lesson(session, student, lesson_id)


async def test_continue_goes_to_first_unfinished_lesson(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    course = await make_course(database, teacher, lessons=3)
    ids = await lesson_ids(database, course)
    async with database.session() as session:
        await enroll(session, student, course.id)
        first = await continue_course(session, student, course.id)
        assert (first.lesson.id, first.position, first.completed) == (ids[0], 1, False)
        await complete_lesson(session, student, ids[0])
        await complete_lesson(session, student, ids[2])
        second = await continue_course(session, student, course.id)
        assert (second.lesson.id, second.position, second.next_id) == (ids[1], 2, ids[2])
        await complete_lesson(session, student, ids[1])
        assert (await continue_course(session, student, course.id)).lesson.id == ids[0]


async def test_catalog_search_pages_and_marks_enrolled(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    courses = [await make_course(database, teacher, title=f"Course {i}") for i in range(7)]
    await make_course(database, teacher, title="Cooking 100%_off")
    async with database.session() as session:
        await enroll(session, student, courses[0].id)
        first = await catalog_page(session, student)
        assert (first.total, first.pages, len(first.entries)) == (8, 2, 5)
        last = await catalog_page(session, student, page=99)
        assert last.page == 1 and [
            e.enrolled for e in last.entries if e.course.id == courses[0].id
        ] == [True]
        assert (await catalog_page(session, student, "100%_")).total == 1
        assert (await catalog_page(session, student, "programming")).total == 8
        with pytest.raises(Invalid):
            await catalog_page(session, student, "x" * 41)


async def test_unpublishing_hides_the_course_but_enrolled_students_keep_access(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    newcomer = await make_user(database, 3)
    course = await make_course(database, teacher, lessons=2)
    [first, _] = await lesson_ids(database, course)
    async with database.session() as session:
        await enroll(session, student, course.id)
        (await session.get(type(course), course.id)).is_published = False
    async with database.session() as session:
        assert (await catalog_page(session, newcomer)).total == 0
        assert (await catalog_page(session, student)).total == 0
        with pytest.raises(NotFound):
            await enroll(session, newcomer, course.id)
        assert (await course_card(session, student, course.id)).enrolled
        assert (await open_lesson(session, student, first)).position == 1
        outcome, _ = await complete_lesson(session, student, first)
        assert outcome.progress == 50


async def test_concurrent_completions_never_lose_progress(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    course = await make_course(database, teacher, lessons=6)
    ids = await lesson_ids(database, course)
    async with database.session() as session:
        await enroll(session, student, course.id)

    async def complete(lesson_id: int) -> None:
        async with database.session() as session:
            await complete_lesson(session, student, lesson_id)

    await asyncio.gather(*(complete(lesson_id) for lesson_id in ids))
    async with database.session() as session:
        [row] = await my_progress(session, student)
        assert (row.done, row.percentage) == (6, 100) and row.completed_at is not None


async def test_progress_rounds_halves_up_on_every_backend(database):
    teacher = await make_user(database, 1, Role.instructor)
    student = await make_user(database, 2)
    course = await make_course(database, teacher, lessons=8)
    async with database.session() as session:
        await enroll(session, student, course.id)
        first = await session.scalar(
            select(Lesson.id).where(Lesson.course_id == course.id).order_by(Lesson.order_index)
        )
        outcome, _ = await complete_lesson(session, student, first)
    assert outcome.progress == 13, "1 of 8 is 12.5 %, shown as 13 % (PostgreSQL said 12)"

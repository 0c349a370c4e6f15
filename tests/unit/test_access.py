"""Who may see, learn and manage a course: instructor A vs instructor B vs admin vs student."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.access import access, managed_by, manages
from db.catalog import course_card
from db.engine import Database
from db.errors import Forbidden, NotFound
from db.learning import enroll, open_lesson
from db.models import Course, Lesson, Role
from db.quizzes import quiz_info
from tests.conftest import make_course, make_user


async def test_a_course_is_managed_by_its_instructor_and_every_admin(database: Database):
    alice = await make_user(database, 1, Role.instructor, "Alice")
    bert = await make_user(database, 2, Role.instructor, "Bert")
    admin = await make_user(database, 3, Role.admin, "Admin")
    student = await make_user(database, 4, Role.student, "Sam")
    mine = await make_course(database, alice, title="Alice's", published=False)
    await make_course(database, bert, title="Bert's", published=False)
    async with database.session() as session:
        for user, expected in ((alice, True), (bert, False), (admin, True), (student, False)):
            assert manages(user, mine) is expected, user.full_name
            managed = await session.scalars(select(Course.title).where(managed_by(user)))
            assert (mine.title in set(managed)) is expected, user.full_name


async def test_a_draft_and_its_lessons_are_open_to_its_managers_only(database: Database):
    alice = await make_user(database, 1, Role.instructor, "Alice")
    bert = await make_user(database, 2, Role.instructor, "Bert")
    admin = await make_user(database, 3, Role.admin, "Admin")
    draft = await make_course(database, alice, title="Draft", published=False)
    async with database.session() as session:
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == draft.id))
        for manager in (alice, admin):
            assert (await course_card(session, manager, draft.id)).course.id == draft.id
            view = await open_lesson(session, manager, lesson_id)
            assert view.lesson.id == lesson_id and not view.enrolled, "a preview"
        with pytest.raises(NotFound):
            await course_card(session, bert, draft.id)
        with pytest.raises(NotFound):
            await open_lesson(session, bert, lesson_id)


async def test_lessons_of_a_published_course_wait_for_enrollment(database: Database):
    alice = await make_user(database, 1, Role.instructor, "Alice")
    bert = await make_user(database, 2, Role.instructor, "Bert")
    course = await make_course(database, alice, title="Open")
    async with database.session() as session:
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == course.id))
        with pytest.raises(Forbidden):
            await open_lesson(session, bert, lesson_id)
        await enroll(session, bert, course.id)
        assert (await open_lesson(session, bert, lesson_id)).enrolled
        seen = await access(session, bert, course)
        assert seen.visible and seen.lessons_open and not seen.manages


async def test_unpublishing_never_locks_an_enrolled_student_out(database: Database):
    alice = await make_user(database, 1, Role.instructor, "Alice")
    student = await make_user(database, 4)
    course = await make_course(database, alice, title="Soon hidden")
    async with database.session() as session:
        await enroll(session, student, course.id)
        stored = await session.get(Course, course.id)
        stored.is_published = False
    async with database.session() as session:
        assert (await course_card(session, student, course.id)).enrolled
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == course.id))
        assert (await open_lesson(session, student, lesson_id)).enrolled
        with pytest.raises(NotFound):
            await quiz_info(session, student, 10**6)

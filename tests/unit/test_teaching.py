"""Instructor authoring (db.teaching): instructor A vs instructor B vs admin vs student, on a real
database; progress stays true as lessons come and go; lesson order stays contiguous."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import refusal
from db.authoring import CourseDraft, LessonDraft, OptionDraft, QuestionDraft, QuizDraft
from db.engine import Database
from db.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Reason
from db.learning import complete_lesson, enroll
from db.limits import (
    MAX_CATEGORY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_DURATION_MINUTES,
    MAX_ENROLLMENT_KEY_LENGTH,
    MAX_LESSON_CONTENT_LENGTH,
    MAX_TITLE_LENGTH,
)
from db.models import (
    AnswerOption,
    Base,
    Course,
    Difficulty,
    Enrollment,
    Lesson,
    LessonCompletion,
    MediaKind,
    Question,
    QuestionType,
    Quiz,
    QuizAttempt,
    Role,
    User,
)
from db.security import verify_secret
from db.teaching import (
    add_lesson,
    course_management,
    create_draft,
    delete_course,
    delete_lesson,
    managed_lesson,
    move_lesson,
    publish,
    set_enrollment_key,
    teaching_page,
    unpublish,
    update_course,
    update_lesson,
    validate_course_field,
)
from tests.conftest import make_course, make_user


async def cast(database: Database) -> tuple[User, User, User, User]:
    """Instructor A (Alice), instructor B (Bert), an admin and a student (Sam)."""
    return (
        await make_user(database, 1, Role.instructor, "Alice"),
        await make_user(database, 2, Role.instructor, "Bert"),
        await make_user(database, 3, Role.admin, "Admin"),
        await make_user(database, 4, Role.student, "Sam"),
    )


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: what "nothing changed" compares."""
    async with database.session() as session:
        return {
            table.name: [
                tuple(row)
                for row in await session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


async def lessons_of(database: Database, course_id: int) -> list[tuple[int, str, int]]:
    """(id, title, order_index) of a course's lessons, in order."""
    async with database.session() as session:
        rows = await session.execute(
            select(Lesson.id, Lesson.title, Lesson.order_index)
            .where(Lesson.course_id == course_id)
            .order_by(Lesson.order_index)
        )
        return [tuple(row) for row in rows]


async def enrollment_of(database: Database, student: User, course_id: int) -> Enrollment:
    async with database.session() as session:
        enrollment = await session.scalar(
            select(Enrollment).where(
                Enrollment.student_id == student.id, Enrollment.course_id == course_id
            )
        )
    assert enrollment is not None
    return enrollment


async def run(database: Database, operation: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async with database.session() as session:
        return await operation(session)


async def refused(
    database: Database, operation: Callable[[AsyncSession], Awaitable[Any]]
) -> DomainError:
    """The refusal of an operation whose session then commits: a refusal must write nothing."""
    async with database.session() as session:
        try:
            await operation(session)
        except DomainError as error:
            return error
    raise AssertionError("not refused")


def short(value: object) -> str:
    """A test id for a value that may be thousands of characters long."""
    text = repr(value)
    return text if len(text) <= 16 else f"{text[:12]}…"


def quiz_draft() -> QuizDraft:
    question = QuestionDraft(
        "Which?", QuestionType.single_choice, [OptionDraft("this", True), OptionDraft("that")]
    )
    return QuizDraft("Check", questions=[question])


# -- who may do what -------------------------------------------------------------------------------

Operation = Callable[[AsyncSession, User, int, int], Awaitable[Any]]
COURSE_GONE, LESSON_GONE = Reason.course_not_available, Reason.lesson_gone


@dataclass(frozen=True)
class Case:
    """An operation on a course or on its second lesson, and what outsiders get instead."""

    call: Operation
    gone: Reason
    writes: bool = True
    published: bool = True  # the course's state before
    keyed: bool = False


CASES = {
    "course_management": Case(
        lambda s, u, c, n: course_management(s, u, c), COURSE_GONE, writes=False
    ),
    "update_course": Case(lambda s, u, c, n: update_course(s, u, c, title="New"), COURSE_GONE),
    "set_key": Case(lambda s, u, c, n: set_enrollment_key(s, u, c, "sesame"), COURSE_GONE),
    "clear_key": Case(
        lambda s, u, c, n: set_enrollment_key(s, u, c, None), COURSE_GONE, keyed=True
    ),
    "publish": Case(lambda s, u, c, n: publish(s, u, c), COURSE_GONE, published=False),
    "unpublish": Case(lambda s, u, c, n: unpublish(s, u, c), COURSE_GONE),
    "delete_course": Case(lambda s, u, c, n: delete_course(s, u, c), COURSE_GONE),
    "add_lesson": Case(lambda s, u, c, n: add_lesson(s, u, c, title="Extra"), COURSE_GONE),
    "update_lesson": Case(lambda s, u, c, n: update_lesson(s, u, n, content="New"), LESSON_GONE),
    "move_lesson": Case(lambda s, u, c, n: move_lesson(s, u, n, +1), LESSON_GONE),
    "delete_lesson": Case(lambda s, u, c, n: delete_lesson(s, u, n), LESSON_GONE),
    "managed_lesson": Case(lambda s, u, c, n: managed_lesson(s, u, n), LESSON_GONE, writes=False),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_only_the_instructor_and_admins_manage_a_course(database: Database, case: Case):
    alice, bert, admin, sam = await cast(database)
    key = "old key" if case.keyed else None
    first, second = [
        await make_course(database, alice, title=title, published=case.published, key=key)
        for title in ("First", "Second")
    ]
    await make_course(database, bert, title="Bert's")
    (done, _, _), (first_lesson, _, _), _ = await lessons_of(database, first.id)
    second_lesson = (await lessons_of(database, second.id))[1][0]
    if case.published:
        async with database.session() as session:
            await enroll(session, sam, first.id, key)
            await complete_lesson(session, sam, done)

    before = await snapshot(database)
    for outsider in (bert, sam):
        error = await refused(
            database, lambda s, u=outsider: case.call(s, u, first.id, first_lesson)
        )
        assert isinstance(error, NotFound) and error.reason == case.gone, outsider.full_name
    assert await snapshot(database) == before, "a refusal changes nothing"

    for manager, course_id, lesson_id in (
        (alice, first.id, first_lesson),
        (admin, second.id, second_lesson),
    ):
        await run(database, lambda s, u=manager, c=course_id, n=lesson_id: case.call(s, u, c, n))
        after = await snapshot(database)
        assert (after != before) is case.writes, manager.full_name
        before = after


async def test_teaching_is_for_instructors_and_admins(database: Database):
    alice, bert, admin, sam = await cast(database)
    await make_course(database, alice, title="Alice's")
    await make_course(database, bert, title="Bert's")
    before = await snapshot(database)
    for call in (
        lambda s: teaching_page(s, sam, 0),
        lambda s: create_draft(s, sam, title="Mine now"),
    ):
        error = await refused(database, call)
        assert isinstance(error, Forbidden)
        assert error.reason == Reason.role_required and error.data == {"role": Role.instructor}
    assert await snapshot(database) == before
    async with database.session() as session:
        bert_sees = await teaching_page(session, bert, 0)
        assert [entry.course.title for entry in bert_sees.items] == ["Bert's"]
        for manager in (bert, admin):
            draft = await create_draft(session, manager, title=f"By {manager.full_name}")
            assert draft.instructor_id == manager.id and not draft.is_published


async def test_a_draft_is_created_with_validated_fields(database: Database):
    alice, *_ = await cast(database)
    async with database.session() as session:
        course = await create_draft(
            session,
            alice,
            title="  Rust for Pythonistas ",
            description=" <b>Fast</b> and safe. ",
            category=" Programming ",
            difficulty=Difficulty.advanced,
            duration_minutes=90,
        )
    async with database.session() as session:
        stored = await session.get(Course, course.id)
        assert stored is not None
        assert (stored.title, stored.description, stored.category) == (
            "Rust for Pythonistas",
            "<b>Fast</b> and safe.",
            "Programming",
        )
        assert stored.difficulty is Difficulty.advanced and stored.duration_minutes == 90
        assert not stored.is_published and stored.enrollment_key_hash is None
    before = await snapshot(database)
    error = await refused(database, lambda s: create_draft(s, alice, title="x" * 201))
    assert isinstance(error, Invalid) and error.reason == Reason.field_too_long
    assert await snapshot(database) == before


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "reason", "data", "words"),
    [
        ("title", "   ", Reason.field_empty, {"field": "title"}, "The title can't be empty."),
        (
            "title",
            "x" * (MAX_TITLE_LENGTH + 1),
            Reason.field_too_long,
            {"field": "title", "limit": MAX_TITLE_LENGTH},
            "The title can be at most 200 characters long.",
        ),
        ("title", "a\0b", Reason.field_unstorable, {"field": "title"}, "The title holds"),
        (
            "description",
            "d" * (MAX_DESCRIPTION_LENGTH + 1),
            Reason.field_too_long,
            {"field": "description", "limit": MAX_DESCRIPTION_LENGTH},
            "The description can be at most 4000 characters long.",
        ),
        (
            "category",
            "c" * (MAX_CATEGORY_LENGTH + 1),
            Reason.field_too_long,
            {"field": "category", "limit": MAX_CATEGORY_LENGTH},
            "The category can be at most 100 characters long.",
        ),
        *[
            (
                "duration_minutes",
                bad,
                Reason.duration_out_of_range,
                {"limit": MAX_DURATION_MINUTES},
                "The duration is a whole number of minutes, from 0 to 100000.",
            )
            for bad in (-1, MAX_DURATION_MINUTES + 1, "ninety", "1.5", "²", True, 1.0, "9" * 5000)
        ],
        (
            "difficulty",
            "expert",
            Reason.difficulty_unknown,
            {},
            "Choose a difficulty: beginner, intermediate or advanced.",
        ),
    ],
    ids=lambda value: value if isinstance(value, Reason) else short(value),
)
def test_each_field_is_refused_with_its_own_words(
    name: str, value: object, reason: Reason, data: dict[str, Any], words: str
):
    with pytest.raises(Invalid) as caught:
        validate_course_field(name, value)
    assert caught.value.reason == reason and caught.value.data == data
    assert refusal(caught.value).startswith(words)


@pytest.mark.parametrize(
    ("name", "value", "cleaned"),
    [
        ("title", "  Python  ", "Python"),
        ("title", "x" * MAX_TITLE_LENGTH, "x" * MAX_TITLE_LENGTH),
        ("description", "", ""),
        ("description", " <i>Hi</i>\n", "<i>Hi</i>"),
        ("category", "", ""),
        ("duration_minutes", 0, 0),
        ("duration_minutes", MAX_DURATION_MINUTES, MAX_DURATION_MINUTES),
        ("duration_minutes", " 90 ", 90),
        ("difficulty", Difficulty.intermediate, Difficulty.intermediate),
        ("difficulty", " Advanced ", Difficulty.advanced),
    ],
)
def test_good_values_come_back_cleaned(name: str, value: object, cleaned: object):
    assert validate_course_field(name, value) == cleaned


def test_an_unknown_field_is_a_bug_not_input():
    with pytest.raises(ValueError):
        validate_course_field("instructor_id", 2)


async def test_update_course_validates_and_sets_updated_at(database: Database):
    alice, *_ = await cast(database)
    course = await make_course(database, alice, published=False)
    before = await snapshot(database)
    for fields in ({"title": ""}, {"category": "c" * 101}, {"duration_minutes": -5}):
        assert isinstance(
            await refused(database, lambda s, f=fields: update_course(s, alice, course.id, **f)),
            Invalid,
        )
    assert await snapshot(database) == before
    with pytest.raises(TypeError):
        await run(database, lambda s: update_course(s, alice, course.id, is_published=True))
    async with database.session() as session:
        updated = await update_course(
            session,
            alice,
            course.id,
            title=" Python Deep Dive ",
            difficulty=Difficulty.intermediate,
            duration_minutes="120",
        )
    async with database.session() as session:
        stored = await session.get(Course, course.id)
        assert stored is not None
        assert stored.title == updated.title == "Python Deep Dive"
        assert stored.difficulty is Difficulty.intermediate and stored.duration_minutes == 120
        assert stored.description == "Your first steps.", "fields not given stay"
        assert stored.updated_at > course.updated_at


async def test_lesson_fields_are_validated(database: Database):
    alice, *_ = await cast(database)
    course = await make_course(database, alice)
    before = await snapshot(database)
    for call, reason, data in (
        (lambda s: add_lesson(s, alice, course.id, title=" "), Reason.field_empty, "title"),
        (
            lambda s: add_lesson(
                s, alice, course.id, title="T", content="c" * (MAX_LESSON_CONTENT_LENGTH + 1)
            ),
            Reason.field_too_long,
            "content",
        ),
    ):
        error = await refused(database, call)
        assert isinstance(error, Invalid) and error.reason == reason
        assert error.data["field"] == data
    assert refusal(error) == "The content can be at most 50000 characters long."
    with pytest.raises(ValueError):
        await run(
            database,
            lambda s: add_lesson(s, alice, course.id, title="T", media_kind=MediaKind.photo),
        )
    assert await snapshot(database) == before


# -- the enrollment key ----------------------------------------------------------------------------


async def test_the_key_is_stored_hashed_and_can_be_cleared(database: Database):
    alice, _, _, sam = await cast(database)
    course = await make_course(database, alice)
    async with database.session() as session:
        await set_enrollment_key(session, alice, course.id, "  open sesame ")
    async with database.session() as session:
        stored = await session.get(Course, course.id)
        assert stored is not None and stored.enrollment_key_hash is not None
        assert stored.enrollment_key_hash != "open sesame"
        assert verify_secret("open sesame", stored.enrollment_key_hash)
        assert (await course_management(session, alice, course.id)).has_key
    async with database.session() as session:
        assert (await enroll(session, sam, course.id, "open sesame")).created

    before = await snapshot(database)
    for key, reason in (
        ("   ", Reason.field_empty),
        ("k" * (MAX_ENROLLMENT_KEY_LENGTH + 1), Reason.field_too_long),
    ):
        error = await refused(database, lambda s, k=key: set_enrollment_key(s, alice, course.id, k))
        assert isinstance(error, Invalid) and error.reason == reason
        assert error.data["field"] == "key"
    assert await snapshot(database) == before

    async with database.session() as session:
        await set_enrollment_key(session, alice, course.id, None)
    async with database.session() as session:
        stored = await session.get(Course, course.id)
        assert stored is not None and stored.enrollment_key_hash is None
        assert not (await course_management(session, alice, course.id)).has_key


# -- publishing ------------------------------------------------------------------------------------


async def test_a_course_without_lessons_cannot_be_published(database: Database):
    alice, *_ = await cast(database)
    async with database.session() as session:
        course = await create_draft(session, alice, title="Empty")
    before = await snapshot(database)
    error = await refused(database, lambda s: publish(s, alice, course.id))
    assert isinstance(error, Conflict) and error.reason == Reason.publish_needs_a_lesson
    assert await snapshot(database) == before
    async with database.session() as session:
        await add_lesson(session, alice, course.id, title="First steps", content="Hello")
        assert (await publish(session, alice, course.id)).is_published
    async with database.session() as session:
        assert not (await unpublish(session, alice, course.id)).is_published
    async with database.session() as session:
        stored = await session.get(Course, course.id)
        assert stored is not None and not stored.is_published


async def test_a_published_course_keeps_its_last_lesson(database: Database):
    alice, *_ = await cast(database)
    course = await make_course(database, alice, lessons=1)
    [(only, _, _)] = await lessons_of(database, course.id)
    before = await snapshot(database)
    error = await refused(database, lambda s: delete_lesson(s, alice, only))
    assert isinstance(error, Conflict) and error.reason == Reason.published_course_keeps_a_lesson
    assert await snapshot(database) == before
    async with database.session() as session:
        await unpublish(session, alice, course.id)
        await delete_lesson(session, alice, only)
    assert await lessons_of(database, course.id) == []


# -- progress stays true ---------------------------------------------------------------------------


async def test_adding_a_lesson_unfinishes_the_course_and_deleting_it_finishes_it_again(
    database: Database,
):
    alice, _, _, sam = await cast(database)
    ann = await make_user(database, 5, Role.student, "Ann")
    course = await make_course(database, alice, lessons=1)
    [(first, _, _)] = await lessons_of(database, course.id)
    async with database.session() as session:
        await enroll(session, sam, course.id)
        await enroll(session, ann, course.id)
        await complete_lesson(session, sam, first)
    done = await enrollment_of(database, sam, course.id)
    assert done.progress_percentage == 100 and done.completed_at is not None

    async with database.session() as session:
        lesson = await add_lesson(session, alice, course.id, title="Second", content="More")
    assert lesson.order_index == 1
    dropped = await enrollment_of(database, sam, course.id)
    assert dropped.progress_percentage == 50 and dropped.completed_at is None
    assert (await enrollment_of(database, ann, course.id)).progress_percentage == 0

    async with database.session() as session:
        await delete_lesson(session, alice, lesson.id)
    back = await enrollment_of(database, sam, course.id)
    assert back.progress_percentage == 100 and back.completed_at is not None
    assert (await enrollment_of(database, ann, course.id)).completed_at is None


async def test_deleting_the_one_lesson_left_to_do_completes_the_course(database: Database):
    alice, _, _, sam = await cast(database)
    course = await make_course(database, alice, lessons=3)
    ids = [lesson_id for lesson_id, _, _ in await lessons_of(database, course.id)]
    async with database.session() as session:
        await enroll(session, sam, course.id)
        await complete_lesson(session, sam, ids[0])
        await complete_lesson(session, sam, ids[2])
    before = await enrollment_of(database, sam, course.id)
    assert before.progress_percentage == 67 and before.completed_at is None
    async with database.session() as session:
        course_after = await delete_lesson(session, alice, ids[1])
    assert course_after.id == course.id
    after = await enrollment_of(database, sam, course.id)
    assert after.progress_percentage == 100 and after.completed_at is not None
    assert await lessons_of(database, course.id) == [
        (ids[0], "Lesson 1", 0),
        (ids[2], "Lesson 3", 1),
    ], "the order closes up"


# -- lesson order ----------------------------------------------------------------------------------


async def test_lessons_move_up_and_down_and_stop_at_the_edges(database: Database):
    alice, *_ = await cast(database)
    course = await make_course(database, alice, lessons=4)
    await make_course(database, alice, lessons=4, title="Untouched")
    a, b, c, d = [lesson_id for lesson_id, _, _ in await lessons_of(database, course.id)]

    async def order() -> list[int]:
        rows = await lessons_of(database, course.id)
        assert [index for _, _, index in rows] == list(range(len(rows))), "contiguous, unique"
        return [lesson_id for lesson_id, _, _ in rows]

    async with database.session() as session:
        moved = await move_lesson(session, alice, c, -1)
        assert (moved.id, moved.order_index) == (c, 1), "the returned lesson is current"
    assert await order() == [a, c, b, d]
    async with database.session() as session:
        await move_lesson(session, alice, c, -1)
        await move_lesson(session, alice, a, +1)
        await move_lesson(session, alice, a, +1)
    assert await order() == [c, b, d, a]

    before = await snapshot(database)
    for lesson_id, offset in ((c, -1), (a, +1)):
        error = await refused(
            database, lambda s, i=lesson_id, o=offset: move_lesson(s, alice, i, o)
        )
        assert isinstance(error, Conflict) and error.reason == Reason.lesson_at_edge
    assert await snapshot(database) == before
    with pytest.raises(ValueError):
        await run(database, lambda s: move_lesson(s, alice, b, 2))

    async with database.session() as session:
        await delete_lesson(session, alice, b)
        lesson = await add_lesson(session, alice, course.id, title="Appended")
        await move_lesson(session, alice, lesson.id, -1)
    assert await order() == [c, d, lesson.id, a]


async def test_concurrent_changes_to_one_course_keep_the_order_contiguous(database: Database):
    alice, _, admin, sam = await cast(database)
    course = await make_course(database, alice, lessons=3)
    a, b, c = [lesson_id for lesson_id, _, _ in await lessons_of(database, course.id)]
    async with database.session() as session:
        await enroll(session, sam, course.id)
        await complete_lesson(session, sam, a)

    async def change(operation: Callable[[AsyncSession], Awaitable[Any]]) -> None:
        async with database.session() as session:
            await operation(session)

    await asyncio.gather(
        *(
            change(lambda s, u=user, i=i: add_lesson(s, u, course.id, title=f"New {i}"))
            for i, user in enumerate((alice, admin, alice, admin, alice))
        ),
        change(lambda s: move_lesson(s, alice, b, -1)),
        change(lambda s: delete_lesson(s, admin, c)),
    )
    rows = await lessons_of(database, course.id)
    assert [index for _, _, index in rows] == list(range(7))
    assert {title for _, title, _ in rows} == {"Lesson 1", "Lesson 2"} | {
        f"New {i}" for i in range(5)
    }
    assert (await enrollment_of(database, sam, course.id)).progress_percentage == 14  # 1 of 7


async def test_a_lesson_is_edited_in_place(database: Database):
    alice, *_ = await cast(database)
    course = await make_course(database, alice, lessons=2)
    lesson_id = (await lessons_of(database, course.id))[0][0]
    async with database.session() as session:
        lesson = await update_lesson(
            session,
            alice,
            lesson_id,
            title=" Variables ",
            media_kind=MediaKind.photo,
            media_file_id="AgACAgIAAxk",
        )
        assert (lesson.title, lesson.content) == ("Variables", "Content 1")
    async with database.session() as session:
        lesson = await update_lesson(session, alice, lesson_id, content="<b>New</b>")
        assert lesson.media_kind is MediaKind.photo, "media not given stay"
        lesson = await update_lesson(session, alice, lesson_id, media_kind=None)
    async with database.session() as session:
        stored, owner = await managed_lesson(session, alice, lesson_id)
        assert owner.id == course.id and stored.title == "Variables"
        assert stored.content == "<b>New</b>" and stored.media_kind is None
        assert stored.media_file_id is None
    with pytest.raises(ValueError):
        await run(database, lambda s: update_lesson(s, alice, lesson_id, media_file_id="x"))


# -- the management card and /teach ----------------------------------------------------------------


async def test_the_management_card_lists_lessons_quizzes_and_media(database: Database):
    alice, _, _, sam = await cast(database)
    draft = CourseDraft(
        title="Rich",
        published=True,
        lessons=[
            LessonDraft("Plain", "text"),
            LessonDraft("Quizzed", "text", quiz=quiz_draft()),
            LessonDraft("Pictured", "", media_kind=MediaKind.photo, media_file_id="file"),
        ],
    )
    course = await make_course(database, alice, draft=draft)
    async with database.session() as session:
        await enroll(session, sam, course.id)
        card = await course_management(session, alice, course.id)
    assert card.course.id == course.id and card.enrolled_count == 1 and not card.has_key
    assert [(line.title, line.has_quiz, line.media_kind) for line in card.lessons] == [
        ("Plain", False, None),
        ("Quizzed", True, None),
        ("Pictured", False, MediaKind.photo),
    ]


async def test_admins_see_their_own_courses_first_then_everyone_elses(database: Database):
    alice, bert, admin, sam = await cast(database)
    created: dict[str, Course] = {}
    for owner, title, lessons in (
        (alice, "A1", 1),
        (admin, "Admin1", 2),
        (bert, "B1", 3),
        (alice, "A2", 0),
        (admin, "Admin2", 1),
        (bert, "B2", 2),
        (alice, "A3", 4),
    ):
        created[title] = await make_course(
            database, owner, lessons, title=title, published=lessons > 0
        )
    async with database.session() as session:
        await enroll(session, sam, created["B1"].id)
        await enroll(session, admin, created["B1"].id)
        await enroll(session, sam, created["A3"].id)

    async with database.session() as session:
        first = await teaching_page(session, admin, 0)
        second = await teaching_page(session, admin, 1)
        beyond = await teaching_page(session, admin, 99)
        alices = await teaching_page(session, alice, 0)
    assert (first.page, first.pages, first.total) == (0, 2, 7)
    assert [e.course.title for e in first.items] == ["Admin2", "Admin1", "A3", "B2", "A2"]
    assert [e.course.title for e in second.items] == ["B1", "A1"]
    assert beyond.page == 1 and beyond.items == second.items
    counts = {e.course.title: (e.lesson_count, e.enrolled_count) for e in first.items}
    counts |= {e.course.title: (e.lesson_count, e.enrolled_count) for e in second.items}
    assert counts == {
        "Admin2": (1, 0),
        "Admin1": (2, 0),
        "A3": (4, 1),
        "B2": (2, 0),
        "A2": (0, 0),
        "B1": (3, 2),
        "A1": (1, 0),
    }
    assert [e.course.title for e in alices.items] == ["A3", "A2", "A1"]
    assert (alices.pages, alices.total) == (1, 3)
    assert [(e.lesson_count, e.enrolled_count) for e in alices.items] == [(4, 1), (0, 0), (1, 0)]


async def test_teaching_page_reads_the_rows_and_the_total_in_two_queries(database: Database):
    alice, *_ = await cast(database)
    for index in range(3):
        await make_course(database, alice, title=f"C{index}")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith(("BEGIN", "PRAGMA")):
            statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with database.session() as session:
            page = await teaching_page(session, alice, 0)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert len(page.items) == 3
    assert len(statements) == 2, statements


# -- deleting a course -----------------------------------------------------------------------------


async def test_deleting_a_course_takes_everything_of_it_and_nothing_else(database: Database):
    alice, bert, _, sam = await cast(database)
    quizzed = CourseDraft(
        title="Doomed",
        published=True,
        lessons=[LessonDraft("One", "x"), LessonDraft("Two", "y", quiz=quiz_draft())],
    )
    doomed = await make_course(database, alice, draft=quizzed)
    kept = await make_course(database, alice, draft=replace(quizzed, title="Kept"))
    others = await make_course(database, bert, title="Bert's")
    for course in (doomed, kept, others):
        ids = [lesson_id for lesson_id, _, _ in await lessons_of(database, course.id)]
        async with database.session() as session:
            await enroll(session, sam, course.id)
            await complete_lesson(session, sam, ids[0])
            quiz_id = await session.scalar(select(Quiz.id).where(Quiz.lesson_id.in_(ids)))
            if quiz_id is not None:
                session.add(QuizAttempt(quiz_id=quiz_id, student_id=sam.id, answers={}))

    async def counts() -> dict[str, int]:
        async with database.session() as session:
            return {
                model.__tablename__: await session.scalar(select(func.count(model.id))) or 0
                for model in (
                    Course,
                    Lesson,
                    Enrollment,
                    LessonCompletion,
                    Quiz,
                    Question,
                    AnswerOption,
                    QuizAttempt,
                )
            }

    before = await counts()
    untouched = await snapshot(database)
    async with database.session() as session:
        card = await course_management(session, alice, doomed.id)
        assert card.enrolled_count == 1
        assert await delete_course(session, alice, doomed.id) == "Doomed"
    after = await counts()
    assert {name: before[name] - after[name] for name in before} == {
        "courses": 1,
        "lessons": 2,
        "enrollments": 1,
        "lesson_completions": 1,
        "quizzes": 1,
        "questions": 1,
        "answer_options": 2,
        "quiz_attempts": 1,
    }
    remaining = await snapshot(database)
    for table, column in (
        ("courses", "id"),
        ("lessons", "course_id"),
        ("enrollments", "course_id"),
    ):
        index = list(Base.metadata.tables[table].columns.keys()).index(column)
        expected = [row for row in untouched[table] if row[index] != doomed.id]
        assert remaining[table] == expected, f"the other courses' {table} are untouched"
    async with database.session() as session:
        with pytest.raises(NotFound):
            await course_management(session, alice, doomed.id)

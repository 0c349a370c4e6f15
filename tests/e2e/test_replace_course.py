"""An instructor replaces a course in place from a course file (📥 Replace from file): the
students stay enrolled and keep their completions of the lessons whose ``id`` the file keeps."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select

from bot.callbacks import Action, encode
from bot.emulator.users import ChatMessage, TestUser
from db.models import Course, Enrollment, Lesson, LessonCompletion
from tests.e2e.conftest import BotHarness, has_button, simple_course
from tests.e2e.test_authoring import courses, teacher_of


async def lessons(bot: BotHarness, course_id: int) -> list[tuple[int, str, str]]:
    """(id, title, content) of the course's lessons, in order."""
    async with bot.database.session() as session:
        rows = await session.execute(
            select(Lesson.id, Lesson.title, Lesson.content)
            .where(Lesson.course_id == course_id)
            .order_by(Lesson.order_index)
        )
        return [tuple(row) for row in rows]


async def enrollment(bot: BotHarness) -> tuple[int, Any, list[int]]:
    """The one enrollment's progress and completion date, and its student's completions."""
    async with bot.database.session() as session:
        row = await session.scalar(select(Enrollment))
        done = list(await session.scalars(select(LessonCompletion.lesson_id)))
    assert row is not None
    return row.progress_percentage, row.completed_at, sorted(done)


async def enrolled(bot: BotHarness, course: Course, completed: int) -> TestUser:
    """Ann, enrolled, who completed the course's first ``completed`` lessons."""
    ann = bot.emulator.user(3001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    for number in range(completed):
        await ann.press("Complete")
        if number + 1 < completed:
            await ann.press("Next lesson")
    return ann


async def exported(bot: BotHarness, tess: TestUser, title: str) -> dict[str, Any]:
    """The course as 📤 Export sends it, read as data to edit."""
    await tess.send("/teach")
    await tess.press(title)
    await tess.press("Export")
    return yaml.safe_load(bot.emulator.file(tess.last.file_id).content.decode())


def as_file(data: dict[str, Any]) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


def confirm_data(question: ChatMessage) -> str:
    """The callback data of the question's Confirm button."""
    return next(
        button["callback_data"]
        for row in question.buttons
        for button in row
        if "Confirm" in button["text"]
    )


def edited(data: dict[str, Any]) -> bytes:
    """Lesson 1 renamed and rewritten, lesson 2 deleted, a new lesson, and a new order."""
    first, _second, third = data["lessons"]
    first = first | {"title": "Basics", "content": "All <b>new</b> text."}
    return as_file(data | {"lessons": [third, {"title": "Extra", "content": "More."}, first]})


async def test_a_course_is_replaced_in_place_and_students_keep_what_they_completed(
    bot: BotHarness,
):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Replaceable", lessons=3))
    one, two, three = [lesson_id for lesson_id, _, _ in await lessons(bot, course.id)]
    ann = await enrolled(bot, course, completed=2)
    assert await enrollment(bot) == (67, None, sorted([one, two]))
    data = await exported(bot, tess, "Replaceable")
    assert [lesson["id"] for lesson in data["lessons"]] == [one, two, three]

    await tess.press("Replace from file")
    prompt = tess.last
    assert "Replaceable" in prompt.text and "id:" in prompt.text and has_button(prompt, "Cancel")
    assert "Enrollments stay" in prompt.text
    [question] = await tess.send_document("replaceable.yaml", edited(data))
    assert (
        "2 kept, 1 added, 1 removed" in question.text and "1 student is enrolled" in question.text
    )
    assert has_button(question, "Confirm") and has_button(question, "Cancel")
    assert [title for _, title, _ in await lessons(bot, course.id)] == [
        "Lesson 1",
        "Lesson 2",
        "Lesson 3",
    ], "nothing changes before Confirm"

    answer = await tess.press("Confirm")
    assert answer is not None and not answer.show_alert
    assert "replaced" in question.text and not question.buttons, "the question says it is done"
    card = tess.last
    assert "1. Lesson 3" in card.text and "2. Extra" in card.text and "3. Basics" in card.text
    rows = await lessons(bot, course.id)
    assert (rows[0][:2], rows[2]) == ((three, "Lesson 3"), (one, "Basics", "All <b>new</b> text."))
    assert rows[1][0] not in (one, two, three) and rows[1][1:] == ("Extra", "More.")
    assert await enrollment(bot) == (33, None, [one]), "lesson 1 kept its completion"
    [report] = await ann.send("/progress")
    assert "1 of 3 lessons done" in report.text and "33%" in report.text

    # A second file keeps lesson 1 only: Ann has now finished the course.
    data = await exported(bot, tess, "Replaceable")
    await tess.press("Replace from file")
    [question] = await tess.send_document(
        "short.yaml", as_file(data | {"lessons": [data["lessons"][2]]})
    )
    assert "1 kept, 0 added, 2 removed" in question.text
    await tess.press("Confirm")
    progress, finished, done = await enrollment(bot)
    assert (progress, done) == (100, [one]) and finished is not None
    async with bot.database.session() as session:
        assert await session.scalar(select(Enrollment.course_id)) == course.id, "still enrolled"


async def test_without_students_the_file_replaces_the_course_at_once(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Quiet", lessons=2, published=False))
    data = await exported(bot, tess, "Quiet")
    first = data["lessons"][0]
    await tess.press("Replace from file")
    replies = await tess.send_document(
        "quiet.yaml", as_file(data | {"title": "Quieter", "lessons": [first | {"title": "Only"}]})
    )
    assert "Quieter" in replies[0].text and "replaced" in replies[0].text
    assert not any(has_button(reply, "Confirm") for reply in replies)
    assert "1. Only" in replies[-1].text and has_button(replies[-1], "Replace from file")
    assert await lessons(bot, course.id) == [(first["id"], "Only", first["content"])]
    [stored] = await courses(bot)
    assert stored.title == "Quieter"


async def test_an_invalid_file_in_the_dialog_changes_nothing_and_names_the_place(
    bot: BotHarness,
):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Careful", lessons=2))
    await enrolled(bot, course, completed=1)
    data = await exported(bot, tess, "Careful")
    first, second = (lesson["id"] for lesson in data["lessons"])
    before = await lessons(bot, course.id)

    await tess.press("Replace from file")
    [hint] = await tess.send("here it comes")
    assert "document" in hint.text, "typed text is answered with a hint; the dialog waits"
    [refused] = await tess.send_document("notes.txt", b"hello")
    assert ".yaml, .yml or .json" in refused.text
    blank = data | {"lessons": [data["lessons"][0], data["lessons"][1] | {"title": ""}]}
    [error] = await tess.send_document("careful.yaml", as_file(blank))
    assert "lessons[1].title" in error.text, "the error names the place"
    twice = data | {"lessons": [data["lessons"][0], data["lessons"][1] | {"id": first}]}
    [error] = await tess.send_document("careful.yaml", as_file(twice))
    assert f"lessons[1].id: {first} is used by lessons[0] too" in error.text
    assert await lessons(bot, course.id) == before and len(await courses(bot)) == 1

    renamed = data | {"lessons": [data["lessons"][0], data["lessons"][1] | {"title": "Two"}]}
    [question] = await tess.send_document("careful.yaml", as_file(renamed))
    assert "2 kept, 0 added, 0 removed" in question.text
    [hint] = await tess.send("yes")
    assert "Confirm" in hint.text
    # Another document withdraws the question, even a refused one: its Confirm does nothing.
    [refused] = await tess.send_document("notes.txt", b"hello")
    assert ".yaml, .yml or .json" in refused.text
    stale = await tess.press("Confirm", message=question)
    assert stale.show_alert and "step has passed" in stale.text
    await tess.press("Replace from file")  # (any button leaves a dialog: this one too)
    [question] = await tess.send_document("careful.yaml", as_file(renamed))
    confirm = confirm_data(question)
    await tess.press("Cancel", message=question)
    assert has_button(question, "Replace from file"), "Cancel shows the card in its place"
    stale = await tess.press_data(confirm, question.message_id)
    assert stale.show_alert and "step has passed" in stale.text
    assert await lessons(bot, course.id) == before, "nothing changed"

    await tess.press("Replace from file")
    [cancelled] = await tess.send("/cancel")
    assert cancelled.text == "Cancelled. The course was not changed."
    replies = await tess.send_document("copy.yaml", as_file(renamed))
    assert "Imported" in replies[0].text, "outside the dialog a file is a new draft again"
    assert len(await courses(bot)) == 2 and await lessons(bot, course.id) == before
    assert second in [lesson_id for lesson_id, _, _ in before]


async def test_forged_or_stale_replace_buttons_change_nothing(bot: BotHarness):
    tess = await teacher_of(bot)
    otto = await teacher_of(bot, 900_777, "Otto")
    course = await bot.course(simple_course(title="Mine", lessons=3))
    ann = await enrolled(bot, course, completed=1)
    data = await exported(bot, tess, "Mine")
    await tess.press("Replace from file")
    [question] = await tess.send_document("mine.yaml", edited(data))
    confirm = confirm_data(question)
    before = await lessons(bot, course.id)

    [anchor] = await ann.send("/help")
    [other_anchor] = await otto.send("/help")
    for forged in (encode(Action.teach_replace, course.id), confirm):
        answer = await ann.press_data(forged, anchor.message_id)
        assert answer.show_alert and "instructors" in answer.text, forged
        answer = await otto.press_data(forged, other_anchor.message_id)
        assert answer.show_alert and "not available" in answer.text, forged
    replies = await otto.send_document("mine.yaml", edited(data))
    assert "Imported" in replies[0].text, "Otto's file is Otto's own new draft"
    assert await lessons(bot, course.id) == before

    # Tess's own dialog was left alone: her Confirm still works, once.
    await tess.press("Confirm", message=question)
    assert [title for _, title, _ in await lessons(bot, course.id)] == [
        "Lesson 3",
        "Extra",
        "Basics",
    ]
    after = await lessons(bot, course.id)
    again = await tess.press_data(confirm, question.message_id)
    assert again.show_alert and "step has passed" in again.text
    assert await lessons(bot, course.id) == after

    # The course deleted between the question and Confirm: an alert, nothing else.
    data = await exported(bot, tess, "Mine")
    await tess.press("Replace from file")
    [question] = await tess.send_document("mine.yaml", edited(data))
    async with bot.database.session() as session:
        await session.delete(await session.get(Course, course.id))
    gone = await tess.press("Confirm", message=question)
    assert gone.show_alert and "not available" in gone.text
    assert len(await courses(bot)) == 1, "only Otto's draft"


async def test_a_restart_between_the_file_and_confirm_loses_nothing(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Durable", lessons=3))
    one, _, three = [lesson_id for lesson_id, _, _ in await lessons(bot, course.id)]
    await enrolled(bot, course, completed=2)
    data = await exported(bot, tess, "Durable")
    await tess.press("Replace from file")
    [question] = await tess.send_document("durable.yaml", edited(data))
    await bot.restart()
    answer = await tess.press("Confirm", message=question)
    assert answer is not None and not answer.show_alert
    rows = await lessons(bot, course.id)
    assert [(lesson_id, title) for lesson_id, title, _ in rows if lesson_id in (one, three)] == [
        (three, "Lesson 3"),
        (one, "Basics"),
    ]
    assert await enrollment(bot) == (33, None, [one])

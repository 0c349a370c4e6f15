"""The whole authoring side in one journey, as an instructor and a student live it.

An instructor creates a course in the chat (a cancelled wizard and an invalid value, a restart in
the middle), adds a formatted text lesson, a photo lesson and a multi-message lesson (with a
restart in the middle), a quiz in the compact format (a malformed question first) and one from a
quiz poll, previews, publishes; a student enrolls, learns and passes; the instructor adds a lesson
(the student's 100 % drops), announces it, reorders, deletes one, replaces the course from an
edited file (the completions stay), and reads stats and a CSV that match the database. A student
and a second instructor forge the instructor's buttons and change nothing.
"""

from __future__ import annotations

import csv
import io

import yaml
from sqlalchemy import func, select

from bot.callbacks import Action, encode
from db.models import Course, Enrollment, Lesson, LessonCompletion, MediaKind, Question
from tests.e2e.conftest import BotHarness, has_button
from tests.e2e.test_announce import all_sent
from tests.e2e.test_authoring import teacher_of

BOLD_INTRO = [{"type": "bold", "offset": 0, "length": 9}]


async def titles(bot: BotHarness, course_id: int) -> list[str]:
    async with bot.database.session() as session:
        return list(
            await session.scalars(
                select(Lesson.title)
                .where(Lesson.course_id == course_id)
                .order_by(Lesson.order_index)
            )
        )


async def progress(bot: BotHarness) -> tuple[int, bool, list[str]]:
    """The one enrollment's percentage, whether it is completed, and the completed titles."""
    async with bot.database.session() as session:
        enrollment = await session.scalar(select(Enrollment))
        done = await session.scalars(
            select(Lesson.title)
            .join(LessonCompletion, LessonCompletion.lesson_id == Lesson.id)
            .order_by(Lesson.title)
        )
        assert enrollment is not None
        return enrollment.progress_percentage, enrollment.completed_at is not None, list(done)


async def test_an_instructor_builds_runs_and_replaces_a_course_while_a_student_learns(
    bot: BotHarness,
):
    tess = await teacher_of(bot)

    # -- the wizard: cancelled once, an invalid value, a restart in the middle -----------------
    await tess.send("/newcourse")
    await tess.send("Abandoned idea")
    [cancelled] = await tess.send("/cancel")
    assert "No course was created" in cancelled.text
    await tess.send("/newcourse")
    await tess.send("Python for everyone")
    await bot.restart()
    await tess.send("Variables and loops, step by step.", entities=BOLD_INTRO)
    await tess.send("Programming")
    await tess.press("Beginner")
    [bad] = await tess.send("an hour")
    assert "minutes" in bad.text, "an invalid value is explained and asked again"
    created = await tess.send("60")
    card = created[-1]
    assert "Python for everyone" in card.text and "draft" in card.text
    async with bot.database.session() as session:
        course = await session.scalar(select(Course))
    assert course is not None and course.description.startswith("<b>Variables</b>")

    # -- lessons: formatted text, a photo, several messages across a restart -------------------
    await tess.press("Add lesson", message=card)
    await tess.send("Variables")
    await tess.send(
        "A variable names a value.", entities=[{"type": "bold", "offset": 2, "length": 8}]
    )
    await tess.press("Done")
    await tess.press("Add lesson", message=tess.last)
    await tess.send("A picture")
    await tess.send_photo(caption="Memory, drawn")
    await tess.press("Done")
    await tess.press("Add lesson", message=tess.last)
    await tess.send("Long read")
    await tess.send("Part one.")
    await bot.restart()
    await tess.send("Part two.")
    await tess.press("Done")
    card = tess.last
    assert "1. Variables" in card.text and "3. Long read" in card.text
    async with bot.database.session() as session:
        lessons = list(await session.scalars(select(Lesson).order_by(Lesson.order_index)))
    assert lessons[0].content == "A <b>variable</b> names a value."
    assert lessons[1].media_kind == MediaKind.photo and lessons[1].content == "Memory, drawn"
    assert lessons[2].content == "Part one.\n\nPart two."

    # -- a quiz: a malformed question first, then the compact format and a quiz poll -----------
    await tess.press("1. Variables", message=card)
    await tess.press("Quiz")
    await tess.send("Variables check")
    await tess.send("60")
    await tess.press("Skip")
    await tess.press("Add questions")
    [error] = await tess.send("Which line assigns 4 to x?\n- x == 4\n- x := 4")
    assert "question 1" in error.text and "line" in error.text
    await tess.send("Which line assigns 4 to x?\n- x == 4\n+ x = 4\n> One = assigns, two compare.")
    await tess.send_quiz_poll("Is x = 4 an assignment?", ["yes", "no"], [0], explanation="It is.")
    await tess.press("Done")
    quiz_card = tess.last
    assert "Questions (2)" in quiz_card.text
    await tess.press("Preview", message=quiz_card)
    tried = await tess.press(
        "x = 4",
        message=next(
            m
            for m in tess.bot_messages
            if "Which line assigns" in m.text and has_button(m, "x = 4")
        ),
    )
    assert tried is not None and tried.show_alert and "Correct" in tried.text
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(Question.id))) == 2

    # -- publish; a student enrolls, learns and passes ----------------------------------------
    await tess.send("/teach")
    await tess.press("Python for everyone")
    await tess.press("Publish")
    assert "published" in tess.last.text
    ann = bot.emulator.user(3001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    assert "A variable names a value." in ann.last.text
    await ann.press("Start quiz")
    await ann.press("Start quiz")
    mark = ann.mark()
    await ann.press("x = 4")
    await ann.press("yes")
    assert any("100" in m.content and "passed" in m.content.lower() for m in ann.since(mark))
    for _ in range(2):
        await ann.press("Next lesson")
        await ann.press("Complete")
    assert await progress(bot) == (100, True, ["A picture", "Long read", "Variables"])

    # -- a new lesson: the 100 % drops; it is announced; reorder; delete -----------------------
    await tess.send("/teach")
    await tess.press("Python for everyone")
    await tess.press("Add lesson")
    await tess.send("Loops")
    await tess.send("A loop repeats.")
    await tess.press("Done")
    assert await progress(bot) == (75, False, ["A picture", "Long read", "Variables"])
    added = next(m for m in tess.bot_messages if "Loops" in m.content and "added" in m.content)
    await tess.press("Announce", message=added)
    await tess.press("Confirm", message=added)
    await all_sent(bot)
    assert any("New lesson in" in m.content and "Loops" in m.content for m in ann.bot_messages)
    await tess.send("/teach")
    await tess.press("Python for everyone")
    await tess.press("4. Loops")
    await tess.press("Up")
    assert await titles(bot, course.id) == ["Variables", "A picture", "Loops", "Long read"]
    await tess.press("2. A picture")
    await tess.press("Delete")
    await tess.press("Confirm")
    assert await titles(bot, course.id) == ["Variables", "Loops", "Long read"]
    assert await progress(bot) == (67, False, ["Long read", "Variables"])

    # -- replace from an edited file: completions of kept lessons stay ------------------------
    await tess.press("Export")
    data = yaml.safe_load(bot.emulator.file(tess.last.file_id).content.decode())
    variables, _loops, long_read = data["lessons"]
    data["lessons"] = [
        variables | {"title": "Variables, revised", "content": "A <i>variable</i> names a value."},
        long_read,
        {"title": "Functions", "content": "A function is named code."},
    ]
    await tess.press("Replace from file")
    [question] = await tess.send_document("python.yaml", yaml.safe_dump(data).encode())
    assert "2 kept, 1 added, 1 removed" in question.text
    await tess.press("Confirm", message=question)
    assert await titles(bot, course.id) == ["Variables, revised", "Long read", "Functions"]
    assert await progress(bot) == (67, False, ["Long read", "Variables, revised"])

    # -- stats and the CSV gradebook match the database ---------------------------------------
    await tess.send("/teach")
    await tess.press("Python for everyone")
    await tess.press("Stats")
    stats = tess.last.text
    assert "Enrolled: 1" in stats and "67%" in stats
    assert "1. Variables, revised: 1" in stats and "3. Functions: 0" in stats
    await tess.press("Gradebook")
    table = bot.emulator.file(tess.last.file_id).content.decode("utf-8-sig")
    [header, row] = list(csv.reader(io.StringIO(table)))
    assert row[0] == "Ann" and "67" in row and "100" in row, (header, row)

    # -- forged buttons from the student and from a second instructor change nothing ----------
    otto = await teacher_of(bot, 900_010, "Otto")
    async with bot.database.session() as session:
        lesson_id = await session.scalar(select(Lesson.id).order_by(Lesson.order_index))
    for intruder in (ann, otto):
        for data in (
            encode(Action.teach_unpublish, course.id),
            encode(Action.teach_delete_confirm, course.id),
            encode(Action.lesson_delete_confirm, lesson_id),
            encode(Action.lesson_up, lesson_id),
            encode(Action.lesson_announce_confirm, lesson_id),
            encode(Action.teach_export, course.id),
        ):
            answer = await intruder.press_data(data)
            assert answer is not None and answer.show_alert, (intruder, data)
    assert await titles(bot, course.id) == ["Variables, revised", "Long read", "Functions"]
    async with bot.database.session() as session:
        still = await session.scalar(select(Course).where(Course.id == course.id))
    assert still is not None and still.is_published

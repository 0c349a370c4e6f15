"""Instructors author courses in the chat: /newcourse, /teach, the management card, lessons."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.callbacks import Action, encode
from db.models import Course, Difficulty, Enrollment, Lesson
from tests.e2e.conftest import TEACHER_ID, BotHarness, has_button, simple_course


async def teacher_of(bot: BotHarness, user_id: int = TEACHER_ID, name: str = "Tess"):
    """An instructor who has written to the bot (made one the way the CLI does)."""
    async with bot.database.session() as session:
        from db.accounts import raise_role
        from db.models import Role

        await raise_role(session, user_id, Role.instructor)
    teacher = bot.emulator.user(user_id, name)
    await teacher.send("/start")
    return teacher


async def courses(bot: BotHarness) -> list[Course]:
    async with bot.database.session() as session:
        return list(await session.scalars(select(Course).order_by(Course.id)))


async def test_an_instructor_creates_a_course_with_the_wizard(bot: BotHarness):
    tess = await teacher_of(bot)
    [asked] = await tess.send("/newcourse")
    assert "title" in asked.text
    [refused] = await tess.send("x" * 201)
    assert "at most 200" in refused.text, "an invalid value is explained and asked again"
    await tess.send("Cooking <basics>")
    assert has_button(tess.last, "Skip") and "Describe" in tess.last.text
    await tess.send("Knives, heat and <i>taste</i>.")
    await tess.press("Skip")  # no category
    assert "difficulty" in tess.last.text.lower()
    await tess.press("Intermediate")
    [bad] = await tess.send("ninety")
    assert "minutes" in bad.text or "100000" in bad.text.replace(",", "")
    created = await tess.send("90")
    card = created[-1]
    assert "Cooking &lt;basics&gt;" not in card.text and "Cooking <basics>" in card.text
    assert "draft" in card.text and has_button(card, "Publish") and has_button(card, "Add lesson")
    [course] = await courses(bot)
    assert course.title == "Cooking <basics>" and course.category == ""
    assert course.difficulty == Difficulty.intermediate and course.duration_minutes == 90
    assert not course.is_published


async def test_the_wizard_survives_a_restart_and_can_be_cancelled(bot: BotHarness):
    tess = await teacher_of(bot)
    await tess.send("/newcourse")
    await tess.send("Half written")
    await bot.restart()
    await tess.send("A description typed after the restart.")
    assert "category" in tess.last.text
    [cancelled] = await tess.send("/cancel")
    assert cancelled.text == "Cancelled. No course was created. /newcourse starts again."
    skip = await tess.press("Skip", message=tess.bot_messages[-2])
    assert skip.show_alert and "step has passed" in skip.text
    assert await courses(bot) == []


async def test_publishing_needs_a_lesson_then_students_learn_it(bot: BotHarness):
    tess = await teacher_of(bot)
    await tess.send("/newcourse")
    await tess.send("Gardening")
    for _ in range(4):
        await tess.press("Skip")
    card = tess.last
    refused = await tess.press("Publish", message=card)
    assert refused.show_alert and "lesson" in refused.text

    await tess.press("Add lesson", message=card)
    await tess.send("Soil")
    await tess.send("Soil is <b>alive</b>.")
    await tess.send("Second part of the same lesson.")
    assert "2 messages" in tess.last.text and has_button(tess.last, "Done")
    await tess.press("Done")
    card = tess.last
    assert "1. Soil" in card.text
    await tess.press("Publish", message=card)
    assert "published" in card.text

    [course] = await courses(bot)
    ann = bot.emulator.user(3001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    lesson = ann.last
    assert "Soil is" in lesson.text and "Second part of the same lesson." in lesson.text
    mark = ann.mark()
    await ann.press("Complete")
    assert any("100%" in m.text for m in ann.since(mark))

    # A new lesson: Ann's 100 % drops and her completion date clears.
    await tess.press("Add lesson", message=card)
    await tess.send("Water")
    await tess.send("Water it.")
    await tess.press("Done")
    async with bot.database.session() as session:
        enrollment = await session.scalar(select(Enrollment))
        assert enrollment.progress_percentage == 50 and enrollment.completed_at is None


async def test_lessons_are_reordered_and_deleted_with_confirmation(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Order", lessons=3))
    [listing] = await tess.send("/teach")
    assert "Order" in listing.text and "3 lessons" in listing.text
    await tess.press("Order")
    await tess.press("3. Lesson 3")
    await tess.press("Up")
    assert "2. Lesson 3" in tess.last.text
    await tess.press("2. Lesson 3")
    await tess.press("Delete")
    assert "Delete the lesson" in tess.last.text
    await tess.press("Confirm")
    async with bot.database.session() as session:
        titles = list(
            await session.scalars(
                select(Lesson.title)
                .where(Lesson.course_id == course.id)
                .order_by(Lesson.order_index)
            )
        )
    assert titles == ["Lesson 1", "Lesson 2"]


async def test_a_course_is_deleted_only_after_confirming_with_the_enrolled_count(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Doomed", lessons=1))
    ann = bot.emulator.user(3001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await tess.send("/teach")
    await tess.press("Doomed")
    await tess.press("Delete")
    assert "1 student is enrolled" in tess.last.text
    await tess.press("Cancel")
    assert has_button(tess.last, "Publish") or has_button(tess.last, "Unpublish")
    await tess.press("Delete")
    await tess.press("Confirm")
    assert "was deleted" in tess.last.text
    assert await courses(bot) == []
    stale = await ann.press("Continue")
    assert stale.show_alert, "the student's old button answers with a short alert"


async def test_forged_authoring_buttons_change_nothing(bot: BotHarness):
    tess = await teacher_of(bot)
    other = await teacher_of(bot, 900_777, "Otto")
    course = await bot.course(simple_course(title="Mine", lessons=2, published=False))
    async with bot.database.session() as session:
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == course.id))
    ann = bot.emulator.user(3001, "Ann")
    [anchor] = await ann.send("/help")
    [other_anchor] = await other.send("/help")
    forged = [
        encode(Action.teach_publish, course.id),
        encode(Action.teach_delete_confirm, course.id),
        encode(Action.teach_edit, course.id, 0),
        encode(Action.teach_level, course.id, 2),
        encode(Action.teach_key_clear, course.id),
        encode(Action.lesson_add, course.id),
        encode(Action.lesson_up, lesson_id),
        encode(Action.lesson_rename, lesson_id),
        encode(Action.lesson_rewrite, lesson_id),
        encode(Action.lesson_delete_confirm, lesson_id),
    ]
    for data in forged:
        answer = await ann.press_data(data, anchor.message_id)
        assert answer.show_alert and "instructors" in answer.text, (data, answer)
        answer = await other.press_data(data, other_anchor.message_id)
        assert (answer.show_alert and "not available" in answer.text) or "no longer" in answer.text
    async with bot.database.session() as session:
        stored = await session.get(Course, course.id)
        assert not stored.is_published and stored.difficulty == Difficulty.beginner
        assert await session.scalar(select(func.count(Lesson.id))) == 2
    assert tess.since(0)


async def test_a_lesson_written_in_several_messages_survives_a_restart(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Long", lessons=1, published=False))
    await tess.send("/teach")
    await tess.press("Long")
    await tess.press("Add lesson")
    await tess.send("Part by part")
    assert not has_button(tess.last, "Done"), "Done appears once there is content"
    await tess.send("The first part.")
    await bot.restart()
    await tess.send("The second part, after a restart.")
    assert "2 messages" in tess.last.text
    await tess.press("Done")
    async with bot.database.session() as session:
        lesson = await session.scalar(
            select(Lesson).where(Lesson.course_id == course.id, Lesson.title == "Part by part")
        )
    assert lesson.content == "The first part.\n\nThe second part, after a restart."
    stale = await tess.press("Done", message=tess.bot_messages[-3])
    assert stale.show_alert and "step has passed" in stale.text, "a second Done adds nothing"


async def test_formatted_and_photo_lessons_reach_students_as_written(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Art", lessons=0, published=False))
    await tess.send("/teach")
    await tess.press("Art")
    await tess.press("Add lesson")
    await tess.send("Colours")
    text = "Red is warm, blue is cool."
    bold = {"type": "bold", "offset": 0, "length": 3}
    italic = {"type": "italic", "offset": 13, "length": 4}
    await tess.send(text, entities=[bold, italic])
    await tess.press("Done")

    await tess.press("Add lesson")
    await tess.send("A painting")
    await tess.send_photo(caption="Look at the <light>.")
    [refused] = await tess.send_photo(caption="A second photo")
    assert "one photo, video, document or audio" in refused.text
    await tess.press("Done")
    card = tess.last
    assert "1. Colours" in card.text and "2. A painting 📎" in card.text
    await tess.press("Publish", message=card)

    ann = bot.emulator.user(3001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    lesson = ann.last
    assert text in lesson.text
    units = lesson.text.encode("utf-16-le")  # entity offsets count UTF-16 code units

    def covered(entity: dict) -> str:
        start, end = 2 * entity["offset"], 2 * (entity["offset"] + entity["length"])
        return units[start:end].decode("utf-16-le")

    kinds = {(entity["type"], covered(entity)) for entity in lesson.entities}
    assert {("bold", "Red"), ("italic", "blue")} <= kinds, "the formatting reached the student"
    await ann.press("Complete")
    mark = ann.mark()
    await ann.press("Next lesson")
    photo, body = ann.since(mark)
    assert photo.media == "photo" and "A painting" in (photo.caption or "")
    assert "Look at the &lt;light&gt;." in body.html or "Look at the <light>." in body.text


async def test_a_course_file_goes_out_as_a_document_and_comes_back_as_a_new_draft(
    bot: BotHarness,
):
    tess = await teacher_of(bot)
    await bot.course(simple_course(title="Original", lessons=2, enrollment_key="k"))
    await tess.send("/teach")
    await tess.press("Original")
    await tess.press("Export")
    exported = tess.last
    assert exported.media == "document" and "course file" in (exported.caption or "")
    content = bot.emulator.file(exported.file_id).content.decode()
    assert "title: Original" in content and "enrollment_key" not in content

    [refused] = await tess.send_document("notes.txt", b"hello")
    assert ".yaml, .yml or .json" in refused.text
    broken = content.replace("title: Lesson 2", "title: ''")
    [error] = await tess.send_document("broken.yaml", broken.encode())
    assert "lessons[1].title" in error.text, "the error names the place"
    assert len(await courses(bot)) == 1, "an invalid file changes nothing"

    renamed = content.replace("title: Original", "title: Copy", 1)
    replies = await tess.send_document("copy.yaml", renamed.encode())
    assert "Imported <b>Copy</b>" in replies[0].html or "Imported Copy" in replies[0].text
    assert "draft" in replies[-1].text and "2. Lesson 2" in replies[-1].text
    original, copy = await courses(bot)
    assert original.title == "Original"
    assert copy.title == "Copy" and not copy.is_published and copy.enrollment_key_hash is None

    ann = bot.emulator.user(3001, "Ann")
    [ignored] = await ann.send_document("copy.yaml", renamed.encode())
    assert "did not understand" in ignored.text, "only instructors import"
    assert len(await courses(bot)) == 2


async def test_a_lesson_is_renamed_and_rewritten(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Edits", lessons=2))
    ann = bot.emulator.user(3001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    await ann.press("Complete")

    await tess.send("/teach")
    await tess.press("Edits")
    await tess.press("1. Lesson 1")
    await tess.press("Title")
    [refused] = await tess.send("t" * 201)
    assert "at most 200" in refused.text, "a title too long is explained and asked again"
    await tess.send("Basics")
    assert "1. Basics" in tess.last.text
    await tess.press("1. Basics")
    await tess.press("Content")
    await tess.send("All new text.")
    await tess.press("Done")
    async with bot.database.session() as session:
        lesson = await session.scalar(
            select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.order_index)
        )
        assert (lesson.title, lesson.content) == ("Basics", "All new text.")
        enrollment = await session.scalar(select(Enrollment))
        assert enrollment.progress_percentage == 50, "an edit keeps the student's completion"


async def test_stats_and_the_gradebook_match_the_database(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Counted", lessons=2))
    for user_id, name, lessons in ((3001, "Ann", 2), (3002, "Bob", 1)):
        student = bot.emulator.user(user_id, name)
        await student.send(f"/start course-{course.id}")
        await student.press("Enroll")
        await student.press("Continue")
        for number in range(lessons):
            await student.press("Complete")
            if number + 1 < lessons:
                await student.press("Next lesson")
    await tess.send("/teach")
    await tess.press("Counted")
    await tess.press("Stats")
    stats = tess.last.text
    assert "Enrolled: 2" in stats and "completed: 1" in stats
    assert "1. Lesson 1: 2" in stats and "2. Lesson 2: 1" in stats
    assert "75%" in stats, "average progress of 100 % and 50 %"
    await tess.press("Gradebook")
    document = tess.last
    assert document.media == "document"
    rows = bot.emulator.file(document.file_id).content.decode("utf-8-sig").splitlines()
    assert len(rows) == 3 and rows[1].startswith("Ann,") and rows[2].startswith("Bob,")
    assert ",100," in rows[1] and ",50," in rows[2]


async def test_a_course_file_over_the_limit_is_refused_with_the_limit(bot: BotHarness):
    tess = await teacher_of(bot)
    [refused] = await tess.send_document("huge.yaml", b"title: x\n" + b"#" * (1024 * 1024))
    assert "at most 1 MB" in refused.text
    assert await courses(bot) == []

"""Whole student journeys through the emulator, as a person would take them."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import func, select

from bot import texts
from bot.callbacks import Action, encode
from db.authoring import CourseDraft, LessonDraft
from db.models import Enrollment, LessonCompletion, MediaKind
from tests.e2e.conftest import BotHarness, has_button, simple_course


async def test_new_student_learns_a_whole_course(bot: BotHarness):
    await bot.course(simple_course(lessons=3))
    ann = bot.emulator.user(1001, "Ann", username="ann")

    [welcome] = await ann.send("/start")
    assert "Hello, Ann" in welcome.text and "/courses" in welcome.text

    [catalog] = await ann.send("/courses")
    assert "Python Basics" in catalog.text
    await ann.press("Python Basics")
    card = ann.last
    assert card.message_id == catalog.message_id, "the card replaces the catalog in place"
    for fact in ("Your first steps in Python.", "Difficulty: beginner", "1 h 30 min", "Lessons: 3"):
        assert fact in card.text
    assert "Instructor:" in card.text and has_button(card, "Enroll")

    answer = await ann.press("Enroll")
    assert answer is not None and "enrolled" in answer.text.lower()
    assert "You are enrolled in Python Basics" in ann.last.text

    await ann.press("Continue")
    for number in (1, 2, 3):
        lesson = ann.last
        assert f"Lesson {number} of 3" in lesson.text and f"This is lesson {number}." in lesson.text
        assert has_button(lesson, "Complete")
        mark = ann.mark()
        await ann.press("Complete", message=lesson)
        assert not has_button(lesson, "Complete"), "the lesson's Complete button is gone"
        progress = round(100 * number / 3)
        replies = [m.text for m in ann.since(mark)]
        assert any(f"{progress}%" in text for text in replies), replies
        if number < 3:
            await ann.press("Next lesson")
    assert "Congratulations" in ann.last.text

    [mine] = await ann.send("/mycourses")
    assert "Python Basics" in mine.text and "100%" in mine.text and "3/3 lessons" in mine.text
    [report] = await ann.send("/progress")
    assert "3 of 3 lessons done · 100%" in report.text and "Completed on" in report.text


async def test_catalog_pages_in_place_and_searches(bot: BotHarness):
    for index in range(7):
        await bot.course(simple_course(title=f"Course {index}", lessons=1))
    await bot.course(simple_course(title="Cooking", lessons=1, category="Kitchen"))
    ann = bot.emulator.user(1001, "Ann")
    [catalog] = await ann.send("/courses")
    assert "page 1 of 2" in catalog.text and has_button(catalog, "1/2")
    await ann.press("Next")
    assert "page 2 of 2" in catalog.text and ann.last.message_id == catalog.message_id
    await ann.press("Previous")
    assert "page 1 of 2" in catalog.text
    await ann.press("1/2")  # the page counter only answers

    [found] = await ann.send("/courses kitchen")
    assert "Cooking" in found.text and "Course 1" not in found.text
    [nothing] = await ann.send("/courses astrophysics")
    assert "Nothing found" in nothing.text
    [refused] = await ann.send("/courses " + "x" * 60)
    assert "at most 40 characters" in refused.text


async def test_wrong_key_then_the_right_one(bot: BotHarness):
    course = await bot.course(simple_course(title="Secret Club", enrollment_key="s3same"))
    bob = bot.emulator.user(1002, "Bob")
    await bob.send(f"/start course-{course.id}")
    assert "needs a key" in bob.last.text
    await bob.press("Enroll")
    assert "needs an enrollment key" in bob.last.text
    [wrong] = await bob.send("open please")
    assert "not right" in wrong.text
    [right] = await bob.send("s3same")
    assert "You are enrolled in Secret Club" in right.text
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(Enrollment.id))) == 1
    [after] = await bob.send("s3same")
    assert "did not understand" in after.text, "the dialog is over once enrolled"


async def test_key_dialog_can_be_cancelled(bot: BotHarness):
    course = await bot.course(simple_course(enrollment_key="k"))
    bob = bot.emulator.user(1002, "Bob")
    await bob.send(f"/start course-{course.id}")
    await bob.press("Enroll")
    [cancelled] = await bob.send("/cancel")
    assert cancelled.text == "Cancelled."
    [again] = await bob.send("/cancel")
    assert again.text == "There is nothing to cancel."
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(Enrollment.id))) == 0


async def test_an_idle_dialog_times_out_with_a_message(bot: BotHarness):
    bot.dialog_timeout = timedelta(seconds=1)  # 15 minutes in production
    await bot.restart()
    course = await bot.course(simple_course(enrollment_key="k"))
    bob = bot.emulator.user(1002, "Bob")
    await bob.send(f"/start course-{course.id}")
    await bob.press("Enroll")
    for _ in range(200):
        if "took a while" in bob.last.text:
            break
        await asyncio.sleep(0.05)
    assert "took a while" in bob.last.text
    [after] = await bob.send("k")
    assert "did not understand" in after.text, "the timed-out dialog no longer takes the key"


async def test_draft_is_invisible_and_its_deep_link_refuses(bot: BotHarness):
    draft = await bot.course(simple_course(title="Unfinished", published=False))
    cid = bot.emulator.user(1003, "Cid")
    [catalog] = await cid.send("/courses")
    assert "Unfinished" not in catalog.text and "No courses are published yet" in catalog.text
    [refusal] = await cid.send(f"/start course-{draft.id}")
    assert refusal.text == "This course is not available."
    answer = await cid.press_data(encode(Action.course_enroll, draft.id), catalog.message_id)
    assert answer is not None and answer.show_alert and "not available" in answer.text
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(Enrollment.id))) == 0


async def test_forged_callbacks_are_refused_and_change_nothing(bot: BotHarness):
    mine = await bot.course(simple_course(title="Mine", lessons=1))
    other = await bot.course(simple_course(title="Other", lessons=2))
    dan = bot.emulator.user(1004, "Dan")
    await dan.send(f"/start course-{mine.id}")
    await dan.press("Enroll")
    anchor = dan.last.message_id
    async with bot.database.session() as session:
        from db.models import Lesson

        other_lesson = await session.scalar(select(Lesson.id).where(Lesson.course_id == other.id))

    forged = {
        encode(Action.lesson_open, other_lesson): "Enroll in this course",
        encode(Action.lesson_complete, other_lesson): "Enroll in this course",
        encode(Action.lesson_open, 987654): "no longer exists",
        encode(Action.course_open, 987654): "not available",
        encode(Action.course_continue, other.id): "Enroll in this course first",
        "garbage": "no longer valid",
        "les:open:1; DROP TABLE users": "no longer valid",
        "les:open:-5": "no longer valid",
    }
    for data, expected in forged.items():
        mark = dan.mark()
        answer = await dan.press_data(data, anchor)
        assert answer is not None and answer.show_alert and expected in answer.text, (data, answer)
        assert dan.since(mark) == [], f"{data!r} made the bot send something"
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(LessonCompletion.id))) == 0
        assert await session.scalar(select(func.count(Enrollment.id))) == 1


async def test_double_tap_on_enroll_gives_one_enrollment(bot: BotHarness):
    course = await bot.course(simple_course())
    eve = bot.emulator.user(1005, "Eve")
    [card] = await eve.send(f"/start course-{course.id}")
    first, second = await asyncio.gather(
        eve.press("Enroll", message=card), eve.press("Enroll", message=card)
    )
    answers = sorted([first.text, second.text])
    assert answers == ["Already enrolled.", "You are enrolled! 🎉"]
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(Enrollment.id))) == 1
    assert not any("went wrong" in text for text in eve.texts())


async def test_thirty_students_at_once_leave_consistent_progress(bot: BotHarness):
    course = await bot.course(simple_course(lessons=3))

    async def journey(user_id: int) -> None:
        student = bot.emulator.user(user_id, f"Student{user_id}")
        await student.send(f"/start course-{course.id}")
        await student.press("Enroll")
        await student.press("Continue")
        for number in range(3):
            await student.press("Complete")
            if number < 2:
                await student.press("Next lesson")
        assert "Congratulations" in student.last.text

    await asyncio.gather(*(journey(2000 + n) for n in range(30)))
    assert bot.application is not None
    assert bot.application.update_processor.peak > 1, "the students' updates really overlapped"
    async with bot.database.session() as session:
        rows = list(
            await session.execute(select(Enrollment.progress_percentage, Enrollment.completed_at))
        )
        assert len(rows) == 30
        assert all(pct == 100 and done is not None for pct, done in rows)
        assert await session.scalar(select(func.count(LessonCompletion.id))) == 90


async def test_html_looking_text_and_emoji_show_literally(bot: BotHarness):
    draft = CourseDraft(
        title="<b>Bold</b> & Co 🚀",
        category="Tags & <i>",
        published=True,
        lessons=[
            LessonDraft(
                "Less <than> & more 🙂",
                "Write &lt;b&gt; to make text bold, & keep going 🎉",
            )
        ],
    )
    await bot.course(draft)
    fay = bot.emulator.user(1006, "Fay <script>")
    [welcome] = await fay.send("/start")
    assert "Hello, Fay <script>!" in welcome.text
    [catalog] = await fay.send("/courses")
    assert "<b>Bold</b> & Co 🚀" in catalog.text and "Tags & <i>" in catalog.text
    await fay.press("Open")
    assert "<b>Bold</b> & Co 🚀" in fay.last.text
    await fay.press("Enroll")
    await fay.press("Continue")
    lesson = fay.last.text
    assert "Less <than> & more 🙂" in lesson
    assert "Write <b> to make text bold, & keep going 🎉" in lesson


async def test_a_10000_character_lesson_arrives_complete_in_parts(bot: BotHarness):
    paragraphs = [
        f"Paragraph {i}: " + " ".join(f"word{i}-{j}" for j in range(90)) for i in range(15)
    ]
    content = "\n\n".join(paragraphs)
    assert len(content) > 10_000
    course = await bot.course(
        CourseDraft("Long read", published=True, lessons=[LessonDraft("Everything", content)])
    )
    gus = bot.emulator.user(1007, "Gus")
    await gus.send(f"/start course-{course.id}")
    await gus.press("Enroll")
    mark = gus.mark()
    await gus.press("Continue")
    parts = gus.since(mark)
    assert len(parts) >= 3
    assert all(len(part.text) <= 4096 for part in parts)
    shown = "\n\n".join(part.text for part in parts)
    for paragraph in paragraphs:
        assert paragraph in shown
    assert re.search(r"Lesson 1 of 1", parts[0].text)
    assert has_button(parts[-1], "Complete") and all(not p.buttons for p in parts[:-1])


async def test_help_and_unknown_input(bot: BotHarness):
    hal = bot.emulator.user(1008, "Hal")
    [help_text] = await hal.send("/help")
    assert "/courses" in help_text.text and "/mycourses" in help_text.text
    [unknown] = await hal.send("/frobnicate")
    assert "did not understand" in unknown.text
    [chat] = await hal.send("hello?")
    assert "/help" in chat.text
    [empty] = await hal.send("/mycourses")
    assert "not enrolled in any course" in empty.text
    commands = [c["command"] for c in hal.commands()]
    assert {"start", "courses", "mycourses", "progress", "help", "cancel"} <= set(commands)


async def test_a_lesson_with_media_sends_it_first(bot: BotHarness):
    photo = bot.emulator.store_file(
        "photo", b"\x89PNG fake image bytes", "diagram.png", "image/png"
    )
    course = await bot.course(
        CourseDraft(
            "Pictures",
            published=True,
            lessons=[
                LessonDraft(
                    "A diagram",
                    "Look at the picture above.",
                    media_kind=MediaKind.photo,
                    media_file_id=photo.file_id,
                )
            ],
        )
    )
    ivy = bot.emulator.user(1009, "Ivy")
    await ivy.send(f"/start course-{course.id}")
    await ivy.press("Enroll")
    mark = ivy.mark()
    await ivy.press("Continue")
    picture, text = ivy.since(mark)
    assert picture.media == "photo" and picture.file_id == photo.file_id
    assert "Lesson 1 of 1" in picture.caption and "A diagram" in picture.caption
    assert "Look at the picture above." in text.text and has_button(text, "Complete")


async def test_a_failure_is_logged_and_answered_briefly(bot: BotHarness, caplog):
    jon = bot.emulator.user(1010, "Jon")
    await jon.send("/start")
    bot.emulator.fail_next("sendMessage", error_code=400, description="Bad Request: boom")
    replies = await jon.send("/help")
    assert [m.text for m in replies] == [texts.GENERIC_ERROR]
    assert "Error while handling an update" in caplog.text and "Traceback" not in replies[0].text
    [ok] = await jon.send("/help")
    assert "/courses" in ok.text, "the next update is served normally"


async def test_a_long_course_description_still_shows_the_card(bot: BotHarness):
    description = "\n\n".join(f"Paragraph {n}. " + "Lorem ipsum " * 30 for n in range(11))
    await bot.course(simple_course(title="Wordy", description=description))
    kim = bot.emulator.user(1011, "Kim")
    [catalog] = await kim.send("/courses")
    mark = kim.mark()
    await kim.press("Wordy", message=catalog)
    parts = kim.since(mark)
    assert len(parts) >= 2 and all(len(part.text) <= 4096 for part in parts)
    assert has_button(parts[-1], "Enroll") and "Lessons: 3" in parts[-1].text

"""What the first adversarial review broke, each as the user saw it: edits taken as answers,
key guessing, out-of-range ids, long deep-link cards, dialogs that took unrelated text or were
lost on restart, and silence after a failed send."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading

import pytest
from sqlalchemy import func, select

import db.security
from bot.callbacks import Action, encode
from db.models import (
    MAX_ID,
    AttemptStatus,
    Enrollment,
    GuessThrottle,
    LessonCompletion,
    QuizAttempt,
)
from db.security import verify_secret
from db.throttle import MAX_WRONG_GUESSES
from tests.e2e.conftest import TEACHER_ID, BotHarness, has_button, simple_course
from tests.e2e.test_quiz_journeys import (
    begin_quiz,
    enrolled_student,
    explain,
    quiz_course,
)


async def attempts(bot: BotHarness) -> list[QuizAttempt]:
    async with bot.database.session() as session:
        return list(await session.scalars(select(QuizAttempt).order_by(QuizAttempt.id)))


async def enrollments(bot: BotHarness) -> int:
    async with bot.database.session() as session:
        return await session.scalar(select(func.count(Enrollment.id))) or 0


async def pending_text_answer(bot: BotHarness, user_id: int = 3001, name: str = "Ann"):
    """A student whose free-text answer waits for the teacher's review."""
    course = await bot.course(quiz_course([explain()], lessons_before=0))
    student = await enrolled_student(bot, course.id, user_id, name)
    await begin_quiz(student)
    await student.send("A name for a value")
    return course, student


# -- 3. edits ---------------------------------------------------------------------------------


async def test_an_edited_message_is_never_an_answer(bot: BotHarness):
    course = await bot.course(quiz_course([explain(), explain()], lessons_before=0))
    ann = await enrolled_student(bot, course.id)
    await begin_quiz(ann)
    [saved] = [m for m in await ann.send("First answer") if "Question 2 of 2" in (m.text or "")]
    first = next(m for m in reversed(ann.messages) if m.text == "First answer")

    replies = await ann.edit(first, "Edited first answer")
    assert [m.text for m in replies] == [
        "✏️ I only read new messages, so that edit changed nothing. "
        "Send it again as a new message if you meant it as an answer."
    ]
    [attempt] = await attempts(bot)
    assert list(attempt.answers.values()) == ["First answer"], "the edit was not recorded"
    assert attempt.status == AttemptStatus.in_progress, "question 2 is still open"
    assert saved.text.startswith("❓ Question 2 of 2")


async def test_an_edit_is_neither_a_key_nor_a_review_comment(bot: BotHarness):
    keyed = await bot.course(simple_course(title="Secret Club", enrollment_key="s3same"))
    bob = bot.emulator.user(1002, "Bob")
    await bob.send("hello")
    hello = bob.messages[-2]
    await bob.send(f"/start course-{keyed.id}")
    await bob.press("Enroll")
    await bob.edit(hello, "s3same")
    assert await enrollments(bot) == 0, "an edit is not a key"
    [enrolled] = await bob.send("s3same")
    assert "You are enrolled in Secret Club" in enrolled.text

    _, ann = await pending_text_answer(bot)
    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    await teacher.send("Hello")
    hello = teacher.messages[-2]
    await teacher.send("/review")
    await teacher.press("Accept")
    mark = ann.mark()
    await teacher.edit(hello, "Great answer")
    assert ann.since(mark) == [], "the student was told nothing"
    [attempt] = await attempts(bot)
    assert attempt.status == AttemptStatus.pending_review


# -- 4. enrollment keys: off the event loop, throttled in the database --------------------------


async def test_a_key_check_holds_neither_the_event_loop_nor_the_write_lock(
    sqlite_bot: BotHarness, monkeypatch: pytest.MonkeyPatch
):
    bot = sqlite_bot
    course = await bot.course(simple_course(enrollment_key="s3same"))
    path = bot.database.engine.url.database
    seen: list[tuple[bool, bool]] = []

    def spying_verify(plain: str, hashed: str) -> bool:
        writer = sqlite3.connect(path, timeout=0)
        try:
            writer.execute("BEGIN IMMEDIATE")  # fails at once if the bot holds the write lock
            writer.rollback()
            lock_free = True
        except sqlite3.OperationalError:
            lock_free = False
        finally:
            writer.close()
        seen.append((threading.current_thread() is threading.main_thread(), lock_free))
        return verify_secret(plain, hashed)

    monkeypatch.setattr(db.security, "verify_secret", spying_verify)
    bob = bot.emulator.user(1002, "Bob")
    await bob.send(f"/start course-{course.id}")
    await bob.press("Enroll")
    await bob.send("wrong")
    await bob.send("s3same")
    assert seen == [(False, True), (False, True)], "in a worker thread, with no lock held"
    assert await enrollments(bot) == 1


async def test_wrong_keys_are_throttled_and_a_restart_does_not_reset_it(bot: BotHarness):
    course = await bot.course(simple_course(title="Secret Club", enrollment_key="s3same"))
    other = await bot.course(simple_course(title="Other Club", enrollment_key="other"))
    bob = bot.emulator.user(1002, "Bob")
    await bob.send(f"/start course-{course.id}")
    await bob.press("Enroll")
    for guess in range(MAX_WRONG_GUESSES - 1):
        [reply] = await bob.send(f"guess {guess}")
        assert "That key is not right" in reply.text
    [locked] = await bob.send("one more guess")
    assert locked.text == "Too many wrong tries. Try again in 15 minutes."

    await bot.restart()
    await bob.send(f"/start course-{course.id}")
    await bob.press("Enroll")
    [still] = await bob.send("s3same")
    assert "Try again in 15 minutes" in still.text, "even the right key waits"
    assert await enrollments(bot) == 0

    # Another course, and another student, are not affected.
    await bob.send(f"/start course-{other.id}")
    await bob.press("Enroll")
    [ok] = await bob.send("other")
    assert "You are enrolled in Other Club" in ok.text
    cid = bot.emulator.user(1003, "Cid")
    await cid.send(f"/start course-{course.id}")
    await cid.press("Enroll")
    [ok] = await cid.send("s3same")
    assert "You are enrolled in Secret Club" in ok.text
    async with bot.database.session() as session:
        rows = list(await session.scalars(select(GuessThrottle)))
    assert [(row.scope, row.failures) for row in rows] == [
        (f"course-key:{course.id}", MAX_WRONG_GUESSES)
    ], "a right key clears only its own count"


# -- 5. ids out of range ------------------------------------------------------------------------


async def test_ids_out_of_range_are_not_found_and_log_no_error(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
):
    course = await bot.course(simple_course())
    dan = bot.emulator.user(1004, "Dan")
    [card] = await dan.send(f"/start course-{course.id}")
    too_big = MAX_ID + 1
    caplog.set_level(logging.WARNING)
    for data in (
        encode(Action.course_open, 0),
        f"crs:open:{too_big}",
        f"crs:enroll:{2**63}",
        f"les:open:{10**18}",
        f"qz:ans:{too_big}:1:1",
        f"rv:ok:{too_big}:1",
        "crs:open:-1",
    ):
        mark = dan.mark()
        answer = await dan.press_data(data, card.message_id)
        assert answer is not None and answer.show_alert, data
        assert "no longer valid" in answer.text or "not available" in answer.text, (data, answer)
        assert dan.since(mark) == []
    for link in (f"course-{too_big}", "course-0", f"course-{10**30}", "course-00"):
        [reply] = await dan.send(f"/start {link}")
        assert reply.text == "This course is not available.", link
    assert await enrollments(bot) == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


# -- 7. the deep-link card ----------------------------------------------------------------------


async def test_a_deep_link_opens_a_card_with_a_long_description(bot: BotHarness):
    description = "\n\n".join(f"Paragraph {n}: " + "words " * 120 for n in range(8))
    course = await bot.course(simple_course(title="Long Story", description=description))
    eve = bot.emulator.user(1005, "Eve")
    [catalog] = await eve.send("/courses")
    await eve.press("Long Story")
    from_catalog = [m.text for m in eve.bot_messages[1:]]
    linked = await eve.send(f"/start course-{course.id}")
    assert len(linked) > 1, "a long card comes in several messages"
    assert [m.text for m in linked] == from_catalog, "one code path: the same card"
    assert "Paragraph 7" in linked[-1].text and has_button(linked[-1], "Enroll")
    assert catalog.text


# -- 8. dialogs take only their own answers ------------------------------------------------------


async def test_a_quiz_answer_is_never_sent_to_a_student_as_a_review_comment(bot: BotHarness):
    _, ann = await pending_text_answer(bot)
    # The teacher is also a student of another course with a text question.
    other = await bot.course(quiz_course([explain()], lessons_before=0), owner_id=4444)
    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    await teacher.send("/review")
    await teacher.press("Accept")
    assert "Type a comment" in teacher.last.text
    await teacher.send(f"/start course-{other.id}")
    await teacher.press("Enroll")
    await begin_quiz(teacher)
    mark = ann.mark()
    [result] = await teacher.send("My own quiz answer")
    assert "waiting for the instructor's review" in result.text
    assert ann.since(mark) == [], "nothing reached the student"
    ann_attempt, tess_attempt = await attempts(bot)
    assert (
        ann_attempt.status == AttemptStatus.pending_review and ann_attempt.reviewer_comment is None
    )
    assert list(tess_attempt.answers.values()) == ["My own quiz answer"]


async def test_a_quiz_answer_is_never_taken_as_an_enrollment_key(bot: BotHarness):
    quiz = await bot.course(quiz_course([explain()], lessons_before=0))
    keyed = await bot.course(simple_course(title="Secret Club", enrollment_key="s3same"))
    ann = await enrolled_student(bot, quiz.id)
    await ann.send(f"/start course-{keyed.id}")
    await ann.press("Enroll")
    assert "needs an enrollment key" in ann.last.text
    await begin_quiz(ann)  # another button leaves the key dialog
    [result] = await ann.send("s3same")
    assert "waiting for the instructor's review" in result.text
    assert await enrollments(bot) == 1, "only the quiz course"
    [attempt] = await attempts(bot)
    assert list(attempt.answers.values()) == ["s3same"]


async def test_a_command_leaves_the_dialog_and_the_cancel_after_it_has_nothing_to_cancel(
    bot: BotHarness,
):
    keyed = await bot.course(simple_course(enrollment_key="k"))
    bob = bot.emulator.user(1002, "Bob")
    await bob.send(f"/start course-{keyed.id}")
    await bob.press("Enroll")
    await bob.send("/mycourses")
    [reply] = await bob.send("k")
    assert "did not understand" in reply.text
    [cancel] = await bob.send("/cancel")
    assert cancel.text == "There is nothing to cancel."
    assert await enrollments(bot) == 0


# -- 9. dialogs survive a restart -----------------------------------------------------------------


async def test_a_restart_in_the_middle_of_the_key_dialog_loses_nothing(bot: BotHarness):
    keyed = await bot.course(simple_course(title="Secret Club", enrollment_key="s3same"))
    bob = bot.emulator.user(1002, "Bob")
    await bob.send(f"/start course-{keyed.id}")
    await bob.press("Enroll")
    await bot.restart()
    [enrolled] = await bob.send("s3same")
    assert "You are enrolled in Secret Club" in enrolled.text
    assert await enrollments(bot) == 1


async def test_a_restart_in_the_middle_of_a_review_comment_loses_nothing(bot: BotHarness):
    _, ann = await pending_text_answer(bot)
    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    await teacher.send("/review")
    await teacher.press("Reject")
    await bot.restart()
    mark = ann.mark()
    await teacher.send("Please say more")
    told = [m.text for m in ann.since(mark)]
    assert any("were not accepted" in t and "Please say more" in t for t in told), told
    [attempt] = await attempts(bot)
    assert attempt.status == AttemptStatus.graded and attempt.reviewer_comment == "Please say more"


async def test_a_restart_then_cancel_says_what_was_cancelled(bot: BotHarness):
    await pending_text_answer(bot)
    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    await teacher.send("/review")
    await teacher.press("Accept")
    await bot.restart()
    [cancelled] = await teacher.send("/cancel")
    assert "Nothing was decided" in cancelled.text
    [attempt] = await attempts(bot)
    assert attempt.status == AttemptStatus.pending_review


# -- 6. a failed send after the button was answered -----------------------------------------------


async def test_when_a_lesson_cannot_be_sent_the_student_gets_a_message(bot: BotHarness):
    course = await bot.course(simple_course())
    ann = bot.emulator.user(1001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    bot.emulator.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
    mark = ann.mark()
    answer = await ann.press("Continue")
    assert answer is not None and not answer.show_alert, "the button was answered first"
    [apology] = ann.since(mark)
    assert "something went wrong" in apology.text
    await ann.press("Continue", message=ann.bot_messages[-2])
    assert "Lesson 1 of 3" in ann.last.text, "and trying again works"
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(LessonCompletion.id))) == 0


async def test_a_dialog_of_a_deleted_course_ends_with_the_reason(bot: BotHarness):
    keyed = await bot.course(simple_course(title="Secret Club", enrollment_key="s3same"))
    bob = bot.emulator.user(1002, "Bob")
    await bob.send(f"/start course-{keyed.id}")
    await bob.press("Enroll")
    async with bot.database.session() as session:
        from db.models import Course

        await session.delete(await session.get(Course, keyed.id))
    [gone] = await bob.send("s3same")
    assert gone.text == "This course is not available."
    [after] = await bob.send("s3same")
    assert "did not understand" in after.text, "the dialog ended"


async def test_two_students_guess_at_once_without_waiting_for_each_other(bot: BotHarness):
    course = await bot.course(simple_course(enrollment_key="s3same"))
    students = [bot.emulator.user(5000 + n, f"S{n}") for n in range(4)]
    for student in students:
        await student.send(f"/start course-{course.id}")
        await student.press("Enroll")
    replies = await asyncio.gather(*(s.send("s3same") for s in students))
    assert all("You are enrolled" in r[0].text for r in replies)
    assert await enrollments(bot) == 4


async def test_a_double_tap_on_next_is_not_an_error(bot: BotHarness):
    for index in range(7):
        await bot.course(simple_course(title=f"Course {index}", lessons=1))
    ann = bot.emulator.user(1001, "Ann")
    [catalog] = await ann.send("/courses")
    first, second = await asyncio.gather(
        ann.press("Next", message=catalog), ann.press("Next", message=catalog)
    )
    assert not first.show_alert and not second.show_alert, (first, second)
    assert "page 2 of 2" in catalog.text
    assert not any("went wrong" in text for text in ann.texts())
    # Telegram answers the second, identical edit with "message is not modified"; the bot takes
    # that in its stride, and it is the only request Telegram refused.
    [refused] = bot.emulator.refused
    assert refused.method == "editMessageText" and "not modified" in refused.description
    bot.emulator.refused.clear()


async def test_a_file_sent_to_the_key_dialog_is_asked_again_as_text(bot: BotHarness):
    keyed = await bot.course(simple_course(title="Secret Club", enrollment_key="s3same"))
    bob = bot.emulator.user(1002, "Bob")
    await bob.send(f"/start course-{keyed.id}")
    await bob.press("Enroll")
    [asked] = await bob.send_document("key.txt", b"s3same")
    assert asked.text == "Please type your answer as a text message, or /cancel."
    [enrolled] = await bob.send("s3same")
    assert "You are enrolled in Secret Club" in enrolled.text

"""Quizzes and /review end to end: what students and instructors see and do."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.callbacks import Action, encode
from db.accounts import raise_role
from db.authoring import CourseDraft, LessonDraft, OptionDraft, QuestionDraft, QuizDraft
from db.models import (
    AttemptStatus,
    LessonCompletion,
    Question,
    QuestionType,
    Quiz,
    QuizAttempt,
    Role,
    User,
)
from tests.e2e.conftest import TEACHER_ID, BotHarness, has_button

SINGLE, MULTI, TEXT = QuestionType.single_choice, QuestionType.multiple_choice, QuestionType.text


def quiz_course(
    questions: list[QuestionDraft],
    *,
    lessons_before: int = 1,
    passing: int = 100,
    attempts: int = 3,
) -> CourseDraft:
    lessons = [LessonDraft(f"Reading {i + 1}", "Read this.") for i in range(lessons_before)]
    lessons.append(
        LessonDraft(
            "Check yourself",
            "Time for a quiz.",
            quiz=QuizDraft("Variables check", passing, attempts, questions),
        )
    )
    return CourseDraft("Python Basics", category="Programming", published=True, lessons=lessons)


def assign() -> QuestionDraft:
    return QuestionDraft(
        "Which line assigns 4 to x?",
        SINGLE,
        [OptionDraft("x == 4"), OptionDraft("x = 4", True)],
        "One = assigns, two compare.",
    )


def names() -> QuestionDraft:
    return QuestionDraft(
        "Pick the valid names",
        MULTI,
        [OptionDraft("my_var", True), OptionDraft("2var"), OptionDraft("_x", True)],
    )


def explain() -> QuestionDraft:
    return QuestionDraft("In your own words, what is a variable?", TEXT)


async def enrolled_student(bot: BotHarness, course_id: int, user_id: int = 3001, name: str = "Ann"):
    student = bot.emulator.user(user_id, name)
    await student.send(f"/start course-{course_id}")
    await student.press("Enroll")
    return student


async def open_quiz_lesson(student) -> None:
    """From enrollment to the quiz lesson: complete the readings, then open the last lesson."""
    await student.press("Continue")
    while has_button(student.last, "Complete"):
        answer = await student.press("Complete")
        assert answer is not None and not answer.show_alert, answer
        await student.press("Next lesson")


async def begin_quiz(student) -> None:
    """From enrollment to the first question: the lesson's Start quiz, then the intro's."""
    await open_quiz_lesson(student)
    await student.press("Start quiz")
    await student.press("Start quiz")


async def test_fail_then_retry_and_pass(bot: BotHarness):
    course = await bot.course(quiz_course([assign(), names()]))
    ann = await enrolled_student(bot, course.id)
    await open_quiz_lesson(ann)
    lesson = ann.last
    assert "Check yourself" in lesson.text
    assert has_button(lesson, "Start quiz") and not has_button(lesson, "Complete")

    await ann.press("Start quiz")
    intro = ann.last.text
    for fact in (
        "Variables check",
        "Questions: 2",
        "Passing score: 100%",
        "Attempts: 0 of 3 used · 3 left",
    ):
        assert fact in intro
    await ann.press("Start quiz")
    first = ann.last
    assert "Question 1 of 2" in first.text and "Which line assigns 4 to x?" in first.text
    await ann.press("x == 4")
    assert "Your answer: x == 4" in first.text and not first.buttons, (
        "the answered question is frozen"
    )
    second = ann.last
    assert "Question 2 of 2" in second.text
    await ann.press("my_var")
    assert has_button(second, "☑ A) my_var") and has_button(second, "☐ C) _x")
    await ann.press("_x")
    await ann.press("Submit")
    result = ann.last.text
    assert "Score: 50% · ❌ Not passed (passing score 100%)" in result
    assert "✗ 1. Which line assigns 4 to x?" in result and "✓ 2. Pick the valid names" in result
    assert "One = assigns, two compare." in result
    assert "Correct:" not in result, "correct answers stay hidden until the quiz is passed"
    assert "Attempts: 1 of 3 used · 2 left" in result

    await ann.press("Retry")
    await ann.press("x = 4")
    await ann.press("my_var")
    await ann.press("_x")
    mark = ann.mark()
    await ann.press("Submit")
    texts = [m.text for m in ann.since(mark)]
    assert any("Score: 100% · ✅ Passed" in t and "Correct: x = 4" in t for t in texts), texts
    assert any("Lesson Check yourself completed" in t and "100%" in t for t in texts), texts
    assert any("Congratulations" in t for t in texts)

    await ann.press("History")
    history = ann.last.text
    assert history.count("❌ not passed") == 1 and history.count("✅ passed") == 1
    assert "UTC — 50% · ❌ not passed" in history and "UTC — 100% · ✅ passed" in history
    [mine] = await ann.send("/mycourses")
    await ann.press("Open", message=mine)  # a finished course opens at its first lesson
    for _ in range(3):
        if "Check yourself" in ann.last.text:
            break
        await ann.press("Next")
    await ann.press("Quiz history")
    assert ann.last.text == history, "the lesson leads to the same history"


async def test_restart_in_the_middle_of_a_quiz_and_finish_it(bot: BotHarness):
    course = await bot.course(quiz_course([assign(), names()], lessons_before=0))
    ann = await enrolled_student(bot, course.id)
    await begin_quiz(ann)
    await ann.press("x = 4")
    second = ann.last
    await ann.press("my_var", message=second)

    await bot.restart()

    [mine] = await ann.send("/mycourses")
    await ann.press("Continue", message=mine)
    assert has_button(ann.last, "Continue quiz"), "the lesson offers to resume"
    # The buttons already in the chat keep working after the restart.
    await ann.press("_x", message=second)
    await ann.press("Submit", message=second)
    assert "Score: 100% · ✅ Passed" in ann.texts()[-3]
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(QuizAttempt.id))) == 1


async def test_double_tap_on_an_option_records_one_answer(bot: BotHarness):
    course = await bot.course(quiz_course([assign(), names()], lessons_before=0))
    ann = await enrolled_student(bot, course.id)
    await begin_quiz(ann)
    question = ann.last
    mark = ann.mark()
    first, second = await asyncio.gather(
        ann.press("x = 4", message=question), ann.press("x = 4", message=question)
    )
    assert sorted([first.text, second.text]) == ["Saved ✅", "You already answered this question."]
    assert [m.text.splitlines()[0] for m in ann.since(mark)] == ["❓ Question 2 of 2"]
    async with bot.database.session() as session:
        attempt = await session.scalar(select(QuizAttempt))
        assert len(attempt.answers) == 1


async def test_stale_and_forged_quiz_buttons_change_nothing(bot: BotHarness):
    course = await bot.course(quiz_course([assign()], lessons_before=0))
    other = await bot.course(quiz_course([names()], lessons_before=0))
    ann = await enrolled_student(bot, course.id)
    bob = await enrolled_student(bot, course.id, 3002, "Bob")
    await begin_quiz(bob)
    async with bot.database.session() as session:
        bobs = await session.scalar(select(QuizAttempt))
        [assign_q] = await session.scalars(
            select(Question).join(Quiz).where(Quiz.id == bobs.quiz_id)
        )
        other_q = await session.scalar(select(Question).where(Question.id != assign_q.id))
    await begin_quiz(ann)
    question = ann.last
    async with bot.database.session() as session:
        anns = await session.scalar(select(QuizAttempt).where(QuizAttempt.id != bobs.id))
    option = assign_q.id  # any integer will do for forged option ids below

    forged = {
        encode(Action.quiz_answer, bobs.id, assign_q.id, option): "no longer available",
        encode(Action.quiz_answer, anns.id, other_q.id, option): "not part of your quiz",
        encode(Action.quiz_answer, anns.id, assign_q.id, 999_999): "does not belong",
        encode(Action.quiz_toggle, anns.id, assign_q.id, 1 << 9): "does not fit",
        encode(Action.quiz_submit, anns.id, other_q.id, 1): "not part of your quiz",
        encode(Action.quiz_begin, other.id): "Enroll in this course",
        encode(Action.quiz_start, 999_999): "no longer exists",
    }
    for data, expected in forged.items():
        mark = ann.mark()
        answer = await ann.press_data(data, question.message_id)
        assert answer is not None and answer.show_alert and expected in answer.text, (data, answer)
        assert ann.since(mark) == []

    await ann.press("x = 4", message=question)
    assert "✅ Passed" in ann.texts()[-3]
    answer = await ann.press_data(
        encode(Action.quiz_answer, anns.id, assign_q.id, option), question.message_id
    )
    assert answer.show_alert and "already finished" in answer.text
    async with bot.database.session() as session:
        bobs_now = await session.get(QuizAttempt, bobs.id)
        assert bobs_now.answers == {} and bobs_now.status == AttemptStatus.in_progress


async def test_multiple_choice_needs_a_selection(bot: BotHarness):
    course = await bot.course(quiz_course([names()], lessons_before=0))
    ann = await enrolled_student(bot, course.id)
    await begin_quiz(ann)
    answer = await ann.press("Submit")
    assert answer.show_alert and "Select at least one option" in answer.text
    await ann.press("2var")
    await ann.press("2var")  # toggled off again
    assert has_button(ann.last, "☐ B) 2var")


async def test_text_answers_length_limit_then_review_accept_and_reject(bot: BotHarness):
    course = await bot.course(quiz_course([explain()], lessons_before=0, attempts=2))
    ann = await enrolled_student(bot, course.id, 3001, "Ann")
    bob = await enrolled_student(bot, course.id, 3002, "Bob <b>")
    for student, answer in ((ann, "A name for a <value> & more"), (bob, "No idea")):
        await begin_quiz(student)
        assert "Type your answer" in student.last.text
        if student is ann:
            [refused] = await student.send("x" * 1001)
            assert "1001 characters long; please keep it under 1000" in refused.text
        [result] = await student.send(answer)
        assert "waiting for the instructor's review" in result.text

    # Students and other instructors cannot review.
    [refusal] = await ann.send("/review")
    assert refusal.text == "This is for instructors."
    async with bot.database.session() as session:
        await raise_role(session, 3999, Role.instructor)
        ann_attempt = await session.scalar(select(func.min(QuizAttempt.id)))
    stranger = bot.emulator.user(3999, "Other teacher")
    [nothing] = await stranger.send("/review")
    assert "Nothing to review" in nothing.text
    answer = await stranger.press_data(
        encode(Action.review_accept, ann_attempt), nothing.message_id
    )
    assert answer.show_alert and "Only the course's instructor" in answer.text
    answer = await ann.press_data(encode(Action.review_confirm, ann_attempt, 1), refusal.message_id)
    assert answer.show_alert and "This is for instructors." in answer.text

    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    [item] = await teacher.send("/review")
    assert "(2 pending)" in item.text and "Student: Ann" in item.text
    assert "A name for a <value> & more" in item.text
    await teacher.press("Accept")
    assert "Type a comment" in teacher.last.text
    mark = ann.mark()
    await teacher.send("Well put <3")
    told = [m.text for m in ann.since(mark)]
    assert any("were accepted" in t and "💬 Well put <3" in t for t in told), told
    assert any("completed" in t and "100%" in t for t in told), told
    assert "Bob <b>" in teacher.last.text, "the next pending answer follows"

    await teacher.press("Reject")
    mark = bob.mark()
    await teacher.press("Confirm without comment")
    [verdict] = bob.since(mark)
    assert "were not accepted" in verdict.text and has_button(verdict, "Retry")
    assert "Nothing to review" in teacher.last.text
    stale = await teacher.press("Accept", message=item)
    assert stale.show_alert and "already been reviewed" in stale.text

    async with bot.database.session() as session:
        statuses = list(await session.scalars(select(QuizAttempt.passed).order_by(QuizAttempt.id)))
        assert statuses == [True, False]
        assert await session.scalar(select(func.count(LessonCompletion.id))) == 1
    await bob.press("Retry")
    assert "Question 1 of 1" in bob.last.text


async def test_review_can_be_cancelled_and_instructors_see_it_in_their_menu(bot: BotHarness):
    course = await bot.course(quiz_course([explain()], lessons_before=0))
    ann = await enrolled_student(bot, course.id)
    await begin_quiz(ann)
    await ann.send("Something")
    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    await teacher.send("/start")
    assert "review" in [c["command"] for c in teacher.commands()]
    assert "review" not in [c["command"] for c in ann.commands()]
    [help_text] = await teacher.send("/help")
    assert "/review" in help_text.text
    await teacher.send("/review")
    await teacher.press("Reject")
    [cancelled] = await teacher.send("/cancel")
    assert "Nothing was decided" in cancelled.text
    async with bot.database.session() as session:
        attempt = await session.scalar(select(QuizAttempt))
        assert attempt.status == AttemptStatus.pending_review


async def test_a_student_who_blocked_the_bot_is_marked_and_the_reviewer_told(bot: BotHarness):
    course = await bot.course(quiz_course([explain()], lessons_before=0))
    ann = await enrolled_student(bot, course.id)
    await begin_quiz(ann)
    await ann.send("Something")
    update_id = ann.block()
    await bot.emulator.wait_processed(update_id)
    async with bot.database.session() as session:
        assert await session.scalar(select(User.is_blocked).where(User.telegram_id == ann.id))
    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    await teacher.send("/review")
    await teacher.press("Accept")
    await teacher.press("Confirm without comment")
    assert "could not be told (they blocked the bot); it is saved" in teacher.texts()[-2]
    bot.emulator.refused.clear()  # the 403 for the blocked student is the point of this test
    await bot.emulator.wait_processed(ann.unblock())
    async with bot.database.session() as session:
        assert not await session.scalar(select(User.is_blocked).where(User.telegram_id == ann.id))
        assert await session.scalar(select(func.count(LessonCompletion.id))) == 1


async def test_long_answers_reach_the_reviewer_in_parts(bot: BotHarness):
    questions = [QuestionDraft(f"Essay {n}: " + "why? " * 55, TEXT) for n in range(4)]
    course = await bot.course(quiz_course(questions, lessons_before=0))
    ann = await enrolled_student(bot, course.id)
    await begin_quiz(ann)
    for n in range(4):
        await ann.send(f"Answer {n} " + "because " * 123)
    assert "waiting for the instructor's review" in ann.last.text
    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    parts = await teacher.send("/review")
    assert len(parts) >= 2 and all(len(part.text) <= 4096 for part in parts)
    shown = "\n".join(part.text for part in parts)
    assert all(f"Answer {n} because" in shown for n in range(4))
    assert has_button(parts[-1], "Accept") and not parts[0].buttons

"""Instructors attach quizzes to lessons in the chat: the compact format and quiz polls."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.callbacks import Action, encode
from db.models import AttemptStatus, Lesson, LessonCompletion, Question, Quiz, QuizAttempt
from tests.e2e.conftest import BotHarness, has_button, simple_course
from tests.e2e.test_authoring import teacher_of

QUESTIONS = """Which line assigns 4 to x?
- x == 4
+ x = 4
> One = assigns, two compare.

In your own words, what is a variable?"""


async def open_lesson_card(teacher, course_title: str, lesson_label: str) -> None:
    await teacher.send("/teach")
    await teacher.press(course_title)
    await teacher.press(lesson_label)


async def test_a_quiz_is_written_in_the_compact_format_and_from_a_poll(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Python", lessons=1))
    await open_lesson_card(tess, "Python", "1. Lesson 1")
    await tess.press("Quiz")
    await tess.send("Variables check")
    [bad] = await tess.send("eighty")
    assert "0 to 100" in bad.text, "an invalid score is explained and asked again"
    await tess.send("50")
    await tess.press("Skip")  # unlimited attempts
    assert "Variables check" in tess.last.text and has_button(tess.last, "Add questions")

    await tess.press("Add questions")
    [error] = await tess.send("Pick one\n+ yes\n+ also yes\n\nBroken\n- no\n- never")
    assert "question 2" in error.text and "correct option" in error.text
    [added] = await tess.send(QUESTIONS)
    assert "Added 2 questions" in added.text
    await tess.send_quiz_poll("2 + 2 = ?", ["3", "4", "5"], [1], explanation="Arithmetic.")
    assert "the quiz has 3" in tess.last.text
    await tess.press("Done")
    card = tess.last
    assert "Questions (3)" in card.text and "+ x = 4" in card.text and "+ 4" in card.text
    await tess.press("⬆️ 3", message=card)  # the poll's question comes second
    assert card.text.index("2 + 2 = ?") < card.text.index("In your own words")

    async with bot.database.session() as session:
        quiz = await session.scalar(select(Quiz))
        assert (quiz.title, quiz.passing_score, quiz.max_attempts) == ("Variables check", 50, 0)
        assert await session.scalar(select(func.count(Question.id))) == 3

    # A student takes it: two auto-graded questions right, the text one waits for review.
    ann = bot.emulator.user(3001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    await ann.press("Start quiz")
    await ann.press("Start quiz")
    await ann.press("x = 4")
    await ann.press("4")
    await ann.send("A name for a value")
    assert "Congratulations" in ann.last.text, "she passed (the text answer is not graded)"


async def test_changing_a_quiz_with_attempts_asks_and_keeps_results(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(title="Python", lessons=1))
    await open_lesson_card(tess, "Python", "1. Lesson 1")
    await tess.press("Quiz")
    await tess.send("Check")
    await tess.press("Skip")
    await tess.press("Skip")
    await tess.press("Add questions")
    await tess.send("Which is even?\n+ 2\n- 3\n\nWhich is odd?\n- 2\n+ 3")
    await tess.press("Done")
    quiz_card = tess.last

    ann = bot.emulator.user(3001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    await ann.press("Start quiz")
    await ann.press("Start quiz")
    await ann.press("2")
    await ann.press("3")  # passed: the lesson is completed
    bob = bot.emulator.user(3002, "Bob")
    await bob.send(f"/start course-{course.id}")
    await bob.press("Enroll")
    await bob.press("Continue")
    await bob.press("Start quiz")
    await bob.press("Start quiz")
    await bob.press("2")  # in progress

    await tess.press("Add questions", message=quiz_card)
    assert "start again" in tess.last.text and has_button(tess.last, "Confirm")
    await tess.press("Confirm")
    await tess.send("Which is prime?\n+ 3\n- 4")
    await tess.press("Done")
    async with bot.database.session() as session:
        attempts = list(await session.scalars(select(QuizAttempt).order_by(QuizAttempt.id)))
        statuses = [attempt.status for attempt in attempts]
        assert statuses == [AttemptStatus.submitted, AttemptStatus.in_progress], (
            "Ann's result stays, Bob's restarts in place"
        )
        assert attempts[1].answers == {} and attempts[1].restarted_at is not None
        assert await session.scalar(select(func.count(LessonCompletion.id))) == 1
        assert await session.scalar(select(func.count(Question.id))) == 3
    mark = bob.mark()
    told = await bob.press("3")
    assert not told.show_alert, "Bob's old question button tells him, then starts again"
    notice, first = bob.since(mark)
    assert "changed the quiz" in notice.text and "Question 1 of 3" in first.text


async def test_forged_quiz_authoring_buttons_change_nothing(bot: BotHarness):
    await teacher_of(bot)
    other = await teacher_of(bot, 900_777, "Otto")
    course = await bot.course(simple_course(title="Mine", lessons=1))
    async with bot.database.session() as session:
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == course.id))
    ann = bot.emulator.user(3001, "Ann")
    [anchor] = await ann.send("/help")
    [other_anchor] = await other.send("/help")
    for data in (
        encode(Action.lesson_quiz, lesson_id),
        encode(Action.quiz_add, 1),
        encode(Action.quiz_delete_confirm, 1),
        encode(Action.question_delete_confirm, 1),
    ):
        answer = await ann.press_data(data, anchor.message_id)
        assert answer.show_alert and "instructors" in answer.text, (data, answer)
        answer = await other.press_data(data, other_anchor.message_id)
        assert answer.show_alert, (data, answer)
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(Quiz.id))) == 0

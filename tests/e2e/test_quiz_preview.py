"""The instructor changes a quiz students are taking, and previews a quiz as a student gets it.

- A confirmed change restarts every attempt in progress in place: its student is told so at the
  next tap (or typed answer) and gets question 1 of the quiz as it is now; finished attempts stay.
- 👁 Preview on the quiz's card sends the intro and every question exactly as a student receives
  them; its buttons only say whether an option is right, and nothing is recorded.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.callbacks import Action, encode
from bot.emulator.users import ChatMessage
from db.models import AnswerOption, AttemptStatus, Question, Quiz, QuizAttempt, User
from tests.e2e.conftest import ADMIN_ID, BotHarness, has_button
from tests.e2e.test_authoring import teacher_of
from tests.e2e.test_quiz_authoring import open_lesson_card
from tests.e2e.test_quiz_journeys import (
    assign,
    begin_quiz,
    enrolled_student,
    explain,
    names,
    open_quiz_lesson,
    quiz_course,
)

RESTARTED = "changed the quiz"
FROM_THE_START = "starts again from the first question"


async def quiz_card(teacher, course_title: str = "Python Basics") -> ChatMessage:
    """The quiz's management card, from /teach (the quiz lesson is the course's only one)."""
    await open_lesson_card(teacher, course_title, "1. Check yourself")
    await teacher.press("Quiz")
    return teacher.last


async def delete_question(teacher, number: int) -> None:
    """🗑 n on the quiz's card, then Confirm (the quiz has been taken)."""
    await quiz_card(teacher)
    await teacher.press(f"🗑 {number}")
    assert "start again" in teacher.last.text
    await teacher.press("Confirm")


async def add_question(teacher) -> None:
    await quiz_card(teacher)
    await teacher.press("Add questions")
    assert "start again" in teacher.last.text
    await teacher.press("Confirm")
    await teacher.send("Which is prime?\n+ 3\n- 4")
    await teacher.press("Done")


async def attempts_of(bot: BotHarness, telegram_id: int) -> list[QuizAttempt]:
    async with bot.database.session() as session:
        return list(
            await session.scalars(
                select(QuizAttempt)
                .join(User, User.id == QuizAttempt.student_id)
                .where(User.telegram_id == telegram_id)
                .order_by(QuizAttempt.id)
            )
        )


def told_and_restarted(messages: list[ChatMessage], total: int) -> None:
    """The notice, then question 1 of the changed quiz as a new message."""
    assert len(messages) == 2, [m.text for m in messages]
    notice, first = messages
    assert RESTARTED in notice.text and FROM_THE_START in notice.text, notice.text
    assert first.text.startswith(f"❓ Question 1 of {total}"), first.text
    assert "Which line assigns 4 to x?" in first.text and has_button(first, "x = 4")


# -- the quiz changed while a student was taking it -----------------------------------------------


async def test_an_old_button_of_a_restarted_attempt_tells_the_student_and_starts_again(
    bot: BotHarness,
):
    course = await bot.course(quiz_course([assign(), names(), explain()], lessons_before=0))
    tess = await teacher_of(bot)
    bob = await enrolled_student(bot, course.id, 3002, "Bob")
    await begin_quiz(bob)
    await bob.press("x == 4")
    await bob.press("2var")
    await bob.press("Submit")
    await bob.send("No idea")
    assert "Not passed" in bob.last.text
    await bob.press("Retry")
    await bob.press("x = 4")
    old_second = bob.last
    assert "Question 2 of 3" in old_second.text
    [submitted_before, _] = await attempts_of(bot, bob.id)

    await delete_question(tess, 2)  # the very question Bob is on

    [submitted, restarted] = await attempts_of(bot, bob.id)
    assert restarted.status == AttemptStatus.in_progress and restarted.answers == {}
    assert restarted.restarted_at is not None

    mark = bob.mark()
    answer = await bob.press("my_var", message=old_second)  # its question no longer exists
    assert answer is not None and not answer.show_alert, answer
    told_and_restarted(bob.since(mark), total=2)

    after = await attempts_of(bot, bob.id)
    assert [a.id for a in after] == [submitted.id, restarted.id], "no attempt added or removed"
    assert (after[0].status, after[0].score, after[0].answers) == (
        submitted_before.status,
        submitted_before.score,
        submitted_before.answers,
    ), "the submitted attempt is untouched"
    assert after[1].restarted_at is None and after[1].answers == {}

    # Told once: the old buttons are now plain stale buttons.
    mark = bob.mark()
    stale = await bob.press("Submit", message=old_second)
    assert stale.show_alert and RESTARTED not in stale.text and bob.since(mark) == []

    await bob.press("x = 4")
    assert "Question 2 of 2" in bob.last.text and "In your own words" in bob.last.text
    result, *_ = await bob.send("A name for a value")
    assert "Score: 100% · ✅ Passed" in result.text, "scored on the quiz as it is now"
    statuses = [a.status for a in await attempts_of(bot, bob.id)]
    assert statuses == [AttemptStatus.submitted, AttemptStatus.submitted]


async def test_continue_quiz_start_quiz_and_a_typed_answer_tell_of_the_restart(bot: BotHarness):
    course = await bot.course(quiz_course([assign(), names(), explain()], lessons_before=0))
    tess = await teacher_of(bot)
    cy = await enrolled_student(bot, course.id, 3003, "Cy")
    dee = await enrolled_student(bot, course.id, 3004, "Dee")
    eve = await enrolled_student(bot, course.id, 3005, "Eve")
    for student in (cy, dee, eve):
        await begin_quiz(student)
        await student.press("x = 4")
    await eve.press("my_var")
    await eve.press("Submit")
    assert "Type your answer" in eve.last.text, "Eve waits on the text question"

    await add_question(tess)

    # Cy opens the lesson again: it offers Continue quiz, which tells him and starts again.
    await cy.press("Continue")
    assert has_button(cy.last, "Continue quiz")
    mark = cy.mark()
    await cy.press("Continue quiz")
    told_and_restarted(cy.since(mark), total=4)

    # Dee presses Start quiz on the lesson message she got before she started.
    lesson = next(m for m in dee.bot_messages if has_button(m, "📝 Start quiz"))
    mark = dee.mark()
    await dee.press("Start quiz", message=lesson)
    told_and_restarted(dee.since(mark), total=4)
    mark = dee.mark()
    await dee.press("Start quiz", message=lesson)  # told once: now the intro, as usual
    [intro] = dee.since(mark)
    assert "Questions: 4" in intro.text and "0 of 4 answered" in intro.text

    # Eve types her answer to the old text question: it is not recorded against question 1.
    mark = eve.mark()
    await eve.send("A name for a value")
    told_and_restarted(eve.since(mark), total=4)
    for student in (cy, dee, eve):
        [attempt] = await attempts_of(bot, student.id)
        assert attempt.answers == {} and attempt.restarted_at is None, student.first_name


async def test_a_restarted_quiz_without_questions_says_so(bot: BotHarness):
    course = await bot.course(quiz_course([assign()], lessons_before=0))
    tess = await teacher_of(bot)
    ann = await enrolled_student(bot, course.id)
    await begin_quiz(ann)
    question = ann.last

    await delete_question(tess, 1)

    mark = ann.mark()
    await ann.press("x = 4", message=question)
    [notice] = ann.since(mark)
    assert RESTARTED in notice.text and "no questions yet" in notice.text
    await ann.press("Continue")
    answer = await ann.press("Continue quiz")
    assert answer.show_alert and "no questions yet" in answer.text
    [attempt] = await attempts_of(bot, ann.id)
    assert attempt.status == AttemptStatus.in_progress and attempt.restarted_at is None


# -- preview ---------------------------------------------------------------------------------------


def looks(message: ChatMessage) -> tuple[str, list[list[str]]]:
    """A message as a person sees it: its text and its buttons' labels, row by row."""
    return message.text, [[b["text"] for b in row] for row in message.buttons]


async def student_sees(bot: BotHarness, course_id: int) -> tuple[str, list[tuple]]:
    """The intro and each question (as first shown) a student gets, answering as they go."""
    sam = await enrolled_student(bot, course_id, 3009, "Sam")
    await open_quiz_lesson(sam)
    await sam.press("Start quiz")
    intro = sam.last.text
    await sam.press("Start quiz")
    seen = [looks(sam.last)]
    await sam.press("x = 4")
    seen.append(looks(sam.last))
    await sam.press("my_var")
    await sam.press("Submit")
    seen.append(looks(sam.last))
    return intro, seen


async def test_an_instructor_previews_a_quiz_as_a_student_receives_it(bot: BotHarness):
    course = await bot.course(quiz_course([assign(), names(), explain()], lessons_before=0))
    intro, seen = await student_sees(bot, course.id)  # Sam's attempt waits for his text
    [sams] = await attempts_of(bot, 3009)
    tess = await teacher_of(bot)
    card = await quiz_card(tess)
    assert has_button(card, "👁 Preview")

    mark = tess.mark()
    answer = await tess.press("Preview", message=card)
    assert answer is not None and not answer.show_alert
    sent = tess.since(mark)
    assert len(sent) == 1 + 3, [m.text for m in sent]
    head, *questions = sent
    assert "Preview" in head.text and head.text.endswith(intro)
    assert not head.buttons
    assert [looks(m) for m in questions[:2]] == seen[:2], "the same text and buttons"
    text, buttons = looks(questions[2])
    assert text.startswith(seen[2][0]) and "(students type their answer)" in text
    assert buttons == seen[2][1] == []

    mark = tess.mark()
    right = await tess.press("x = 4", message=questions[0])
    assert right.show_alert and right.text.startswith("✓ Correct")
    assert "One = assigns, two compare." in right.text
    wrong = await tess.press("x == 4", message=questions[0])
    assert wrong.show_alert and wrong.text.startswith("✗ Wrong")
    toggle = await tess.press("2var", message=questions[1])
    assert toggle.show_alert and toggle.text.startswith("✗ Wrong")
    assert has_button(questions[1], "☐ B) 2var"), "a preview toggle changes nothing"
    assert (await tess.press("_x", message=questions[1])).text.startswith("✓ Correct")
    submit = await tess.press("Submit", message=questions[1])
    assert submit.show_alert and "A, C" in submit.text
    assert tess.since(mark) == [], "preview buttons only answer"
    assert await attempts_of(bot, tess.id) == []
    [still] = await attempts_of(bot, 3009)
    assert (still.version, still.answers) == (sams.version, sams.answers), "Sam's is untouched"
    assert "Taken: 1" in (await quiz_card(tess)).text


async def test_forged_preview_buttons_are_refused(bot: BotHarness):
    course = await bot.course(quiz_course([assign()], lessons_before=0))
    await teacher_of(bot)
    otto = await teacher_of(bot, 900_777, "Otto")
    admin = bot.emulator.user(ADMIN_ID, "Ada")
    ann = await enrolled_student(bot, course.id)
    async with bot.database.session() as session:
        quiz_id = await session.scalar(select(Quiz.id))
        question_id = await session.scalar(select(Question.id))
        right = await session.scalar(select(AnswerOption.id).where(AnswerOption.is_correct))
    forged = (
        encode(Action.quiz_preview, quiz_id),
        encode(Action.quiz_preview_option, question_id, right),
        encode(Action.quiz_preview_submit, question_id),
    )
    [anchor] = await ann.send("/help")
    [other_anchor] = await otto.send("/help")
    for data in forged:
        mark, other_mark = ann.mark(), otto.mark()
        answer = await ann.press_data(data, anchor.message_id)
        assert answer.show_alert and "instructors" in answer.text, (data, answer)
        answer = await otto.press_data(data, other_anchor.message_id)
        assert answer.show_alert and "no longer exists" in answer.text, (data, answer)
        assert ann.since(mark) == [] and otto.since(other_mark) == []

    # Admins manage every course; an option of another question is refused.
    [admin_anchor] = await admin.send("/help")
    answer = await admin.press_data(forged[1], admin_anchor.message_id)
    assert answer.show_alert and answer.text.startswith("✓ Correct")
    answer = await admin.press_data(
        encode(Action.quiz_preview_option, question_id, right + 1000), admin_anchor.message_id
    )
    assert answer.show_alert and "does not belong" in answer.text
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(QuizAttempt.id))) == 0

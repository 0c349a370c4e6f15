"""Rules the other journeys never tripped: each test fails if its rule is dropped from the code.

Who may review an answer, where the bot agrees to teach, the order of quiz answers, and what a
repeated enrollment is called; each checked as the user sees it and in the database.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot import texts
from bot.callbacks import Action, encode
from bot.emulator.users import GroupChat, TestUser
from db.authoring import CourseDraft, LessonDraft, OptionDraft, QuestionDraft, QuizDraft
from db.models import (
    AttemptStatus,
    Enrollment,
    LessonCompletion,
    Question,
    QuestionType,
    QuizAttempt,
    User,
)
from tests.e2e.conftest import ADMIN_ID, TEACHER_ID, BotHarness, has_button, simple_course

OTHER_TEACHER_ID = 900_003


def quiz_course(title: str, questions: list[QuestionDraft]) -> CourseDraft:
    """A published course whose only lesson is a quiz (pass mark 100%)."""
    quiz = QuizDraft("Check yourself", 100, 3, questions)
    lesson = LessonDraft("Quiz time", "Answer the questions.", quiz=quiz)
    return CourseDraft(title, category="Testing", published=True, lessons=[lesson])


def essay() -> QuestionDraft:
    return QuestionDraft("In your own words, what is a variable?", QuestionType.text)


def choice(text: str, right: str, wrong: str) -> QuestionDraft:
    return QuestionDraft(
        text, QuestionType.single_choice, [OptionDraft(wrong), OptionDraft(right, True)]
    )


async def begin_quiz(bot: BotHarness, course_id: int, user_id: int, name: str) -> TestUser:
    """A new student enrolls and opens the quiz at its first question."""
    student = bot.emulator.user(user_id, name)
    await student.send(f"/start course-{course_id}")
    await student.press("Enroll")
    await student.press("Continue")
    await student.press("Start quiz")  # the lesson's button, then the intro's
    await student.press("Start quiz")
    return student


async def attempt_of(bot: BotHarness, student: TestUser) -> QuizAttempt:
    async with bot.database.session() as session:
        account = await session.scalar(select(User.id).where(User.telegram_id == student.id))
        attempt = await session.scalar(select(QuizAttempt).where(QuizAttempt.student_id == account))
    assert attempt is not None, f"{student!r} has no quiz attempt"
    return attempt


async def count(bot: BotHarness, model: type, *where: object) -> int:
    async with bot.database.session() as session:
        return await session.scalar(select(func.count(model.id)).where(*where)) or 0


async def test_an_instructor_cannot_review_another_instructors_course(bot: BotHarness):
    """Instructor A's students are reviewed by A or an admin; instructor B sees and decides
    only on B's own course, whatever buttons B forges."""
    ours = await bot.course(quiz_course("Python Basics", [essay()]))
    theirs = await bot.course(quiz_course("Data Science", [essay()]), owner_id=OTHER_TEACHER_ID)
    ann = await begin_quiz(bot, ours.id, 3001, "Ann")
    await ann.send("A box with a name on it")
    bob = await begin_quiz(bot, theirs.id, 3002, "Bob")
    await bob.send("A label for a value")
    anns = (await attempt_of(bot, ann)).id

    ben = bot.emulator.user(OTHER_TEACHER_ID, "Ben")
    [item] = await ben.send("/review")
    assert "(1 pending)" in item.text and "Student: Bob" in item.text, item.text
    assert "A box with a name" not in item.text, "B is shown an answer from A's course"

    ann_mark = ann.mark()
    for data in (
        encode(Action.review_accept, anns),
        encode(Action.review_reject, anns),
        encode(Action.review_confirm, anns, 1),
        encode(Action.review_confirm, anns, 0),
    ):
        mark = ben.mark()
        answer = await ben.press_data(data, item.message_id)
        assert answer is not None and answer.show_alert, (data, answer)
        assert "Only the course's instructor" in answer.text, (data, answer)
        assert ben.since(mark) == [], f"{data!r} made the bot send B something"
    assert ann.since(ann_mark) == [], "Ann was told about a decision nobody may make"
    async with bot.database.session() as session:
        attempt = await session.get(QuizAttempt, anns)
        assert attempt.status == AttemptStatus.pending_review, attempt.status
        assert attempt.passed is None and attempt.reviewer_id is None
    assert await count(bot, LessonCompletion) == 0

    # B still reviews B's own course (the refusals above are about ownership, not B).
    await ben.press("Accept", message=item)
    await ben.press("Confirm without comment")
    assert "Accepted: Bob" in ben.texts()[-2] and ben.last.text == texts.NOTHING_TO_REVIEW

    admin = bot.emulator.user(ADMIN_ID, "Ada")
    [seen] = await admin.send("/review")
    assert "Student: Ann" in seen.text and "A box with a name on it" in seen.text, seen.text
    await admin.press("Accept", message=seen)
    assert "Accepting the answers of Ann" in admin.last.text
    [cancelled] = await admin.send("/cancel")
    assert "Nothing was decided" in cancelled.text

    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    [mine] = await teacher.send("/review")
    assert "(1 pending)" in mine.text and "Student: Ann" in mine.text, mine.text
    await teacher.press("Accept", message=mine)
    mark = ann.mark()
    await teacher.press("Confirm without comment")
    assert any("were accepted" in m.text for m in ann.since(mark)), ann.transcript()
    async with bot.database.session() as session:
        attempt = await session.get(QuizAttempt, anns)
        teacher_account = await session.scalar(
            select(User.id).where(User.telegram_id == TEACHER_ID)
        )
        assert attempt.status == AttemptStatus.graded and attempt.passed
        assert attempt.reviewer_id == teacher_account


async def test_in_a_group_the_bot_only_points_to_the_private_chat(bot: BotHarness):
    """Learning is private: group commands get a pointer, group buttons an alert, and nothing
    is shown, stored or enrolled for the group."""
    course = await bot.course(simple_course(lessons=2))
    ann = bot.emulator.user(3101, "Ann")
    group = GroupChat(bot.emulator, -100_123, "Study group")

    for command in (
        "/courses",
        f"/start course-{course.id}",
        f"/start@{bot.emulator.bot_username} course-{course.id}",
        "/mycourses",
        "/help",
    ):
        replies = await group.send(ann, command)
        assert [m.text for m in replies] == [texts.PRIVATE_ONLY], (command, replies)
    assert await group.send(ann, "Anyone on Python Basics?") == [], "plain chatter is not read"
    pointer = group.bot_messages[-1]
    for data in (encode(Action.course_enroll, course.id), encode(Action.catalog_page, 0)):
        answer = await group.press_data(ann, data, pointer.message_id)
        assert answer is not None and answer.show_alert, (data, answer)
        assert answer.text == texts.PRIVATE_ONLY, (data, answer)
    assert all(m.text == texts.PRIVATE_ONLY for m in group.bot_messages), group.texts()
    assert not any(m.buttons for m in group.bot_messages), "no button is ever shown in the group"
    assert ann.messages == [], "the bot wrote to Ann privately before she opened the chat"
    assert await count(bot, User, User.telegram_id == ann.id) == 0, "group traffic made an account"
    assert await count(bot, Enrollment) == 0

    # The pointer leads somewhere: in private, the same deep link enrolls.
    [card] = await ann.send(f"/start course-{course.id}")
    assert has_button(card, "Enroll"), card
    answer = await ann.press("Enroll", message=card)
    assert answer is not None and answer.text == "You are enrolled! 🎉"

    mark, ann_mark = group.mark(), ann.mark()
    answer = await group.press_data(ann, encode(Action.course_continue, course.id))
    assert answer is not None and answer.show_alert and answer.text == texts.PRIVATE_ONLY
    assert group.since(mark) == [] and ann.since(ann_mark) == [], "a group button opened a lesson"
    assert await count(bot, Enrollment) == 1
    assert await count(bot, LessonCompletion) == 0


async def test_a_forged_answer_to_a_later_question_is_refused(bot: BotHarness):
    """Questions are answered in order: a button for question 2 (or 3), forged while the
    student is on an earlier one, is refused and stores nothing; answering in order works."""
    course = await bot.course(
        quiz_course(
            "Trivia",
            [
                choice("Which is a fruit?", "Apple", "Carrot"),
                choice("Which is a colour?", "Green", "Seven"),
                choice("Which is a planet?", "Mars", "Moon"),
            ],
        )
    )
    ann = await begin_quiz(bot, course.id, 3201, "Ann")
    first = ann.last
    assert "Question 1 of 3" in first.text, first.text
    attempt = await attempt_of(bot, ann)
    async with bot.database.session() as session:
        questions = list(
            await session.scalars(
                select(Question)
                .where(Question.quiz_id == attempt.quiz_id)
                .order_by(Question.order_index)
                .options(selectinload(Question.options))
            )
        )
    right = {q.id: next(o.id for o in q.options if o.is_correct) for q in questions}
    q1, q2, q3 = right

    async def forge(question_id: int, on: int) -> None:
        mark = ann.mark()
        shown = ann.find_message(on).text
        data = encode(Action.quiz_answer, attempt.id, question_id, right[question_id])
        answer = await ann.press_data(data, on)
        assert answer is not None and answer.show_alert and "in order" in answer.text, answer
        assert ann.since(mark) == [], "a forged answer moved the quiz on"
        assert ann.find_message(on).text == shown, "a forged answer changed the question shown"

    await forge(q2, first.message_id)
    await forge(q3, first.message_id)
    async with bot.database.session() as session:
        stored = await session.get(QuizAttempt, attempt.id)
        assert stored.answers == {} and stored.status == AttemptStatus.in_progress, stored.answers

    await ann.press("Apple", message=first)
    second = ann.last
    assert "Question 2 of 3" in second.text, second.text
    await forge(q3, second.message_id)
    async with bot.database.session() as session:
        stored = await session.get(QuizAttempt, attempt.id)
        assert stored.answers == {str(q1): [right[q1]]}, stored.answers

    await ann.press("Green", message=second)
    await ann.press("Mars")
    assert any("Score: 100% · ✅ Passed" in text for text in ann.texts()), ann.transcript()
    async with bot.database.session() as session:
        stored = await session.get(QuizAttempt, attempt.id)
        assert stored.answers == {str(q): [right[q]] for q in (q1, q2, q3)}, stored.answers
        assert stored.status == AttemptStatus.submitted and stored.passed


async def test_enrolling_again_is_reported_as_already_enrolled(bot: BotHarness):
    """An old card's Enroll, a second deep-link card's Enroll, or a forged one after enrolling:
    "Already enrolled.", one enrollment row, and the progress made so far kept."""
    course = await bot.course(simple_course(lessons=3))
    ann = bot.emulator.user(3301, "Ann")
    [old_card] = await ann.send("/courses")
    await ann.press("Python Basics", message=old_card)
    assert has_button(old_card, "Enroll"), old_card
    [second_card] = await ann.send(f"/start course-{course.id}")

    answer = await ann.press("Enroll", message=second_card)
    assert answer is not None and answer.text == "You are enrolled! 🎉", answer
    assert "You are enrolled in Python Basics" in ann.last.text
    await ann.press("Continue")
    await ann.press("Complete")
    async with bot.database.session() as session:
        before = await session.scalar(select(Enrollment))
    assert before.progress_percentage == 33, before.progress_percentage

    for card in (old_card, second_card):
        mark = ann.mark()
        answer = await ann.press("Enroll", message=card)
        assert answer is not None and answer.text == "Already enrolled.", answer
        [reply] = ann.since(mark)
        assert reply.text == "You are already enrolled in Python Basics.", reply.text
        assert has_button(reply, "Continue")

    [third_card] = await ann.send(f"/start course-{course.id}")
    assert has_button(third_card, "Continue") and not has_button(third_card, "Enroll")
    mark = ann.mark()
    forged = await ann.press_data(encode(Action.course_enroll, course.id), third_card.message_id)
    assert forged is not None and forged.text == "Already enrolled.", forged
    assert [m.text for m in ann.since(mark)] == ["You are already enrolled in Python Basics."]

    async with bot.database.session() as session:
        rows = list(await session.scalars(select(Enrollment)))
    assert len(rows) == 1, rows
    [after] = rows
    assert (after.id, after.enrolled_at) == (before.id, before.enrolled_at)
    assert after.progress_percentage == 33, "enrolling again reset the progress"

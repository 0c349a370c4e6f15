"""An instructor announces a new lesson: every enrolled student gets it once, paced, and the
instructor is told how many were reached."""

from __future__ import annotations

from typing import cast

from sqlalchemy import func, select

from bot.callbacks import Action, encode
from bot.campaigns import WORKERS
from bot.emulator.users import TestUser
from db.accounts import get_user
from db.learning import enroll
from db.models import Campaign, Delivery, DeliveryStatus, Lesson, User
from handlers.common import LearnApplication
from tests.e2e.conftest import TEACHER_ID, BotHarness, has_button, simple_course
from tests.e2e.test_authoring import teacher_of

ANNOUNCED = "New lesson in"


async def students(bot: BotHarness, course_id: int, count: int, first_id: int = 5000):
    """``count`` students who wrote to the bot and are enrolled in the course."""
    people = []
    for number in range(count):
        student = bot.emulator.user(first_id + number, f"Student {number}")
        await student.send("/start")
        people.append(student)
    async with bot.database.session() as session:
        for student in people:
            await enroll(session, await get_user(session, student.id), course_id)
    return people


async def lesson_ids(bot: BotHarness, course_id: int) -> list[int]:
    async with bot.database.session() as session:
        return list(
            await session.scalars(
                select(Lesson.id).where(Lesson.course_id == course_id).order_by(Lesson.order_index)
            )
        )


def announcements(user: TestUser) -> list:
    return [m for m in user.bot_messages if ANNOUNCED in m.content]


def announced(request) -> bool:
    return request.method == "sendMessage" and request.ok and ANNOUNCED in request.params["text"]


async def all_sent(bot: BotHarness) -> None:
    assert bot.application is not None
    await cast(LearnApplication, bot.application).services.pushes.idle()


async def campaign_count(bot: BotHarness) -> int:
    async with bot.database.session() as session:
        return await session.scalar(select(func.count(Campaign.id))) or 0


async def test_a_new_lesson_is_announced_to_every_enrolled_student_once(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(lessons=1))
    ann, bob, cleo = await students(bot, course.id, 3)
    outsider = bot.emulator.user(4999, "Outsider")
    await outsider.send("/start")
    cleo.block()  # Telegram tells the bot (my_chat_member): she is skipped

    await tess.send("/teach")
    await tess.press("Open: Python Basics")
    await tess.press("Add lesson")
    await tess.send("Loops")
    await tess.send("A <b>loop</b> repeats.")
    await tess.press("Done")
    added = next(m for m in tess.bot_messages if "Loops" in m.text and "added" in m.text)
    assert has_button(added, "Announce")
    await tess.press("Announce", message=added)
    prompt = added  # asked in place of "lesson added"
    assert "2 students" in prompt.text and "Loops" in prompt.text, prompt.text
    assert ann.bot_messages[-1].content.count(ANNOUNCED) == 0, "nothing is sent before Confirm"
    await tess.press("Confirm", message=prompt)
    await all_sent(bot)

    for student in (ann, bob):
        [message] = announcements(student)
        assert "Loops" in message.text and "Python Basics" in message.text
        await student.press("Open lesson", message=message)
        assert "A loop repeats." in student.texts()[-1] or "loop" in student.last.text
    assert announcements(cleo) == [] and announcements(outsider) == []
    report = tess.last
    assert "announced to 2 students" in report.text and "1 could not be reached" in report.text

    # A second announcement of the same lesson (an old button, a double tap) sends nothing.
    [_, loops] = await lesson_ids(bot, course.id)
    again = await tess.press_data(encode(Action.lesson_announce_confirm, loops))
    assert again is not None and again.show_alert and "already" in again.text
    again = await tess.press_data(encode(Action.lesson_announce, loops))
    assert again is not None and again.show_alert and "2 students reached" in again.text
    await all_sent(bot)
    assert [len(announcements(s)) for s in (ann, bob, cleo)] == [1, 1, 0]
    assert await campaign_count(bot) == 1


async def test_a_student_who_blocked_unnoticed_is_marked_and_counted(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(lessons=2))
    ann, bob = await students(bot, course.id, 2)
    bob.blocked = True  # blocked without the bot hearing of it: the send gets 403
    [first, _] = await lesson_ids(bot, course.id)
    await tess.press_data(encode(Action.lesson_announce_confirm, first))
    await all_sent(bot)
    assert len(announcements(ann)) == 1
    assert "1 could not be reached: they blocked the bot" in tess.last.text
    async with bot.database.session() as session:
        assert (await get_user(session, bob.id)).is_blocked
    [refused] = bot.emulator.refused
    assert refused.error_code == 403 and refused.params["chat_id"] == bob.id
    bot.emulator.refused.clear()  # the 403 is the point of this test


async def test_announcements_are_paced_and_survive_floods_and_a_restart(bot: BotHarness):
    """40 students at SEND_RATE_PER_SECOND (25): never more than that in any second, a 429 is
    waited out, and a restart half-way resumes without sending anyone a second copy."""
    await teacher_of(bot)
    course = await bot.course(simple_course(lessons=1))
    people = await students(bot, course.id, 40)
    [lesson] = await lesson_ids(bot, course.id)
    tess = bot.emulator.user(TEACHER_ID, "Tess")
    bot.emulator.fail_next("sendMessage", 429, retry_after=1)

    await tess.press_data(encode(Action.lesson_announce_confirm, lesson))
    await bot.emulator.wait_calls(15, announced)
    await bot.restart()  # stops the sender mid-way; starting again resumes the campaign
    await all_sent(bot)

    copies = [len(announcements(s)) for s in people]
    assert max(copies) == 1, "nobody gets the announcement twice"
    # A message in flight when the bot stopped stays claimed and is never sent again: at
    # most one student can miss it (it was most likely delivered).
    async with bot.database.session() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Delivery.status, func.count()).group_by(Delivery.status)
                )
            ).all()
        )
    claimed, sent = statuses.get(DeliveryStatus.claimed, 0), statuses[DeliveryStatus.sent]
    assert claimed <= 1 and sent <= sum(copies) <= sent + claimed and sum(copies) >= 39
    assert "announced to" in tess.last.text

    sends = [r.at for r in bot.emulator.requests if announced(r)]
    assert len(sends) == sum(copies)
    rate = bot.settings.send_rate_per_second
    for index, start in enumerate(sends):  # bunched at most by the requests in flight
        in_a_second = [t for t in sends[index:] if t < start + 1.0]
        assert len(in_a_second) <= rate + WORKERS, f"{len(in_a_second)} sends within one second"
    assert [r for r in bot.emulator.injected if r.method == "sendMessage"], "the 429 happened"


async def test_forged_announcements_change_nothing(bot: BotHarness):
    await teacher_of(bot)
    other = await teacher_of(bot, 900_010, "Otto")
    course = await bot.course(simple_course(lessons=1))
    [ann] = await students(bot, course.id, 1)
    [lesson] = await lesson_ids(bot, course.id)
    for intruder in (ann, other):
        for action in (Action.lesson_announce, Action.lesson_announce_confirm):
            answer = await intruder.press_data(encode(action, lesson))
            assert answer is not None and answer.show_alert, (intruder, action, answer)
    assert await campaign_count(bot) == 0
    assert announcements(ann) == []


async def test_nobody_enrolled_means_nothing_to_announce(bot: BotHarness):
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(lessons=1))
    [lesson] = await lesson_ids(bot, course.id)
    answer = await tess.press_data(encode(Action.lesson_announce, lesson))
    assert answer is not None and answer.show_alert and "No student" in answer.text
    assert await campaign_count(bot) == 0


async def test_blocked_flag_from_the_database(bot: BotHarness):
    """The users table is what decides: a student marked blocked is skipped, not sent."""
    tess = await teacher_of(bot)
    course = await bot.course(simple_course(lessons=1))
    ann, bob = await students(bot, course.id, 2)
    async with bot.database.session() as session:
        (await get_user(session, bob.id)).is_blocked = True
    [lesson] = await lesson_ids(bot, course.id)
    await tess.press_data(encode(Action.lesson_announce_confirm, lesson))
    await all_sent(bot)
    assert len(announcements(ann)) == 1 and announcements(bob) == []
    async with bot.database.session() as session:
        skipped = await session.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.status == DeliveryStatus.skipped,
                Delivery.user_id
                == select(User.id).where(User.telegram_id == bob.id).scalar_subquery(),
            )
        )
    assert skipped == 1

"""Reminders: who is due (local hour, DST, inactivity, repeat window), claimed exactly once,
one message per student; the instructors' digest; the figures for /stats; the /settings rules.

Every sweep takes its ``now``: no test waits for a real hour. Sending goes to a fake sender.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from telegram import InlineKeyboardMarkup

from bot.callbacks import Action, decode
from bot.reminders import dry_run, sweep
from bot.sender import Outcome
from db.accounts import get_user
from db.engine import Database
from db.errors import Invalid, NotFound
from db.learning import complete_lesson, enroll
from db.models import (
    AttemptStatus,
    Enrollment,
    Lesson,
    LessonCompletion,
    Quiz,
    QuizAttempt,
    ReminderSent,
    Role,
    User,
)
from db.reminders import Policy, due_hours, hour_pairs, reminder_stats
from db.usersettings import (
    resume_course_reminders,
    set_reminder_hour,
    set_reminders,
    set_timezone,
    stop_course_reminders,
    user_settings,
)
from tests.conftest import make_course, make_user

NOW = datetime(2027, 5, 12, 16, 5, tzinfo=UTC)  # 18:05 in Berlin (summer time)
POLICY = Policy(inactive_days=2, repeat_days=3)
BOT: Any = object()  # the fake sender never uses it


@dataclass
class Sent:
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None


@dataclass
class FakeSender:
    """Records what would be sent; ``outcomes`` scripts the answers per chat (then: sent)."""

    outcomes: dict[int, list[Outcome | Exception]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)

    async def slot(self) -> None:
        await asyncio.sleep(0)  # let a concurrent sweep run in between

    async def send(
        self, bot: Any, chat_id: int, text: str, *, photo=None, markup=None, slot_taken=False
    ) -> Outcome:
        assert slot_taken, "the slot comes before the claim"
        await asyncio.sleep(0)
        script = self.outcomes.get(chat_id)
        outcome = script.pop(0) if script else Outcome.sent
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is Outcome.sent:
            self.sent.append(Sent(chat_id, text, markup))
        return outcome

    def chats(self) -> list[int]:
        return [message.chat_id for message in self.sent]


async def sweep_at(database: Database, sender: FakeSender, now: datetime, policy=POLICY):
    return await sweep(database, BOT, sender, policy, now)


async def teacher_with_courses(database: Database, *titles: str, lessons: int = 3) -> list[int]:
    owner = await make_user(database, 1, Role.instructor, "Tess")
    ids = []
    for title in titles:
        ids.append((await make_course(database, owner, lessons, title=title)).id)
    return ids


async def student(
    database: Database,
    telegram_id: int,
    course_ids: list[int],
    *,
    zone: str = "Europe/Berlin",
    hour: int = 18,
    idle_since: datetime = NOW - timedelta(days=5),
) -> User:
    """A student enrolled in the courses, last active in each at ``idle_since``."""
    user = await make_user(database, telegram_id, name=f"Student {telegram_id}")
    async with database.session() as session:
        user = await get_user(session, telegram_id)
        user.timezone, user.reminder_hour = zone, hour
        for course_id in course_ids:
            await enroll(session, user, course_id)
    await set_idle(database, user.id, idle_since)
    return user


async def set_idle(database: Database, user_id: int, since: datetime, course_id=None) -> None:
    async with database.session() as session:
        query = update(Enrollment).where(Enrollment.student_id == user_id)
        if course_id is not None:
            query = query.where(Enrollment.course_id == course_id)
        await session.execute(query.values(last_activity_at=since))


async def reminded_rows(database: Database) -> list[tuple[int, int]]:
    async with database.session() as session:
        rows = await session.execute(
            select(ReminderSent.user_id, ReminderSent.course_id).order_by(ReminderSent.id)
        )
        return [tuple(row) for row in rows]


def actions(markup: InlineKeyboardMarkup | None) -> list[tuple[Action, tuple[int, ...]]]:
    assert markup is not None
    found = []
    for row in markup.inline_keyboard:
        for button in row:
            callback = decode(button.callback_data)
            assert callback is not None
            found.append((callback.action, callback.args))
    return found


# -- the local hour ------------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "instant", "hours"),
    [
        ("Europe/Berlin", "2027-03-27 17:00", {18}),  # winter time, UTC+1
        ("Europe/Berlin", "2027-03-28 00:30", {1}),  # 01:30 CET, before the change
        ("Europe/Berlin", "2027-03-28 01:00", {2, 3}),  # 03:00 CEST: 02:00 never happened
        ("Europe/Berlin", "2027-03-28 01:59", {2, 3}),
        ("Europe/Berlin", "2027-03-28 02:00", {4}),
        ("Europe/Berlin", "2027-03-28 16:00", {18}),  # summer time, UTC+2
        ("Europe/Berlin", "2027-10-31 00:30", {2}),  # 02:30 CEST
        ("Europe/Berlin", "2027-10-31 01:30", {2}),  # 02:30 CET: the same hour again
        ("America/New_York", "2027-03-14 07:30", {2, 3}),
        ("America/New_York", "2027-11-07 05:30", {1}),  # 01:30 EDT
        ("America/New_York", "2027-11-07 06:30", {1}),  # 01:30 EST
        ("Asia/Kolkata", "2027-05-12 12:40", {18}),  # UTC+5:30: 18:10
        ("UTC", "2027-05-12 23:59", {23}),
    ],
)
def test_due_hours_follow_each_zones_clock(zone: str, instant: str, hours: set[int]):
    assert due_hours(zone, at(instant)) == hours


def test_hour_pairs_skip_a_zone_that_does_not_exist():
    pairs = hour_pairs(["Europe/Berlin", "Mars/Olympus", "UTC"], NOW)
    assert sorted(pairs) == [("Europe/Berlin", 18), ("UTC", 16)]


# -- who is reminded, when -----------------------------------------------------------------------


async def test_a_stalled_student_is_reminded_at_their_local_hour_and_not_before(
    database: Database,
):
    [course] = await teacher_with_courses(database, "Python Basics")
    ann = await student(database, 101, [course])
    await student(database, 102, [course], idle_since=NOW - timedelta(days=1))  # still active
    await student(database, 103, [course], zone="America/New_York")  # 12:05 there
    sender = FakeSender()

    report = await sweep_at(database, sender, NOW - timedelta(hours=1))  # 17:05 in Berlin
    assert sender.sent == [] and report.due == 0

    report = await sweep_at(database, sender, NOW)
    [message] = sender.sent
    assert message.chat_id == 101
    assert "Python Basics" in message.text and "0%" in message.text and "▓" not in message.text
    assert "Lesson 1" in message.text, "the next lesson's title"
    assert actions(message.markup) == [
        (Action.course_continue, (course,)),
        (Action.reminders_stop, (course,)),
        (Action.settings_new, ()),
    ]
    assert (report.due, report.claimed, report.sent, report.blocked, report.failed) == (
        1,
        1,
        1,
        0,
        0,
    )
    assert await reminded_rows(database) == [(ann.id, course)]


async def test_progress_and_the_next_lesson_are_the_students_own(database: Database):
    [course] = await teacher_with_courses(database, "Python Basics", lessons=4)
    ann = await student(database, 101, [course])
    async with database.session() as session:
        lesson_ids = list(
            await session.scalars(
                select(Lesson.id).where(Lesson.course_id == course).order_by(Lesson.order_index)
            )
        )
        await complete_lesson(session, await get_user(session, 101), lesson_ids[0])
    await set_idle(database, ann.id, NOW - timedelta(days=5))
    sender = FakeSender()
    await sweep_at(database, sender, NOW)
    [message] = sender.sent
    assert "25%" in message.text and "Lesson 2" in message.text and "Lesson 1" not in message.text


async def test_not_again_within_the_repeat_window_but_after_it(database: Database):
    [course] = await teacher_with_courses(database, "Python Basics")
    await student(database, 101, [course])
    sender = FakeSender()
    for later in (0, 15, 45):
        await sweep_at(database, sender, NOW + timedelta(minutes=later))
    assert sender.chats() == [101]
    for days in (1, 2):
        await sweep_at(database, sender, NOW + timedelta(days=days))
    assert sender.chats() == [101]
    await sweep_at(database, sender, NOW + timedelta(days=3))
    assert sender.chats() == [101, 101]


async def test_never_after_completing_turning_off_stopping_the_course_or_blocking(
    database: Database,
):
    [course] = await teacher_with_courses(database, "Python Basics")
    people = {n: await student(database, n, [course]) for n in (101, 102, 103, 104, 105)}
    async with database.session() as session:
        finisher = await get_user(session, 102)
        for lesson_id in await session.scalars(select(Lesson.id).where(Lesson.course_id == course)):
            await complete_lesson(session, finisher, lesson_id)
        set_reminders(await get_user(session, 103), False)
        await stop_course_reminders(session, await get_user(session, 104), course)
        (await get_user(session, 105)).is_blocked = True
    await set_idle(database, people[102].id, NOW - timedelta(days=5))
    sender = FakeSender()
    for days in range(0, 10, 3):
        await sweep_at(database, sender, NOW + timedelta(days=days))
    assert sender.chats() == [101, 101, 101, 101]


async def test_a_student_with_several_stalled_courses_gets_one_message(database: Database):
    courses = await teacher_with_courses(database, "Python Basics", "Go Basics", "Rust Basics")
    ann = await student(database, 101, courses)
    await set_idle(database, ann.id, NOW - timedelta(hours=3), course_id=courses[2])
    sender = FakeSender()
    report = await sweep_at(database, sender, NOW)
    [message] = sender.sent
    assert "Python Basics" in message.text and "Go Basics" in message.text
    assert "Rust Basics" not in message.text
    pressed = actions(message.markup)
    for course in courses[:2]:
        assert (Action.course_continue, (course,)) in pressed
        assert (Action.reminders_stop, (course,)) in pressed
    assert pressed[-1] == (Action.settings_new, ())
    assert (report.due, report.sent) == (1, 1)
    assert sorted(await reminded_rows(database)) == [(ann.id, courses[0]), (ann.id, courses[1])]


async def test_a_course_falling_due_later_the_same_evening_waits_for_another_day(
    database: Database,
):
    """One message a day at most: a second course that stalls a quarter of an hour after the
    first one's reminder is not a second message that evening."""
    python, go = await teacher_with_courses(database, "Python Basics", "Go Basics")
    ann = await student(database, 101, [python, go])
    await set_idle(database, ann.id, NOW - timedelta(days=2, minutes=-10), course_id=go)
    sender = FakeSender()
    await sweep_at(database, sender, NOW)
    await sweep_at(database, sender, NOW + timedelta(minutes=15))
    [first] = sender.sent
    assert "Python Basics" in first.text and "Go Basics" not in first.text
    await sweep_at(database, sender, NOW + timedelta(days=1))
    assert len(sender.sent) == 2 and "Go Basics" in sender.sent[1].text
    assert "Python Basics" not in sender.sent[1].text, "its repeat window is three days"


async def test_a_course_without_lessons_is_not_reminded(database: Database):
    [course] = await teacher_with_courses(database, "Empty", lessons=0)
    owner = await make_user(database, 1, Role.instructor, "Tess")
    async with database.session() as session:
        await session.execute(insert(Enrollment).values(student_id=owner.id, course_id=course))
    sender = FakeSender()
    await sweep_at(database, sender, NOW)
    assert sender.sent == []


# -- exactly once ----------------------------------------------------------------------------------


async def test_a_user_who_blocked_the_bot_is_marked_and_skipped(database: Database):
    [course] = await teacher_with_courses(database, "Python Basics")
    await student(database, 101, [course])
    sender = FakeSender({101: [Outcome.blocked]})
    report = await sweep_at(database, sender, NOW)
    assert (report.sent, report.blocked) == (0, 1)
    async with database.session() as session:
        assert (await get_user(session, 101)).is_blocked
    await sweep_at(database, sender, NOW + timedelta(days=3))
    assert sender.sent == [] and await reminded_rows(database) == []


async def test_a_failed_send_is_retried_at_the_next_sweep(database: Database):
    [course] = await teacher_with_courses(database, "Python Basics")
    await student(database, 101, [course])
    sender = FakeSender({101: [Outcome.failed]})
    report = await sweep_at(database, sender, NOW)
    assert (report.claimed, report.failed, report.sent) == (1, 1, 0)
    async with database.session() as session:
        assert await session.scalar(select(Enrollment.last_reminded_at)) is None, "un-claimed"
    await sweep_at(database, sender, NOW + timedelta(minutes=15))
    assert sender.chats() == [101]


async def test_a_crash_after_the_claim_never_sends_it_twice(database: Database):
    """The claim is committed before the send: a process that dies while sending has it
    claimed, so the next sweep (a restart, another process) leaves it alone."""
    [course] = await teacher_with_courses(database, "Python Basics")
    for telegram_id in (101, 102, 103):
        await student(database, telegram_id, [course])
    crashing = FakeSender({102: [RuntimeError("the process died")]})
    with pytest.raises(RuntimeError):
        await sweep_at(database, crashing, NOW)
    restarted = FakeSender()
    await sweep_at(database, restarted, NOW + timedelta(minutes=1))
    sent = crashing.chats() + restarted.chats()
    assert 102 not in sent, "claimed (maybe delivered): never again"
    # The crash also stops the other workers: what one of them had claimed is in doubt too, and
    # is never sent again either. Nobody gets two.
    assert len(sent) == len(set(sent)) and set(sent) <= {101, 103} and sent


async def test_two_sweeps_at_once_on_two_engines_send_each_reminder_once(database: Database):
    """Two processes: two engines (so two connections) on the same database."""
    [course] = await teacher_with_courses(database, "Python Basics")
    for number in range(24):
        await student(database, 200 + number, [course])
    other = Database(database.url)
    try:
        first, second = FakeSender(), FakeSender()
        reports = await asyncio.gather(
            sweep(database, BOT, first, POLICY, NOW), sweep(other, BOT, second, POLICY, NOW)
        )
    finally:
        await other.dispose()
    chats = first.chats() + second.chats()
    assert sorted(chats) == list(range(200, 224))
    assert sum(report.sent for report in reports) == 24
    assert len(await reminded_rows(database)) == 24


# -- daylight saving time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "first_day", "expected"),
    [
        (  # spring forward on 28 March: 02:00 CET → 03:00 CEST
            "Europe/Berlin",
            "2027-03-27",
            {
                18: ["2027-03-27 17:00", "2027-03-28 16:00", "2027-03-29 16:00"],
                2: ["2027-03-27 01:00", "2027-03-28 01:00", "2027-03-29 00:00"],
            },
        ),
        (  # fall back on 31 October: 03:00 CEST → 02:00 CET
            "Europe/Berlin",
            "2027-10-30",
            {
                18: ["2027-10-30 16:00", "2027-10-31 17:00", "2027-11-01 17:00"],
                2: ["2027-10-30 00:00", "2027-10-31 00:00", "2027-11-01 01:00"],
            },
        ),
        (  # spring forward on 14 March: 02:00 EST → 03:00 EDT
            "America/New_York",
            "2027-03-13",
            {
                18: ["2027-03-13 23:00", "2027-03-14 22:00", "2027-03-15 22:00"],
                2: ["2027-03-13 07:00", "2027-03-14 07:00", "2027-03-15 06:00"],
            },
        ),
        (  # fall back on 7 November: 02:00 EDT → 01:00 EST
            "America/New_York",
            "2027-11-06",
            {
                18: ["2027-11-06 22:00", "2027-11-07 23:00", "2027-11-08 23:00"],
                1: ["2027-11-06 05:00", "2027-11-07 05:00", "2027-11-08 06:00"],
            },
        ),
    ],
)
async def test_across_a_dst_change_once_a_day_at_the_right_local_hour(
    database: Database, zone: str, first_day: str, expected: dict[int, list[str]]
):
    """Sweeps every 15 minutes for three days with a one-day repeat window: each student is
    reminded once a day, at their hour of local time; an hour the clocks skip comes with the
    hour after it, an hour they repeat comes once."""
    start = at(f"{first_day} 00:00")
    [course] = await teacher_with_courses(database, "Python Basics")
    for telegram_id, hour in enumerate(expected, start=101):
        idle = start - timedelta(days=10)
        await student(database, telegram_id, [course], zone=zone, hour=hour, idle_since=idle)
    policy = Policy(inactive_days=1, repeat_days=1)
    sent_at: dict[int, list[str]] = {hour: [] for hour in expected}
    sender = FakeSender()
    for step in range(3 * 24 * 4):
        now = start + timedelta(minutes=15 * step)
        before = len(sender.sent)
        await sweep(database, BOT, sender, policy, now)
        for message in sender.sent[before:]:
            hour = list(expected)[message.chat_id - 101]
            sent_at[hour].append(now.strftime("%Y-%m-%d %H:%M"))
    assert sent_at == expected


# -- instructors' digest ---------------------------------------------------------------------------


async def pending_answers(database: Database, course_id: int, count: int) -> None:
    """``count`` free-text answers of the course waiting for review."""
    students = [await make_user(database, 700 + number) for number in range(count)]
    async with database.session() as session:
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == course_id))
        quiz_id = await session.scalar(
            insert(Quiz).values(lesson_id=lesson_id, title="Essay").returning(Quiz.id)
        )
        for user in students:
            await session.execute(
                insert(QuizAttempt).values(
                    quiz_id=quiz_id,
                    student_id=user.id,
                    answers={},
                    status=AttemptStatus.pending_review,
                    submitted_at=NOW - timedelta(days=1),
                )
            )


async def test_an_instructor_gets_one_digest_a_day_while_answers_wait(database: Database):
    python, go, _quiet = await teacher_with_courses(database, "Python Basics", "Go Basics", "C")
    async with database.session() as session:
        tess = await get_user(session, 1)
        tess.timezone, tess.reminder_hour = "Europe/Berlin", 18
    sender = FakeSender()
    await sweep_at(database, sender, NOW)
    assert sender.sent == [], "nothing waits: no message"

    await pending_answers(database, python, 2)
    await pending_answers(database, go, 1)
    report = await sweep_at(database, sender, NOW + timedelta(minutes=15))
    [digest] = sender.sent
    assert digest.chat_id == 1 and report.digests == 1
    assert "Python Basics: 2" in digest.text and "Go Basics: 1" in digest.text
    assert actions(digest.markup) == [(Action.review_open, ())]

    await sweep_at(database, sender, NOW + timedelta(minutes=30))
    await sweep_at(database, sender, NOW + timedelta(hours=5))
    assert len(sender.sent) == 1, "once a day, at the instructor's hour"
    await sweep_at(database, sender, NOW + timedelta(days=1))
    assert len(sender.sent) == 2

    async with database.session() as session:
        await session.execute(update(QuizAttempt).values(status=AttemptStatus.graded))
    await sweep_at(database, sender, NOW + timedelta(days=2))
    assert len(sender.sent) == 2


# -- the figures for /stats ------------------------------------------------------------------------


async def test_reminder_stats_count_reminders_and_who_came_back(database: Database):
    [course] = await teacher_with_courses(database, "Python Basics")
    people = [await student(database, 101 + n, [course]) for n in range(6)]
    async with database.session() as session:
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == course))
        sent = {
            0: NOW - timedelta(days=2),  # completed a lesson 3 h later: came back
            1: NOW - timedelta(days=3),  # opened a lesson 5 h later (last activity): came back
            2: NOW - timedelta(days=1),  # nothing since
            3: NOW - timedelta(days=10),  # too old to count
            4: NOW - timedelta(days=4),  # came back two days later: too late
            5: NOW - timedelta(days=5),  # started a quiz 20 h later: came back
        }
        for index, moment in sent.items():
            await session.execute(
                insert(ReminderSent).values(
                    user_id=people[index].id, course_id=course, sent_at=moment
                )
            )
        await session.execute(
            insert(LessonCompletion).values(
                student_id=people[0].id,
                lesson_id=lesson_id,
                completed_at=sent[0] + timedelta(hours=3),
            )
        )
        for index, delay in (
            (1, timedelta(hours=5)),
            (3, timedelta(hours=1)),
            (4, timedelta(days=2)),
        ):
            await session.execute(
                update(Enrollment)
                .where(Enrollment.student_id == people[index].id)
                .values(last_activity_at=sent[index] + delay)
            )
        quiz_id = await session.scalar(
            insert(Quiz).values(lesson_id=lesson_id, title="Check").returning(Quiz.id)
        )
        await session.execute(
            insert(QuizAttempt).values(
                quiz_id=quiz_id,
                student_id=people[5].id,
                answers={},
                started_at=sent[5] + timedelta(hours=20),
            )
        )
    async with database.session() as session:
        assert await reminder_stats(session, NOW) == (5, 3)


# -- /settings rules -------------------------------------------------------------------------------


async def test_settings_refuse_what_is_out_of_range_unknown_or_someone_elses(database: Database):
    python, go = await teacher_with_courses(database, "Python Basics", "Go Basics")
    await student(database, 101, [python])
    await student(database, 102, [python, go])
    async with database.session() as session:
        ann = await get_user(session, 101)
        for hour in (-1, 24, 2**31 - 1):
            with pytest.raises(Invalid):
                set_reminder_hour(ann, hour)
        for zone in ("Mars/Olympus", "", "../../etc/passwd", "Europe/Berlin" + "x" * 60):
            with pytest.raises(Invalid):
                set_timezone(ann, zone)
        with pytest.raises(NotFound):
            await stop_course_reminders(session, ann, go)  # Bob's course, not hers
        with pytest.raises(NotFound):
            await resume_course_reminders(session, ann, go)
    async with database.session() as session:
        assert (
            await session.scalar(
                select(func.count(Enrollment.id)).where(Enrollment.reminders_enabled.is_(False))
            )
            == 0
        )
        ann = await get_user(session, 101)
        assert (ann.reminder_hour, ann.timezone) == (18, "Europe/Berlin")


async def test_settings_change_hour_zone_and_stop_and_resume_a_course(database: Database):
    python, go = await teacher_with_courses(database, "Python Basics", "Go Basics")
    await student(database, 101, [python, go])
    async with database.session() as session:
        ann = await get_user(session, 101)
        set_reminder_hour(ann, 7)
        set_timezone(ann, "Asia/Tokyo")
        set_reminders(ann, False)
        assert await stop_course_reminders(session, ann, go) == "Go Basics"
    async with database.session() as session:
        ann = await get_user(session, 101)
        view = await user_settings(session, ann)
        assert (view.reminders_enabled, view.reminder_hour, view.timezone) == (
            False,
            7,
            "Asia/Tokyo",
        )
        assert [(c.course_id, c.title) for c in view.stopped] == [(go, "Go Basics")]
        assert await resume_course_reminders(session, ann, go) == "Go Basics"
    async with database.session() as session:
        assert (await user_settings(session, await get_user(session, 101))).stopped == []


# -- dry run ---------------------------------------------------------------------------------------


async def test_a_dry_run_lists_who_is_due_and_claims_nothing(database: Database):
    python, go = await teacher_with_courses(database, "Python Basics", "Go Basics")
    await student(database, 101, [python, go])
    plan = await dry_run(database, POLICY, NOW)
    [due] = plan.students
    assert (due.telegram_id, due.name) == (101, "Student 101")
    assert sorted(course.title for course in due.courses) == ["Go Basics", "Python Basics"]
    async with database.session() as session:
        assert await session.scalar(select(func.count(Enrollment.last_reminded_at))) == 0
    sender = FakeSender()
    await sweep_at(database, sender, NOW)
    assert sender.chats() == [101], "still due after a dry run"

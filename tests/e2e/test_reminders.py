"""Reminders through the real bot and the emulator: what a stalled student gets and what its
buttons do, each reminder sent once (403, 429, a restart half-way, two sweeps at once), the
instructors' digest, and ``learnbot remind``.

A sweep is run directly with an injected ``now`` (the job would run it every
REMINDER_SWEEP_MINUTES with the clock's).
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import func, select, update
from telegram import Bot

from bot.callbacks import Action, encode
from bot.emulator import BotApiEmulator
from bot.emulator.server import RecordedRequest
from bot.emulator.users import ChatMessage, TestUser
from bot.migrate import upgrade
from bot.reminders import SweepReport, policy_of, sweep
from bot.sender import PacedSender
from bot.settings import Settings
from db.accounts import get_user, raise_role
from db.authoring import create_course
from db.engine import Database
from db.learning import enroll
from db.models import Enrollment, ReminderSent, Role, User, utcnow
from handlers.common import LearnApplication, Services
from tests.e2e.conftest import TEACHER_ID, TOKEN, BotHarness, has_button, simple_course
from tests.e2e.test_quiz_journeys import begin_quiz, enrolled_student, explain, quiz_course

NOW = datetime(2027, 5, 12, 16, 5, tzinfo=UTC)  # 18:05 in Berlin (summer time)
MARK = "It has been a while"


class FakeClock:
    """Time that moves only when the sender sleeps: no test waits for real seconds."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def services(bot: BotHarness) -> Services:
    assert bot.application is not None
    return cast(LearnApplication, bot.application).services


async def run_sweep(
    bot: BotHarness,
    now: datetime = NOW,
    *,
    database: Database | None = None,
    sender: PacedSender | None = None,
    telegram: Bot | None = None,
    keep_going=lambda: True,
) -> SweepReport:
    assert bot.application is not None
    own = services(bot)
    return await sweep(
        database or own.database,
        telegram or bot.application.bot,
        sender or own.sender,
        policy_of(bot.settings),
        now,
        keep_going=keep_going,
    )


async def stalled(
    bot: BotHarness, course_ids: list[int], count: int = 1, first_id: int = 5000
) -> list[TestUser]:
    """Students who wrote to the bot, enrolled, live in Berlin and have idled for five days."""
    people = []
    for number in range(count):
        student = bot.emulator.user(first_id + number, f"Student {number}")
        await student.send("/start")
        people.append(student)
    async with bot.database.session() as session:
        for student in people:
            user = await get_user(session, student.id)
            user.timezone, user.reminder_hour = "Europe/Berlin", 18
            for course_id in course_ids:
                await enroll(session, user, course_id)
        await session.execute(update(Enrollment).values(last_activity_at=NOW - timedelta(days=5)))
    return people


def reminders(user: TestUser) -> list[ChatMessage]:
    return [m for m in user.bot_messages if MARK in m.content]


def is_reminder(request: RecordedRequest) -> bool:
    return request.method == "sendMessage" and request.ok and MARK in request.params["text"]


async def enrollment_of(bot: BotHarness, telegram_id: int, course_id: int) -> Enrollment:
    async with bot.database.session() as session:
        user = await get_user(session, telegram_id)
        enrollment = await session.scalar(
            select(Enrollment)
            .where(Enrollment.student_id == user.id, Enrollment.course_id == course_id)
            .execution_options(populate_existing=True)
        )
        assert enrollment is not None
        return enrollment


async def test_a_reminder_shows_the_course_and_its_buttons_work(bot: BotHarness):
    course = await bot.course(simple_course())
    [ann] = await stalled(bot, [course.id])
    await run_sweep(bot, NOW - timedelta(hours=1))  # 17:05 in Berlin
    assert reminders(ann) == []

    report = await run_sweep(bot)
    [reminder] = reminders(ann)
    assert "Python Basics" in reminder.text and "░ 0%" in reminder.text
    assert "Next lesson: Lesson 1" in reminder.text
    assert [label for label in reminder.labels] == [
        "▶️ Continue",
        "🔕 Stop reminders",
        "⚙️ Settings",
    ]
    assert (report.due, report.claimed, report.sent) == (1, 1, 1)

    await ann.press("Continue", message=reminder)
    assert "Lesson 1 of 3" in ann.last.text
    await ann.press("Settings", message=reminder)
    assert "Reminders: on" in ann.last.text
    answer = await ann.press("Stop reminders", message=reminder)
    assert answer is not None and "Python Basics" in answer.text and "/settings" in answer.text
    assert reminder.labels == ["⚙️ Settings"], "the stopped course's buttons are gone"
    assert not (await enrollment_of(bot, ann.id, course.id)).reminders_enabled
    assert (await enrollment_of(bot, ann.id, course.id)).last_reminded_at == NOW

    await run_sweep(bot, NOW + timedelta(days=3))
    assert len(reminders(ann)) == 1, "stopped for this course"


async def test_several_stalled_courses_make_one_message_with_buttons_for_each(bot: BotHarness):
    python = await bot.course(simple_course("Python Basics"))
    go = await bot.course(simple_course("Go Basics"))
    [ann] = await stalled(bot, [python.id, go.id])
    await run_sweep(bot)
    [reminder] = reminders(ann)
    assert "Python Basics" in reminder.text and "Go Basics" in reminder.text
    assert has_button(reminder, "Continue: Python Basics")
    assert has_button(reminder, "Continue: Go Basics")
    await ann.press_data(encode(Action.reminders_stop, go.id), reminder.message_id)
    assert not has_button(reminder, "Go Basics") and has_button(reminder, "Python Basics")
    assert (await enrollment_of(bot, ann.id, python.id)).reminders_enabled
    assert not (await enrollment_of(bot, ann.id, go.id)).reminders_enabled


async def test_a_stop_button_for_someone_elses_enrollment_changes_nothing(bot: BotHarness):
    python = await bot.course(simple_course("Python Basics"))
    go = await bot.course(simple_course("Go Basics"))
    [ann] = await stalled(bot, [python.id])
    [bob] = await stalled(bot, [go.id], first_id=6000)
    await run_sweep(bot)
    [reminder] = reminders(ann)
    answer = await ann.press_data(encode(Action.reminders_stop, go.id), reminder.message_id)
    assert answer is not None and answer.show_alert
    assert (await enrollment_of(bot, bob.id, go.id)).reminders_enabled
    assert has_button(reminder, "Stop reminders")


async def test_a_student_who_blocked_the_bot_unnoticed_is_marked_by_the_403(bot: BotHarness):
    course = await bot.course(simple_course())
    ann, bob = await stalled(bot, [course.id], count=2)
    bob.blocked = True  # the bot was not told: the send gets 403
    report = await run_sweep(bot)
    assert (report.sent, report.blocked) == (1, 1)
    assert len(reminders(ann)) == 1
    async with bot.database.session() as session:
        assert (await get_user(session, bob.id)).is_blocked
    [refused] = bot.emulator.refused
    assert refused.error_code == 403 and refused.params["chat_id"] == bob.id
    bot.emulator.refused.clear()  # the 403 is the point of this test
    bob.blocked = False
    await run_sweep(bot, NOW + timedelta(days=3))
    assert reminders(bob) == [], "marked as blocked: skipped until they write again"


async def test_flood_control_retry_after_is_waited_out(bot: BotHarness):
    """The paced sender (as the CLI uses it: a plain Bot) waits ``retry_after`` and sends the
    reminder once; the running bot's own sender gets it through as well."""
    course = await bot.course(simple_course())
    ann, bob = await stalled(bot, [course.id], count=2)
    clock = FakeClock()
    paced = PacedSender(25, clock=clock, sleep=clock.sleep)
    bot.emulator.fail_next("sendMessage", 429, retry_after=1)
    async with Bot(TOKEN, base_url=bot.emulator.base_url) as plain:
        report = await run_sweep(bot, sender=paced, telegram=plain)
    assert report.sent == 2 and paced.flood_waits == 1 and 1.0 in clock.waits
    assert [len(reminders(person)) for person in (ann, bob)] == [1, 1]
    assert [r for r in bot.emulator.injected if r.method == "sendMessage"], "the 429 happened"

    bot.emulator.fail_next("sendMessage", 429, retry_after=1)
    report = await run_sweep(bot, NOW + timedelta(days=3))
    assert report.sent == 2 and [len(reminders(p)) for p in (ann, bob)] == [2, 2]


async def test_a_restart_in_the_middle_of_a_sweep_sends_each_reminder_once(bot: BotHarness):
    """The bot stops half-way (as ``Application.stop`` stops the job): the message in flight
    is finished, the rest wait; after the restart the next sweep sends them, nobody twice."""
    course = await bot.course(simple_course())
    people = await stalled(bot, [course.id], count=30)
    stopping = asyncio.Event()
    sweeping = asyncio.create_task(run_sweep(bot, keep_going=lambda: not stopping.is_set()))
    await bot.emulator.wait_calls(10, is_reminder)
    stopping.set()
    first = await sweeping
    await bot.restart()
    second = await run_sweep(bot, NOW + timedelta(minutes=15))
    copies = [len(reminders(person)) for person in people]
    assert copies == [1] * 30
    assert 10 <= first.sent < 30 and first.sent + second.sent == 30
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(ReminderSent.id))) == 30


async def test_two_sweeps_at_once_send_each_reminder_once(bot: BotHarness):
    """Two processes: two engines (two connections), two senders, one database."""
    course = await bot.course(simple_course())
    people = await stalled(bot, [course.id], count=20)
    other = Database(bot.settings.database_url)
    try:
        reports = await asyncio.gather(
            run_sweep(bot, sender=PacedSender(1000)),
            run_sweep(bot, database=other, sender=PacedSender(1000)),
        )
    finally:
        await other.dispose()
    assert [len(reminders(person)) for person in people] == [1] * 20
    assert sum(report.sent for report in reports) == 20
    assert sum(report.claimed for report in reports) == 20


async def test_the_sweep_is_a_repeating_job(bot: BotHarness):
    assert bot.application is not None and bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("reminders")
    minutes = bot.settings.reminder_sweep_minutes
    assert job.job.trigger.interval == timedelta(minutes=minutes)


async def test_an_instructor_is_told_daily_of_answers_to_review(bot: BotHarness):
    course = await bot.course(quiz_course([explain()], lessons_before=0))
    ann = await enrolled_student(bot, course.id)
    await begin_quiz(ann)
    await ann.send("A name for a value")
    tess = bot.emulator.user(TEACHER_ID, "Tess")
    await tess.send("/start")
    async with bot.database.session() as session:
        teacher = await get_user(session, TEACHER_ID)
        teacher.timezone, teacher.reminder_hour = "Europe/Berlin", 18
    report = await run_sweep(bot)
    assert report.digests == 1
    digest = tess.last
    assert "Python Basics: 1" in digest.text and has_button(digest, "Open /review")
    await tess.press("Open /review", message=digest)
    assert "Answer to review" in tess.last.text
    await run_sweep(bot, NOW + timedelta(minutes=30))
    assert sum("wait for your review" in m.text for m in tess.bot_messages) == 1, "once a day"


# -- learnbot remind -------------------------------------------------------------------------------


async def seed_due_student(url: str, telegram_id: int) -> None:
    """A student due now by the wall clock: UTC, this very hour, idle for five days."""
    await upgrade(url)
    database = Database(url)
    async with database.session() as session:
        owner, _ = await raise_role(session, TEACHER_ID, Role.instructor)
        course = await create_course(session, owner, simple_course())
        student, _ = await raise_role(session, telegram_id, Role.student)
        student.full_name = "Ann"
        student.timezone, student.reminder_hour = "UTC", utcnow().hour
        await enroll(session, student, course.id)
        await session.execute(
            update(Enrollment).values(last_activity_at=utcnow() - timedelta(days=5))
        )
    await database.dispose()


async def learnbot(cwd: Path, emulator: BotApiEmulator, url: str, *args: str) -> tuple[int, str]:
    (cwd / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nTELEGRAM_BASE_URL={emulator.base_url}\n"
        f"TELEGRAM_BASE_FILE_URL={emulator.base_file_url}\nDATABASE_URL={url}\n",
        encoding="utf-8",
    )
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("learnbot")),
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_learnbot_remind_dry_run_sends_nothing_and_a_sweep_sends_once(
    emulator: BotApiEmulator, tmp_path: Path
):
    moment = utcnow()
    if moment.minute == 59 and moment.second > 50:  # stay within one hour of the wall clock
        await asyncio.sleep(61 - moment.second)
    url = f"sqlite:///{tmp_path / 'remind.db'}"
    ann = emulator.user(5001, "Ann")
    ann.started = True  # she wrote to the bot some time ago
    await seed_due_student(url, ann.id)

    code, output = await learnbot(tmp_path, emulator, url, "remind", "--dry-run")
    assert code == 0, output
    assert "Ann" in output and "5001" in output and "Python Basics" in output
    assert emulator.calls("sendMessage") == [] and emulator.calls("getMe") == []

    code, output = await learnbot(tmp_path, emulator, url, "remind")
    assert code == 0, output
    assert "1 sent" in output
    [sent] = emulator.calls("sendMessage")
    assert sent.params["chat_id"] == ann.id and MARK in sent.params["text"]

    code, output = await learnbot(tmp_path, emulator, url, "remind")
    assert code == 0 and "0 sent" in output, output
    assert len(emulator.calls("sendMessage")) == 1, "claimed: never twice"
    database = Database(url)
    async with database.session() as session:
        user = await session.scalar(select(User).where(User.telegram_id == ann.id))
        assert user is not None
        assert await session.scalar(select(func.count(ReminderSent.id))) == 1
    await database.dispose()

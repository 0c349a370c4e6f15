"""Updates of different users run at once; one user's updates stay in order; an update that
only reads takes no write lock; one user's slow step never stalls the others."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

import db.security
from db.models import Course, Enrollment, Role, User, utcnow
from db.security import verify_secret
from tests.e2e.conftest import ADMIN_ID, BotHarness, simple_course
from tests.e2e.test_authoring import teacher_of


async def test_a_slow_key_check_does_not_delay_another_user(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
):
    """Ann's key check is held until Bob has been answered twice: with one update at a time,
    Bob would wait for Ann."""
    course = await bot.course(simple_course(enrollment_key="s3same"))
    release = threading.Event()
    checking = threading.Event()

    def held_verify(plain: str, hashed: str) -> bool:
        checking.set()
        assert release.wait(timeout=20), "Bob was never answered while Ann's check ran"
        return verify_secret(plain, hashed)

    monkeypatch.setattr(db.security, "verify_secret", held_verify)
    ann, bob = bot.emulator.user(1001, "Ann"), bot.emulator.user(1002, "Bob")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await bob.send("/start")
    typed = asyncio.create_task(ann.send("s3same"))
    await asyncio.to_thread(checking.wait, 20)
    [catalog] = await bob.send("/courses")
    assert "Python Basics" in catalog.text
    await bob.press("Open: Python Basics")
    assert not typed.done(), "Ann's update is still being checked"
    release.set()
    await typed
    assert "enrolled" in ann.last.text.lower()
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(Enrollment.id))) == 1


async def test_one_users_quick_messages_are_handled_in_order(bot: BotHarness):
    """Three answers to the /newcourse wizard sent at once: each is the answer to its own step."""
    tess = await teacher_of(bot)
    await tess.send("/newcourse")
    await asyncio.gather(tess.send("Quick course"), tess.send("Typed fast."), tess.send("Speed"))
    await tess.press("Advanced")
    await tess.send("30")
    async with bot.database.session() as session:
        course = await session.scalar(select(Course))
    assert course is not None
    assert (course.title, course.description, course.category) == (
        "Quick course",
        "Typed fast.",
        "Speed",
    )


async def test_an_update_that_only_reads_takes_no_write_lock(sqlite_bot: BotHarness):
    """While another process holds SQLite's write lock, a student still browses and reads."""
    bot = sqlite_bot
    course = await bot.course(simple_course())
    ann = bot.emulator.user(1001, "Ann")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    writer = sqlite3.connect(bot.database.engine.url.database, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    try:
        [catalog] = await ann.send("/courses")
        assert "Python Basics" in catalog.text
        [progress] = await ann.send("/progress")
        assert "Python Basics" in progress.text
        [help_text] = await ann.send("/help")
        assert "/courses" in help_text.text
    finally:
        writer.rollback()
        writer.close()
    # Writes wait for the lock as before (opening a lesson stamps the course's activity).
    await ann.press("Next")
    assert "This is lesson 2." in ann.last.text
    await ann.press("Complete")
    async with bot.database.session() as session:
        assert await session.scalar(select(Enrollment.progress_percentage)) == 33


async def test_a_write_waits_for_another_processs_lock_without_stalling_others(
    sqlite_bot: BotHarness,
):
    """Another process holds SQLite's write lock: Ann's Complete waits for it, and meanwhile Bob
    is answered (SQLite statements run on the event loop: the wait must not block it)."""
    bot = sqlite_bot
    course = await bot.course(simple_course())
    ann, bob = bot.emulator.user(1001, "Ann"), bot.emulator.user(1002, "Bob")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    await bob.send("/start")
    writer = sqlite3.connect(bot.database.engine.url.database, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    try:
        completing = asyncio.create_task(ann.press("Complete"))
        for _ in range(3):
            [help_text] = await bob.send("/help")
            assert "/courses" in help_text.text
        assert not completing.done(), "Ann's write went on while another process held the lock"
    finally:
        writer.rollback()
        writer.close()
    await completing
    async with bot.database.session() as session:
        assert await session.scalar(select(Enrollment.progress_percentage)) == 33


async def test_an_admins_long_statistics_do_not_hold_up_students(sqlite_bot: BotHarness):
    """/stats over 60,000 accounts takes a while: students are answered meanwhile (a staff
    member's statements run in a worker thread, not on the event loop)."""
    bot = sqlite_bot
    now = utcnow()
    async with bot.database.session() as session:
        await session.execute(
            insert(User),
            [
                {
                    "telegram_id": 50_000_000 + n,
                    "full_name": f"Learner {n}",
                    "role": Role.student,
                    "created_at": now - timedelta(minutes=n),
                    "last_active_at": now - timedelta(minutes=n),
                }
                for n in range(60_000)
            ],
        )
    ada, ann = bot.emulator.user(ADMIN_ID, "Ada"), bot.emulator.user(1001, "Ann")
    await ada.send("/start")
    await ann.send("/start")
    started = time.perf_counter()
    await ada.send("/stats")
    alone = time.perf_counter() - started
    assert "60" in ada.last.text  # the figures are there (60,00x accounts)
    stats = asyncio.create_task(ada.send("/stats"))
    answered = 0
    while not stats.done():
        [help_text] = await ann.send("/help")
        assert "/courses" in help_text.text
        answered += 1
    await stats
    # /stats alone took `alone` seconds; Ann's /help takes a few milliseconds: she is answered
    # several times while it runs (on the event loop she would wait for it to finish).
    assert answered >= 3, f"Ann answered {answered} times during a {alone:.2f} s /stats"

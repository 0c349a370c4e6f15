"""Updates of different users run at once; one user's updates stay in order; an update that
only reads takes no write lock; one user's slow step never stalls the others."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from sqlalchemy import func, select

import db.security
from db.models import Course, Enrollment
from db.security import verify_secret
from tests.e2e.conftest import BotHarness, simple_course
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

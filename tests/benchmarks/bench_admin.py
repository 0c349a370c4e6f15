"""Benchmark: the admin's figures on a large platform, and a broadcast's send rate.

Run: ``python -m tests.benchmarks.bench_admin [--users 100000] [--broadcast 500]``. It prints
figures and asserts nothing.

1. /admin's counts, /stats (every figure is one query) and a broadcast audience count, at a tenth
   of ``--users`` and at ``--users`` (2 enrollments, 3 lesson completions and 1 quiz attempt per
   user, spread over 60 days): median milliseconds, and the ratio (10 means linear in users).
2. A broadcast to ``--broadcast`` users through the real bot and the Bot API emulator, with 429s
   injected: the measured send rate against ``SEND_RATE_PER_SECOND``, and the duplicates (0).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import insert, select

from bot.migrate import upgrade
from db.accounts import Profile, touch_user
from db.authoring import (
    CourseDraft,
    LessonDraft,
    OptionDraft,
    QuestionDraft,
    QuizDraft,
    create_course,
)
from db.broadcasts import audience_size
from db.engine import Database
from db.models import (
    AttemptStatus,
    Enrollment,
    Lesson,
    LessonCompletion,
    QuestionType,
    Quiz,
    QuizAttempt,
    Role,
    User,
    utcnow,
)
from db.platformstats import admin_counts, daily_learners, platform_stats
from tests.benchmarks.bench_learning import measure

COURSES = 20
LESSONS = 5
CHUNK = 20_000


async def seed(database: Database, users: int) -> None:
    rng = random.Random(7)
    now = utcnow()
    async with database.session() as session:
        teacher = await touch_user(session, Profile(1, "teacher", "Teacher", "en"))
        teacher.role = Role.instructor
        for index in range(COURSES):
            quiz = QuizDraft(
                "Check",
                questions=[
                    QuestionDraft(
                        "2+2?",
                        QuestionType.single_choice,
                        [OptionDraft("4", True), OptionDraft("5")],
                    )
                ],
            )
            lessons = [LessonDraft(f"L{n}", "Text") for n in range(LESSONS - 1)]
            lessons.append(LessonDraft("Quiz", "Text", quiz=quiz))
            draft = CourseDraft(f"Course {index}", published=index % 4 != 0, lessons=lessons)
            await create_course(session, teacher, draft)
        lesson_ids = list(await session.scalars(select(Lesson.id).order_by(Lesson.id)))
        quiz_ids = list(await session.scalars(select(Quiz.id).order_by(Quiz.id)))
    for first in range(0, users, CHUNK):
        count = min(CHUNK, users - first)
        async with database.session() as session:
            await session.execute(
                insert(User),
                [
                    {
                        "telegram_id": 100_000 + n,
                        "full_name": f"User {n}",
                        "created_at": now - timedelta(days=rng.randrange(90)),
                        "last_active_at": now - timedelta(hours=rng.randrange(24 * 60)),
                        "is_blocked": n % 50 == 0,
                    }
                    for n in range(first, first + count)
                ],
            )
            ids = list(
                await session.scalars(
                    select(User.id).where(User.telegram_id >= 100_000 + first).order_by(User.id)
                )
            )[:count]
            enrollments, completions, attempts = [], [], []
            for n, user_id in enumerate(ids):
                courses = {(first + n) % COURSES + 1, (first + n * 7 + 3) % COURSES + 1}
                for course in courses:
                    enrollments.append(
                        {"student_id": user_id, "course_id": course, "enrolled_at": now}
                    )
                for lesson in rng.sample(lesson_ids, 3):
                    completions.append(
                        {
                            "student_id": user_id,
                            "lesson_id": lesson,
                            "completed_at": now - timedelta(minutes=rng.randrange(60 * 24 * 60)),
                        }
                    )
                passed = rng.random() < 0.7
                attempts.append(
                    {
                        "quiz_id": rng.choice(quiz_ids),
                        "student_id": user_id,
                        "answers": {},
                        "score": 100 if passed else 0,
                        "passed": passed,
                        "status": AttemptStatus.submitted,
                        "started_at": now - timedelta(minutes=rng.randrange(60 * 24 * 60)),
                        "version": 1,
                    }
                )
            await session.execute(insert(Enrollment), enrollments)
            await session.execute(insert(LessonCompletion), completions)
            await session.execute(insert(QuizAttempt), attempts)


async def store_figures(users: int, folder: Path) -> dict[str, float]:
    url = f"sqlite+aiosqlite:///{folder / f'admin-{users}.db'}"
    await upgrade(url)
    database = Database(url)
    await seed(database, users)

    async def in_session(work):  # type: ignore[no-untyped-def]
        async with database.session() as session:
            return await work(session)

    operations = {
        "/admin counts": lambda n: in_session(admin_counts),
        "/stats (all figures)": lambda n: in_session(platform_stats),
        "/stats: 30-day learners": lambda n: in_session(lambda s: daily_learners(s, utcnow())),
        "audience: everyone": lambda n: in_session(
            lambda s: audience_size(s, {"kind": "everyone"})
        ),
        "audience: inactive 7d": lambda n: in_session(
            lambda s: audience_size(s, {"kind": "inactive", "days": 7})
        ),
        "audience: one course": lambda n: in_session(
            lambda s: audience_size(s, {"kind": "course", "course_id": 3})
        ),
    }
    figures = {name: await measure(op, 5) for name, op in operations.items()}
    await database.dispose()
    return figures


async def broadcast_rate(users: int, folder: Path) -> tuple[int, float, float, int, int]:
    """(sent, seconds, configured rate, duplicates, 429s) of a broadcast to ``users``."""
    from bot.emulator import BotApiEmulator
    from handlers.common import LearnApplication
    from tests.e2e.conftest import ADMIN_ID, TOKEN, BotHarness, emulator_settings

    url = f"sqlite+aiosqlite:///{folder / 'broadcast.db'}"
    await upgrade(url)
    database = Database(url)
    async with BotApiEmulator(token=TOKEN) as emulator:
        settings = emulator_settings(emulator, url, admin_telegram_ids=[ADMIN_ID])
        harness = BotHarness(emulator, settings, database)
        await harness.start()
        async with database.session() as session:
            for n in range(users):
                person = emulator.user(300_000 + n, f"User {n}")
                person.started = True
                await touch_user(session, Profile(person.id, None, person.first_name, "en"))
        boss = emulator.user(ADMIN_ID, "Ada")
        await boss.send("/broadcast")
        await boss.send("Benchmark news")
        await boss.press("Everyone")
        floods = 3
        emulator.fail_next("sendMessage", 429, retry_after=1, times=floods)
        await boss.press("Confirm")
        assert harness.application is not None
        await cast(LearnApplication, harness.application).services.pushes.idle()
        tries = [
            r
            for r in emulator.requests
            if r.method == "sendMessage"
            and r.params.get("text") == "Benchmark news"
            and r.params.get("chat_id") != ADMIN_ID
        ]
        chats = [r.params["chat_id"] for r in tries if r.ok]
        await harness.stop()
    await database.dispose()
    seconds = tries[-1].at - tries[0].at  # from the first try (a 429) to the last send
    return len(chats), seconds, settings.send_rate_per_second, len(chats) - len(set(chats)), floods


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--broadcast", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        small = await store_figures(max(1, args.users // 10), Path(folder))
        large = await store_figures(args.users, Path(folder))
        seeded = time.perf_counter() - start
    print(
        f"Admin figures on SQLite: median ms, {args.users // 10} vs {args.users} users "
        f"(seeding and measuring took {seeded:.0f} s)"
    )
    print(f"{'query':<24}{args.users // 10:>10}{args.users:>10}{'ratio':>8}")
    for name in large:
        print(
            f"{name:<24}{small[name]:>10.1f}{large[name]:>10.1f}{large[name] / small[name]:>8.1f}"
        )
    with tempfile.TemporaryDirectory() as folder:
        sent, seconds, rate, duplicates, floods = await broadcast_rate(args.broadcast, Path(folder))
    measured = sent / seconds
    print(
        f"\nBroadcast through the bot and the emulator: {sent} users in {seconds:.1f} s, with "
        f"{floods} injected 429s (retry_after 1 s each, waited out): {measured:.1f} msg/s "
        f"against SEND_RATE_PER_SECOND {rate:g} ({100 * measured / rate:.0f} %), "
        f"{duplicates} duplicates"
    )


if __name__ == "__main__":
    asyncio.run(main())

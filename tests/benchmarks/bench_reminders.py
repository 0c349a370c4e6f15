"""Benchmark: the reminder sweep's due selection at two sizes, and a fan-out through the emulator.

Run: ``python -m tests.benchmarks.bench_reminders [--students 100000] [--fanout 2000]``. It
prints figures; it asserts nothing.

1. The due selection (``db.reminders.due_reminders``: one query, after the small query of the
   zones' hours) on SQLite with a tenth of ``--students`` and with all of them, 3 enrollments
   each: median milliseconds at both sizes and their ratio, and the query plan.
2. ``--fanout`` students all due at once, swept through the loopback Bot API emulator with the
   real ``PacedSender`` at SEND_RATE_PER_SECOND while 429s (retry_after=1) are injected: the
   measured send rate against the setting, and duplicates (chats that got more than one).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, insert, literal, select
from telegram import Bot

from bot.migrate import upgrade
from bot.reminders import sweep
from bot.sender import PacedSender
from bot.settings import Settings
from db.authoring import CourseDraft, LessonDraft, create_course
from db.engine import Database
from db.models import TS, Enrollment, ReminderSent, Role, User
from db.reminders import Policy, due_reminders, hours_now

NOW = datetime(2027, 5, 12, 16, 5, tzinfo=UTC)
POLICY = Policy(inactive_days=2, repeat_days=3)
ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
]
COURSES = 50
ENROLLMENTS_PER_STUDENT = 3
BATCH = 20_000


async def courses(database: Database, count: int) -> list[int]:
    async with database.session() as session:
        teacher = User(telegram_id=1, full_name="Teacher", role=Role.instructor)
        session.add(teacher)
        await session.flush()
        ids = []
        for index in range(count):
            draft = CourseDraft(
                f"Course {index}",
                published=True,
                lessons=[LessonDraft(f"Lesson {n}", "Text") for n in range(10)],
            )
            ids.append((await create_course(session, teacher, draft)).id)
    return ids


async def seed_platform(database: Database, students: int) -> None:
    """Students spread over 12 zones and 24 hours; 3 enrollments each, last active within
    10 days; some finished, some reminded lately, some switched off or blocked."""
    rng = random.Random(students)
    course_ids = await courses(database, COURSES)
    for start in range(0, students, BATCH):
        count = min(BATCH, students - start)
        async with database.session() as session:
            await session.execute(
                insert(User),
                [
                    {
                        "telegram_id": 100_000 + start + n,
                        "full_name": f"Student {start + n}",
                        "timezone": rng.choice(ZONES),
                        "reminder_hour": rng.randrange(24),
                        "reminders_enabled": rng.random() > 0.05,
                        "is_blocked": rng.random() < 0.02,
                    }
                    for n in range(count)
                ],
            )
            user_ids = list(
                await session.scalars(
                    select(User.id).where(User.telegram_id >= 100_000 + start).order_by(User.id)
                )
            )
            rows = []
            for user_id in user_ids[:count]:
                for course_id in rng.sample(course_ids, ENROLLMENTS_PER_STUDENT):
                    reminded = rng.random() < 0.3
                    rows.append(
                        {
                            "student_id": user_id,
                            "course_id": course_id,
                            "enrolled_at": NOW - timedelta(days=30),
                            "last_activity_at": NOW - timedelta(hours=rng.uniform(0, 240)),
                            "last_reminded_at": (
                                NOW - timedelta(hours=rng.uniform(0, 144)) if reminded else None
                            ),
                            "completed_at": NOW if rng.random() < 0.1 else None,
                            "progress_percentage": 100 if rng.random() < 0.1 else 30,
                            "reminders_enabled": rng.random() > 0.05,
                        }
                    )
            await session.execute(insert(Enrollment), rows)


async def selection_figures(students: int, folder: Path) -> tuple[float, float, int, str]:
    """(median ms of the due selection, of the zones' hours, students due, query plan)."""
    url = f"sqlite+aiosqlite:///{folder / f'due-{students}.db'}"
    await upgrade(url)
    database = Database(url)
    await seed_platform(database, students)  # no ANALYZE: a bot's database has no statistics
    selections, zones, due = [], [], 0
    for round_ in range(24):
        now = NOW + timedelta(hours=round_)
        async with database.session() as session:
            started = time.perf_counter()
            pairs = await hours_now(session, now)
            middle = time.perf_counter()
            found = await due_reminders(session, POLICY, now, pairs)
            done = time.perf_counter()
        zones.append((middle - started) * 1000)
        selections.append((done - middle) * 1000)
        due = max(due, len(found))
    plan = await query_plan(database)
    await database.dispose()
    return statistics.median(selections), statistics.median(zones), due, plan


async def query_plan(database: Database) -> str:
    """SQLite's plan for the due selection (how it finds the rows)."""
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM enrollments JOIN users" in statement and not captured:
            captured.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    async with database.session() as session:
        await due_reminders(session, POLICY, NOW)
    event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    async with database.engine.connect() as connection:
        rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return "\n".join(f"    {row[-1]}" for row in rows)


async def fanout_figures(count: int, folder: Path, rate: float, floods: int) -> dict[str, float]:
    """``count`` students due at once, one sweep through the emulator at ``rate``."""
    from bot.emulator import BotApiEmulator
    from tests.e2e.conftest import TOKEN

    url = f"sqlite+aiosqlite:///{folder / 'fanout.db'}"
    await upgrade(url)
    database = Database(url)
    [course_id] = await courses(database, 1)
    async with database.session() as session:
        await session.execute(
            insert(User),
            [
                {
                    "telegram_id": 200_000 + n,
                    "full_name": f"Student {n}",
                    "timezone": "Europe/Berlin",
                    "reminder_hour": 18,
                }
                for n in range(count)
            ],
        )
        await session.execute(
            insert(Enrollment).from_select(
                ["student_id", "course_id", "enrolled_at", "last_activity_at"],
                select(
                    User.id,
                    literal(course_id),
                    literal(NOW - timedelta(days=9), TS),
                    literal(NOW - timedelta(days=5), TS),
                ).where(User.telegram_id >= 200_000),
            )
        )
    async with BotApiEmulator(token=TOKEN) as emulator:
        for n in range(count):
            emulator.user(200_000 + n).started = True
        sender = PacedSender(rate)

        async def inject() -> None:
            """A 429 at even intervals through the fan-out."""
            for index in range(1, floods + 1):
                await emulator.wait_calls(
                    index * count // (floods + 1),
                    lambda r: r.method == "sendMessage",
                    timeout=3600,
                )
                emulator.fail_next("sendMessage", 429, retry_after=1)

        injector = asyncio.create_task(inject())
        async with Bot(TOKEN, base_url=emulator.base_url) as bot:
            started = time.perf_counter()
            report = await sweep(database, bot, sender, POLICY, NOW)
            elapsed = time.perf_counter() - started
        injector.cancel()
        sends = [r for r in emulator.requests if r.method == "sendMessage" and r.ok]
        per_chat = Counter(r.params["chat_id"] for r in sends)
        span = sends[-1].at - sends[0].at if len(sends) > 1 else 0.0
        injected = len([r for r in emulator.injected if r.method == "sendMessage"])
    async with database.session() as session:
        recorded = await session.scalar(select(func.count(ReminderSent.id))) or 0
    await database.dispose()
    waited = sender.flood_waits * 1.0
    return {
        "sent": report.sent,
        "failed": report.failed,
        "elapsed": elapsed,
        "span": span,
        "rate": (len(sends) - 1) / span if span else 0.0,
        "rate_between_floods": (len(sends) - 1) / (span - waited) if span > waited else 0.0,
        "floods": injected,
        "waits": sender.flood_waits,
        "duplicates": sum(1 for copies in per_chat.values() if copies > 1),
        "missing": count - len(per_chat),
        "recorded": recorded,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--fanout", type=int, default=2000)
    parser.add_argument("--floods", type=int, default=4, help="429s injected during the fan-out")
    args = parser.parse_args()
    rate = Settings(_env_file=None).send_rate_per_second
    small_size = max(1, args.students // 10)
    with tempfile.TemporaryDirectory() as folder:
        small = await selection_figures(small_size, Path(folder))
        large = await selection_figures(args.students, Path(folder))
    print(
        f"Due selection on SQLite: {ENROLLMENTS_PER_STUDENT} enrollments per student, "
        f"{len(ZONES)} zones, median of 24 sweeps (one per hour of a day)"
    )
    print(f"{'':<28}{small_size:>12}{args.students:>12}{'ratio':>8}")
    rows = (("due selection (ms)", 0), ("zones' hours query (ms)", 1), ("students due", 2))
    for label, index in rows:
        ratio = large[index] / max(small[index], 1e-9)
        print(f"{label:<28}{small[index]:>12.1f}{large[index]:>12.1f}{ratio:>8.1f}")
    print(f"query plan ({args.students} students):\n{large[3]}")

    with tempfile.TemporaryDirectory() as folder:
        fan = await fanout_figures(args.fanout, Path(folder), rate, args.floods)
    print(
        f"\nFan-out: {args.fanout} due reminders, one sweep, PacedSender at "
        f"SEND_RATE_PER_SECOND={rate:g}, emulator on loopback, {fan['floods']:.0f} injected 429s "
        "(retry_after=1)"
    )
    print(f"sent {fan['sent']:.0f}, failed {fan['failed']:.0f}, rows {fan['recorded']:.0f}")
    print(
        f"sweep {fan['elapsed']:.1f} s; first to last send {fan['span']:.1f} s; "
        f"{fan['waits']:.0f} flood waits honoured"
    )
    print(
        f"send rate {fan['rate']:.2f}/s = {100 * fan['rate'] / rate:.1f} % of the setting "
        f"(between flood waits: {fan['rate_between_floods']:.2f}/s = "
        f"{100 * fan['rate_between_floods'] / rate:.1f} %)"
    )
    print(
        f"duplicates: {fan['duplicates']:.0f} chats got two or more; missing {fan['missing']:.0f}"
    )


if __name__ == "__main__":
    asyncio.run(main())

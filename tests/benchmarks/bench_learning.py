"""Benchmark: the learning loop's database operations at two sizes, and updates through the bot.

Run: ``python -m tests.benchmarks.bench_learning [--learners 5000]``. It prints figures; it asserts
nothing. The ratio column compares the large platform with one a tenth of its size: about 1
means the queries stay indexed as learners grow.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import insert, select

from bot.migrate import upgrade
from db.accounts import Profile, touch_user
from db.authoring import CourseDraft, LessonDraft, create_course
from db.catalog import catalog_page, course_card
from db.engine import Database
from db.learning import complete_lesson, enroll, my_progress, open_lesson
from db.models import Enrollment, Lesson, Role, User, utcnow

COURSES = 50
LESSONS = 10
ENROLLMENTS_PER_LEARNER = 4


async def seed(database: Database, learners: int) -> tuple[list[User], list[list[int]]]:
    async with database.session() as session:
        teacher = await touch_user(session, Profile(1, "teacher", "Teacher", "en"))
        teacher.role = Role.instructor
        lesson_ids = []
        for index in range(COURSES):
            draft = CourseDraft(
                f"Course {index}",
                category=f"Category {index % 7}",
                published=True,
                lessons=[LessonDraft(f"L{n}", "Text " * 50) for n in range(LESSONS)],
            )
            course = await create_course(session, teacher, draft)
            lesson_ids.append(
                list(await session.scalars(select(Lesson.id).where(Lesson.course_id == course.id)))
            )
        now = utcnow()
        await session.execute(
            insert(User),
            [
                {"telegram_id": 10_000 + n, "full_name": f"Learner {n}", "created_at": now}
                for n in range(learners)
            ],
        )
        users = list(
            await session.scalars(
                select(User).where(User.telegram_id >= 10_000).order_by(User.telegram_id)
            )
        )
        await session.execute(
            insert(Enrollment),
            [
                {"student_id": user.id, "course_id": (n * 7 + k) % COURSES + 1, "enrolled_at": now}
                for n, user in enumerate(users)
                for k in range(ENROLLMENTS_PER_LEARNER)
            ],
        )
    return users, lesson_ids


async def measure(operation: Callable[[int], Awaitable[object]], rounds: int) -> float:
    """Median milliseconds of one operation (each in its own transaction, as in the bot)."""
    timings = []
    for n in range(rounds):
        start = time.perf_counter()
        await operation(n)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


async def store_figures(learners: int, folder: Path) -> dict[str, float]:
    url = f"sqlite+aiosqlite:///{folder / f'bench-{learners}.db'}"
    await upgrade(url)
    database = Database(url)
    users, lesson_ids = await seed(database, learners)

    def learner(n: int) -> User:
        return users[(n * 37) % len(users)]

    def enrolled_lesson(n: int) -> int:
        """A lesson of the first course ``learner(n)`` was enrolled in by ``seed``."""
        return lesson_ids[((n * 37) % len(users)) * 7 % COURSES][n % LESSONS]

    async def in_session(work: Callable) -> object:
        async with database.session() as session:
            return await work(session)

    operations = {
        "touch account": lambda n: in_session(
            lambda s: touch_user(s, Profile(learner(n).telegram_id, None, "x", "en"))
        ),
        "catalog page": lambda n: in_session(lambda s: catalog_page(s, learner(n), page=n % 5)),
        "catalog search": lambda n: in_session(lambda s: catalog_page(s, learner(n), "category 3")),
        "course card": lambda n: in_session(lambda s: course_card(s, learner(n), n % COURSES + 1)),
        "enroll": lambda n: in_session(lambda s: enroll(s, learner(n), (n * 11) % COURSES + 1)),
        "open lesson": lambda n: in_session(
            lambda s: open_lesson(s, learner(n), enrolled_lesson(n))
        ),
        "complete lesson": lambda n: in_session(
            lambda s: complete_lesson(s, learner(n), enrolled_lesson(n))
        ),
        "my progress": lambda n: in_session(lambda s: my_progress(s, learner(n))),
    }
    figures = {name: await measure(op, 300) for name, op in operations.items()}
    await database.dispose()
    return figures


async def bot_figures(learners: int, folder: Path, *, paced: bool) -> tuple[int, float]:
    """Updates per second through the real bot and the emulator: learners browse and learn."""
    from bot.emulator import BotApiEmulator
    from tests.e2e.conftest import TOKEN, BotHarness, emulator_settings

    url = f"sqlite+aiosqlite:///{folder / 'bench-bot.db'}"
    await upgrade(url)
    database = Database(url)
    await seed(database, 10)
    async with BotApiEmulator(token=TOKEN) as emulator:
        harness = BotHarness(emulator, emulator_settings(emulator, url), database, paced=paced)
        await harness.start()

        async def session_of(n: int) -> None:
            user = emulator.user(50_000 + n, f"Learner {n}")
            await user.send("/start course-1")
            await user.press("Enroll")
            await user.press("Continue")
            await user.press("Complete")
            await user.send("/courses")
            await user.press("Next")
            await user.send("/mycourses")

        start = time.perf_counter()
        await asyncio.gather(*(session_of(n) for n in range(learners)))
        elapsed = time.perf_counter() - start
        await harness.stop()
    await database.dispose()
    return learners * 7, elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=5000)
    parser.add_argument("--bot-learners", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small = await store_figures(max(1, args.learners // 10), Path(folder))
        large = await store_figures(args.learners, Path(folder))
    print(
        f"Store on SQLite: median ms per operation, {COURSES} courses × {LESSONS} lessons, "
        f"{ENROLLMENTS_PER_LEARNER} enrollments per learner"
    )
    print(f"{'operation':<18}{args.learners // 10:>10}{args.learners:>10}{'ratio':>8}")
    for name in large:
        print(
            f"{name:<18}{small[name]:>10.2f}{large[name]:>10.2f}{large[name] / small[name]:>8.2f}"
        )
    print(
        f"\nBot end to end: real PTB polling the emulator (same process, same core), "
        f"sequential processing, {args.bot_learners} learners at once, 7 updates each"
    )
    for paced, label in ((True, "paced at 30 msg/s (production)"), (False, "unpaced (capacity)")):
        with tempfile.TemporaryDirectory() as folder:
            updates, seconds = await bot_figures(args.bot_learners, Path(folder), paced=paced)
        print(
            f"{label:<32}{updates} updates in {seconds:.2f} s = {updates / seconds:.0f} "
            f"updates/s, {1000 * seconds / updates:.1f} ms each"
        )


if __name__ == "__main__":
    asyncio.run(main())

"""learnbot's SQLite driver (``db/sqlite.py``): statements on the event loop's thread, unless the
session is offloaded; a slow offloaded statement leaves the event loop free."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database

SLOW = text(  # a fraction of a second of SQLite's own work, no Python in it
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) "
    "SELECT count(*) FROM n"
)


async def executing_thread(session: AsyncSession) -> int:
    """The thread that runs this session's statements, as SQLite itself reports it."""
    raw = await (await session.connection()).get_raw_connection()
    raw.driver_connection.create_function("thread_ident", 0, threading.get_ident)
    return await session.scalar(text("SELECT thread_ident()"))


async def test_statements_run_on_the_event_loops_thread_unless_offloaded(tmp_path: Path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    here = threading.get_ident()
    try:
        async with database.session() as session:
            assert await executing_thread(session) == here
        async with database.session(deferred=True) as session:
            assert await executing_thread(session) == here
        async with database.session(offload=True) as session:
            assert await executing_thread(session) != here
        async with database.session() as session:  # from the middle of a transaction on
            assert await executing_thread(session) == here
            await database.offload(session)
            assert await executing_thread(session) != here
        async with database.session() as session:  # the pool's next user is back inline
            assert await executing_thread(session) == here
    finally:
        await database.dispose()


async def test_a_slow_offloaded_statement_leaves_the_event_loop_free(tmp_path: Path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        async with database.session(offload=True) as session:
            assert await session.scalar(SLOW) == 2_000_000
        offloaded = ticks
        async with database.session() as session:
            ticks = 0
            assert await session.scalar(SLOW) == 2_000_000
            inline = ticks
    finally:
        ticker.cancel()
        await database.dispose()
    assert offloaded >= 10, "the event loop stood still during an offloaded statement"
    assert inline <= 1, "a statement on the event loop's thread holds it (this test's premise)"


async def test_offloaded_results_read_like_inline_ones(tmp_path: Path):
    """Rows one by one, in partitions, all at once; writes report their rows and new ids."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    numbers = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
        "SELECT i FROM n"
    )
    try:
        for offload in (False, True):
            async with database.session(offload=offload) as session:
                assert [i for (i,) in await session.execute(numbers)] == list(range(1, 20001))
                result = await session.execute(numbers)
                sizes = [len(part) for part in result.partitions(7000)]
                assert sizes == [7000, 7000, 6000]
                assert (await session.execute(numbers)).first() == (1,)
                await session.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY)"))
                inserted = await session.execute(text("INSERT INTO t DEFAULT VALUES"))
                assert inserted.rowcount == 1 and inserted.lastrowid is not None
                deleted = await session.execute(text("DELETE FROM t"))
                assert deleted.rowcount == 1
    finally:
        await database.dispose()

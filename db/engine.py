"""Engine and sessions: one session (one transaction) per update."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from db import sqlite

# How long a transaction waits for SQLite's write lock, held by another process (the CLI, a
# second bot) or by a long transaction of this one, before it fails: the wait is asynchronous.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# How long SQLite itself may block the event loop in its busy handler, in the rare cases a
# statement meets a lock it cannot wait for asynchronously (a read during a checkpoint, a deferred
# transaction's first write beside another writer: that one is then run again as immediate).
SQLITE_INLINE_BUSY_MS = 20


def normalise_url(url: str) -> str:
    """Accept the URLs people paste: ``postgresql://`` → asyncpg, ``sqlite://`` → aiosqlite."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


DEFERRED = "learnbot_deferred"  # execution option: begin without the write lock (SQLite)
OFFLOAD = "learnbot_offload"  # execution option: run the statements in a worker thread (SQLite)
_WRITER = "learnbot_writer"  # connection.info: this transaction holds the process's writer turn


def is_busy(error: BaseException) -> bool:
    """SQLite's "database is locked": a deferred transaction could not start writing because
    another one wrote since it began reading (it must start again, as an immediate one)."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL, NORMAL sync, foreign keys, a short busy timeout, and ``BEGIN IMMEDIATE``
    transactions that wait for the write lock asynchronously.

    pysqlite's own transaction handling is switched off so that every transaction starts with
    ``BEGIN IMMEDIATE``: read-then-write transactions then take the write lock up front and never
    fail half-way with "database is locked" when another writer got there first. A session
    opened with ``deferred=True`` begins with a plain ``BEGIN`` instead: it reads without the
    write lock, alongside the writer, and its caller must be ready to start again as an
    immediate transaction when it needs to write after all and SQLite says ``is_busy``.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_INLINE_BUSY_MS}")
        cursor.close()

    # This process's writers take turns on an asyncio lock, first come first served, rather than
    # in SQLite's busy handler, which would block the event loop (statements run on its thread:
    # see ``db.sqlite``). SQLite's own lock still arbitrates between processes; waiting for
    # another process's writer is asynchronous too (``_begin_immediate``).
    writers = asyncio.Lock()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        connection.connection.dbapi_connection.offload = options.get(OFFLOAD, False)
        if options.get(DEFERRED, False):
            connection.exec_driver_sql("BEGIN")
            return
        await_only(writers.acquire())
        connection.info[_WRITER] = True
        try:
            _begin_immediate(connection)
        except BaseException:
            _release(connection)
            raise

    def _begin_immediate(connection: Any) -> None:
        """``BEGIN IMMEDIATE``, waiting asynchronously while another process holds the lock."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000
        pause = 0.002
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if not is_busy(error) or loop.time() >= deadline:
                    raise
            await_only(asyncio.sleep(pause))
            pause = min(pause * 2, 0.05)

    def _release(connection: Any) -> None:
        if connection.info.pop(_WRITER, False):
            writers.release()

    # However a connection ends its transaction — a commit, a rollback, or the pool resetting,
    # closing or invalidating it after a task was cancelled half-way — the turn is given back.
    def _release_record(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_WRITER, False):
            writers.release()

    def _release_on_reset(dbapi_connection: Any, record: Any, _state: Any) -> None:
        _release_record(dbapi_connection, record)

    def _release_on_invalidate(dbapi_connection: Any, record: Any, _error: Any) -> None:
        _release_record(dbapi_connection, record)

    pool = engine.sync_engine.pool
    event.listen(pool, "reset", _release_on_reset)
    for name in ("invalidate", "soft_invalidate"):
        event.listen(pool, name, _release_on_invalidate)
    for name in ("checkin", "close", "detach"):
        event.listen(pool, name, _release_record)

    @event.listens_for(engine.sync_engine, "commit")
    def on_commit(connection: Any) -> None:
        _release(connection)

    @event.listens_for(engine.sync_engine, "rollback")
    def on_rollback(connection: Any) -> None:
        _release(connection)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": SQLITE_INLINE_BUSY_MS / 1000})
        engine = create_async_engine(parsed.set(drivername=f"sqlite+{sqlite.DRIVER}"), **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


class Database:
    """The engine and its session factory, created once (``handlers.common.Services``)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine = create_engine(self.url, **engine_kwargs)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(
        self, *, deferred: bool = False, offload: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error.

        ``deferred`` (SQLite): the transaction takes the write lock only when it first writes,
        and may then fail with ``is_busy`` (see ``_tune_sqlite``). ``offload`` (SQLite): its
        statements run in a worker thread, for work that may take long on a big database (see
        ``db.sqlite``). Elsewhere they change nothing.
        """
        async with self.sessionmaker() as session:
            try:
                if (deferred or offload) and self.is_sqlite:
                    options = {DEFERRED: deferred, OFFLOAD: offload}
                    await session.connection(execution_options=options)
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def offload(self, session: AsyncSession) -> None:
        """From now until the end of its transaction, run the session's statements in a worker
        thread (SQLite; see ``db.sqlite``): for work that may take long on a big database."""
        if self.is_sqlite:
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            raw.dbapi_connection.offload = True

    async def dispose(self) -> None:
        await self.engine.dispose()

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

SQLITE_BUSY_TIMEOUT_MS = 15_000


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
_WRITER = "learnbot_writer"  # connection.info: this transaction holds the process's writer turn


def is_busy(error: BaseException) -> bool:
    """SQLite's "database is locked": a deferred transaction could not start writing because
    another one wrote since it began reading (it must start again, as an immediate one)."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL, NORMAL sync, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` transactions.

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
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    # This process's writers take turns on an asyncio lock, first come first served, rather than
    # in SQLite's busy handler: with many updates at once, a writer waiting there would poll,
    # hold a driver thread, and give up after the busy timeout ("database is locked").
    # SQLite's own lock still arbitrates between processes.
    writers = asyncio.Lock()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(DEFERRED, False):
            connection.exec_driver_sql("BEGIN")
            return
        await_only(writers.acquire())
        connection.info[_WRITER] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(connection)
            raise

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
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        engine = create_async_engine(url, **kwargs)
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
    async def session(self, *, deferred: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error.

        ``deferred`` (SQLite): the transaction takes the write lock only when it first writes,
        and may then fail with ``is_busy`` (see ``_tune_sqlite``); elsewhere it changes nothing.
        """
        async with self.sessionmaker() as session:
            try:
                if deferred and self.is_sqlite:
                    await session.connection(execution_options={DEFERRED: True})
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()

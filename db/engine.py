"""Engine and sessions: one session (one transaction) per update."""

from __future__ import annotations

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

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        deferred = connection.get_execution_options().get(DEFERRED, False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = normalise_url(url)
    parsed = make_url(url)
    # Every session ends in a commit or a rollback (``Database.session``), so the pool need not
    # roll back again each time a connection comes back (a round trip to the driver's thread).
    kwargs.setdefault("pool_reset_on_return", None)
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

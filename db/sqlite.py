"""SQLite for SQLAlchemy's asyncio engine, run on the event loop's own thread.

aiosqlite runs every call in a thread of its own: each statement is four hand-offs to that
thread and back (cursor, execute, fetch, close), each a wake-up of the event loop. A learnbot
statement is an indexed lookup or a one-row write that SQLite answers in microseconds, so the
hand-offs cost far more than the work, and a transaction spread over them lets every other
update in between, holding SQLite's write lock all the while.

This driver (``sqlite+learnbot://``, chosen by ``db.engine.create_engine`` for every SQLite URL)
calls Python's ``sqlite3`` directly instead: a transaction made of short statements runs start to
end without giving the event loop away. Work that may take long on a big database (every update
of an instructor or admin, the reminder sweep's selection, a campaign's tallies) is offloaded
(``db.engine.Database.session(offload=True)`` or ``Database.offload``): its statements then run
in a worker thread, as aiosqlite's would, so they never hold up other users. The connection is
made with ``check_same_thread`` off so that it can be used from either thread; the pool hands it
to one task at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Sequence
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import AdaptedConnection
from sqlalchemy.util import await_only

DRIVER = "learnbot"


class _Cursor(sqlite3.Cursor):
    """``sqlite3``'s cursor, run where it is called (the event loop's thread)."""

    async def _async_soft_close(self) -> None:
        """SQLAlchemy's asyncio layer closes a result's cursor early; its rows stay readable."""


class _OffloadedCursor:
    """A DB-API cursor whose statements run in a worker thread, with their rows fetched there."""

    arraysize = 1

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._cursor = raw.cursor()
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    def _run(self, method: str, operation: str, parameters: Any) -> None:
        cursor = self._cursor
        getattr(cursor, method)(operation, parameters)
        self.description = cursor.description
        self._rows = deque(cursor.fetchall() if cursor.description else ())
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid

    def execute(self, operation: str, parameters: Any = ()) -> _OffloadedCursor:
        await_only(asyncio.to_thread(self._run, "execute", operation, parameters))
        return self

    def executemany(self, operation: str, parameters: Any) -> _OffloadedCursor:
        await_only(asyncio.to_thread(self._run, "executemany", operation, parameters))
        return self

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()

    async def _async_soft_close(self) -> None:
        """The rows were fetched with the statement: nothing to do."""


class InlineConnection(AdaptedConnection):
    """The DB-API connection SQLAlchemy sees: ``sqlite3`` itself, unless ``offload`` is set."""

    __slots__ = ("offload",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._connection = raw
        self.offload = False

    def cursor(self) -> Any:
        if self.offload:
            return _OffloadedCursor(self._connection)
        return self._connection.cursor(_Cursor)

    def _call(self, method: Any) -> None:
        if self.offload:
            await_only(asyncio.to_thread(method))
        else:
            method()

    def commit(self) -> None:
        self._call(self._connection.commit)

    def rollback(self) -> None:
        self._call(self._connection.rollback)

    def close(self) -> None:
        self._connection.close()

    terminate = close

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._connection.create_function(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class _DBAPI:
    """``sqlite3`` as the dialect's DB-API module, with ``connect`` giving an InlineConnection."""

    paramstyle = "qmark"

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    def connect(self, *args: Any, **kwargs: Any) -> InlineConnection:
        kwargs["check_same_thread"] = False
        return InlineConnection(sqlite3.connect(*args, **kwargs))


class SQLiteInlineDialect(SQLiteDialect_pysqlite):
    driver = DRIVER
    is_async = True
    has_terminate = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _DBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool

    def get_driver_connection(self, connection: Any) -> Any:
        return connection._connection

    def do_terminate(self, dbapi_connection: Any) -> None:
        dbapi_connection.close()


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteInlineDialect")

"""Watches the real bot from inside: SQL statements per update, and Telegram calls made while a
database transaction is open (which must never happen: a network call would hold the lock)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, TypeHandler
from telegram.request import HTTPXRequest


def _task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # not on the event loop's thread
        return None


class BotWatch:
    """One per test: :meth:`attach` it to each application (and its engine) before it starts.

    Telegram calls are seen through ``HTTPXRequest.do_request``, patched for the test's duration
    (its instances have ``__slots__``); a call made by a task with an open transaction is
    recorded in ``calls_in_transaction``.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements: dict[int, int] = {}
        self.kinds: dict[int, str] = {}
        self.calls_in_transaction: list[str] = []
        self._update_of_task: dict[asyncio.Task[Any], int] = {}
        self._open: Counter[asyncio.Task[Any] | None] = Counter()
        original = HTTPXRequest.do_request

        async def checked(request: HTTPXRequest, url: str, *args: Any, **kwargs: Any) -> Any:
            if self._open[_task()] > 0:
                self.calls_in_transaction.append(url.rsplit("/", 1)[-1])
            return await original(request, url, *args, **kwargs)

        monkeypatch.setattr(HTTPXRequest, "do_request", checked)

    def attach(self, application: Application, engine: AsyncEngine) -> None:
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", self._on_statement)
        event.listen(sync_engine, "begin", self._on_begin)
        event.listen(sync_engine, "commit", self._on_end)
        event.listen(sync_engine, "rollback", self._on_end)
        application.add_handler(TypeHandler(Update, self._on_update), group=-1000)

    async def _on_update(self, update: Update, _context: object) -> None:
        task = _task()
        if task is not None:
            self._update_of_task[task] = update.update_id
        self.statements[update.update_id] = 0
        self.kinds[update.update_id] = kind_of(update)

    def _on_statement(self, *_args: Any) -> None:
        update_id = self._update_of_task.get(_task())  # type: ignore[arg-type]
        if update_id is not None:
            self.statements[update_id] += 1

    def _on_begin(self, _connection: Any) -> None:
        self._open[_task()] += 1

    def _on_end(self, _connection: Any) -> None:
        task = _task()
        if self._open[task] > 0:
            self._open[task] -= 1

    def per_kind(self) -> dict[str, int]:
        """The largest statement count seen for each kind of update."""
        result: dict[str, int] = {}
        for update_id, count in self.statements.items():
            kind = self.kinds[update_id]
            result[kind] = max(result.get(kind, 0), count)
        return result


def kind_of(update: Update) -> str:
    """``/command``, ``button prefix:verb``, ``text``, or the update's type."""
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return "button " + ":".join(part for part in data.split(":")[:2] if not part.isdigit())
    message = update.message
    if message is not None and message.text is not None:
        if message.text.startswith("/"):
            return message.text.split()[0]
        return "text"
    for name in ("message", "edited_message", "my_chat_member"):
        if getattr(update, name) is not None:
            return name
    return "other"

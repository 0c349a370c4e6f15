"""Updates of different users at once, each user's own updates strictly in order.

PTB processes updates one at a time by default, so one user's slow step (an argon2 key check, a
429 wait, a slow answer from Telegram) delays everybody. ``PerUserUpdateProcessor`` lets up to
``max_concurrent_updates`` updates run together, but never two of the same user: a user's
updates queue on that user's lock, in the order they arrived (``asyncio.Lock`` is first come,
first served), so a double tap or a quick answer after a prompt is handled exactly as if alone.

The per-user lock is taken *before* a slot of the concurrency limit, so one user tapping fast
queues behind themself without holding slots that other users need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self.in_flight = 0  # updates being processed now
        self.peak = 0  # the most ever processed at once (tests, benchmarks)

    @staticmethod
    def key_of(update: object) -> int | None:
        """Whose update it is: the user (or, without one, the chat)."""
        if not isinstance(update, Update):
            return None
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
        return None

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self.key_of(update)
        if key is None:
            async with self._slots:
                await self.do_process_update(update, coroutine)
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock, self._slots:
                await self.do_process_update(update, coroutine)
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await coroutine
        finally:
            self.in_flight -= 1

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

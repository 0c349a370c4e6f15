"""The paced sender: one message at a time to many users, under Telegram's limits.

Every push to many users goes through the one ``PacedSender`` of the running bot (announcements
of new lessons, admin broadcasts, reminders), so together they never exceed
``SEND_RATE_PER_SECOND``. It

- spaces the *starts* of sends evenly (``1 / rate`` seconds apart), across all callers;
- honours Telegram's flood control: a 429 ``retry_after`` pauses every sender, then the same
  message is tried again (at most ``max_retries`` times);
- tells a user who blocked the bot (403) from a send that failed for another reason, so the
  caller can mark the account and never retry it.

It knows nothing of the database: the caller claims each delivery before calling ``send`` and
records the outcome after, which is what makes a push exactly-once-or-never per user.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

log = logging.getLogger(__name__)

# Bad requests that mean the chat is gone for good, as with a block.
_GONE = ("chat not found", "user is deactivated", "bot was blocked")


class Outcome(enum.StrEnum):
    sent = "sent"
    blocked = "blocked"  # 403 (or the chat is gone): never try this user again
    failed = "failed"  # anything else: the message was not delivered


class PacedSender:
    """Sends at most ``rate_per_second`` messages a second, shared by every caller."""

    def __init__(
        self,
        rate_per_second: float,
        *,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate_per_second
        self.max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0  # the earliest start of the next send
        self._lock = asyncio.Lock()
        self.flood_waits = 0  # how many 429s were honoured (for logs and benchmarks)

    async def slot(self) -> None:
        """Wait for the next start of a send. A caller that must claim what it sends takes the
        slot first (``send(…, slot_taken=True)``), so nothing claimed waits in the queue."""
        async with self._lock:
            if self._next <= self._clock():  # idle until now: start at once
                self._next = self._clock() + self.interval
                return
            # Again after each sleep: a flood wait may have moved the next start meanwhile.
            while (wait := self._next - self._clock()) > 0:
                await self._sleep(wait)
            # On the planned schedule, not from when the sleep ended: a sleep's overshoot
            # would otherwise add up and lower the rate by a few per cent.
            self._next += self.interval

    async def _pause(self, seconds: float) -> None:
        """Flood control is per bot: nobody sends before the wait is over."""
        self.flood_waits += 1
        self._next = max(self._next, self._clock() + seconds)
        await self._sleep(seconds)

    async def send(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        *,
        photo: str | None = None,
        markup: InlineKeyboardMarkup | None = None,
        slot_taken: bool = False,
    ) -> Outcome:
        """Send one message (a photo with ``text`` as its caption when ``photo``)."""
        for attempt in range(self.max_retries + 1):
            if attempt or not slot_taken:
                await self.slot()
            try:
                if photo is not None:
                    await bot.send_photo(chat_id, photo, caption=text, reply_markup=markup)
                else:
                    await bot.send_message(chat_id, text, reply_markup=markup)
            except RetryAfter as error:
                await self._pause(_seconds(error.retry_after))
                continue
            except Forbidden:
                return Outcome.blocked
            except BadRequest as error:
                if any(reason in error.message.lower() for reason in _GONE):
                    return Outcome.blocked
                log.warning("Telegram refused a message to %s: %s", chat_id, error.message)
                return Outcome.failed
            except TelegramError as error:
                log.warning("Could not send a message to %s: %s", chat_id, error)
                return Outcome.failed
            return Outcome.sent
        log.warning("Gave up on a message to %s after %d floods", chat_id, self.max_retries + 1)
        return Outcome.failed


def _seconds(retry_after: int | timedelta) -> float:
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)

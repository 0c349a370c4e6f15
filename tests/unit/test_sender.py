"""The paced sender: even spacing across callers, flood waits, and what a failure means."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.sender import Outcome, PacedSender


class FakeClock:
    """Time that only moves when the sender sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeBot:
    def __init__(self, clock: FakeClock, errors: list[Exception] | None = None) -> None:
        self.clock = clock
        self.errors = list(errors or [])
        self.sent: list[tuple[float, int, str]] = []

    async def send_message(self, chat_id: int, text: str, reply_markup=None) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append((self.clock(), chat_id, text))

    async def send_photo(self, chat_id: int, photo: str, caption: str, reply_markup=None) -> None:
        await self.send_message(chat_id, f"[{photo}] {caption}")


def sender(clock: FakeClock, rate: float = 25) -> PacedSender:
    return PacedSender(rate, clock=clock, sleep=clock.sleep)


async def test_sends_start_evenly_spaced_at_the_rate():
    clock = FakeClock()
    bot, paced = FakeBot(clock), sender(clock, rate=20)
    for chat in range(5):
        assert await paced.send(bot, chat, "hi") is Outcome.sent
    starts = [at for at, _, _ in bot.sent]
    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [0.05] * 4


async def test_concurrent_callers_share_one_pace():
    clock = FakeClock()
    bot, paced = FakeBot(clock), sender(clock, rate=10)
    await asyncio.gather(*(paced.send(bot, chat, "hi") for chat in range(6)))
    starts = sorted(at for at, _, _ in bot.sent)
    assert starts[-1] - starts[0] == pytest.approx(0.5)  # 6 sends, 0.1 s apart


async def test_a_flood_wait_is_honoured_and_the_message_retried():
    clock = FakeClock()
    bot, paced = FakeBot(clock, [RetryAfter(3)]), sender(clock)
    start = clock()
    assert await paced.send(bot, 7, "hi") is Outcome.sent
    assert bot.sent[0][0] - start >= 3 and paced.flood_waits == 1
    # Everyone waits: the next send is not earlier than the flood's end plus one interval.
    await paced.send(bot, 8, "hi")
    assert bot.sent[1][0] - bot.sent[0][0] == pytest.approx(0.04)


async def test_endless_floods_give_up_as_failed():
    clock = FakeClock()
    bot = FakeBot(clock, [RetryAfter(1)] * 10)
    assert (
        await PacedSender(25, max_retries=2, clock=clock, sleep=clock.sleep).send(bot, 7, "hi")
        is Outcome.failed
    )
    assert bot.sent == [] and len(bot.errors) == 7


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), Outcome.blocked),
        (Forbidden("Forbidden: user is deactivated"), Outcome.blocked),
        (BadRequest("Bad Request: chat not found"), Outcome.blocked),
        (BadRequest("Bad Request: message text is empty"), Outcome.failed),
        (NetworkError("connection reset"), Outcome.failed),
    ],
)
async def test_what_a_failure_means(error: Exception, outcome: Outcome):
    clock = FakeClock()
    bot = FakeBot(clock, [error])
    assert await sender(clock).send(bot, 7, "hi") is outcome
    assert bot.sent == []


async def test_a_photo_carries_the_text_as_caption():
    clock = FakeClock()
    bot = FakeBot(clock)
    await sender(clock).send(bot, 7, "look", photo="AgAC")
    assert bot.sent[0][1:] == (7, "[AgAC] look")

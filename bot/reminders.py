"""The reminder sweep: every REMINDER_SWEEP_MINUTES, nudge the students who stalled (one message
each, listing their courses) and tell instructors of answers waiting for review (once a day).

One sweep (``sweep``, also ``learnbot remind``):

1. selects who is due now (``db.reminders``: one query after the zones' hours);
2. for each student: takes a slot of the shared ``PacedSender``, claims their due courses in
   a committed transaction, sends the reminder outside any transaction, and records the outcome
   (sent: ``ReminderSent`` rows; 403: the user is marked; a failure: the claim is given back);
   ``WORKERS`` students at a time, so the database work hides in the sender's pacing;
3. the same for each instructor's digest;
4. logs one line: due, claimed, sent, blocked, failed, digests, duration.

It takes ``now`` (tests and the CLI inject it) and starts no new message once ``keep_going``
says no (the bot is stopping): the messages in hand are finished and recorded, the others
wait for the next sweep. Nothing claimed is ever sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from telegram import Bot, InlineKeyboardMarkup

from bot import keyboards, texts
from bot.sender import Outcome
from bot.settings import Settings
from db.engine import Database
from db.models import utcnow
from db.reminders import (
    DueDigest,
    DueStudent,
    Policy,
    claim_digest,
    claim_reminder,
    due_digests,
    due_reminders,
    hours_now,
    record_digest,
    record_reminder,
)
from handlers.common import Context, LearnApplication

log = logging.getLogger(__name__)

JOB_NAME = "reminders"
# Students in hand at once: the database work of one (claim, record) overlaps the paced wait of
# the others, so the sender keeps its rate. Each takes its slot before it claims, so a crash
# leaves at most this many claimed and unsent (those whose request was in flight).
WORKERS = 4

T = TypeVar("T")


class Sends(Protocol):
    """What the sweep needs of ``bot.sender.PacedSender``."""

    async def slot(self) -> None: ...

    async def send(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        *,
        photo: str | None = None,
        markup: InlineKeyboardMarkup | None = None,
        slot_taken: bool = False,
    ) -> Outcome: ...


@dataclass
class SweepReport:
    """Counted in messages (one per student, however many courses it lists)."""

    due: int = 0
    claimed: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    digests: int = 0  # review digests sent
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)


@dataclass(frozen=True)
class Plan:
    """Who a sweep would reach now (``learnbot remind --dry-run``)."""

    students: list[DueStudent] = field(default_factory=list)
    digests: list[DueDigest] = field(default_factory=list)


def policy_of(settings: Settings) -> Policy:
    return Policy(settings.reminder_inactive_days, settings.reminder_repeat_days)


async def dry_run(database: Database, policy: Policy, now: datetime) -> Plan:
    """Who is due now, claiming nothing."""
    async with database.session(offload=True) as session:
        pairs = await hours_now(session, now)
        return Plan(
            await due_reminders(session, policy, now, pairs),
            await due_digests(session, now, pairs),
        )


async def sweep(
    database: Database,
    bot: Bot,
    sender: Sends,
    policy: Policy,
    now: datetime,
    *,
    keep_going: Callable[[], bool] = lambda: True,
) -> SweepReport:
    """One sweep (see the module's docstring)."""
    started = time.perf_counter()
    plan = await dry_run(database, policy, now)
    report = SweepReport(due=len(plan.students))

    async def remind(student: DueStudent) -> None:
        await sender.slot()  # first, so that nothing claimed waits in the sender's queue
        async with database.session() as session:
            claim = await claim_reminder(session, student, policy, now)
        if claim is None:
            return
        report.claimed += 1
        outcome = await sender.send(
            bot,
            student.telegram_id,
            texts.reminder(claim.courses),
            markup=keyboards.reminder(claim.courses),
            slot_taken=True,
        )
        async with database.session() as session:
            await record_reminder(session, claim, outcome)
        report.count(outcome)

    async def tell(digest: DueDigest) -> None:
        await sender.slot()
        async with database.session() as session:
            claimed = await claim_digest(session, digest, now)
        if not claimed:
            return
        outcome = await sender.send(
            bot,
            digest.telegram_id,
            texts.review_digest(digest.courses),
            markup=keyboards.review_digest(),
            slot_taken=True,
        )
        async with database.session() as session:
            await record_digest(session, digest, outcome, now)
        report.digests += outcome == Outcome.sent

    await _each(plan.students, remind, keep_going)
    await _each(plan.digests, tell, keep_going)
    report.seconds = time.perf_counter() - started
    log.info(
        "Reminder sweep: %d due, %d claimed, %d sent, %d blocked, %d failed; "
        "%d review digests; %.2f s",
        report.due,
        report.claimed,
        report.sent,
        report.blocked,
        report.failed,
        report.digests,
        report.seconds,
    )
    return report


async def _each(
    items: list[T], handle: Callable[[T], Awaitable[None]], keep_going: Callable[[], bool]
) -> None:
    """``handle`` every item, ``WORKERS`` at a time; none is started once ``keep_going`` says
    no, and an error stops them all (what was claimed stays claimed)."""
    pending = iter(items)

    async def work() -> None:
        for item in pending:
            if not keep_going():
                return
            await handle(item)

    tasks = [asyncio.create_task(work()) for _ in range(min(WORKERS, len(items)))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _sweep_job(context: Context) -> None:
    """The JobQueue's sweep, at the clock's time; it stops early when the bot stops."""
    services, application = context.services, context.application
    try:
        await sweep(
            services.database,
            context.bot,
            services.sender,
            policy_of(services.settings),
            utcnow(),
            keep_going=lambda: application.running,
        )
    except Exception:
        # What was claimed stays claimed (never sent twice); the next sweep goes on.
        log.exception("The reminder sweep stopped on an error")


def schedule_reminders(application: LearnApplication) -> None:
    """Sweep every REMINDER_SWEEP_MINUTES (the first one a full interval after the start)."""
    assert application.job_queue is not None
    minutes = application.services.settings.reminder_sweep_minutes
    application.job_queue.run_repeating(
        _sweep_job, interval=timedelta(minutes=minutes), name=JOB_NAME
    )

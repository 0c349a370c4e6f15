"""Reminders of stalled courses (SPEC §5), the instructors' daily review digest, and the
figures /stats shows.

**Due.** An enrollment is due when it is not completed, its course has lessons, its student has
reminders on (``users.reminders_enabled`` and ``enrollments.reminders_enabled``) and has not
blocked the bot, had no activity in it for ``inactive_days`` (``last_activity_at``), was not
reminded of it for ``repeat_days`` (``last_reminded_at``), and it is the student's reminder
hour in their time zone. A student gets one message listing all their due courses, and at most
one a day: a course that stalls later the same evening waits for the next day.

**The local hour.** SQLite knows no time zones, so no portable SQL tells a local hour. It is
worked out here instead, for the current instant and each distinct zone stored (one small
query): ``due_hours`` says which reminder hours are due in a zone now, and the selection (one
query) keeps ``(timezone, reminder_hour) IN (…)``. An hour the clocks skip (02:00 on a
spring-forward night) is due with the hour after it; an hour they repeat is due twice, and the
repeat window makes that one reminder.

**The repeat window** is ``repeat_days`` days less ``REPEAT_SLACK``. Reminders go out at one
local hour, so consecutive ones are whole local days apart give or take the hour a DST change
moves and where in the hour the sweeps ran; a strict 72 hours would push the reminder due on the
day the clocks go forward to the day after. The digest's window is one day, likewise.

**Exactly once.** A student's due enrollments are claimed together by one conditional
``UPDATE … RETURNING`` that sets ``last_reminded_at`` only where they are still due, and the
claim is committed before the message is sent. Concurrent sweeps (another process, ``learnbot
remind``) never both get a row, and a crash after the claim never sends it again (at most once,
like a campaign's delivery). A send that failed for a passing reason is un-claimed (the old
``last_reminded_at`` restored) for the next sweep to retry; a 403 marks the user as having
blocked the bot. Every reminder sent is a ``ReminderSent`` row per course.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import (
    AttemptStatus,
    Course,
    Enrollment,
    Lesson,
    LessonCompletion,
    Quiz,
    QuizAttempt,
    ReminderSent,
    Role,
    User,
)
from db.usersettings import known_zones

REPEAT_SLACK = timedelta(hours=4)
DAY = timedelta(days=1)  # at most one reminder message, and one digest, a day
STATS_DAYS = 7
CAME_BACK_WITHIN = timedelta(days=1)
# What a send came to (``bot.sender.Outcome``'s values).
SENT, BLOCKED, FAILED = "sent", "blocked", "failed"


@dataclass(frozen=True)
class Policy:
    """REMINDER_INACTIVE_DAYS and REMINDER_REPEAT_DAYS."""

    inactive_days: int
    repeat_days: int

    def idle_since(self, now: datetime) -> datetime:
        return now - timedelta(days=self.inactive_days)

    def reminded_before(self, now: datetime) -> datetime:
        return now - timedelta(days=self.repeat_days) + REPEAT_SLACK


# -- the local hour ------------------------------------------------------------------------------


@functools.cache
def _zone(name: str) -> ZoneInfo | None:
    return ZoneInfo(name) if name in known_zones() else None


def due_hours(zone: str, now: datetime) -> frozenset[int]:
    """The reminder hours due in ``zone`` at ``now``: the local hour, and any hour the clocks
    skipped just before it (none for a zone that does not exist)."""
    tz = _zone(zone)
    if tz is None:
        return frozenset()
    local, before = now.astimezone(tz), (now - timedelta(hours=1)).astimezone(tz)
    skipped = (local.hour - before.hour) % 24
    return frozenset({local.hour, *((before.hour + step) % 24 for step in range(1, skipped))})


def hour_pairs(zones: Iterable[str], now: datetime) -> list[tuple[str, int]]:
    """``(timezone, reminder_hour)`` of every account that is at its hour at ``now``."""
    return [(zone, hour) for zone in zones for hour in sorted(due_hours(zone, now))]


async def hours_now(session: AsyncSession, now: datetime) -> list[tuple[str, int]]:
    """``hour_pairs`` of the zones stored for accounts that may be reminded."""
    zones = await session.scalars(
        select(User.timezone)
        .where(User.reminders_enabled.is_(True), User.is_blocked.is_(False))
        .distinct()
    )
    return hour_pairs(zones, now)


def _at_their_hour(pairs: list[tuple[str, int]]) -> ColumnElement[bool]:
    return and_(
        User.reminders_enabled.is_(True),
        User.is_blocked.is_(False),
        tuple_(User.timezone, User.reminder_hour).in_(pairs),
    )


def _name(full_name: str, username: str | None, telegram_id: int) -> str:
    return full_name or (f"@{username}" if username else f"#{telegram_id}")


# -- reminders of stalled courses ------------------------------------------------------------------


@dataclass(frozen=True)
class DueCourse:
    enrollment_id: int
    course_id: int
    title: str
    last_reminded_at: datetime | None  # as read: restored if the send fails


@dataclass(frozen=True)
class DueStudent:
    user_id: int
    telegram_id: int
    name: str
    timezone: str
    reminder_hour: int
    courses: tuple[DueCourse, ...]


@dataclass(frozen=True)
class ReminderCourse:
    """One course of a reminder, as the student reads it."""

    course_id: int
    title: str
    progress: int
    next_lesson: str | None


@dataclass(frozen=True)
class ClaimedReminder:
    student: DueStudent
    courses: tuple[ReminderCourse, ...]
    at: datetime


def _stalled(policy: Policy, now: datetime) -> ColumnElement[bool]:
    """The enrollment's own conditions (its student's are ``_at_their_hour``), and no reminder
    to the student about another course within a day: one that stalls later the same evening
    waits for the next day rather than make a second message. (Rows stamped ``now`` are the
    ones being claimed: SQLite may see them while it updates.)"""
    other = aliased(Enrollment)
    return and_(
        # ``completed_at IS NULL`` in a form SQLite cannot look up in ix_enrollments_due (as its
        # unary +): with that index it would visit every idle enrollment (on a platform of dormant
        # students, most of the table) and look up its student; see ``due_reminders``.
        func.coalesce(Enrollment.completed_at, Enrollment.completed_at).is_(None),
        Enrollment.last_activity_at <= policy.idle_since(now),
        Enrollment.reminders_enabled.is_(True),
        or_(
            Enrollment.last_reminded_at.is_(None),
            Enrollment.last_reminded_at <= policy.reminded_before(now),
        ),
        exists(select(Lesson.id).where(Lesson.course_id == Enrollment.course_id)),
        ~exists(
            select(other.id).where(
                other.student_id == Enrollment.student_id,
                other.last_reminded_at > now - DAY + REPEAT_SLACK,
                other.last_reminded_at < now,
            )
        ),
    )


async def due_reminders(
    session: AsyncSession,
    policy: Policy,
    now: datetime,
    pairs: list[tuple[str, int]] | None = None,
) -> list[DueStudent]:
    """Every student with due enrollments, each with all of them (one query, after the zones'
    hours: pass ``pairs`` when they are known).

    The query starts from the students at their hour (a scan of ``users``) and looks up their
    enrollments by the (student_id, course_id) index. Starting from the idle enrollments
    instead (ix_enrollments_due) costs a lookup of the student for nearly every enrollment of a
    platform where most students are dormant: 2.2 s against 0.15 s for 100,000 students on
    SQLite (tests/benchmarks/bench_reminders.py).
    """
    if pairs is None:
        pairs = await hours_now(session, now)
    if not pairs:
        return []
    rows = await session.execute(
        select(
            User.id,
            User.telegram_id,
            User.full_name,
            User.username,
            User.timezone,
            User.reminder_hour,
            Enrollment.id,
            Enrollment.course_id,
            Course.title,
            Enrollment.last_reminded_at,
        )
        .join(User, User.id == Enrollment.student_id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(
            Enrollment.student_id.in_(select(User.id).where(_at_their_hour(pairs))),
            _stalled(policy, now),
        )
        .order_by(User.id, Enrollment.last_activity_at.desc(), Enrollment.id)
    )
    grouped: dict[int, tuple[tuple[int, str, str, int], list[DueCourse]]] = {}
    for user_id, telegram_id, full_name, username, zone, hour, *course in rows:
        name = _name(full_name, username, telegram_id)
        _, courses = grouped.setdefault(user_id, ((telegram_id, name, zone, hour), []))
        courses.append(DueCourse(*course))
    return [DueStudent(user_id, *who, tuple(due)) for user_id, (who, due) in grouped.items()]


async def claim_reminder(
    session: AsyncSession, student: DueStudent, policy: Policy, now: datetime
) -> ClaimedReminder | None:
    """Claim the student's enrollments that are still due (``None`` if none is: another sweep
    took them, or the student moved on), with what the reminder shows. Commit before sending."""
    still_theirs = exists(
        select(User.id).where(
            User.id == Enrollment.student_id,
            User.reminders_enabled.is_(True),
            User.is_blocked.is_(False),
            User.timezone == student.timezone,
            User.reminder_hour == student.reminder_hour,
        )
    )
    claimed = list(
        await session.scalars(
            update(Enrollment)
            .where(
                Enrollment.id.in_([course.enrollment_id for course in student.courses]),
                Enrollment.student_id == student.user_id,
                _stalled(policy, now),
                still_theirs,
            )
            .values(last_reminded_at=now)
            .returning(Enrollment.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        return None
    done = exists(
        select(LessonCompletion.id).where(
            LessonCompletion.lesson_id == Lesson.id,
            LessonCompletion.student_id == Enrollment.student_id,
        )
    )
    next_lesson = (
        select(Lesson.title)
        .where(Lesson.course_id == Enrollment.course_id, ~done)
        .order_by(Lesson.order_index)
        .limit(1)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Enrollment.course_id, Course.title, Enrollment.progress_percentage, next_lesson)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.id.in_(claimed))
        .order_by(Enrollment.last_activity_at.desc(), Enrollment.id)
    )
    courses = tuple(ReminderCourse(*row) for row in rows)
    return ClaimedReminder(student, courses, now)


async def record_reminder(session: AsyncSession, claim: ClaimedReminder, outcome: str) -> None:
    """After the send: ``sent`` is recorded per course; ``blocked`` marks the user; ``failed``
    gives the claim back, so the next sweep tries again."""
    student = claim.student
    if outcome == SENT:
        await session.execute(
            insert(ReminderSent),
            [
                {"user_id": student.user_id, "course_id": course.course_id, "sent_at": claim.at}
                for course in claim.courses
            ],
        )
    elif outcome == BLOCKED:
        await _mark_blocked(session, student.user_id)
    else:
        claimed = {course.course_id for course in claim.courses}
        for course in student.courses:
            if course.course_id in claimed:
                await session.execute(
                    update(Enrollment)
                    .where(
                        Enrollment.id == course.enrollment_id,
                        Enrollment.last_reminded_at == claim.at,
                    )
                    .values(last_reminded_at=course.last_reminded_at)
                    .execution_options(synchronize_session=False)
                )


async def _mark_blocked(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(is_blocked=True)
        .execution_options(synchronize_session=False)
    )


# -- the instructors' daily digest -----------------------------------------------------------------


@dataclass(frozen=True)
class PendingCourse:
    course_id: int
    title: str
    pending: int  # free-text answers waiting for review


@dataclass(frozen=True)
class DueDigest:
    user_id: int
    telegram_id: int
    name: str
    last_digest_at: datetime | None  # as read: restored if the send fails
    courses: tuple[PendingCourse, ...]


def _digest_due(now: datetime) -> ColumnElement[bool]:
    return or_(
        User.review_digest_at.is_(None),
        User.review_digest_at <= now - DAY + REPEAT_SLACK,
    )


async def due_digests(
    session: AsyncSession, now: datetime, pairs: list[tuple[str, int]] | None = None
) -> list[DueDigest]:
    """Instructors (and admins) at their hour, not told today, with answers of their own
    courses waiting for review, and how many per course (one query)."""
    if pairs is None:
        pairs = await hours_now(session, now)
    if not pairs:
        return []
    person = (User.id, User.telegram_id, User.full_name, User.username, User.review_digest_at)
    rows = await session.execute(
        select(*person, Course.id, Course.title, func.count(QuizAttempt.id))
        .join(Course, Course.instructor_id == User.id)
        .join(Lesson, Lesson.course_id == Course.id)
        .join(Quiz, Quiz.lesson_id == Lesson.id)
        .join(QuizAttempt, QuizAttempt.quiz_id == Quiz.id)
        .where(
            User.role.in_([Role.instructor, Role.admin]),
            _at_their_hour(pairs),
            _digest_due(now),
            QuizAttempt.status == AttemptStatus.pending_review,
        )
        .group_by(*person, Course.id, Course.title)
        .order_by(User.id, Course.title, Course.id)
    )
    grouped: dict[int, tuple[tuple[int, str, datetime | None], list[PendingCourse]]] = {}
    for user_id, telegram_id, full_name, username, last, *course in rows:
        name = _name(full_name, username, telegram_id)
        _, courses = grouped.setdefault(user_id, ((telegram_id, name, last), []))
        courses.append(PendingCourse(*course))
    return [DueDigest(user_id, *who, tuple(due)) for user_id, (who, due) in grouped.items()]


async def claim_digest(session: AsyncSession, digest: DueDigest, now: datetime) -> bool:
    """Take today's digest of this instructor (False if another sweep did). Commit first."""
    claimed = await session.scalar(
        update(User)
        .where(
            User.id == digest.user_id,
            User.reminders_enabled.is_(True),
            User.is_blocked.is_(False),
            _digest_due(now),
        )
        .values(review_digest_at=now)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    )
    return claimed is not None


async def record_digest(
    session: AsyncSession, digest: DueDigest, outcome: str, now: datetime
) -> None:
    if outcome == BLOCKED:
        await _mark_blocked(session, digest.user_id)
    elif outcome == FAILED:
        await session.execute(
            update(User)
            .where(User.id == digest.user_id, User.review_digest_at == now)
            .values(review_digest_at=digest.last_digest_at)
            .execution_options(synchronize_session=False)
        )


# -- figures ------------------------------------------------------------------------------------


def _a_day_after(session: AsyncSession, moment: ColumnElement[datetime]) -> ColumnElement:
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f", moment, "+1 day")
    return moment + literal_column("interval '1 day'")


async def reminder_stats(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """(reminders sent in the 7 days before ``now``, how many of them brought the student back
    within a day).

    A reminder (one course) brought the student back when, within 24 hours after it, they
    completed a lesson of that course, started or submitted one of its quizzes, or were active
    in it by ``enrollments.last_activity_at`` (which catches opening a lesson, until later
    activity moves it on). The first two are kept for good; the third only while it is the last
    activity, so a figure is a lower bound that settles once the day after a reminder is over.
    """
    end = _a_day_after(session, ReminderSent.sent_at)

    def within(column: ColumnElement[datetime]) -> ColumnElement[bool]:
        return and_(column > ReminderSent.sent_at, column <= end)

    mine = (Lesson.course_id == ReminderSent.course_id,)
    completed = exists(
        select(LessonCompletion.id)
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .where(
            LessonCompletion.student_id == ReminderSent.user_id,
            *mine,
            within(LessonCompletion.completed_at),
        )
    )
    attempted = exists(
        select(QuizAttempt.id)
        .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
        .join(Lesson, Lesson.id == Quiz.lesson_id)
        .where(
            QuizAttempt.student_id == ReminderSent.user_id,
            *mine,
            or_(within(QuizAttempt.started_at), within(QuizAttempt.submitted_at)),
        )
    )
    active = exists(
        select(Enrollment.id).where(
            Enrollment.student_id == ReminderSent.user_id,
            Enrollment.course_id == ReminderSent.course_id,
            within(Enrollment.last_activity_at),
        )
    )
    came_back = case((or_(completed, attempted, active), 1), else_=0)
    sent, back = (
        await session.execute(
            select(func.count(ReminderSent.id), func.coalesce(func.sum(came_back), 0)).where(
                ReminderSent.sent_at > now - timedelta(days=STATS_DAYS),
                ReminderSent.sent_at <= now,
            )
        )
    ).one()
    return int(sent), int(back)

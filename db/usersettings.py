"""A user's own settings (/settings): reminders on or off, their local hour and time zone, and
the courses whose reminders they stopped.

Stopping is per enrollment (``Enrollment.reminders_enabled``) and undone here. Every change
is to the caller's own rows: a course id from a button only ever selects the caller's own
enrollment, so a forged one finds nothing.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import Invalid, NotFound, Reason
from db.models import Course, Enrollment, User

HOURS = range(24)
ZONE_NAME_LIMIT = 64  # users.timezone is VARCHAR(64)
# Names zoneinfo may list that are not places: the host's own zone and tzdata's placeholders.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules", "posix", "right"})


@functools.cache
def known_zones() -> frozenset[str]:
    """Every IANA time zone name a user may choose (read once from the tz database)."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in _NOT_ZONES and len(name) <= ZONE_NAME_LIMIT
    )


@dataclass(frozen=True)
class StoppedCourse:
    course_id: int
    title: str


@dataclass(frozen=True)
class UserSettings:
    reminders_enabled: bool
    reminder_hour: int
    timezone: str
    stopped: list[StoppedCourse]  # unfinished courses whose reminders the user stopped


async def user_settings(session: AsyncSession, user: User) -> UserSettings:
    """The user's settings and the courses whose reminders they stopped (one query)."""
    rows = await session.execute(
        select(Course.id, Course.title)
        .join(Enrollment, Enrollment.course_id == Course.id)
        .where(
            Enrollment.student_id == user.id,
            Enrollment.reminders_enabled.is_(False),
            Enrollment.completed_at.is_(None),
        )
        .order_by(Course.title, Course.id)
    )
    stopped = [StoppedCourse(course_id, title) for course_id, title in rows]
    return UserSettings(user.reminders_enabled, user.reminder_hour, user.timezone, stopped)


def set_reminders(user: User, enabled: bool) -> None:
    user.reminders_enabled = enabled


def set_reminder_hour(user: User, hour: int) -> None:
    """The local hour (0-23) at which reminders and the review digest come."""
    if hour not in HOURS:
        raise Invalid(Reason.reminder_hour_out_of_range)
    user.reminder_hour = hour


def set_timezone(user: User, zone: str) -> None:
    """An IANA time zone name, exactly as the tz database spells it."""
    if zone not in known_zones():
        raise Invalid(Reason.unknown_timezone, zone=zone[:ZONE_NAME_LIMIT])
    user.timezone = zone


async def _switch_course(session: AsyncSession, user: User, course_id: int, on: bool) -> str:
    enrollment_id = await session.scalar(
        update(Enrollment)
        .where(Enrollment.student_id == user.id, Enrollment.course_id == course_id)
        .values(reminders_enabled=on)
        .returning(Enrollment.id)
        .execution_options(synchronize_session=False)
    )
    if enrollment_id is None:
        raise NotFound(Reason.not_enrolled)
    title = await session.scalar(select(Course.title).where(Course.id == course_id))
    assert title is not None
    return title


async def stop_course_reminders(session: AsyncSession, user: User, course_id: int) -> str:
    """No more reminders about one of the user's courses; returns its title."""
    return await _switch_course(session, user, course_id, False)


async def resume_course_reminders(session: AsyncSession, user: User, course_id: int) -> str:
    """Reminders about that course again; returns its title."""
    return await _switch_course(session, user, course_id, True)

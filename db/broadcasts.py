"""Admin broadcasts: a message to an audience, sent as a campaign (see ``db.campaigns``).

An audience is plain data, kept in the composing dialog and then with the campaign:

- ``{"kind": "everyone"}``: every user;
- ``{"kind": "course", "course_id": 5}``: the students enrolled in one course;
- ``{"kind": "inactive", "days": 7}``: learners (enrolled somewhere) whose last activity is older
  than that many days.

Who is reached is decided when the broadcast is confirmed (one ``INSERT … SELECT``); users who
blocked the bot are counted apart and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.accounts import require_role
from db.campaigns import add_recipients, get_campaign, tally
from db.errors import Conflict, Invalid, NotFound, Reason
from db.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Course,
    Enrollment,
    Role,
    User,
    utcnow,
)

INACTIVE_DAYS_CHOICES = (3, 7, 14, 30)
MAX_INACTIVE_DAYS = 365
COURSE_CHOICES = 8  # courses offered as audiences: the most enrolled first


@dataclass(frozen=True)
class AudienceSize:
    reachable: int  # who will get it
    blocked: int  # who would, but blocked the bot


def check_audience(audience: Any) -> dict[str, Any]:
    """An audience from a dialog or a button, checked (``Invalid`` when malformed)."""
    if not isinstance(audience, dict):
        raise Invalid(Reason.audience_unknown)
    kind = audience.get("kind")
    if kind == "everyone":
        return {"kind": "everyone"}
    if kind == "course" and isinstance(audience.get("course_id"), int):
        return {"kind": "course", "course_id": audience["course_id"]}
    days = audience.get("days")
    if kind == "inactive" and isinstance(days, int) and 1 <= days <= MAX_INACTIVE_DAYS:
        return {"kind": "inactive", "days": days}
    raise Invalid(Reason.audience_unknown)


def _audience(audience: dict[str, Any], now: datetime) -> ColumnElement[bool]:
    """Who is in the audience, as a condition on ``User``."""
    if audience["kind"] == "course":
        enrolled = select(Enrollment.student_id).where(
            Enrollment.course_id == audience["course_id"]
        )
        return User.id.in_(enrolled)
    if audience["kind"] == "inactive":
        # IN, not a correlated EXISTS: SQLite would then walk the inactive users through the
        # last_active_at index and probe per user (5× slower on 100,000 users).
        learner = User.id.in_(select(Enrollment.student_id))
        return and_(learner, User.last_active_at < now - timedelta(days=audience["days"]))
    return true()


async def audience_size(
    session: AsyncSession, audience: dict[str, Any], now: datetime | None = None
) -> AudienceSize:
    reachable, blocked = (
        await session.execute(
            select(
                func.count(User.id).filter(User.is_blocked.is_(False)),
                func.count(User.id).filter(User.is_blocked.is_(True)),
            ).where(_audience(check_audience(audience), now or utcnow()))
        )
    ).one()
    return AudienceSize(reachable, blocked)


async def audience_course(session: AsyncSession, course_id: int) -> Course:
    course = await session.get(Course, course_id)
    if course is None:
        raise NotFound(Reason.course_not_available)
    return course


async def course_choices(session: AsyncSession) -> list[tuple[Course, int]]:
    """The courses an admin may pick as an audience: the most enrolled first."""
    enrolled = func.count(Enrollment.id)
    rows = await session.execute(
        select(Course, enrolled)
        .join(Enrollment, Enrollment.course_id == Course.id)
        .group_by(Course.id)
        .order_by(enrolled.desc(), Course.id)
        .limit(COURSE_CHOICES)
    )
    return [(course, count) for course, count in rows.all()]


async def start_broadcast(
    session: AsyncSession,
    admin: User,
    *,
    text: str,
    photo_file_id: str | None,
    audience: dict[str, Any],
    report_chat_id: int,
    report_message_id: int | None,
    now: datetime | None = None,
) -> tuple[Campaign, int]:
    """The broadcast, its deliveries written and ready to send; returns it and how many users
    it will reach."""
    require_role(admin, Role.admin)
    audience = check_audience(audience)
    if audience["kind"] == "course":
        await audience_course(session, audience["course_id"])
    now = now or utcnow()
    size = await audience_size(session, audience, now)
    if size.reachable == 0:
        raise Conflict(Reason.nobody_in_audience)
    campaign = Campaign(
        kind=CampaignKind.broadcast,
        status=CampaignStatus.sending,
        created_by_id=admin.id,
        course_id=audience.get("course_id"),
        text=text,
        photo_file_id=photo_file_id,
        audience=audience,
        report_chat_id=report_chat_id,
        report_message_id=report_message_id,
        started_at=now,
    )
    session.add(campaign)
    await session.flush()
    await add_recipients(session, campaign.id, select(User.id).where(_audience(audience, now)))
    return campaign, size.reachable


async def cancel_broadcast(session: AsyncSession, admin: User, campaign_id: int) -> int:
    """Stop a broadcast being sent; what was sent stays sent. Returns how many were sent."""
    require_role(admin, Role.admin)
    campaign = await get_campaign(session, campaign_id)
    if campaign.kind != CampaignKind.broadcast:
        raise NotFound(Reason.campaign_gone)
    stopped = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.sending)
        .values(status=CampaignStatus.cancelled, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if stopped.rowcount == 0:  # type: ignore[attr-defined]
        raise Conflict(Reason.campaign_finished)
    return (await tally(session, campaign_id)).sent

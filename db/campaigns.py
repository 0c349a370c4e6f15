"""Campaigns: one message pushed to many users, each delivery claimed before it is sent.

A campaign's recipients become ``Delivery`` rows in one ``INSERT … SELECT`` when it starts
(users who blocked the bot are written as ``skipped``). The sender then loops:

1. ``claim_delivery`` turns the next pending row into ``claimed`` in its own committed
   transaction (one conditional ``UPDATE``; ``SKIP LOCKED`` on PostgreSQL), so two senders
   never take the same row;
2. the message is sent (``bot.sender.PacedSender``), outside any transaction;
3. ``record_delivery`` writes the outcome (a 403 also marks the user as having blocked the bot).

A crash between 1 and 3 leaves the row ``claimed``: it is never sent again, because it may
have been delivered. So a restart resumes where the campaign stopped, and nobody gets it twice.

Announcing a new lesson is one such campaign; its ``dedupe_key`` (``lesson:17``) makes a second
announcement of the same lesson impossible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import Conflict, NotFound, Reason
from db.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Course,
    Delivery,
    DeliveryStatus,
    Enrollment,
    Lesson,
    User,
    utcnow,
)
from db.teaching import managed_lesson


@dataclass(frozen=True)
class Tally:
    """How a campaign's deliveries stand."""

    pending: int = 0
    claimed: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.claimed + self.sent + self.blocked + self.failed + self.skipped

    @property
    def left(self) -> int:
        return self.pending


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    telegram_id: int


@dataclass(frozen=True)
class Announcement:
    """What the instructor is asked to confirm: the lesson, its course, who would get it."""

    lesson: Lesson
    course: Course
    recipients: int  # enrolled students who have not blocked the bot


def _announcement_key(lesson_id: int) -> str:
    return f"lesson:{lesson_id}"


def _course_recipients(course_id: Any) -> Select[tuple[int]]:
    return (
        select(func.count(Enrollment.id))
        .join(User, User.id == Enrollment.student_id)
        .where(Enrollment.course_id == course_id, User.is_blocked.is_(False))
    )


async def _announced(session: AsyncSession, lesson_id: int) -> Campaign | None:
    return await session.scalar(
        select(Campaign)
        .where(Campaign.dedupe_key == _announcement_key(lesson_id))
        .execution_options(populate_existing=True)
    )


async def announcement(session: AsyncSession, user: User, lesson_id: int) -> Announcement:
    """A managed lesson that may be announced: refused when it was already, or when nobody
    would receive it."""
    lesson, course = await managed_lesson(session, user, lesson_id)
    if (done := await _announced(session, lesson_id)) is not None:
        raise Conflict(Reason.already_announced, sent=(await tally(session, done.id)).sent)
    recipients = await session.scalar(_course_recipients(course.id)) or 0
    if recipients == 0:
        raise Conflict(Reason.nobody_to_announce_to)
    return Announcement(lesson, course, recipients)


async def announce_lesson(
    session: AsyncSession, user: User, lesson_id: int, *, text: str, report_chat_id: int
) -> tuple[Campaign, int]:
    """Start announcing a lesson with ``text`` to every student enrolled in its course.

    Once per lesson: a second call (a double tap, an old Confirm) is refused with
    ``Reason.already_announced``. The course row is locked first, so two concurrent calls take
    turns and the second one sees the first. Returns the campaign and its recipient count.
    """
    lesson, course = await managed_lesson(session, user, lesson_id)
    await session.execute(select(Course.id).where(Course.id == course.id).with_for_update())
    recipients = (await announcement(session, user, lesson_id)).recipients
    campaign = Campaign(
        kind=CampaignKind.announcement,
        status=CampaignStatus.sending,
        dedupe_key=_announcement_key(lesson_id),
        created_by_id=user.id,
        course_id=course.id,
        text=text,
        payload={"open_lesson": lesson.id, "title": lesson.title},
        audience={"kind": "course", "course_id": course.id},
        report_chat_id=report_chat_id,
        started_at=utcnow(),
    )
    session.add(campaign)
    await session.flush()
    await add_recipients(
        session,
        campaign.id,
        select(Enrollment.student_id).where(Enrollment.course_id == course.id),
    )
    return campaign, recipients


async def add_recipients(
    session: AsyncSession, campaign_id: int, user_ids: Select[tuple[int]]
) -> None:
    """A delivery for every user of ``user_ids`` (one statement); those who blocked the bot are
    ``skipped`` at once."""
    chosen = user_ids.subquery()
    now = utcnow()
    await session.execute(
        insert(Delivery).from_select(
            ["campaign_id", "user_id", "status", "updated_at"],
            select(
                literal(campaign_id),
                User.id,
                case(
                    (User.is_blocked.is_(True), literal(DeliveryStatus.skipped.value)),
                    else_=literal(DeliveryStatus.pending.value),
                ),
                literal(now, Delivery.updated_at.type),
            ).where(User.id.in_(select(chosen.c[0]))),
        )
    )


async def claim_delivery(session: AsyncSession, campaign_id: int) -> Claimed | None:
    """Take the next pending delivery of a campaign that is still sending, or None when there
    is none left (or the campaign was cancelled). Commit before sending."""
    next_id = (
        select(Delivery.id)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .join(User, User.id == Delivery.user_id)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.status == DeliveryStatus.pending,
            Campaign.status == CampaignStatus.sending,
            User.is_blocked.is_(False),
        )
        .order_by(Delivery.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        next_id = next_id.with_for_update(of=Delivery, skip_locked=True)
    while True:
        delivery_id = await session.scalar(next_id)
        if delivery_id is None:
            return None
        claimed = await session.scalar(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.pending)
            .values(status=DeliveryStatus.claimed, updated_at=utcnow())
            .returning(Delivery.user_id)
            .execution_options(synchronize_session=False)
        )
        if claimed is not None:  # else another sender took it meanwhile: the next one
            telegram_id = await session.scalar(select(User.telegram_id).where(User.id == claimed))
            assert telegram_id is not None
            return Claimed(delivery_id, telegram_id)


async def record_delivery(session: AsyncSession, delivery_id: int, outcome: str) -> None:
    """The outcome of a claimed delivery (``sent``, ``blocked`` or ``failed``)."""
    status = DeliveryStatus(outcome)
    user_id = await session.scalar(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.claimed)
        .values(status=status, updated_at=utcnow())
        .returning(Delivery.user_id)
        .execution_options(synchronize_session=False)
    )
    if user_id is not None and status == DeliveryStatus.blocked:
        await session.execute(
            update(User)
            .where(User.id == user_id)
            .values(is_blocked=True)
            .execution_options(synchronize_session=False)
        )


async def tally(session: AsyncSession, campaign_id: int) -> Tally:
    rows = await session.execute(
        select(Delivery.status, func.count(Delivery.id))
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.status)
    )
    return Tally(**{DeliveryStatus(status).value: count for status, count in rows.all()})


async def finish_campaign(session: AsyncSession, campaign_id: int) -> Tally:
    """Close a campaign whose sender found nothing left to claim. One still sending is done,
    and its deliveries still pending (their user blocked the bot meanwhile) are skipped; a
    cancelled one keeps its unsent deliveries pending, as the count of those not reached."""
    done = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.sending)
        .values(status=CampaignStatus.done, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount:  # type: ignore[attr-defined]
        await session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.pending)
            .values(status=DeliveryStatus.skipped, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return await tally(session, campaign_id)


async def get_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    campaign = await session.scalar(
        select(Campaign).where(Campaign.id == campaign_id).execution_options(populate_existing=True)
    )
    if campaign is None:
        raise NotFound(Reason.campaign_gone)
    return campaign


async def campaigns_sending(session: AsyncSession) -> list[int]:
    """Campaigns a previous run left unfinished, oldest first: to resume at start-up."""
    return list(
        await session.scalars(
            select(Campaign.id)
            .where(Campaign.status == CampaignStatus.sending)
            .order_by(Campaign.id)
        )
    )

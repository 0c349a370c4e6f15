"""Campaign deliveries: claimed once each, even by concurrent senders, on both backends."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from db.campaigns import (
    announce_lesson,
    claim_delivery,
    finish_campaign,
    record_delivery,
    tally,
)
from db.engine import Database
from db.errors import Conflict, NotFound, Reason
from db.learning import enroll
from db.models import Campaign, CampaignStatus, Lesson, Role, User
from tests.conftest import make_course, make_user


async def announced_course(database: Database, students: int):
    owner = await make_user(database, 1, Role.instructor, "Tess")
    course = await make_course(database, owner, lessons=1)
    people = [await make_user(database, 100 + n, name=f"S{n}") for n in range(students)]
    async with database.session() as session:
        for person in people:
            await enroll(session, person, course.id)
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == course.id))
        campaign, recipients = await announce_lesson(
            session, owner, lesson_id, text="New!", report_chat_id=1
        )
    return owner, people, lesson_id, campaign.id, recipients


async def test_concurrent_senders_never_claim_the_same_delivery(database: Database):
    _, people, _, campaign_id, recipients = await announced_course(database, 30)
    assert recipients == 30
    taken: list[int] = []

    async def sender() -> None:
        while True:
            async with database.session() as session:
                claimed = await claim_delivery(session, campaign_id)
            if claimed is None:
                return
            taken.append(claimed.telegram_id)
            async with database.session() as session:
                await record_delivery(session, claimed.delivery_id, "sent")

    await asyncio.gather(sender(), sender(), sender())
    assert sorted(taken) == sorted(person.telegram_id for person in people)
    async with database.session() as session:
        final = await finish_campaign(session, campaign_id)
        status = await session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    assert (final.sent, final.pending, final.claimed, final.total) == (30, 0, 0, 30)
    assert status == CampaignStatus.done


async def test_a_blocked_outcome_marks_the_user_and_a_claim_is_final(database: Database):
    *_, campaign_id, _ = await announced_course(database, 2)
    async with database.session() as session:
        first = await claim_delivery(session, campaign_id)
        assert first is not None
        await record_delivery(session, first.delivery_id, "blocked")
        await record_delivery(session, first.delivery_id, "sent")  # only a claim is recorded
        second = await claim_delivery(session, campaign_id)
        assert second is not None and second.telegram_id != first.telegram_id
        # A crash now leaves the second one claimed: nothing more to send, ever.
        assert await claim_delivery(session, campaign_id) is None
        counts = await tally(session, campaign_id)
        blocked = await session.scalar(
            select(User.is_blocked).where(User.telegram_id == first.telegram_id)
        )
    assert (counts.blocked, counts.claimed, counts.sent) == (1, 1, 0)
    assert blocked is True


async def test_a_lesson_is_announced_once_and_only_by_its_managers(database: Database):
    owner, [ann], lesson_id, _, _ = await announced_course(database, 1)
    other = await make_user(database, 2, Role.instructor, "Otto")
    async with database.session() as session:
        for user, refusal in ((owner, Reason.already_announced), (other, Reason.lesson_gone)):
            try:
                await announce_lesson(session, user, lesson_id, text="x", report_chat_id=1)
            except (Conflict, NotFound) as error:
                assert error.reason == refusal
            else:
                raise AssertionError("announced twice")
        try:
            await announce_lesson(session, ann, lesson_id, text="x", report_chat_id=1)
        except NotFound as error:
            assert error.reason == Reason.lesson_gone
        else:
            raise AssertionError("a student announced")

"""Admins broadcast: compose, choose the audience, preview, confirm; paced, once per user,
resumed after a restart, cancellable; /admin and /stats."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy import func, select, update

from bot.callbacks import Action, encode
from bot.campaigns import WORKERS
from bot.emulator.users import TestUser
from db.accounts import Profile, get_user, touch_user
from db.learning import enroll
from db.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, User, utcnow
from handlers.common import LearnApplication
from tests.e2e.conftest import ADMIN_ID, BotHarness, has_button, simple_course
from tests.e2e.test_authoring import teacher_of

NEWS = "Platform news"


async def population(bot: BotHarness, count: int, first_id: int = 20_000) -> list[TestUser]:
    """``count`` users who talked to the bot before (made directly, for speed)."""
    people = []
    async with bot.database.session() as session:
        for number in range(count):
            person = bot.emulator.user(first_id + number, f"User {number}")
            person.started = True
            await touch_user(session, Profile(person.id, None, person.first_name, "en"))
            people.append(person)
    return people


def got_news(person: TestUser) -> int:
    return sum(NEWS in message.content for message in person.bot_messages)


def news_sent(request) -> bool:
    if request.method not in ("sendMessage", "sendPhoto") or not request.ok:
        return False
    return NEWS in str(request.params.get("text") or request.params.get("caption"))


async def all_sent(bot: BotHarness) -> None:
    assert bot.application is not None
    await cast(LearnApplication, bot.application).services.pushes.idle()


async def admin(bot: BotHarness) -> TestUser:
    boss = bot.emulator.user(ADMIN_ID, "Ada")
    await boss.send("/start")
    return boss


async def compose(boss: TestUser, text: str = f"{NEWS}: lessons are free this week!"):
    """A broadcast composed up to the audience; its first two words in bold."""
    [asked] = await boss.send("/broadcast")
    assert "message to broadcast" in asked.text
    await boss.send(text, entities=[{"type": "bold", "offset": 0, "length": len(NEWS)}])
    assert "Who gets it" in boss.last.text


async def test_a_broadcast_reaches_everyone_once_paced_through_floods_and_a_restart(
    bot: BotHarness,
):
    boss = await admin(bot)
    people = await population(bot, 300)
    known_blocked = people[:10]
    async with bot.database.session() as session:
        await session.execute(
            update(User)
            .where(User.telegram_id.in_([p.id for p in known_blocked]))
            .values(is_blocked=True)
        )
    silently_blocked = people[10:15]  # the bot learns it from the 403s
    for person in silently_blocked:
        person.blocked = True

    await compose(boss)
    await boss.press("Everyone")
    preview, prompt = boss.bot_messages[-2:]
    assert preview.html == f"<b>{NEWS}</b>: lessons are free this week!", "formatting kept"
    # 300 users + the admin, 10 known to have blocked the bot.
    assert "291" in prompt.text and "10 more blocked the bot" in prompt.text, prompt.text
    assert sum(map(got_news, people)) == 0, "nothing is sent before Confirm"

    bot.emulator.fail_next("sendMessage", 429, retry_after=1, times=2)
    await boss.press("Confirm", message=prompt)
    await bot.emulator.wait_calls(60, news_sent, timeout=30)
    await bot.restart()  # the broadcast is resumed by the next start
    await all_sent(bot)

    reachable = people[15:]
    copies = [got_news(p) for p in reachable] + [got_news(boss) - 1]  # the admin saw a preview
    assert max(copies) == 1, "nobody gets it twice"
    assert sum(map(got_news, known_blocked + silently_blocked)) == 0
    async with bot.database.session() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Delivery.status, func.count()).group_by(Delivery.status)
                )
            ).all()
        )
        marked = await session.scalar(
            select(func.count(User.id)).where(
                User.telegram_id.in_([p.id for p in silently_blocked]), User.is_blocked
            )
        )
    claimed = statuses.get(DeliveryStatus.claimed, 0)
    assert claimed <= 1, "only the message in flight at the restart is in doubt"
    assert sum(copies) >= len(reachable) + 1 - claimed
    assert statuses[DeliveryStatus.blocked] == 5 and marked == 5
    assert {r.params["chat_id"] for r in bot.emulator.refused} == {p.id for p in silently_blocked}
    bot.emulator.refused.clear()  # those 403s are the point
    assert statuses[DeliveryStatus.skipped] == 10

    # Paced: the sender starts a send every 1/SEND_RATE_PER_SECOND s. What the server sees can
    # bunch up by the requests in flight at once (one per worker) when some travel slower.
    starts = [r.at for r in bot.emulator.requests if news_sent(r)]
    rate = bot.settings.send_rate_per_second
    for index, start in enumerate(starts):
        assert len([t for t in starts[index:] if t < start + 1.0]) <= rate + WORKERS
    assert len(starts) / (starts[-1] - starts[0]) <= rate
    assert len([r for r in bot.emulator.injected if r.method == "sendMessage"]) == 2

    # The report: the progress message shows the result, and a new message says it.
    done = boss.last
    assert "Sent to" in done.text and "blocked the bot" in done.text
    assert f"Sent to {statuses[DeliveryStatus.sent]} of 301" in done.text, done.text
    assert not has_button(prompt, "Cancel broadcast")


async def test_a_photo_broadcast_to_one_course_and_to_inactive_learners(bot: BotHarness):
    boss = await admin(bot)
    await teacher_of(bot)
    course = await bot.course(simple_course("Python Basics"))
    other = await bot.course(simple_course("Cooking"))
    ann, bob, cleo = await population(bot, 3)
    async with bot.database.session() as session:
        await enroll(session, await get_user(session, ann.id), course.id)
        await enroll(session, await get_user(session, bob.id), other.id)
        await enroll(session, await get_user(session, cleo.id), other.id)
        await session.execute(
            update(User)
            .where(User.telegram_id == cleo.id)
            .values(last_active_at=utcnow() - timedelta(days=10))
        )

    await boss.send("/broadcast")
    [refused] = await boss.send_document("notes.txt", b"hello")
    assert "text, or one photo" in refused.text, "asked again"
    await boss.send_photo(caption=f"<i>{NEWS}</i> with a picture")
    await boss.press("Students of a course")
    assert has_button(boss.last, "Python Basics (1)")
    await boss.press("Python Basics (1)")
    photo, prompt = boss.bot_messages[-2:]
    assert photo.media_payload is not None and NEWS in photo.content
    assert "the students of Python Basics: 1 user" in prompt.text
    await boss.press("Confirm", message=prompt)
    await all_sent(bot)
    assert [got_news(p) for p in (ann, bob, cleo)] == [1, 0, 0]
    [message] = [m for m in ann.bot_messages if NEWS in m.content]
    assert message.media_payload is not None

    await boss.send("/broadcast")
    await boss.send(f"{NEWS}: we miss you")
    await boss.press("Inactive learners")
    await boss.press("7 days")
    assert "inactive for 7 days or more: 1 user" in boss.last.text
    await boss.press("Confirm")
    await all_sent(bot)
    assert [got_news(p) for p in (ann, bob, cleo)] == [1, 0, 1]


async def test_composing_can_be_cancelled_and_survives_a_restart(bot: BotHarness):
    boss = await admin(bot)
    [ann] = await population(bot, 1)
    await compose(boss)
    await bot.restart()
    await boss.press("Everyone")
    assert "Send it now?" in boss.last.text
    await boss.press("Cancel", message=boss.last)
    assert boss.last.text == "Cancelled. Nothing was sent."
    stale = await boss.press_data(encode(Action.broadcast_confirm))
    assert stale is not None and stale.show_alert and "step has passed" in stale.text
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(Campaign.id))) == 0
    assert got_news(ann) == 0


async def test_a_broadcast_can_be_cancelled_while_it_is_sent(bot: BotHarness):
    boss = await admin(bot)
    people = await population(bot, 60)
    await compose(boss)
    await boss.press("Everyone")
    prompt = boss.last
    await boss.press("Confirm", message=prompt)
    await bot.emulator.wait_calls(5, news_sent)
    stopped = await boss.press("Cancel broadcast", message=prompt)
    assert stopped is not None and not stopped.show_alert
    await all_sent(bot)
    sent = sum(map(got_news, people)) + got_news(boss) - 1  # the admin saw a preview
    assert 4 <= sent < 61
    assert "cancelled after" in prompt.text
    async with bot.database.session() as session:
        campaign = await session.scalar(select(Campaign))
        assert campaign is not None and campaign.status == CampaignStatus.cancelled
        left = await session.scalar(
            select(func.count(Delivery.id)).where(Delivery.status == DeliveryStatus.pending)
        )
    assert left == 61 - sent
    again = await boss.press_data(encode(Action.broadcast_stop, campaign.id))
    assert again is not None and again.show_alert and "already finished" in again.text


async def test_forged_admin_buttons_from_a_student_and_an_instructor(bot: BotHarness):
    boss = await admin(bot)
    [ann] = await population(bot, 1)
    await ann.send("/start")
    tess = await teacher_of(bot)
    await compose(boss)
    await boss.press("Everyone")
    await boss.press("Confirm")
    await all_sent(bot)
    async with bot.database.session() as session:
        campaign_id = await session.scalar(select(Campaign.id))
    assert campaign_id is not None
    for intruder in (ann, tess):
        for data in (
            encode(Action.admin_home),
            encode(Action.admin_stats),
            encode(Action.broadcast_new),
            encode(Action.broadcast_audience, 0),
            encode(Action.broadcast_confirm),
            encode(Action.broadcast_stop, campaign_id),
        ):
            answer = await intruder.press_data(data)
            assert answer is not None and answer.show_alert and "admins" in answer.text, data
        for command in ("/admin", "/stats", "/broadcast"):
            [reply] = await intruder.send(command)
            assert "admins" in reply.text, (command, reply.text)
    async with bot.database.session() as session:
        assert await session.scalar(select(func.count(Campaign.id))) == 1
    assert got_news(ann) == 1


async def test_admin_home_and_stats_show_the_database(bot: BotHarness):
    boss = await admin(bot)
    await teacher_of(bot)
    course = await bot.course(simple_course(lessons=2))
    ann, bob = await population(bot, 2)
    async with bot.database.session() as session:
        await enroll(session, await get_user(session, ann.id), course.id)
    await ann.send("/mycourses")
    await ann.press("Continue")
    await ann.press("Complete")  # a learner active today
    async with bot.database.session() as session:
        await session.execute(
            update(User).where(User.telegram_id == bob.id).values(is_blocked=True)
        )

    [home] = await boss.send("/admin")
    assert "Users: 4 (2 students, 1 instructors, 1 admins)" in home.text, home.text
    assert "blocked the bot: 1" in home.text
    await boss.press("Stats", message=home)
    stats = home.text  # edited in place
    assert "Platform statistics" in stats
    assert "Courses: 1 published, 0 drafts" in stats
    assert "Enrollments: 1 · completed: 0 (0%)" in stats
    assert "New this week: 4" in stats and "Blocked the bot: 1" in stats
    assert "Reminders sent in 7 days: 0" in stats
    assert "(today 1, best 1)" in stats and "▁" * 29 + "█" in stats
    await boss.press("Back to admin", message=home)
    assert "Admin" in home.text
    await boss.press("Users", message=home)
    assert "User 0" in home.text and "User 1" in home.text, home.text
    await boss.send("/admin")
    await boss.press("Audit")
    assert "Audit" in boss.last.text or "role" in boss.last.text.lower(), boss.last.text

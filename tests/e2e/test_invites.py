"""Invites: an admin makes a single-use deep link, a newcomer redeems it (their role and menu
change, the admin is told), and a reused, expired, revoked or mistyped link gets one answer."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import func, select

from db import models
from db.models import Invite, Role, User
from db.throttle import MAX_WRONG_GUESSES
from tests.e2e.conftest import ADMIN_ID, BotHarness, has_button

LINK = re.compile(r"https://t\.me/learnbot_test_bot\?start=(inv-[A-Za-z0-9_-]+)")
INVALID = "This invite link is not valid"


async def invite_count(bot: BotHarness) -> int:
    async with bot.database.session() as session:
        return await session.scalar(select(func.count(Invite.id))) or 0


async def role_of(bot: BotHarness, telegram_id: int) -> Role:
    async with bot.database.session() as session:
        role = await session.scalar(select(User.role).where(User.telegram_id == telegram_id))
        assert role is not None
        return role


def menu(user) -> set[str]:
    return {command["command"] for command in user.commands()}


async def new_link(bot: BotHarness, role: str = "instructor") -> str:
    """The admin's /invite; returns the ``/start`` payload of the link."""
    ada = bot.emulator.user(ADMIN_ID, "Ada")
    [created] = await ada.send(f"/invite {role}")
    match = LINK.search(created.text)
    assert match is not None, created.text
    return match.group(1)


async def test_an_invite_link_is_redeemed_once(bot: BotHarness):
    ada = bot.emulator.user(ADMIN_ID, "Ada")
    await ada.send("/start")
    [created] = await ada.send("/invite instructor")
    assert "instructor" in created.text and "single" in created.text.lower()
    payload = LINK.search(created.text).group(1)  # type: ignore[union-attr]
    assert len(payload) >= len("inv-") + 22  # 128 random bits at least

    neo = bot.emulator.user(5001, "Neo", username="neo")
    mark = ada.mark()
    [welcome] = await neo.send(f"/start {payload}")
    assert "instructor" in welcome.text
    assert await role_of(bot, 5001) == Role.instructor
    assert {"newcourse", "teach"} <= menu(neo)
    [told] = ada.since(mark)
    assert "Neo" in told.text and "instructor" in told.text

    [again] = await neo.send(f"/start {payload}")  # the same person, a second tap
    assert "already" in again.text
    eve = bot.emulator.user(5002, "Eve")
    [refused] = await eve.send(f"/start {payload}")
    assert refused.text.startswith(INVALID)
    assert await role_of(bot, 5002) == Role.student and not {"teach"} & menu(eve)
    assert ada.since(mark) == [told]  # the inviter is told once

    [listing] = await ada.send("/invite")
    assert "used by Neo" in listing.text and not has_button(listing, "Revoke")


async def test_an_expired_link_is_refused(bot: BotHarness, monkeypatch):
    payload = await new_link(bot)
    real = models.utcnow
    monkeypatch.setattr(models, "utcnow", lambda: real() + timedelta(days=7, minutes=1))
    neo = bot.emulator.user(5003, "Neo")
    [refused] = await neo.send(f"/start {payload}")
    assert refused.text.startswith(INVALID)
    assert await role_of(bot, 5003) == Role.student
    [listing] = await bot.emulator.user(ADMIN_ID, "Ada").send("/invite")
    assert "expired" in listing.text


async def test_a_revoked_link_is_refused(bot: BotHarness):
    payload = await new_link(bot, "admin")
    ada = bot.emulator.user(ADMIN_ID, "Ada")
    [listing] = await ada.send("/invite")
    assert "admin" in listing.text and has_button(listing, "Revoke")
    answer = await ada.press("Revoke", message=listing)
    assert answer is not None and "revoked" in (answer.text or "").lower()
    assert "revoked" in listing.text and not has_button(listing, "Revoke")
    neo = bot.emulator.user(5004, "Neo")
    [refused] = await neo.send(f"/start {payload}")
    assert refused.text.startswith(INVALID)
    assert await role_of(bot, 5004) == Role.student


async def test_mistyped_codes_are_refused_then_throttled(bot: BotHarness):
    payload = await new_link(bot)
    eve = bot.emulator.user(5005, "Eve")
    for number in range(MAX_WRONG_GUESSES - 1):
        [refused] = await eve.send(f"/start inv-guess{number}")
        assert refused.text.startswith(INVALID)
    [locked] = await eve.send("/start inv-")
    assert "Too many wrong tries" in locked.text
    [still] = await eve.send(f"/start {payload}")
    assert "Too many wrong tries" in still.text
    assert await role_of(bot, 5005) == Role.student


async def test_two_newcomers_racing_for_one_link_one_wins(bot: BotHarness):
    payload = await new_link(bot)
    first, second = bot.emulator.user(5006, "One"), bot.emulator.user(5007, "Two")
    await asyncio.gather(first.send(f"/start {payload}"), second.send(f"/start {payload}"))
    roles = {await role_of(bot, 5006), await role_of(bot, 5007)}
    assert roles == {Role.instructor, Role.student}
    texts = [first.last.text, second.last.text]
    assert sum(text.startswith(INVALID) for text in texts) == 1


async def test_invite_usage_and_a_student_role_is_refused(bot: BotHarness):
    ada = bot.emulator.user(ADMIN_ID, "Ada")
    [student] = await ada.send("/invite student")
    assert "instructor or an admin" in student.text
    [unknown] = await ada.send("/invite wizard")
    assert "student, instructor" in unknown.text
    [listing] = await ada.send("/invite")
    assert "/invite instructor" in listing.text and "No invites yet" in listing.text
    assert await invite_count(bot) == 0

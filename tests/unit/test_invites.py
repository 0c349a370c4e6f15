"""Invites (db.invites): a single-use code stored only as its hash, that expires, can be revoked,
raises a role (never lowers it), is throttled against guessing, and is won by exactly one."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from passlib.hash import hex_sha256
from sqlalchemy import select

from db import models
from db.accounts import Profile, touch_user
from db.engine import Database
from db.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Reason
from db.invites import (
    CODE_BYTES,
    InviteState,
    create_invite,
    invites_page,
    redeem_invite,
    revoke_invite,
)
from db.models import GuessThrottle, Invite, Role, RoleChange, User, utcnow
from db.throttle import MAX_WRONG_GUESSES, TooManyGuesses

WEEK = timedelta(days=7)


async def person(database: Database, telegram_id: int, role: Role = Role.student) -> User:
    async with database.session() as session:
        user = await touch_user(session, Profile(telegram_id, None, f"User {telegram_id}", "en"))
        user.role = role
    return user


async def invite(database: Database, admin: User, role: Role = Role.instructor, **kw) -> str:
    async with database.session() as session:
        return (await create_invite(session, admin, role, WEEK, **kw)).code


async def redeem(database: Database, telegram_id: int, code: str, **kw):
    async with database.session() as session:
        user = await touch_user(session, Profile(telegram_id, None, f"User {telegram_id}", "en"))
        return await redeem_invite(session, user, code, **kw)


async def role_of(database: Database, telegram_id: int) -> Role:
    async with database.session() as session:
        role = await session.scalar(select(User.role).where(User.telegram_id == telegram_id))
        assert role is not None
        return role


async def the_invite(database: Database) -> Invite:
    async with database.session() as session:
        row = await session.scalar(select(Invite))
        assert row is not None
        return row


async def test_the_code_is_random_and_only_its_hash_is_stored(database: Database):
    admin = await person(database, 1, Role.admin)
    before = utcnow()
    codes = [await invite(database, admin) for _ in range(3)]
    assert len(set(codes)) == 3 and CODE_BYTES * 8 >= 128
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", code) for code in codes)
    async with database.session() as session:
        rows = list(await session.scalars(select(Invite).order_by(Invite.id)))
    for code, row in zip(codes, rows, strict=True):
        stored = [str(getattr(row, c.key)) for c in Invite.__table__.columns]
        assert not any(code in value for value in stored)
        assert row.code_hash == hex_sha256.hash(code) and hex_sha256.verify(code, row.code_hash)
        assert row.role == Role.instructor and row.created_by_id == admin.id
        assert before + WEEK <= row.expires_at <= utcnow() + WEEK
        assert row.used_at is None and row.used_by_id is None and row.revoked_at is None


async def test_only_admins_invite_and_only_to_staff_roles(database: Database):
    admin = await person(database, 1, Role.admin)
    teacher = await person(database, 2, Role.instructor)
    async with database.session() as session:
        with pytest.raises(Forbidden):
            await create_invite(session, teacher, Role.instructor, WEEK)
        with pytest.raises(Invalid) as refused:
            await create_invite(session, admin, Role.student, WEEK)
        assert refused.value.reason == Reason.invite_role
        for action in (invites_page(session, teacher, 0), revoke_invite(session, teacher, 1)):
            with pytest.raises(Forbidden):
                await action


async def test_redeeming_raises_the_role_records_who_and_audits_it(database: Database):
    admin = await person(database, 1, Role.admin)
    code = await invite(database, admin)
    outcome = await redeem(database, 50, code)
    assert outcome.raised and outcome.role == Role.instructor and not outcome.already
    assert outcome.inviter is not None and outcome.inviter.id == admin.id
    assert await role_of(database, 50) == Role.instructor
    row = await the_invite(database)
    assert row.used_at is not None and row.used_by_id == outcome.user.id
    async with database.session() as session:
        change = await session.scalar(select(RoleChange))
    assert change is not None
    assert (change.actor_id, change.target_id, change.old_role, change.new_role) == (
        admin.id,
        outcome.user.id,
        Role.student,
        Role.instructor,
    )


async def test_redeeming_never_lowers_a_role(database: Database):
    admin = await person(database, 1, Role.admin)
    await person(database, 2, Role.admin)
    code = await invite(database, admin)
    outcome = await redeem(database, 2, code)
    assert not outcome.raised and await role_of(database, 2) == Role.admin
    assert (await the_invite(database)).used_at is not None  # used up all the same


async def test_a_used_code_is_refused_to_others_and_answered_kindly_to_its_user(
    database: Database,
):
    admin = await person(database, 1, Role.admin)
    code = await invite(database, admin)
    await redeem(database, 50, code)
    again = await redeem(database, 50, code)  # the same user taps the link again
    assert again.already and not again.raised and again.role == Role.instructor
    with pytest.raises(NotFound) as refused:
        await redeem(database, 51, code)
    assert refused.value.reason == Reason.invite_invalid
    assert await role_of(database, 51) == Role.student


async def test_an_expired_revoked_or_mistyped_code_gets_one_answer(database: Database):
    admin = await person(database, 1, Role.admin)
    expired = await invite(database, admin)
    expires_at = (await the_invite(database)).expires_at
    later = expires_at + timedelta(seconds=1)
    revoked = await invite(database, admin)
    async with database.session() as session:
        page = await invites_page(session, admin, 0)
        await revoke_invite(session, admin, page.items[0].invite.id)  # the newest: ``revoked``
    attempts = [
        redeem(database, 60, expired, now=later),
        redeem(database, 61, revoked),
        redeem(database, 62, expired[:-1] + ("A" if expired[-1] != "A" else "B")),
        redeem(database, 63, ""),
        redeem(database, 64, "<b>" * 30),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound) as refused:
            await attempt
        assert refused.value.reason == Reason.invite_invalid
    assert (await redeem(database, 65, expired, now=expires_at - timedelta(seconds=1))).raised


async def test_the_clock_is_read_through_db_models(database: Database, monkeypatch):
    admin = await person(database, 1, Role.admin)
    code = await invite(database, admin)
    monkeypatch.setattr(models, "utcnow", lambda: utcnow() + WEEK + timedelta(minutes=1))
    with pytest.raises(NotFound):
        await redeem(database, 50, code)
    async with database.session() as session:
        [entry] = (await invites_page(session, admin, 0)).items
    assert entry.state == InviteState.expired


async def test_guessing_is_throttled_and_the_count_survives_the_refusal(database: Database):
    admin = await person(database, 1, Role.admin)
    code = await invite(database, admin)
    for number in range(MAX_WRONG_GUESSES):
        with pytest.raises(DomainError) as refused:
            await redeem(database, 70, f"wrong-guess-{number:022d}")
        last = number == MAX_WRONG_GUESSES - 1
        assert isinstance(refused.value, TooManyGuesses if last else NotFound)
    with pytest.raises(TooManyGuesses):  # even the right code waits out the lockout
        await redeem(database, 70, code)
    async with database.session() as session:
        row = await session.scalar(select(GuessThrottle))
    assert row is not None and row.scope == "invite" and row.locked_until is not None
    assert (await redeem(database, 71, code)).raised  # someone else is not locked out


async def test_two_users_racing_for_one_code_exactly_one_wins(database: Database):
    admin = await person(database, 1, Role.admin)
    code = await invite(database, admin)
    for telegram_id in range(80, 86):
        await person(database, telegram_id)

    async def attempt(telegram_id: int) -> object:
        try:
            return await redeem(database, telegram_id, code)
        except DomainError as error:
            return error

    results = await asyncio.gather(*(attempt(t) for t in range(80, 86)))
    winners = [r for r in results if not isinstance(r, DomainError)]
    assert len(winners) == 1, results
    assert all(
        isinstance(r, NotFound) and r.reason == Reason.invite_invalid
        for r in results
        if r not in winners
    )
    promoted = [t for t in range(80, 86) if await role_of(database, t) == Role.instructor]
    assert len(promoted) == 1


async def test_an_invite_dies_with_its_inviters_admin_role(database: Database):
    admin = await person(database, 1, Role.admin)
    await person(database, 2, Role.admin)
    code = await invite(database, admin)
    async with database.session() as session:
        me = await session.get(User, admin.id)
        assert me is not None
        me.role = Role.instructor
    with pytest.raises(NotFound):
        await redeem(database, 50, code)
    assert await role_of(database, 50) == Role.student


async def test_invites_are_listed_with_their_state_and_revoked_once(database: Database):
    admin = await person(database, 1, Role.admin)
    used = await invite(database, admin, Role.admin)
    await invite(database, admin)
    await invite(database, admin)
    await redeem(database, 50, used)
    async with database.session() as session:
        page = await invites_page(session, admin, 0)
        _newest, middle, oldest = page.items
        revoked = await revoke_invite(session, admin, middle.invite.id)
    assert revoked.revoked_at is not None
    assert oldest.state == InviteState.used and oldest.used_by == "User 50"
    assert oldest.created_by == "User 1" and oldest.invite.role == Role.admin
    async with database.session() as session:
        states = [e.state for e in (await invites_page(session, admin, 0)).items]
        assert states == [InviteState.active, InviteState.revoked, InviteState.used]
        for invite_id in (middle.invite.id, oldest.invite.id):
            with pytest.raises(Conflict) as refused:
                await revoke_invite(session, admin, invite_id)
            assert refused.value.reason == Reason.invite_not_revocable
        with pytest.raises(NotFound) as missing:
            await revoke_invite(session, admin, 987_654)
        assert missing.value.reason == Reason.invite_gone

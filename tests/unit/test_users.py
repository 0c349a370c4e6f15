"""Admins and users (db.users): the list and its search, a user's card, role changes with their
audit trail and the last-admin guard, /promote's lookup; every one refused to non-admins."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from bot import texts
from bot.formatting import MESSAGE_LIMIT, utf16_len
from db.accounts import Profile, set_role, touch_user
from db.engine import Database
from db.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Reason
from db.learning import complete_lesson, enroll
from db.models import Lesson, Role, RoleChange, User, utcnow
from db.users import (
    AUDIT_PAGE_SIZE,
    ROLES,
    USERS_PAGE_SIZE,
    audit_page,
    change_role,
    find_user,
    parse_role,
    role_at,
    user_card,
    users_page,
)
from tests.conftest import make_course, make_user


async def person(
    database: Database,
    telegram_id: int,
    name: str,
    username: str | None = None,
    role: Role = Role.student,
    active_minutes_ago: int = 0,
) -> User:
    async with database.session() as session:
        user = await touch_user(session, Profile(telegram_id, username, name, "en"))
        user.role = role
        user.last_active_at = utcnow() - timedelta(minutes=active_minutes_ago)
    return user


async def roles(database: Database) -> dict[int, Role]:
    async with database.session() as session:
        rows = await session.execute(select(User.telegram_id, User.role))
        return {telegram_id: role for telegram_id, role in rows}


async def audit_rows(database: Database) -> list[tuple[int | None, int, Role, Role]]:
    async with database.session() as session:
        rows = await session.execute(
            select(
                RoleChange.actor_id, RoleChange.target_id, RoleChange.old_role, RoleChange.new_role
            ).order_by(RoleChange.id)
        )
        return [tuple(row) for row in rows]


# -- the list ---------------------------------------------------------------------------------


async def test_users_are_listed_newest_activity_first_in_pages(database: Database):
    admin = await person(database, 1, "Ada", "ada", Role.admin, active_minutes_ago=500)
    for number in range(USERS_PAGE_SIZE + 2):
        await person(database, 100 + number, f"User {number}", active_minutes_ago=number)
    async with database.session() as session:
        first = await users_page(session, admin, "", 0)
        last = await users_page(session, admin, "", 1)
        beyond = await users_page(session, admin, "", 99)
    assert first.total == USERS_PAGE_SIZE + 3 and first.pages == 2
    assert [u.full_name for u in first.items[:3]] == ["User 0", "User 1", "User 2"]
    assert last.items[-1].full_name == "Ada" and beyond.page == 1


async def test_users_are_searched_by_name_username_or_id(database: Database):
    admin = await person(database, 1, "Ada", "ada", Role.admin)
    await person(database, 2001, "Bob Stone", "bobby")
    await person(database, 2002, "Carla 50% Off_", "carla")
    await person(database, 777_888_999_000, "Dan", None)
    async with database.session() as session:

        async def names(query: str) -> list[str]:
            page = await users_page(session, admin, query, 0)
            assert page.query == query.strip()
            return sorted(u.full_name for u in page.items)

        assert await names("stone") == ["Bob Stone"]
        assert await names("BOBBY") == ["Bob Stone"]
        assert await names("@bob") == ["Bob Stone"]
        assert await names("777888999000") == ["Dan"]
        assert await names("2002") == ["Carla 50% Off_"]
        assert await names("50%") == ["Carla 50% Off_"]
        assert await names("_") == ["Carla 50% Off_"]
        assert await names("nobody") == []
        with pytest.raises(Invalid) as refused:
            await users_page(session, admin, "x" * 41, 0)
        assert refused.value.reason == Reason.search_too_long


@pytest.mark.parametrize("role", [Role.student, Role.instructor])
async def test_only_admins_see_users_cards_and_the_audit(database: Database, role: Role):
    viewer = await person(database, 5, "Vic", role=role)
    other = await person(database, 6, "Oscar")
    async with database.session() as session:
        for attempt in (
            users_page(session, viewer, "", 0),
            user_card(session, viewer, other.id),
            audit_page(session, viewer, 0),
            find_user(session, viewer, "6"),
        ):
            with pytest.raises(Forbidden):
                await attempt


# -- the card -----------------------------------------------------------------------------------


async def test_a_card_shows_the_users_courses_with_progress(database: Database):
    admin = await person(database, 1, "Ada", role=Role.admin)
    teacher = await make_user(database, 2, Role.instructor, "Tess")
    course = await make_course(database, teacher, lessons=4, title="Rust")
    student = await person(database, 3, "Sam", "sam")
    async with database.session() as session:
        sam = await session.get(User, student.id)
        assert sam is not None
        await enroll(session, sam, course.id)
        lesson = await session.scalar(select(Lesson.id).where(Lesson.course_id == course.id))
        assert lesson is not None
        await complete_lesson(session, sam, lesson)
    async with database.session() as session:
        card = await user_card(session, admin, student.id)
        with pytest.raises(NotFound) as missing:
            await user_card(session, admin, 987_654)
    assert card.user.telegram_id == 3 and card.user.username == "sam"
    assert [(c.course.title, c.percentage) for c in card.courses] == [("Rust", 25)]
    assert missing.value.reason == Reason.no_such_user


# -- role changes ---------------------------------------------------------------------------------


async def test_a_role_change_is_audited_and_a_repeat_changes_nothing(database: Database):
    admin = await person(database, 1, "Ada", role=Role.admin)
    sam = await person(database, 3, "Sam")
    async with database.session() as session:
        outcome = await change_role(session, admin, sam.id, Role.instructor, Role.student)
    assert outcome.changed and (outcome.old_role, outcome.new_role) == (
        Role.student,
        Role.instructor,
    )
    async with database.session() as session:  # a double tap on Confirm
        again = await change_role(session, admin, sam.id, Role.instructor, Role.student)
    assert not again.changed
    async with database.session() as session:
        back = await change_role(session, admin, sam.id, Role.student, Role.instructor)
    assert back.changed
    assert (await roles(database))[3] == Role.student
    assert await audit_rows(database) == [
        (admin.id, sam.id, Role.student, Role.instructor),
        (admin.id, sam.id, Role.instructor, Role.student),
    ]


async def test_a_confirmation_made_stale_by_another_change_is_refused(database: Database):
    admin = await person(database, 1, "Ada", role=Role.admin)
    sam = await person(database, 3, "Sam")
    async with database.session() as session:
        await change_role(session, admin, sam.id, Role.admin, Role.student)
    async with database.session() as session:  # an older "student → instructor" confirmation
        with pytest.raises(Conflict) as stale:
            await change_role(session, admin, sam.id, Role.instructor, Role.student)
    assert stale.value.reason == Reason.role_changed_meanwhile
    assert stale.value.data == {"role": Role.admin}
    assert (await roles(database))[3] == Role.admin


async def test_the_last_admin_cannot_demote_themself(database: Database):
    admin = await person(database, 1, "Ada", role=Role.admin)
    async with database.session() as session:
        with pytest.raises(Conflict) as refused:
            await change_role(session, admin, admin.id, Role.student, Role.admin)
    assert refused.value.reason == Reason.last_admin
    assert (await roles(database))[1] == Role.admin and await audit_rows(database) == []
    other = await person(database, 2, "Bea", role=Role.admin)
    async with database.session() as session:  # with another admin it is allowed
        await change_role(session, admin, admin.id, Role.instructor, Role.admin)
    async with database.session() as session:
        bea = await session.get(User, other.id)
        assert bea is not None
        with pytest.raises(Conflict):
            await change_role(session, bea, bea.id, Role.student, Role.admin)
    assert await roles(database) == {1: Role.instructor, 2: Role.admin}


async def test_two_admins_demoting_themselves_at_once_leave_an_admin(database: Database):
    """Each sees two admins; the admin rows are locked before counting, so they take turns
    (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE, a deadlock ends one of them)."""
    first = await person(database, 1, "Ada", role=Role.admin)
    second = await person(database, 2, "Bea", role=Role.admin)

    async def demote_self(telegram_id: int, user_id: int) -> object:
        try:
            async with database.session() as session:
                me = await touch_user(session, Profile(telegram_id, None, "x", "en"))
                await asyncio.sleep(0.05)  # both have read their account before either writes
                return await change_role(session, me, user_id, Role.student, Role.admin)
        except (DomainError, DBAPIError) as error:
            return error

    results = await asyncio.gather(demote_self(1, first.id), demote_self(2, second.id))
    assert list((await roles(database)).values()).count(Role.admin) == 1, results
    assert len(await audit_rows(database)) == 1


@pytest.mark.parametrize("role", [Role.student, Role.instructor])
async def test_a_non_admin_changes_no_role(database: Database, role: Role):
    await person(database, 1, "Ada", role=Role.admin)
    actor = await person(database, 5, "Vic", role=role)
    async with database.session() as session:
        with pytest.raises(Forbidden):
            await change_role(session, actor, actor.id, Role.admin, role)
    assert (await roles(database))[5] == role and await audit_rows(database) == []


async def test_a_demoted_admin_is_refused_even_with_a_stale_account(database: Database):
    """The role is what the database says now, not what the caller's object says."""
    admin = await person(database, 1, "Ada", role=Role.admin)
    await person(database, 2, "Bea", role=Role.admin)
    sam = await person(database, 3, "Sam")
    async with database.session() as session:
        await session.execute(update(User).where(User.id == admin.id).values(role=Role.student))
    async with database.session() as session:
        with pytest.raises(Forbidden):
            await change_role(session, admin, sam.id, Role.admin, Role.student)
    assert (await roles(database))[3] == Role.student


async def test_roles_are_parsed_and_indexed():
    assert parse_role(" Instructor ") == Role.instructor and parse_role("ADMIN") == Role.admin
    for bad in ("", "teacher", "root", "admins"):
        with pytest.raises(Invalid) as refused:
            parse_role(bad)
        assert refused.value.reason == Reason.role_unknown
    assert [role_at(i) for i in range(len(ROLES))] == list(Role)
    assert role_at(len(ROLES)) is None


# -- /promote's lookup ----------------------------------------------------------------------------


async def test_a_user_is_found_by_username_or_id(database: Database):
    admin = await person(database, 1, "Ada", role=Role.admin)
    await person(database, 2, "Old Bob", "Bob", active_minutes_ago=60)
    bob = await person(database, 3, "Bob", "bob")  # the name changed hands: the newest wins
    async with database.session() as session:
        assert (await find_user(session, admin, "@BOB")).id == bob.id
        assert (await find_user(session, admin, "bob")).id == bob.id
        assert (await find_user(session, admin, "2")).full_name == "Old Bob"
        for unknown in ("@nobody", "424242", str(2**63)):
            with pytest.raises(NotFound) as missing:
                await find_user(session, admin, unknown)
            assert missing.value.reason == Reason.no_such_user
        for bad in ("@", "bob smith", "-5", "@bo b", "@" + "x" * 70):
            with pytest.raises(Invalid) as refused:
                await find_user(session, admin, bad)
            assert refused.value.reason == Reason.user_handle


# -- the audit ------------------------------------------------------------------------------------


async def test_the_audit_lists_the_latest_changes_first_with_names(database: Database):
    admin = await person(database, 1, "Ada", role=Role.admin)
    sam = await person(database, 3, "Sam")
    async with database.session() as session:
        empty = await audit_page(session, admin, 0)
    assert empty.items == [] and empty.total == 0
    async with database.session() as session:
        await change_role(session, admin, sam.id, Role.instructor, Role.student)
    async with database.session() as session:
        target = await session.get(User, sam.id)
        assert target is not None
        await set_role(session, target, Role.admin)  # the command line: no actor
    async with database.session() as session:
        page = await audit_page(session, admin, 0)
        count = await session.scalar(select(func.count(RoleChange.id)))
    assert count == 2 and page.total == 2
    latest, earlier = page.items
    assert (latest.actor, latest.target, latest.old_role, latest.new_role) == (
        None,
        "Sam",
        Role.instructor,
        Role.admin,
    )
    assert (earlier.actor, earlier.target, earlier.new_role) == ("Ada", "Sam", Role.instructor)
    assert latest.at >= earlier.at


async def test_a_page_of_the_longest_names_fits_one_message(database: Database):
    admin = await person(database, 1, "Ada", role=Role.admin)
    for number in range(USERS_PAGE_SIZE + 1):
        await person(database, 10 + number, "W" * 256, f"{'u' * 63}{number % 10}")
    async with database.session() as session:
        page = await users_page(session, admin, "", 0)
        actor = await session.get(User, admin.id)
        assert actor is not None
        for number in range(AUDIT_PAGE_SIZE + 1):
            target = await session.scalar(select(User).where(User.telegram_id == 10 + number))
            assert target is not None
            await set_role(session, target, Role.instructor, actor)
    async with database.session() as session:
        audit = await audit_page(session, admin, 0)
    assert len(page.items) == USERS_PAGE_SIZE and len(audit.items) == AUDIT_PAGE_SIZE
    for shown in (texts.users_list(page), texts.audit(audit)):
        assert utf16_len(shown) <= MESSAGE_LIMIT

"""Admins manage people from the chat: /users, a user's card, role changes (confirmed, audited,
told, with the user's menu changed at once), /promote, and the audit; nobody else can."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.callbacks import Action, encode
from bot.emulator.users import TestUser
from db.accounts import raise_role
from db.invites import create_invite
from db.models import Invite, Role, RoleChange, User
from db.users import ROLES
from tests.e2e.conftest import ADMIN_ID, BotHarness, has_button, simple_course
from tests.e2e.test_invites import invite_count

ADMIN_COMMANDS = {"users", "promote", "invite"}
INSTRUCTOR_COMMANDS = {"newcourse", "teach", "review"}


def menu(user: TestUser) -> set[str]:
    return {command["command"] for command in user.commands()}


async def role_of(bot: BotHarness, telegram_id: int) -> Role:
    async with bot.database.session() as session:
        role = await session.scalar(select(User.role).where(User.telegram_id == telegram_id))
        assert role is not None
        return role


async def user_id(bot: BotHarness, telegram_id: int) -> int:
    async with bot.database.session() as session:
        found = await session.scalar(select(User.id).where(User.telegram_id == telegram_id))
        assert found is not None
        return found


async def audit_count(bot: BotHarness) -> int:
    """Role changes made by someone (the configured admin's own is made by nobody)."""
    async with bot.database.session() as session:
        made = select(func.count(RoleChange.id)).where(RoleChange.actor_id.is_not(None))
        return await session.scalar(made) or 0


async def started(bot: BotHarness, telegram_id: int, name: str, username: str | None = None):
    person = bot.emulator.user(telegram_id, name, username=username)
    await person.send("/start")
    return person


async def admin(bot: BotHarness) -> TestUser:
    return await started(bot, ADMIN_ID, "Ada", "ada_admin")


async def test_an_admin_promotes_a_student_from_users_and_demotes_them_back(bot: BotHarness):
    ada = await admin(bot)
    assert menu(ada) >= ADMIN_COMMANDS
    sam = await started(bot, 4001, "Sam", "sam_student")
    assert not (INSTRUCTOR_COMMANDS | ADMIN_COMMANDS) & menu(sam)

    [listing] = await ada.send("/users")
    assert "Sam" in listing.text and "@sam_student" in listing.text and "4001" in listing.text
    # (The order, newest activity first, is tested in tests/unit/test_users.py: activity is
    # stamped to the minute, so two users active within the same minute may come either way.)
    assert "Ada" in listing.text
    await ada.press("Sam", message=listing)
    assert "student" in listing.text and "Joined" in listing.text and "Last active" in listing.text
    assert has_button(listing, "Make instructor") and not has_button(listing, "Make student")
    await ada.press("Make instructor", message=listing)
    assert "student → instructor" in listing.text and has_button(listing, "Confirm")
    assert await role_of(bot, 4001) == Role.student  # nothing before the confirmation

    mark = sam.mark()
    answer = await ada.press("Confirm", message=listing)
    assert answer is not None and "changed" in (answer.text or "").lower()
    assert await role_of(bot, 4001) == Role.instructor
    [told] = sam.since(mark)
    assert "instructor" in told.text
    assert menu(sam) >= INSTRUCTOR_COMMANDS and not ADMIN_COMMANDS & menu(sam)
    assert "instructor" in listing.text and has_button(listing, "Make student")

    await ada.press("Audit", message=listing)
    assert "Ada" in listing.text and "Sam" in listing.text
    assert "student → instructor" in listing.text

    await ada.press("Back to users", message=listing)
    await ada.press("Sam", message=listing)
    await ada.press("Make student", message=listing)
    mark = sam.mark()
    await ada.press("Confirm", message=listing)
    assert await role_of(bot, 4001) == Role.student
    [told] = sam.since(mark)
    assert "student" in told.text
    assert not INSTRUCTOR_COMMANDS & menu(sam)
    assert await audit_count(bot) == 2
    await ada.press("Audit", message=listing)
    assert listing.text.index("instructor → student") < listing.text.index("student → instructor")


async def test_a_double_tap_on_confirm_changes_the_role_once(bot: BotHarness):
    ada = await admin(bot)
    sam = await started(bot, 4002, "Sam")
    target = await user_id(bot, 4002)
    [listing] = await ada.send("/users Sam")
    await ada.press("Sam", message=listing)
    await ada.press("Make instructor", message=listing)
    mark = sam.mark()
    data = encode(Action.user_role_confirm, target, ROLES.index(Role.instructor), 0)
    await ada.press_data(data, listing.message_id)
    second = await ada.press_data(data, listing.message_id)
    assert second is not None and not second.show_alert
    assert len(sam.since(mark)) == 1 and await audit_count(bot) == 1


async def test_the_last_admin_is_refused_their_own_demotion(bot: BotHarness):
    ada = await admin(bot)
    [listing] = await ada.send("/users ada_admin")
    await ada.press("Ada", message=listing)
    await ada.press("Make student", message=listing)
    answer = await ada.press("Confirm", message=listing)
    assert answer is not None and answer.show_alert and "last admin" in (answer.text or "")
    assert await role_of(bot, ADMIN_ID) == Role.admin and await audit_count(bot) == 0
    assert menu(ada) >= ADMIN_COMMANDS


async def test_an_admin_with_a_peer_can_step_down_and_loses_the_menu(bot: BotHarness):
    ada = await admin(bot)
    async with bot.database.session() as session:
        await raise_role(session, 4003, Role.admin)
    await started(bot, 4003, "Bea")
    [listing] = await ada.send("/users Ada")
    await ada.press("Ada", message=listing)
    await ada.press("Make instructor", message=listing)
    await ada.press("Confirm", message=listing)
    assert await role_of(bot, ADMIN_ID) == Role.instructor
    assert not ADMIN_COMMANDS & menu(ada) and menu(ada) >= INSTRUCTOR_COMMANDS
    assert not has_button(listing, "Make")  # no admin buttons are left for them
    [refused] = await ada.send("/users")
    assert "admins" in refused.text


async def test_users_pages_in_place_and_searches(bot: BotHarness):
    ada = await admin(bot)
    for number in range(12):
        await started(bot, 4100 + number, f"Learner {number:02d}", f"learner{number:02d}")
    [listing] = await ada.send("/users")
    assert "Learner 11" in listing.text and "Learner 00" not in listing.text
    await ada.press("Next", message=listing)
    assert "Learner 00" in listing.text and "Learner 11" not in listing.text
    await ada.press("Previous", message=listing)
    assert "Learner 11" in listing.text
    [found] = await ada.send("/users learner03")
    assert "Learner 03" in found.text and "Learner 04" not in found.text
    [by_id] = await ada.send("/users 4105")
    assert "Learner 05" in by_id.text and "Learner 04" not in by_id.text
    [none] = await ada.send("/users zebra")
    assert "zebra" in none.text and "No user" in none.text


async def test_a_card_shows_courses_progress_and_a_blocked_bot(bot: BotHarness):
    course = await bot.course(simple_course(title="Rust Basics", lessons=2))
    ada = await admin(bot)
    sam = await started(bot, 4004, "Sam")
    await sam.send(f"/start course-{course.id}")
    await sam.press("Enroll")
    await sam.press("Continue")
    await sam.press("Complete")
    update_id = sam.block()
    assert update_id is not None
    await bot.emulator.wait_processed(update_id)
    [listing] = await ada.send("/users Sam")
    await ada.press("Sam", message=listing)
    assert "Rust Basics" in listing.text and "50" in listing.text
    assert "blocked the bot" in listing.text


async def test_promote_by_username_and_by_id(bot: BotHarness):
    ada = await admin(bot)
    sam = await started(bot, 4005, "Sam", "SamTheMan")
    [confirm] = await ada.send("/promote @samtheman instructor")
    assert "Sam" in confirm.text and "student → instructor" in confirm.text
    assert await role_of(bot, 4005) == Role.student
    await ada.press("Confirm", message=confirm)
    assert await role_of(bot, 4005) == Role.instructor and menu(sam) >= INSTRUCTOR_COMMANDS
    [confirm] = await ada.send("/promote 4005 admin")
    await ada.press("Confirm", message=confirm)
    assert await role_of(bot, 4005) == Role.admin and menu(sam) >= ADMIN_COMMANDS
    [same] = await ada.send("/promote 4005 ADMIN")
    assert "already" in same.text and not same.buttons
    [cancelled] = await ada.send("/promote 4005 student")
    await ada.press("Cancel", message=cancelled)
    assert await role_of(bot, 4005) == Role.admin and has_button(cancelled, "Make student")
    assert await audit_count(bot) == 2


async def test_promote_refuses_unknown_users_bad_roles_and_bad_usage(bot: BotHarness):
    ada = await admin(bot)
    await started(bot, 4006, "Sam", "sam6")
    [unknown] = await ada.send("/promote @nobody instructor")
    assert unknown.text == "No such user."
    [unknown_id] = await ada.send("/promote 99999999 instructor")
    assert unknown_id.text == "No such user."
    [bad_role] = await ada.send("/promote @sam6 teacher")
    assert "student, instructor" in bad_role.text
    [usage] = await ada.send("/promote")
    assert "/promote @username" in usage.text
    [bad_handle] = await ada.send("/promote sam smith instructor")
    assert "/promote @username" in bad_handle.text
    assert await role_of(bot, 4006) == Role.student and await audit_count(bot) == 0


async def test_a_user_who_never_wrote_gets_their_menu_at_their_first_start(bot: BotHarness):
    ada = await admin(bot)
    async with bot.database.session() as session:
        await raise_role(session, 4007, Role.student)  # known from the command line only
    [confirm] = await ada.send("/promote 4007 instructor")
    mark = ada.mark()
    await ada.press("Confirm", message=confirm)
    assert await role_of(bot, 4007) == Role.instructor
    assert any("could not be told" in m.text for m in ada.since(mark))
    newcomer = bot.emulator.user(4007, "Neo")
    assert not INSTRUCTOR_COMMANDS & menu(newcomer)
    await newcomer.send("/start")
    assert menu(newcomer) >= INSTRUCTOR_COMMANDS


@pytest.mark.parametrize("role", [Role.student, Role.instructor])
async def test_forged_admin_callbacks_change_nothing(bot: BotHarness, role: Role):
    await admin(bot)
    async with bot.database.session() as session:
        creator = await session.scalar(select(User).where(User.telegram_id == ADMIN_ID))
        assert creator is not None
        invite_id = (await create_invite(session, creator, Role.admin, timedelta(days=7))).invite.id
        await raise_role(session, 4008, role)
    mallory = await started(bot, 4008, "Mallory")
    me, victim = await user_id(bot, 4008), await user_id(bot, ADMIN_ID)
    anchor = mallory.last.message_id
    admin_index, student_index = ROLES.index(Role.admin), ROLES.index(Role.student)
    forged = [
        encode(Action.user_role_confirm, me, admin_index, ROLES.index(role)),
        encode(Action.user_role_confirm, victim, student_index, admin_index),
        encode(Action.user_role, me, admin_index),
        encode(Action.user_open, victim),
        encode(Action.users_page, 0, text="a"),
        encode(Action.audit_page, 0),
        encode(Action.invites_page, 0),
        encode(Action.invite_revoke, invite_id, 0),
    ]
    for data in forged:
        mark = mallory.mark()
        answer = await mallory.press_data(data, anchor)
        assert answer is not None and answer.show_alert and "admins" in (answer.text or ""), data
        assert mallory.since(mark) == [], data
    for command in ("/users", "/promote 4008 admin", "/invite admin", "/invite"):
        [refused] = await mallory.send(command)
        assert refused.text == "This is for admins."
    assert await role_of(bot, 4008) == role and await role_of(bot, ADMIN_ID) == Role.admin
    assert await audit_count(bot) == 0 and await invite_count(bot) == 1
    async with bot.database.session() as session:
        row = await session.get(Invite, invite_id)
        assert row is not None and row.revoked_at is None

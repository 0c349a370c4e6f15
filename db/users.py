"""People, for admins (SPEC §1): the user list and its search, a user's card, role changes and
their audit trail.

Every function is for admins only, checked on the caller's stored role. Role changes go
through ``db.accounts.set_role`` (the audit row and the last-admin guard live there); here the
target's row is locked and read afresh first, with the caller's, so a stale confirmation or a
caller demoted meanwhile changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.accounts import require_role, set_role
from db.catalog import clean_search
from db.errors import Conflict, Invalid, NotFound, Reason
from db.learning import CourseProgress, my_progress
from db.models import Role, RoleChange, User
from db.paging import Page, clamp_page

USERS_PAGE_SIZE = 10
AUDIT_PAGE_SIZE = 10
ROLES: tuple[Role, ...] = tuple(Role)  # their order is their index in callback data
TELEGRAM_ID_MAX = 2**63 - 1  # users.telegram_id is a BIGINT
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_TELEGRAM_ID = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class UsersPage:
    items: list[User]
    page: int
    pages: int
    total: int
    query: str


@dataclass(frozen=True)
class UserCard:
    user: User
    courses: list[CourseProgress]


@dataclass(frozen=True)
class RoleOutcome:
    target: User
    old_role: Role
    new_role: Role
    changed: bool


@dataclass(frozen=True)
class AuditEntry:
    actor: str | None  # None: the command line or the configuration
    target: str
    old_role: Role
    new_role: Role
    at: datetime


def role_at(index: int) -> Role | None:
    """The role a button's index stands for (``None`` for a forged one)."""
    return ROLES[index] if 0 <= index < len(ROLES) else None


def parse_role(text: str) -> Role:
    """A role as typed after /promote or /invite, in any case."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise Invalid(Reason.role_unknown) from None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def users_page(
    session: AsyncSession, admin: User, query: str | None = None, page: int = 0
) -> UsersPage:
    """/users [query]: the most recently active first, matching a name, a username (``@`` is
    optional) or a Telegram id (all digits)."""
    require_role(admin, Role.admin)
    query = clean_search(query)
    conditions = []
    if query:
        pattern = _like(query.removeprefix("@"))
        matches = [
            func.lower(User.full_name).like(pattern, escape="\\"),
            func.lower(User.username).like(pattern, escape="\\"),
        ]
        if _TELEGRAM_ID.fullmatch(query) and int(query) <= TELEGRAM_ID_MAX:
            matches.append(User.telegram_id == int(query))
        conditions.append(or_(*matches))
    total = await session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    page, pages = clamp_page(page, total, USERS_PAGE_SIZE)
    rows = await session.scalars(
        select(User)
        .where(*conditions)
        .order_by(User.last_active_at.desc(), User.id.desc())
        .limit(USERS_PAGE_SIZE)
        .offset(page * USERS_PAGE_SIZE)
    )
    return UsersPage(list(rows), page, pages, total, query)


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.scalar(
        select(User).where(User.id == user_id).execution_options(populate_existing=True)
    )
    if user is None:
        raise NotFound(Reason.no_such_user)
    return user


async def user_card(session: AsyncSession, admin: User, user_id: int) -> UserCard:
    """A user's account and their courses with progress."""
    require_role(admin, Role.admin)
    user = await _user(session, user_id)
    return UserCard(user, await my_progress(session, user))


async def role_target(session: AsyncSession, admin: User, user_id: int) -> User:
    """The user whose role is about to change, for the confirmation."""
    require_role(admin, Role.admin)
    return await _user(session, user_id)


async def find_user(session: AsyncSession, admin: User, handle: str) -> User:
    """/promote's user: ``@username`` (or a bare username) in any case, or a Telegram id.

    A username can change hands, and the store keeps the last one each account was seen with:
    of several accounts with it, the most recently active is the one meant.
    """
    require_role(admin, Role.admin)
    handle = handle.strip()
    if _TELEGRAM_ID.fullmatch(handle):
        if int(handle) > TELEGRAM_ID_MAX:
            raise NotFound(Reason.no_such_user)
        condition = User.telegram_id == int(handle)
    elif _USERNAME.fullmatch(name := handle.removeprefix("@")) and not name.isdigit():
        condition = func.lower(User.username) == name.lower()
    else:
        raise Invalid(Reason.user_handle)
    user = await session.scalar(
        select(User)
        .where(condition)
        .order_by(User.last_active_at.desc(), User.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if user is None:
        raise NotFound(Reason.no_such_user)
    return user


async def change_role(
    session: AsyncSession, admin: User, user_id: int, new_role: Role, expected: Role
) -> RoleOutcome:
    """A confirmed role change: ``expected`` is the role the confirmation showed.

    The caller's and the target's rows are locked and read in one statement (in id order),
    so the caller's admin role is checked as stored now, and a confirmation made stale by
    another change is refused instead of applied. Confirming twice changes the role once.
    """
    rows = await session.scalars(
        select(User)
        .where(User.id.in_({admin.id, user_id}))
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {user.id: user for user in rows}
    actor = found.get(admin.id)
    if actor is None:
        raise NotFound(Reason.no_such_user)
    require_role(actor, Role.admin)
    target = found.get(user_id)
    if target is None:
        raise NotFound(Reason.no_such_user)
    old_role = target.role
    if old_role == new_role:
        return RoleOutcome(target, old_role, new_role, changed=False)
    if old_role != expected:
        raise Conflict(Reason.role_changed_meanwhile, role=old_role)
    await set_role(session, target, new_role, actor)
    return RoleOutcome(target, old_role, new_role, changed=True)


async def audit_page(session: AsyncSession, admin: User, page: int) -> Page[AuditEntry]:
    """The latest role changes first, with who made them and whom they changed."""
    require_role(admin, Role.admin)
    total = await session.scalar(select(func.count(RoleChange.id))) or 0
    page, pages = clamp_page(page, total, AUDIT_PAGE_SIZE)
    actor, target = aliased(User), aliased(User)
    rows = await session.execute(
        select(RoleChange, actor, target)
        .outerjoin(actor, actor.id == RoleChange.actor_id)
        .join(target, target.id == RoleChange.target_id)
        .order_by(RoleChange.at.desc(), RoleChange.id.desc())
        .limit(AUDIT_PAGE_SIZE)
        .offset(page * AUDIT_PAGE_SIZE)
    )
    entries = [
        AuditEntry(
            actor=who.display_name if who is not None else None,
            target=whom.display_name,
            old_role=change.old_role,
            new_role=change.new_role,
            at=change.at,
        )
        for change, who, whom in rows
    ]
    return Page(entries, page, pages, total)

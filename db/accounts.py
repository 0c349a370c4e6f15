"""Accounts and roles: the account on the first update, admins, role changes with an audit trail."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.dialect import upsert
from db.errors import Conflict, Forbidden, NotFound, Reason
from db.models import Role, RoleChange, User, utcnow

# How stale ``users.last_active_at`` may be: it feeds "active today" and "inactive for N days",
# so refreshing it once a minute instead of on every update loses nothing.
ACTIVITY_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Profile:
    """What Telegram tells us about a user on each update."""

    telegram_id: int
    username: str | None
    full_name: str
    language_code: str | None


@dataclass(frozen=True)
class NewUserDefaults:
    timezone: str = "UTC"
    reminder_hour: int = 18


@functools.cache
def _account_query() -> Select[tuple[User]]:
    """The account by Telegram id, read on every update: built once (see ``db.access``)."""
    return (
        select(User)
        .where(User.telegram_id == bindparam("telegram_id"))
        .execution_options(populate_existing=True)
    )


async def touch_user(
    session: AsyncSession, profile: Profile, defaults: NewUserDefaults = NewUserDefaults()
) -> User:
    """Create the account on the first update, refresh name and activity on later ones.

    The account is read first, with one plain ``SELECT``: when nothing Telegram says about the
    user changed and their activity stamp is fresh (``ACTIVITY_RESOLUTION``), that is all, so an
    update that only reads takes no write lock. Otherwise one ``INSERT … ON CONFLICT DO UPDATE
    … RETURNING`` writes it: two first updates at once still make one account, and the role is
    never touched here. The role is always the stored one: a change made anywhere (another
    admin, the CLI in another process) counts from the user's next update.
    """
    now = utcnow()
    known = await session.scalar(_account_query(), {"telegram_id": profile.telegram_id})
    if known is not None and _up_to_date(known, profile, now):
        return known
    refreshed = {
        "username": profile.username,
        "full_name": profile.full_name[:256],
        "language_code": profile.language_code,
        "last_active_at": now,
    }
    stmt = upsert(
        session,
        User,
        values={
            "telegram_id": profile.telegram_id,
            "role": Role.student,
            "timezone": defaults.timezone,
            "reminder_hour": defaults.reminder_hour,
            "reminders_enabled": True,
            "is_blocked": False,
            "created_at": now,
            **refreshed,
        },
        index_elements=["telegram_id"],
        # Any update from the user proves they have not blocked the bot.
        update={**refreshed, "is_blocked": False},
    )
    user = await session.scalar(stmt.returning(User), execution_options={"populate_existing": True})
    assert user is not None
    return user


def _up_to_date(user: User, profile: Profile, now: datetime) -> bool:
    return (
        user.username == profile.username
        and user.full_name == profile.full_name[:256]
        and user.language_code == profile.language_code
        and not user.is_blocked  # any update from the user proves they unblocked the bot
        and user.last_active_at > now - ACTIVITY_RESOLUTION
    )


async def get_user(session: AsyncSession, telegram_id: int) -> User:
    user = await session.scalar(
        select(User)
        .where(User.telegram_id == telegram_id)
        .execution_options(populate_existing=True)
    )
    if user is None:
        raise NotFound(Reason.no_such_user)
    return user


async def set_blocked(session: AsyncSession, telegram_id: int, blocked: bool) -> None:
    """Remember whether the user blocked the bot, so nothing is pushed to them meanwhile."""
    await session.execute(
        update(User)
        .where(User.telegram_id == telegram_id)
        .values(is_blocked=blocked)
        .execution_options(synchronize_session=False)
    )


def require_role(user: User, role: Role) -> User:
    """The one authorisation check: the user's stored role must be at least ``role``."""
    if user.role.rank < role.rank:
        raise Forbidden(Reason.role_required, role=role)
    return user


async def ensure_user(session: AsyncSession, telegram_id: int) -> User:
    """The account for an id that may not have talked to the bot yet (CLI, configuration)."""
    await session.execute(
        upsert(
            session,
            User,
            values={"telegram_id": telegram_id, "role": Role.student, "full_name": ""},
            index_elements=["telegram_id"],
            update=None,
        )
    )
    return await get_user(session, telegram_id)


async def set_role(
    session: AsyncSession, target: User, new_role: Role, actor: User | None = None
) -> bool:
    """Change a role and audit it; ``actor=None`` means the command line or configuration.

    Returns whether anything changed. The last admin cannot demote themself.
    """
    if actor is not None:
        require_role(actor, Role.admin)
    old_role = target.role
    if old_role == new_role:
        return False
    if old_role == Role.admin and new_role != Role.admin:
        # The admins' rows are locked before counting (PostgreSQL; SQLite's BEGIN IMMEDIATE
        # already serialises): two admins stepping down at once cannot both see another admin
        # (on PostgreSQL one of them may end in a deadlock error instead, which changes nothing).
        admins = await session.scalars(
            select(User.id).where(User.role == Role.admin).with_for_update()
        )
        if len(admins.all()) <= 1:
            raise Conflict(Reason.last_admin)
    target.role = new_role
    session.add(
        RoleChange(
            actor_id=actor.id if actor else None,
            target_id=target.id,
            old_role=old_role,
            new_role=new_role,
        )
    )
    await session.flush()
    return True


async def raise_role(
    session: AsyncSession, telegram_id: int, at_least: Role, actor: User | None = None
) -> tuple[User, bool]:
    """Make sure the account exists and has at least ``at_least``; never lowers a role."""
    user = await ensure_user(session, telegram_id)
    if user.role.rank >= at_least.rank:
        return user, False
    return user, await set_role(session, user, at_least, actor)


async def staff(session: AsyncSession) -> list[User]:
    """Instructors and admins who have written to the bot: those whose menu can be set.

    Accounts made by configuration or the CLI have no name until their first update, and
    Telegram refuses a per-chat menu for a chat that does not exist yet.
    """
    result = await session.scalars(
        select(User).where(User.role != Role.student, User.full_name != "").order_by(User.id)
    )
    return list(result)

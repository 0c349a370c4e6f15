"""Invites (SPEC §1, §4): single-use deep links ``t.me/<bot>?start=inv-<code>`` that make
their user an instructor or an admin.

The code is ``CODE_BYTES`` random bytes (``secrets.token_urlsafe``) and only its hash is stored,
so a leaked database holds no usable invite. The hash is ``passlib.hash.hex_sha256``: the
redeemed code must be *found* by its hash, which needs a deterministic hash (a salted one such
as argon2 can only be compared row by row), and a slow hash buys nothing here, because slow
hashing protects guessable secrets such as passwords, while 192 random bits cannot be
enumerated from a hash at any speed. Guessing through the bot itself is throttled per user
(``db.throttle``, scope ``invite``) like enrollment keys.

Redeeming is one transaction whose first write is one conditional ``UPDATE … WHERE used_at IS
NULL AND revoked_at IS NULL AND expires_at > now``: of two people (or two taps) racing for one
code, exactly one gets the row. An invite made by someone who is no longer an admin is void.

Time is read from ``db.models.utcnow`` through the module at each call, so a test can move
the clock (or pass ``now``).
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from passlib.hash import hex_sha256
from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db import models
from db.accounts import require_role, set_role
from db.errors import Conflict, Invalid, NotFound, Reason
from db.models import Invite, Role, User
from db.paging import Page, clamp_page
from db.throttle import LOCKOUT, TooManyGuesses, check_guesses, forget_guesses, record_wrong_guess

CODE_BYTES = 24  # 192 random bits: 32 URL-safe characters, well within a 64-character payload
INVITES_PAGE_SIZE = 8
INVITE_SCOPE = "invite"  # one throttle for all invite guesses: codes are not per anything
INVITABLE = (Role.instructor, Role.admin)
_CODE_LENGTH = len(secrets.token_urlsafe(CODE_BYTES))
_CODE_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class InviteState(enum.StrEnum):
    active = "active"
    used = "used"
    expired = "expired"
    revoked = "revoked"


@dataclass(frozen=True)
class NewInvite:
    invite: Invite
    code: str  # shown once, to the admin who made it; never stored


@dataclass(frozen=True)
class InviteEntry:
    invite: Invite
    created_by: str
    used_by: str | None
    state: InviteState


@dataclass(frozen=True)
class Redeemed:
    user: User
    role: Role  # the invite's role
    raised: bool  # whether the user's role went up (an invite never lowers one)
    inviter: User | None  # None when ``already``
    already: bool = False  # the user had redeemed this very invite before (a second tap)


def hash_code(code: str) -> str:
    """Deterministic, so the row is found by it; unsalted and fast is safe for 192 random bits
    (see the module's docstring), never for a secret a person chose."""
    return hex_sha256.hash(code)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else models.utcnow()


def _well_formed(code: str) -> bool:
    return len(code) == _CODE_LENGTH and set(code) <= _CODE_CHARACTERS


def state_of(invite: Invite, now: datetime) -> InviteState:
    if invite.used_at is not None:
        return InviteState.used
    if invite.revoked_at is not None:
        return InviteState.revoked
    if invite.expires_at <= now:
        return InviteState.expired
    return InviteState.active


async def create_invite(
    session: AsyncSession, admin: User, role: Role, ttl: timedelta, *, now: datetime | None = None
) -> NewInvite:
    """A new invite to ``role`` (instructor or admin) that expires after ``ttl``."""
    require_role(admin, Role.admin)
    if role not in INVITABLE:
        raise Invalid(Reason.invite_role)
    now = _now(now)
    code = secrets.token_urlsafe(CODE_BYTES)
    invite = Invite(
        code_hash=hash_code(code),
        role=role,
        created_by_id=admin.id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invite)
    await session.flush()
    return NewInvite(invite, code)


async def invites_page(
    session: AsyncSession, admin: User, page: int, *, now: datetime | None = None
) -> Page[InviteEntry]:
    """Every invite, the newest first, with who made and who used it, and its state."""
    require_role(admin, Role.admin)
    now = _now(now)
    total = await session.scalar(select(func.count(Invite.id))) or 0
    page, pages = clamp_page(page, total, INVITES_PAGE_SIZE)
    creator, user = aliased(User), aliased(User)
    rows = await session.execute(
        select(Invite, creator, user)
        .join(creator, creator.id == Invite.created_by_id)
        .outerjoin(user, user.id == Invite.used_by_id)
        .order_by(Invite.created_at.desc(), Invite.id.desc())
        .limit(INVITES_PAGE_SIZE)
        .offset(page * INVITES_PAGE_SIZE)
        .execution_options(populate_existing=True)
    )
    entries = [
        InviteEntry(
            invite,
            made_by.display_name,
            used_by.display_name if used_by is not None else None,
            state_of(invite, now),
        )
        for invite, made_by, used_by in rows
    ]
    return Page(entries, page, pages, total)


async def revoke_invite(
    session: AsyncSession, admin: User, invite_id: int, *, now: datetime | None = None
) -> Invite:
    """Void an invite nobody has used yet (any admin may revoke any invite)."""
    require_role(admin, Role.admin)
    revoked = await session.scalar(
        update(Invite)
        .where(Invite.id == invite_id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
        .values(revoked_at=_now(now))
        .returning(Invite)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if revoked is not None:
        return revoked
    if await session.scalar(select(exists().where(Invite.id == invite_id))):
        raise Conflict(Reason.invite_not_revocable)
    raise NotFound(Reason.invite_gone)


async def redeem_invite(
    session: AsyncSession, user: User, code: str, *, now: datetime | None = None
) -> Redeemed:
    """Use an invite: the user gets at least its role, audited as a change by the inviter.

    An expired, used, revoked or unknown code is one refusal (``invite_invalid``), counted as
    a wrong guess; the count is committed before refusing, so it sticks.
    """
    now = _now(now)
    await check_guesses(session, user, INVITE_SCOPE)
    if _well_formed(code):
        code_hash = hash_code(code)
        still_admin = select(User.id).where(User.role == Role.admin)
        invite = await session.scalar(
            update(Invite)
            .where(
                Invite.code_hash == code_hash,
                Invite.used_at.is_(None),
                Invite.revoked_at.is_(None),
                Invite.expires_at > now,
                Invite.created_by_id.in_(still_admin),
            )
            .values(used_by_id=user.id, used_at=now)
            .returning(Invite)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        if invite is not None:
            inviter = await session.get(User, invite.created_by_id, populate_existing=True)
            assert inviter is not None
            raised = False
            if user.role.rank < invite.role.rank:
                raised = await set_role(session, user, invite.role, inviter)
            await forget_guesses(session, user, INVITE_SCOPE)
            return Redeemed(user, invite.role, raised, inviter)
        mine = await session.scalar(
            select(Invite.role).where(Invite.code_hash == code_hash, Invite.used_by_id == user.id)
        )
        if mine is not None:
            return Redeemed(user, mine, raised=False, inviter=None, already=True)
    locked = await record_wrong_guess(session, user, INVITE_SCOPE)
    await session.commit()
    if locked:
        raise TooManyGuesses(LOCKOUT)
    raise NotFound(Reason.invite_invalid)

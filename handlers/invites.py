"""Invites: /invite <role> makes a single-use deep link, /invite lists and revokes them, and
``/start inv-<code>`` (``handlers.start``) redeems one.

    /invite admin ─► link t.me/<bot>?start=inv-<code> (shown once: only its hash is stored)
    /invite ─► the invites, newest first ─► [🚫 Revoke #n] ─► the same page, revoked
    /start inv-<code> ─► role raised, menu changed, the inviter told
                      └─ expired, used, revoked, mistyped ─► one answer (and a counted guess)

Making and revoking are for admins, checked from the database; redeeming is for anyone.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Bot, Update

from bot import keyboards, texts
from bot.callbacks import Action
from bot.menus import set_menu
from db.invites import create_invite, invites_page, redeem_invite, revoke_invite
from db.models import Role
from db.users import parse_role
from handlers.common import Context, Turn, button, command
from handlers.users import tell

ADMIN = Role.admin
PAYLOAD_PREFIX = "inv-"


async def show_invites(turn: Turn, page: int) -> None:
    shown = await invites_page(turn.session, turn.user, page)
    turn.show(texts.invites(shown), keyboards.invites(shown))


@command("invite", role=ADMIN)
async def cmd_invite(update: Update, context: Context, turn: Turn) -> None:
    """/invite <role> makes a link; /invite alone lists the invites."""
    args = context.args or []
    if not args:
        await show_invites(turn, 0)
        return
    if len(args) != 1:
        turn.reply(texts.INVITE_USAGE)
        return
    role = parse_role(args[0])
    ttl = timedelta(days=context.services.settings.invite_ttl_days)
    made = await create_invite(turn.session, turn.user, role, ttl)
    link = f"https://t.me/{context.bot.username}?start={PAYLOAD_PREFIX}{made.code}"
    turn.reply(texts.invite_created(link, role, made.invite.expires_at))


@button(Action.invites_page, role=ADMIN)
async def on_invites_page(update: Update, context: Context, turn: Turn) -> None:
    await show_invites(turn, turn.args[0])


@button(Action.invite_revoke, role=ADMIN)
async def on_invite_revoke(update: Update, context: Context, turn: Turn) -> None:
    """Revoke: the link stops working at once; the list shows it."""
    invite_id, page = turn.args
    await revoke_invite(turn.session, turn.user, invite_id)
    turn.answer(texts.INVITE_REVOKED_TOAST)
    await show_invites(turn, page)


async def redeem(turn: Turn, context: Context, code: str) -> None:
    """``/start inv-<code>``: the role (never lowered), the new menu, and the inviter told."""
    outcome = await redeem_invite(turn.session, turn.user, code)
    user = turn.user
    if outcome.already:
        turn.reply(texts.invite_already_yours(user.role))
        return
    turn.reply(texts.invite_redeemed(outcome.role, user.role, outcome.raised))
    inviter, database = outcome.inviter, context.services.database
    notice = texts.invite_used(user, outcome.role, outcome.raised)
    # Not themself, and not an account that never wrote to the bot or blocked it.
    tells_inviter = (
        inviter is not None
        and inviter.id != user.id
        and bool(inviter.full_name)
        and not inviter.is_blocked
    )
    inviter_chat = inviter.telegram_id if inviter is not None else 0

    async def effect(bot: Bot) -> None:
        await set_menu(bot, user)
        if tells_inviter:
            await tell(bot, database, inviter_chat, notice)

    turn.after(effect)

"""Admins and people: /users, a user's card, role changes, /promote, and the audit.

A role change is always confirmed, from the card or from /promote (the command names the user
and the role, but a mistyped id would otherwise promote a stranger; the confirmation shows who
it is)::

    /users [query] ─► [user] ─► card ─► [Make instructor] ─► "student → instructor?"
                                  ▲                              │ [Confirm]      │ [Cancel]
    /promote @username role ──────┼──────────────────────────────┘                ▼
                                  └──── card, "role changed" ◄── changed, audited  card

After the commit the user is told and their command menu is set (``bot.menus.set_menu``);
a user who has not started the bot yet gets the menu at their first /start, and the admin is
told that they could not be told. Every handler is for admins, checked from the database.
"""

from __future__ import annotations

import logging

from telegram import Bot, Update
from telegram.error import Forbidden, TelegramError

from bot import keyboards, texts
from bot.callbacks import Action
from bot.menus import set_menu
from db.accounts import set_blocked
from db.engine import Database
from db.models import Role, User
from db.users import (
    audit_page,
    change_role,
    find_user,
    parse_role,
    role_at,
    role_target,
    user_card,
    users_page,
)
from handlers.common import Context, Turn, button, command

log = logging.getLogger(__name__)

ADMIN = Role.admin


async def tell(bot: Bot, database: Database, chat_id: int, text: str) -> bool:
    """A message to another user's chat; False if it cannot reach them (blocked: noted)."""
    try:
        await bot.send_message(chat_id, text)
    except Forbidden:
        async with database.session() as session:
            await set_blocked(session, chat_id, True)
        return False
    except TelegramError as error:  # "chat not found": they never started the bot
        log.info("Could not tell user %s: %s", chat_id, error.message)
        return False
    return True


# -- the list and the card -----------------------------------------------------------------------


@command("users", role=ADMIN)
async def cmd_users(update: Update, context: Context, turn: Turn) -> None:
    """/users [query]: people, the most recently active first."""
    page = await users_page(turn.session, turn.user, " ".join(context.args or []))
    turn.reply(texts.users_list(page), keyboards.users_list(page))


@button(Action.users_page, role=ADMIN)
async def on_users_page(update: Update, context: Context, turn: Turn) -> None:
    assert turn.callback is not None
    page = await users_page(turn.session, turn.user, turn.callback.text, turn.args[0])
    turn.show(texts.users_list(page), keyboards.users_list(page))


async def show_user(turn: Turn, user_id: int, note: str = "") -> None:
    card = await user_card(turn.session, turn.user, user_id)
    turn.show(texts.user_card(card, note), keyboards.user_card(card))


@button(Action.user_open, role=ADMIN)
async def on_user_open(update: Update, context: Context, turn: Turn) -> None:
    await show_user(turn, turn.args[0])


# -- role changes --------------------------------------------------------------------------------


def ask_to_confirm(turn: Turn, target: User, role: Role) -> None:
    turn.show(
        texts.confirm_role_change(target, role),
        keyboards.confirm_role(target.id, role, target.role),
    )


@button(Action.user_role, role=ADMIN)
async def on_user_role(update: Update, context: Context, turn: Turn) -> None:
    """Make <role>: asks first, showing the change."""
    user_id, index = turn.args
    role = role_at(index)
    if role is None:
        turn.answer(texts.STALE_BUTTON, alert=True)
        return
    target = await role_target(turn.session, turn.user, user_id)
    if target.role == role:
        turn.answer(texts.ROLE_UNCHANGED_TOAST)
        await show_user(turn, user_id)
        return
    ask_to_confirm(turn, target, role)


@button(Action.user_role_confirm, role=ADMIN)
async def on_user_role_confirm(update: Update, context: Context, turn: Turn) -> None:
    """The confirmed change: audited; the user is told and their menu changes."""
    user_id, index, shown_index = turn.args
    role, shown = role_at(index), role_at(shown_index)
    if role is None or shown is None:
        turn.answer(texts.STALE_BUTTON, alert=True)
        return
    outcome = await change_role(turn.session, turn.user, user_id, role, shown)
    if not outcome.changed:
        turn.answer(texts.ROLE_UNCHANGED_TOAST)
    else:
        turn.answer(texts.ROLE_CHANGED_TOAST)
        _tell_and_set_menu(turn, context, outcome.target, outcome.old_role)
    note = texts.role_changed(outcome.old_role, outcome.new_role) if outcome.changed else ""
    if turn.user.role == ADMIN:
        await show_user(turn, user_id, note)
    else:  # an admin who stepped down manages nobody any more
        turn.show(note or texts.ROLE_UNCHANGED_TOAST)


def _tell_and_set_menu(turn: Turn, context: Context, target: User, old_role: Role) -> None:
    """After the commit: tell the user (unless they changed their own role), set their menu.

    An account that never wrote to the bot (made by the command line) has no name and no chat
    yet (as in ``db.accounts.staff``): Telegram would refuse both, so its menu waits for its
    first /start; one that blocked the bot is not written to.
    """
    database, admin_chat = context.services.database, turn.chat_id
    own, has_chat = target.id == turn.user.id, bool(target.full_name)
    notice = texts.role_notice(old_role, target.role)

    async def effect(bot: Bot) -> None:
        if not own:
            reachable = has_chat and not target.is_blocked
            if not reachable or not await tell(bot, database, target.telegram_id, notice):
                await bot.send_message(admin_chat, texts.could_not_tell(target.display_name))
        if has_chat:
            await set_menu(bot, target)

    turn.after(effect)


@command("promote", role=ADMIN)
async def cmd_promote(update: Update, context: Context, turn: Turn) -> None:
    """/promote <@username or id> <role>: the same confirmation as the card's buttons."""
    args = context.args or []
    if len(args) != 2:
        turn.reply(texts.PROMOTE_USAGE)
        return
    role = parse_role(args[1])
    target = await find_user(turn.session, turn.user, args[0])
    if target.role == role:
        turn.reply(texts.role_unchanged(target))
        return
    ask_to_confirm(turn, target, role)


# -- the audit -----------------------------------------------------------------------------------


@button(Action.audit_page, role=ADMIN)
async def on_audit_page(update: Update, context: Context, turn: Turn) -> None:
    """The latest role changes, paginated in place."""
    page = await audit_page(turn.session, turn.user, turn.args[0])
    turn.show(texts.audit(page), keyboards.audit(page))

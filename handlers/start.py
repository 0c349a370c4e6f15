"""/start (with deep links), /help, /cancel, and what no other handler took."""

from __future__ import annotations

import re

from telegram import Bot, Update
from telegram.constants import ChatMemberStatus, ChatType

from bot import texts
from bot.callbacks import Action
from bot.menus import set_menu
from db.accounts import set_blocked
from db.errors import NotFound, Reason
from db.models import MAX_ID
from handlers.catalog import show_course_card
from handlers.common import ROUTES, Context, Turn, button, command
from handlers.invites import PAYLOAD_PREFIX as INVITE_PREFIX
from handlers.invites import redeem

COURSE_LINK = re.compile(r"course-([0-9]{1,40})")


@command("start")
async def cmd_start(update: Update, context: Context, turn: Turn) -> None:
    """Welcome; ``/start course-<id>`` (a t.me deep link) opens that course's card, and
    ``/start inv-<code>`` redeems an invite (``handlers.invites``)."""
    payload = context.args[0] if context.args else ""
    if payload.startswith(INVITE_PREFIX):
        await redeem(turn, context, payload.removeprefix(INVITE_PREFIX))
        return
    if match := COURSE_LINK.fullmatch(payload):
        course_id = int(match.group(1))
        if not 0 < course_id <= MAX_ID:  # no such course (and PostgreSQL would refuse the id)
            raise NotFound(Reason.course_not_available)
        await show_course_card(turn, course_id)
        return
    user = turn.user

    async def refresh_menu(bot: Bot) -> None:
        # Menus are per chat and follow role changes made elsewhere (CLI, configuration).
        await set_menu(bot, user)

    turn.after(refresh_menu)
    turn.reply(texts.welcome(update.effective_user.first_name, user.role))


@command("help")
async def cmd_help(update: Update, context: Context, turn: Turn) -> None:
    """The commands of the caller's role, read from the database on every call."""
    turn.reply(texts.help_text(turn.user.role))


@command("cancel")
async def cmd_cancel(update: Update, context: Context, turn: Turn) -> None:
    """/cancel: the wrapper has already left any open dialog; say which, or that none was."""
    turn.reply(ROUTES.cancelled(turn.left_dialog) or texts.NOTHING_TO_CANCEL)


def reply_unknown(turn: Turn) -> None:
    turn.reply(texts.UNKNOWN_INPUT)


@button(Action.noop)
async def on_noop(update: Update, context: Context, turn: Turn) -> None:
    """Labels such as the page counter: answered, nothing else."""


async def on_stale_button(update: Update, context: Context) -> None:
    """Any callback data no handler recognised (old versions, forgeries)."""
    if update.callback_query is not None:
        await update.callback_query.answer(texts.STALE_BUTTON, show_alert=True)


async def on_my_chat_member(update: Update, context: Context) -> None:
    """The user blocked or unblocked the bot in their private chat."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    blocked = change.new_chat_member.status == ChatMemberStatus.BANNED
    async with context.services.database.session() as session:
        await set_blocked(session, change.chat.id, blocked)

"""/start (with deep links), /help, /cancel outside dialogs, and anything not understood."""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from bot import keyboards, texts
from bot.menus import set_menu
from db.accounts import set_blocked
from db.catalog import course_card
from handlers.common import Context, Turn, as_student, database

COURSE_LINK = re.compile(r"course-([1-9][0-9]{0,17})")


@as_student
async def cmd_start(update: Update, context: Context, turn: Turn) -> None:
    """Welcome; ``/start course-<id>`` (a t.me deep link) opens that course's card."""
    payload = context.args[0] if context.args else ""
    if match := COURSE_LINK.fullmatch(payload):
        card = await course_card(turn.session, turn.user, int(match.group(1)))
        await turn.commit()
        await turn.reply(texts.course_card(card), keyboards.course_card(card))
        return
    await turn.commit()
    # Menus are per chat and follow role changes made elsewhere (CLI, configuration).
    await set_menu(context.bot, turn.user)
    await turn.reply(texts.welcome(update.effective_user.first_name, turn.user.role))


@as_student
async def cmd_help(update: Update, context: Context, turn: Turn) -> None:
    """The commands of the caller's role, read from the database on every call."""
    await turn.commit()
    await turn.reply(texts.help_text(turn.user.role))


@as_student
async def cmd_cancel(update: Update, context: Context, turn: Turn) -> None:
    """/cancel when no dialog is open."""
    await turn.commit()
    await turn.reply(texts.NOTHING_TO_CANCEL)


async def reply_unknown(turn: Turn) -> None:
    await turn.reply(texts.UNKNOWN_INPUT)


@as_student
async def on_unknown_message(update: Update, context: Context, turn: Turn) -> None:
    """Text, commands or files no handler took."""
    await turn.commit()
    await reply_unknown(turn)


@as_student
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
    async with database(context).session() as session:
        await set_blocked(session, change.chat.id, blocked)

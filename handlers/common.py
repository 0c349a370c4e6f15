"""What every handler shares: one session per update, the account, role checks, refusals.

A handler is written as ``async def on_x(update, context, turn) -> ...`` and wrapped by one of
``as_student`` / ``as_instructor`` / ``as_admin``. The wrapper opens the update's session,
creates or refreshes the account, checks the role stored in the database, runs the handler in
one transaction, turns domain errors into a short reply, and answers the callback query if the
handler did not.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.callbacks import Callback, decode
from bot.formatting import MESSAGE_LIMIT, escape, split_html, utf16_len
from bot.settings import Settings
from bot.texts import DIALOG_TIMED_OUT, PRIVATE_ONLY, STALE_BUTTON
from db.accounts import NewUserDefaults, Profile, require_role, touch_user
from db.engine import Database
from db.errors import DomainError
from db.models import Role, User

Context = ContextTypes.DEFAULT_TYPE
T = TypeVar("T")


@dataclass
class Turn:
    """One update's database session, the caller's account, and its parsed button."""

    session: AsyncSession
    user: User
    update: Update
    callback: Callback | None = None
    answered: bool = field(default=False)

    @property
    def args(self) -> tuple[int, ...]:
        """The integers of the pressed button (handlers are registered per action)."""
        assert self.callback is not None
        return self.callback.args

    async def commit(self) -> None:
        """Commit before talking to Telegram, so no lock is held across a network call."""
        await self.session.commit()

    async def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer the callback query once (Telegram allows one answer per query)."""
        if self.update.callback_query is None or self.answered:
            return
        self.answered = True
        await self.update.callback_query.answer(text, show_alert=alert)

    async def reply(self, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
        chat = self.update.effective_chat
        assert chat is not None
        return await chat.send_message(text, reply_markup=markup)

    async def reply_long(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Text of any length, split on paragraphs into messages; buttons on the last one."""
        parts = split_html(text)
        for index, part in enumerate(parts):
            await self.reply(part, markup if index == len(parts) - 1 else None)

    def _message(self) -> Message | None:
        query = self.update.callback_query
        return query.message if query and isinstance(query.message, Message) else None

    async def show(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Navigation: edit the button's message in place, or send a new one for commands."""
        if self._message() is None or utf16_len(text) > MESSAGE_LIMIT:
            await self.reply_long(text, markup)
        else:
            await self.edit(text, markup)

    async def edit(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Replace the text (and buttons) of the message whose button was pressed."""
        if message := self._message():
            with _unchanged_is_fine():
                await message.edit_text(text, reply_markup=markup)

    async def edit_markup(self, markup: InlineKeyboardMarkup | None) -> None:
        """Replace only the buttons of the message whose button was pressed."""
        if message := self._message():
            with _unchanged_is_fine():
                await message.edit_reply_markup(markup)


@contextmanager
def _unchanged_is_fine() -> Iterator[None]:
    """A double tap asks for what is already shown: Telegram says "not modified"; that is fine."""
    try:
        yield
    except BadRequest as error:
        if "message is not modified" not in error.message:
            raise


def database(context: Context) -> Database:
    return context.bot_data["db"]


def settings(context: Context) -> Settings:
    return context.bot_data["settings"]


def profile_of(update: Update) -> Profile | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    return Profile(user.id, user.username, user.full_name, user.language_code)


async def refuse(update: Update, message: str, *, answered: bool = False) -> None:
    """A short, friendly refusal: an alert on a button (unless already answered), else a message."""
    if update.callback_query is not None and not answered:
        await update.callback_query.answer(message, show_alert=True)
    elif update.effective_chat is not None:
        await update.effective_chat.send_message(escape(message))


async def outside_private_chat(update: Update) -> bool:
    """Learning happens in private chats; in a group, a command gets a pointer, the rest nothing."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return False
    message = update.effective_message
    if update.callback_query is not None:
        await update.callback_query.answer(PRIVATE_ONLY, show_alert=True)
    elif message is not None and (message.text or "").startswith("/"):
        await message.reply_text(PRIVATE_ONLY)
    return True


Handler = Callable[[Update, Context, Turn], Awaitable[T]]


def authorized(
    role: Role,
) -> Callable[[Handler[T]], Callable[[Update, Context], Awaitable[T | None]]]:
    def decorate(handler: Handler[T]) -> Callable[[Update, Context], Awaitable[T | None]]:
        @functools.wraps(handler)
        async def wrapper(update: Update, context: Context) -> T | None:
            profile = profile_of(update)
            if profile is None or await outside_private_chat(update):
                return None
            callback = None
            if update.callback_query is not None:
                callback = decode(update.callback_query.data)
                if callback is None:
                    await update.callback_query.answer(STALE_BUTTON, show_alert=True)
                    return None
            config = settings(context)
            defaults = NewUserDefaults(config.default_timezone, config.reminder_hour)
            turn: Turn | None = None
            try:
                async with database(context).session() as session:
                    user = await touch_user(session, profile, defaults)
                    turn = Turn(session, user, update, callback)
                    require_role(user, role)
                    result = await handler(update, context, turn)
            except DomainError as error:
                await refuse(update, error.message, answered=turn is not None and turn.answered)
                return None
            await turn.answer()
            return result

        return wrapper

    return decorate


as_student = authorized(Role.student)
as_instructor = authorized(Role.instructor)
as_admin = authorized(Role.admin)


def dialog_timed_out(pending_key: str) -> Callable[[Update, Context], Awaitable[None]]:
    """The TIMEOUT callback of a dialog: forget what it was waiting for, and say so."""

    async def on_timeout(update: Update, context: Context) -> None:
        context.user_data.pop(pending_key, None)
        if update.effective_chat is not None:
            await update.effective_chat.send_message(DIALOG_TIMED_OUT)

    return on_timeout

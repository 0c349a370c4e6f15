"""One path through every update: the account, the role, one transaction, then Telegram.

A handler is ``async def on_x(update, context, turn) -> None``, registered and wrapped by
``command`` / ``button`` (or ``dialog_step`` for typed answers). The wrapper:

1. ignores chats that are not private (a command there gets a pointer), refuses forged buttons;
2. opens the update's session, creates or refreshes the account, leaves or hands over the open
   dialog, and checks the role stored in the database;
3. runs the handler, whose database work is one transaction; the handler never talks to
   Telegram: it *records* what to show on the ``Turn`` (``reply``, ``show``, ``edit``,
   ``answer``…);
4. commits, and only then sends what was recorded: the callback answer, alongside the rest in
   order. A refusal from ``db/`` (``DomainError``) rolls back, records nothing, and becomes a
   short alert or message worded by ``bot.texts.refusal``.

So no Telegram request is ever made while a transaction holds a lock, and every button is
answered exactly once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    filters,
)

from bot import texts
from bot.callbacks import Action, Callback, decode, pattern
from bot.campaigns import Pushes
from bot.formatting import MESSAGE_LIMIT, escape, split_html, utf16_len
from bot.sender import PacedSender
from bot.settings import Settings
from db.accounts import NewUserDefaults, Profile, require_role, touch_user
from db.dialogs import Dialog, close_dialog, dialog_of, end_dialog
from db.engine import Database, is_busy
from db.errors import DomainError, Invalid, Reason
from db.models import MediaKind, Role, User, utcnow

log = logging.getLogger(__name__)

# -- typed services and context ------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    """What handlers and jobs use, created once by ``bot.app.build_application``."""

    settings: Settings
    database: Database
    dialog_timeout: timedelta
    sender: PacedSender  # every push to many users, paced at SEND_RATE_PER_SECOND together
    pushes: Pushes  # the campaigns (announcements, broadcasts) this process is sending


class LearnApplication(Application):  # type: ignore[type-arg]
    """PTB's Application, carrying the services (``ApplicationBuilder.application_class``).

    Starting it also resumes the campaigns a previous run left unfinished; stopping it stops
    them first (nothing is lost: see ``bot.campaigns``).
    """

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def start(self) -> None:
        await super().start()
        await self.services.pushes.resume(self.bot)

    async def stop(self) -> None:
        await self.services.pushes.stop()
        await super().stop()


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context of every handler and job, with the services typed."""

    @property
    def services(self) -> Services:
        return cast(LearnApplication, self.application).services


# -- the turn: one update's session, account and outbox -----------------------------------------

Effect = Callable[[Bot], Awaitable[object]]


@dataclass
class Turn:
    """One update's database session, the caller's account, its parsed button, and what to show.

    ``dialog`` is the open dialog this update may answer (typed text or a file); a button or a
    command leaves it, and then ``left_dialog`` says which one was left (for /cancel).
    Nothing recorded here is sent before the transaction is committed.
    """

    session: AsyncSession
    user: User
    update: Update
    callback: Callback | None = None
    dialog: Dialog | None = None
    left_dialog: Dialog | None = None
    answered: bool = False
    _answer: tuple[str | None, bool] | None = None
    _effects: list[Effect] = field(default_factory=list)

    @property
    def args(self) -> tuple[int, ...]:
        """The integers of the pressed button (handlers are registered per action)."""
        assert self.callback is not None
        return self.callback.args

    @property
    def chat_id(self) -> int:
        chat = self.update.effective_chat
        assert chat is not None
        return chat.id

    def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        """The button's answer (a toast, or an alert); only the first one counts."""
        if self._answer is None:
            self._answer = (text, alert)

    def reply(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """A new message in the user's chat."""
        self.send(self.chat_id, text, markup)

    def send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """A new message in any chat (a student told of a review, for instance)."""
        self._effects.append(
            functools.partial(_send_message, chat_id=chat_id, text=text, markup=markup)
        )

    def reply_long(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Text of any length, split on paragraphs into messages; buttons on the last one."""
        parts = split_html(text)
        for index, part in enumerate(parts):
            self.reply(part, markup if index == len(parts) - 1 else None)

    def reply_media(self, kind: MediaKind, file_id: str, caption: str | None) -> None:
        self._effects.append(
            functools.partial(
                _send_media, chat_id=self.chat_id, kind=kind, file_id=file_id, caption=caption
            )
        )

    def reply_document(self, filename: str, content: bytes, caption: str | None = None) -> None:
        """A file made by the bot (an exported course), sent as a document."""
        self._effects.append(
            functools.partial(
                _send_document,
                chat_id=self.chat_id,
                document=InputFile(content, filename=filename),
                caption=caption,
            )
        )

    def show(
        self, text: str, markup: InlineKeyboardMarkup | None = None, *, new: bool = False
    ) -> None:
        """Navigation: edit the button's message in place, or send new messages for commands
        (and when ``new``: after a dialog's answer, say)."""
        if new or self._message() is None or utf16_len(text) > MESSAGE_LIMIT:
            self.reply_long(text, markup)
        else:
            self.edit(text, markup)

    def edit(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Replace the text (and buttons) of the message whose button was pressed."""
        if message := self._message():
            self._effects.append(functools.partial(_edit_text, message, text, markup))

    def edit_markup(self, markup: InlineKeyboardMarkup | None) -> None:
        """Replace only the buttons of the message whose button was pressed."""
        if message := self._message():
            self._effects.append(functools.partial(_edit_markup, message, markup))

    def after(self, effect: Effect) -> None:
        """Anything else to do with Telegram once the transaction is committed, in order."""
        self._effects.append(effect)

    def typed_text(self) -> str:
        """The text of the message answering a dialog; anything else (a photo, a sticker) is
        refused as ``Invalid``, so the prompt stands and the user can type it."""
        message = self.update.effective_message
        if message is None or message.text is None:
            raise Invalid(Reason.type_as_text)
        return message.text

    def _message(self) -> Message | None:
        query = self.update.callback_query
        return query.message if query and isinstance(query.message, Message) else None

    async def deliver(self, bot: Bot) -> None:
        """After the commit: the button's answer (always exactly one) alongside the rest, which
        goes in order. The answer (a toast, or just the end of the button's spinner) and the
        messages are independent in Telegram, so the update waits for one round trip fewer."""
        query = self.update.callback_query
        answering = None
        if query is not None:
            text, alert = self._answer or (None, False)
            answering = asyncio.ensure_future(query.answer(text, show_alert=alert))
        try:
            for effect in self._effects:
                await effect(bot)
        finally:
            if answering is not None:
                await answering
                self.answered = True


async def _send_message(
    bot: Bot, *, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    await bot.send_message(chat_id, text, reply_markup=markup)


async def _send_media(
    bot: Bot, *, chat_id: int, kind: MediaKind, file_id: str, caption: str | None
) -> None:
    send = {
        MediaKind.photo: bot.send_photo,
        MediaKind.video: bot.send_video,
        MediaKind.document: bot.send_document,
        MediaKind.audio: bot.send_audio,
    }[kind]
    try:
        await send(chat_id, file_id, caption=caption)
    except BadRequest as error:
        # A file id Telegram does not know (from another bot, say, in an imported course): the
        # lesson goes on without it, and the student is told what is missing.
        log.warning("Telegram refused a %s (file id %.12s…): %s", kind.value, file_id, error)
        await bot.send_message(chat_id, texts.media_unavailable(kind.value, caption))


async def _send_document(
    bot: Bot, *, chat_id: int, document: InputFile, caption: str | None
) -> None:
    await bot.send_document(chat_id, document, caption=caption)


async def _edit_text(
    message: Message, text: str, markup: InlineKeyboardMarkup | None, _bot: Bot
) -> None:
    try:
        await message.edit_text(text, reply_markup=markup)
    except BadRequest as error:
        _unless_unchanged(error)


async def _edit_markup(message: Message, markup: InlineKeyboardMarkup | None, _bot: Bot) -> None:
    try:
        await message.edit_reply_markup(markup)
    except BadRequest as error:
        _unless_unchanged(error)


def _unless_unchanged(error: BadRequest) -> None:
    """A double tap asks for what is already shown: Telegram says "not modified"; that is fine.

    (PTB capitalises Telegram's description, so the comparison ignores case.)
    """
    if "message is not modified" not in error.message.lower():
        raise error


# -- the wrapper ---------------------------------------------------------------------------------

Handler = Callable[[Update, Context, Turn], Awaitable[None]]
Callback_ = Callable[[Update, Context], Awaitable[None]]


class UpdateFailed(Exception):
    """An unexpected error in a handler (the cause), for the error handler to report.

    It carries whether the button was already answered: Telegram takes one answer per query,
    so the user must then be told by a message instead.
    """

    def __init__(self, *, answered: bool) -> None:
        super().__init__("a handler failed")
        self.answered = answered


def profile_of(update: Update) -> Profile | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    return Profile(user.id, user.username, user.full_name, user.language_code)


async def refuse(update: Update, message: str) -> None:
    """A short, friendly refusal: an alert on a button, else a message."""
    if update.callback_query is not None:
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
        await update.callback_query.answer(texts.PRIVATE_ONLY, show_alert=True)
    elif message is not None and (message.text or "").startswith("/"):
        await message.reply_text(texts.PRIVATE_ONLY)
    return True


def authorized(role: Role) -> Callable[[Handler], Callback_]:
    """Wrap a handler in the one path every update takes (see the module's docstring)."""

    def decorate(handler: Handler) -> Callback_:
        @functools.wraps(handler)
        async def wrapper(update: Update, context: Context) -> None:
            profile = profile_of(update)
            if profile is None or await outside_private_chat(update):
                return
            callback = None
            if update.callback_query is not None:
                callback = decode(update.callback_query.data)
                if callback is None:
                    await update.callback_query.answer(texts.STALE_BUTTON, show_alert=True)
                    return
            services = context.services
            defaults = NewUserDefaults(
                services.settings.default_timezone, services.settings.reminder_hour
            )
            turn: Turn | None = None
            user_id, closed = 0, False
            # SQLite: first without the write lock, so an update that only reads runs beside
            # the writer; if it must write after another transaction did, once more with the
            # lock. A handler only records what to send, so running it again is harmless.
            for deferred in (True, False) if services.database.is_sqlite else (False,):
                try:
                    async with services.database.session(deferred=deferred) as session:
                        user = await touch_user(session, profile, defaults)
                        user_id = user.id  # still readable if a refusal rolls the session back
                        if user.role is not Role.student:  # statistics, exports, big changes
                            await services.database.offload(session)
                        turn = Turn(session, user, update, callback)
                        closed = _take_dialog(turn, services.dialog_timeout)
                        require_role(user, role)
                        await handler(update, context, turn)
                except DomainError as error:
                    assert turn is not None
                    ends_dialog = turn.dialog is not None and not isinstance(error, Invalid)
                    if closed or ends_dialog:  # leaving, or what the dialog was about is gone
                        async with services.database.session() as session:
                            await end_dialog(session, user_id)
                    await refuse(update, texts.refusal(error))
                    return
                except Exception as error:
                    if deferred and is_busy(error):
                        continue
                    raise UpdateFailed(answered=False) from error
                break
            assert turn is not None
            try:
                await turn.deliver(context.bot)
            except Exception as error:
                raise UpdateFailed(answered=turn.answered) from error

        return wrapper

    return decorate


def _take_dialog(turn: Turn, lifetime: timedelta) -> bool:
    """Typed text answers the open dialog; a button or a command leaves it.

    A dialog past its timeout is closed here too when the sweep (see ``bot.app``) has not got to
    it yet, for example because the bot was down. Returns whether a dialog was closed.
    """
    dialog = dialog_of(turn.user)
    if dialog is None:
        return False
    message = turn.update.message
    leaves = turn.update.callback_query is not None or (
        message is not None and (message.text or "").startswith("/")
    )
    if not dialog.is_expired(utcnow() - lifetime) and not leaves:
        turn.dialog = dialog
        return False
    if leaves:
        turn.left_dialog = dialog
    close_dialog(turn.user)
    return True


# -- routes: handlers register where they are written --------------------------------------------


@dataclass(frozen=True)
class DialogStep:
    """What answers one step of a dialog kind, who may answer it, and what /cancel says."""

    handle: Handler
    role: Role
    cancelled: str


@dataclass
class Routes:
    """Every command, button and dialog step, registered by the decorators below."""

    commands: list[BaseHandler[Any, Any, Any]] = field(default_factory=list)
    buttons: list[BaseHandler[Any, Any, Any]] = field(default_factory=list)
    dialog_steps: dict[tuple[str, str], DialogStep] = field(default_factory=dict)

    def step_of(self, dialog: Dialog | None) -> DialogStep | None:
        """What answers this dialog now (``None`` for a kind or step this version lacks)."""
        return self.dialog_steps.get((dialog.kind, dialog.step)) if dialog else None

    def cancelled(self, dialog: Dialog | None) -> str | None:
        """What /cancel says when it leaves this dialog."""
        if dialog is None:
            return None
        return next(
            (
                step.cancelled
                for (kind, _), step in self.dialog_steps.items()
                if kind == dialog.kind
            ),
            None,
        )


ROUTES = Routes()


def command(name: str, *, role: Role = Role.student) -> Callable[[Handler], Callback_]:
    """``/name`` in a new message (never an edit), for ``role`` and above."""

    def register(handler: Handler) -> Callback_:
        wrapped = authorized(role)(handler)
        ROUTES.commands.append(CommandHandler(name, wrapped, filters=filters.UpdateType.MESSAGE))
        return wrapped

    return register


def button(*actions: Action, role: Role = Role.student) -> Callable[[Handler], Callback_]:
    """Buttons of these actions (declared in ``bot.callbacks``), for ``role`` and above."""

    def register(handler: Handler) -> Callback_:
        wrapped = authorized(role)(handler)
        ROUTES.buttons.append(CallbackQueryHandler(wrapped, pattern(*actions)))
        return wrapped

    return register


def dialog_step(
    kind: str, step: str = "", *, cancelled: str, role: Role = Role.student
) -> Callable[[Handler], Handler]:
    """The handler of one step of a dialog kind: it gets the message that answers the prompt.

    A wizard is one kind with several steps: each step's handler checks the answer (an
    ``Invalid`` refusal asks again) and opens the same kind at the next step with what it has
    gathered (``db.dialogs.open_dialog``); the last one closes it.
    """

    def register(handle: Handler) -> Handler:
        ROUTES.dialog_steps[(kind, step)] = DialogStep(handle, role, cancelled)
        return handle

    return register

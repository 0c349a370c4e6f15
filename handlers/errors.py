"""The single error handler: log the traceback, tell the user briefly, never leak details."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.texts import GENERIC_ERROR
from handlers.common import Context, UpdateFailed

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    error = context.error
    answered = isinstance(error, UpdateFailed) and error.answered
    cause = error.__cause__ if isinstance(error, UpdateFailed) and error.__cause__ else error
    log.error("Error while handling an update", exc_info=cause)
    if not isinstance(update, Update) or isinstance(cause, Forbidden):
        return
    try:
        if update.callback_query is not None and not answered:
            await update.callback_query.answer(GENERIC_ERROR, show_alert=True)
        elif update.effective_chat is not None:
            # After the button was answered (say, a lesson failed half-way), a message.
            await update.effective_chat.send_message(GENERIC_ERROR)
    except TelegramError:
        # The chat may be gone: the log has the story.
        log.debug("Could not tell the user about the error", exc_info=True)

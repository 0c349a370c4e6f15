"""The single error handler: log the traceback, tell the user briefly, never leak details."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.texts import GENERIC_ERROR
from handlers.common import Context

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    log.error("Error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or isinstance(context.error, Forbidden):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(GENERIC_ERROR, show_alert=True)
        elif update.effective_chat is not None:
            await update.effective_chat.send_message(GENERIC_ERROR)
    except TelegramError:
        # The query may already be answered, or the chat gone: the log has the story.
        log.debug("Could not tell the user about the error", exc_info=True)

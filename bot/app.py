"""The composition root: build the Application, its services and every handler."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.callbacks import Action, pattern
from bot.menus import set_default_menu, set_menu
from bot.settings import Settings
from db.accounts import raise_role, staff
from db.engine import Database
from db.models import Role
from handlers import catalog, errors, lessons, progress, quiz, review, start

log = logging.getLogger(__name__)

HandlerCallback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[object]]

# Our dialogs start from buttons on purpose and track the user, not the message (see handlers).
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)

DIALOG_TIMEOUT = timedelta(minutes=15)

# The update types the bot handles, and so subscribes to (polling and webhook alike).
# Edits are received only to tell the user they are not read as new input.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
]


def build_application(
    settings: Settings,
    database: Database | None = None,
    *,
    dialog_timeout: timedelta = DIALOG_TIMEOUT,
    paced: bool = True,
) -> Application:
    """The bot, ready for ``run_polling``/``run_webhook`` or manual start in tests.

    ``paced`` keeps sending under Telegram's ~30 messages/s (PTB's ``AIORateLimiter``); the
    benchmark turns it off to measure how fast the bot itself processes updates.
    """
    builder = (
        Application.builder()
        .token(settings.token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if paced:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = builder.build()
    application.bot_data["settings"] = settings
    application.bot_data["db"] = database or Database(settings.database_url)
    register_handlers(application, dialog_timeout)
    return application


def register_handlers(application: Application, dialog_timeout: timedelta) -> None:
    """Every handler, in the order that matters: dialogs first, catch-alls last."""
    on = CallbackQueryHandler
    typed = filters.TEXT & ~filters.COMMAND
    enrollment = _dialog(
        "enrollment",
        entry=on(catalog.on_enroll, pattern(Action.course_enroll)),
        state=catalog.AWAIT_KEY,
        handlers=[
            MessageHandler(typed, catalog.on_key),
            MessageHandler(~filters.COMMAND, catalog.on_key_not_text),
        ],
        on_cancel=catalog.on_key_cancel,
        on_timeout=catalog.on_key_timeout,
        timeout=dialog_timeout,
    )
    reviewing = _dialog(
        "review",
        entry=on(review.on_review_decision, pattern(Action.review_accept, Action.review_reject)),
        state=review.AWAIT_COMMENT,
        handlers=[
            MessageHandler(typed, review.on_review_comment),
            on(review.on_review_confirm, pattern(Action.review_confirm)),
        ],
        on_cancel=review.on_review_cancel,
        on_timeout=review.on_review_timeout,
        timeout=dialog_timeout,
    )
    application.add_handlers(
        [
            enrollment,
            reviewing,
            CommandHandler("start", start.cmd_start),
            CommandHandler("help", start.cmd_help),
            CommandHandler("cancel", start.cmd_cancel),
            CommandHandler("courses", catalog.cmd_courses),
            CommandHandler("mycourses", progress.cmd_mycourses),
            CommandHandler("progress", progress.cmd_progress),
            CommandHandler("review", review.cmd_review),
            on(catalog.on_catalog_page, pattern(Action.catalog_page)),
            on(catalog.on_course_open, pattern(Action.course_open)),
            on(lessons.on_course_continue, pattern(Action.course_continue)),
            on(lessons.on_lesson_open, pattern(Action.lesson_open)),
            on(lessons.on_lesson_complete, pattern(Action.lesson_complete)),
            on(progress.on_my_courses_page, pattern(Action.my_courses)),
            on(quiz.on_quiz_start, pattern(Action.quiz_start)),
            on(quiz.on_quiz_begin, pattern(Action.quiz_begin)),
            on(quiz.on_quiz_answer, pattern(Action.quiz_answer)),
            on(quiz.on_quiz_toggle, pattern(Action.quiz_toggle)),
            on(quiz.on_quiz_submit, pattern(Action.quiz_submit)),
            on(quiz.on_quiz_history, pattern(Action.quiz_history)),
            # Confirm still works after a restart, when the comment dialog is gone.
            on(review.on_review_confirm, pattern(Action.review_confirm)),
            on(review.on_review_skip, pattern(Action.review_skip)),
            on(start.on_noop, pattern(Action.noop)),
            # Catch-alls: anything above did not take.
            ChatMemberHandler(start.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            on(start.on_stale_button),
            # Typed text answers an open text question, if any; else it is not understood.
            MessageHandler(typed, quiz.on_text),
            MessageHandler(filters.ALL & ~filters.StatusUpdate.ALL, start.on_unknown_message),
        ]
    )
    application.add_error_handler(errors.on_error)


def _dialog(
    name: str,
    *,
    entry: BaseHandler,
    state: int,
    handlers: list[BaseHandler],
    on_cancel: HandlerCallback,
    on_timeout: HandlerCallback,
    timeout: timedelta,
) -> ConversationHandler:
    """A one-question dialog entered by a button: /cancel leaves it, silence times it out."""
    return ConversationHandler(
        entry_points=[entry],
        states={
            state: handlers,
            ConversationHandler.TIMEOUT: [
                MessageHandler(filters.ALL, on_timeout),
                CallbackQueryHandler(on_timeout),
            ],
        },
        fallbacks=[CommandHandler("cancel", on_cancel)],
        conversation_timeout=timeout,
        allow_reentry=True,
        name=name,
    )


async def _post_init(application: Application) -> None:
    """Admins from configuration, then the command menus of every role."""
    settings: Settings = application.bot_data["settings"]
    database: Database = application.bot_data["db"]
    async with database.session() as session:
        for telegram_id in settings.admin_telegram_ids:
            await raise_role(session, telegram_id, Role.admin)
        privileged = await staff(session)
    try:
        await set_default_menu(application.bot)
        for user in privileged:
            await set_menu(application.bot, user)
    except TelegramError:
        log.warning("Could not set the command menus", exc_info=True)


async def _post_shutdown(application: Application) -> None:
    await application.bot_data["db"].dispose()


class RedactSecrets(logging.Filter):
    """Blank out secrets (the bot token) in every log line, whatever logged them.

    PTB logs its API URLs, which contain the token, at DEBUG level.
    """

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "<redacted>")
            record.msg, record.args = message, None
        return True


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level
    )
    secrets = (
        [settings.telegram_bot_token.get_secret_value()] if settings.telegram_bot_token else []
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets(secrets))
    # httpx logs every request URL (token included) at INFO: keep it quiet unless debugging.
    if settings.log_level != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)

"""The composition root: build the Application, its services and every handler."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import texts
from bot.campaigns import Pushes
from bot.http import TelegramTransport
from bot.menus import set_default_menu, set_menu
from bot.processor import PerUserUpdateProcessor
from bot.reminders import schedule_reminders
from bot.sender import PacedSender
from bot.settings import Settings
from db.accounts import raise_role, set_blocked, staff
from db.dialogs import expire_dialogs
from db.engine import Database
from db.models import Role, utcnow
from handlers import (
    admin,
    announce,
    broadcast,
    catalog,
    errors,
    invites,
    lessons,
    messages,
    progress,
    quiz,
    quizedit,
    review,
    settings,
    start,
    teach,
    users,
)
from handlers.common import ROUTES, Context, LearnApplication, Services

log = logging.getLogger(__name__)

# Importing a flow's module registers its commands and buttons (``handlers.common.ROUTES``).
FLOWS = (
    start,
    catalog,
    lessons,
    progress,
    quiz,
    review,
    teach,
    quizedit,
    announce,
    admin,
    broadcast,
    users,
    invites,
    settings,
    messages,
)

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
) -> LearnApplication:
    """The bot, ready for ``run_polling``/``run_webhook`` or manual start in tests.

    ``paced`` keeps sending under Telegram's ~30 messages/s (PTB's ``AIORateLimiter``); the
    benchmark turns it off to measure how fast the bot itself processes updates.
    """
    database = database or Database(settings.database_url)
    sender = PacedSender(settings.send_rate_per_second)
    services = Services(settings, database, dialog_timeout, sender, Pushes(database, sender))
    builder = (
        Application.builder()
        .application_class(LearnApplication, kwargs={"services": services})
        .context_types(ContextTypes(context=Context))
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
        .concurrent_updates(PerUserUpdateProcessor(settings.max_concurrent_updates))
        .request(telegram_request(settings.max_concurrent_updates + 16))
    )
    if paced:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = cast(LearnApplication, builder.build())
    register_handlers(application)
    assert application.job_queue is not None, "install python-telegram-bot[job-queue]"
    sweep = min(timedelta(minutes=1), dialog_timeout / 4)
    application.job_queue.run_repeating(_expire_dialogs, interval=sweep, name="expire-dialogs")
    schedule_reminders(application)
    return application


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    """Every handler, routed by update type: commands and buttons (registered next to their
    code, see ``handlers.common.ROUTES``), then the catch-alls, in this order.

    Dialogs are not PTB conversations: the open dialog is stored with the account, and
    ``messages.on_message`` hands typed text to it (see ``db.dialogs``).
    """
    new = filters.UpdateType.MESSAGE
    application.add_handlers(
        [
            *ROUTES.commands,
            *ROUTES.buttons,
            ChatMemberHandler(start.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            CallbackQueryHandler(start.on_stale_button),
            MessageHandler(new & filters.COMMAND, messages.on_unknown_command),
            # Text (or a file) answers the open dialog, or a quiz's text question.
            MessageHandler(new & ~filters.StatusUpdate.ALL, messages.on_message),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE, messages.on_edited),
        ]
    )
    application.add_error_handler(errors.on_error)


def telegram_request(connections: int) -> HTTPXRequest:
    """PTB's HTTP client for the bot's requests (``getUpdates`` has its own): enough connections
    for the updates in flight and the campaigns' senders (a request waits up to 30 s for a free
    one rather than failing at once), over ``bot.http``'s transport."""
    return HTTPXRequest(
        connection_pool_size=connections,
        pool_timeout=30,
        httpx_kwargs={"transport": TelegramTransport(connections)},
    )


async def _expire_dialogs(context: Context) -> None:
    """Close dialogs left unanswered past the timeout, and tell each user once."""
    services = context.services
    async with services.database.session(offload=True) as session:
        expired = await expire_dialogs(session, utcnow() - services.dialog_timeout)
    for telegram_id in expired:
        try:
            await context.bot.send_message(telegram_id, texts.DIALOG_TIMED_OUT)
        except Forbidden:
            async with services.database.session() as session:
                await set_blocked(session, telegram_id, True)
        except TelegramError:
            log.warning("Could not tell user %s that their dialog timed out", telegram_id)


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Admins from configuration, then the command menus of every role."""
    services = cast(LearnApplication, application).services
    async with services.database.session() as session:
        for telegram_id in services.settings.admin_telegram_ids:
            await raise_role(session, telegram_id, Role.admin)
        privileged = await staff(session)
    try:
        await set_default_menu(application.bot)
        for user in privileged:
            await set_menu(application.bot, user)
    except TelegramError:
        log.warning("Could not set the command menus", exc_info=True)


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    await cast(LearnApplication, application).services.database.dispose()

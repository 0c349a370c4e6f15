"""Command menus per role, through scoped ``setMyCommands``."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import BadRequest, Forbidden

from bot.texts import commands_for
from db.models import Role, User

log = logging.getLogger(__name__)


def _commands(role: Role) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in commands_for(role)]


async def set_default_menu(bot: Bot) -> None:
    await bot.set_my_commands(_commands(Role.student), scope=BotCommandScopeDefault())


async def set_menu(bot: Bot, user: User) -> bool:
    """A user's own menu; students fall back to the default menu.

    Telegram knows no chat with a user who never wrote to the bot ("chat not found"); their
    menu is set again by /start, so a refusal here is logged, not raised.
    """
    scope = BotCommandScopeChat(user.telegram_id)
    try:
        if user.role == Role.student:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(_commands(user.role), scope=scope)
    except (BadRequest, Forbidden) as error:
        log.info("No command menu for user %s yet: %s", user.telegram_id, error.message)
        return False
    return True

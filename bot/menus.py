"""Command menus per role, through scoped ``setMyCommands``."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.texts import commands_for
from db.models import Role, User


def _commands(role: Role) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in commands_for(role)]


async def set_default_menu(bot: Bot) -> None:
    await bot.set_my_commands(_commands(Role.student), scope=BotCommandScopeDefault())


async def set_menu(bot: Bot, user: User) -> None:
    """A user's own menu; students fall back to the default menu."""
    scope = BotCommandScopeChat(user.telegram_id)
    if user.role == Role.student:
        await bot.delete_my_commands(scope=scope)
    else:
        await bot.set_my_commands(_commands(user.role), scope=scope)

"""Admins: /admin (the platform at a glance, and a button to everything) and /stats.

Every command and button here is for admins only, checked from the database on each update by
the ``authorized`` wrapper (``role=Role.admin``).
"""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from bot.callbacks import Action
from db.models import Role
from db.platformstats import admin_counts, platform_stats
from handlers.common import Context, Turn, button, command

ADMIN = Role.admin


async def _show_home(turn: Turn) -> None:
    counts = await admin_counts(turn.session)
    turn.show(texts.admin_home(counts), keyboards.admin_home())


@command("admin", role=ADMIN)
async def on_admin(update: Update, context: Context, turn: Turn) -> None:
    await _show_home(turn)


@button(Action.admin_home, role=ADMIN)
async def on_admin_home(update: Update, context: Context, turn: Turn) -> None:
    await _show_home(turn)


async def _show_stats(turn: Turn) -> None:
    stats = await platform_stats(turn.session)
    turn.show(texts.platform_stats(stats), keyboards.back_to_admin())


@command("stats", role=ADMIN)
async def on_stats(update: Update, context: Context, turn: Turn) -> None:
    await _show_stats(turn)


@button(Action.admin_stats, role=ADMIN)
async def on_stats_button(update: Update, context: Context, turn: Turn) -> None:
    await _show_stats(turn)

"""/mycourses and /progress."""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from bot.callbacks import Action
from db.learning import my_courses_page, my_progress
from handlers.common import Context, Turn, button, command


async def _show_my_courses(turn: Turn, page: int) -> None:
    shown = await my_courses_page(turn.session, turn.user, page)
    turn.show(texts.my_courses(shown), keyboards.my_courses(shown))


@command("mycourses")
async def cmd_mycourses(update: Update, context: Context, turn: Turn) -> None:
    """Enrolled courses with a progress bar and Continue."""
    await _show_my_courses(turn, 0)


@button(Action.my_courses)
async def on_my_courses_page(update: Update, context: Context, turn: Turn) -> None:
    await _show_my_courses(turn, turn.args[0])


@command("progress")
async def cmd_progress(update: Update, context: Context, turn: Turn) -> None:
    """Lessons done of total, percentage and completion date per course."""
    rows = await my_progress(turn.session, turn.user)
    turn.reply_long(texts.progress_report(rows))

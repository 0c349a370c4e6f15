"""/mycourses and /progress."""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from db.learning import my_progress
from handlers.common import Context, Turn, as_student

PAGE_SIZE = 5


async def _show_my_courses(turn: Turn, page: int) -> None:
    rows = await my_progress(turn.session, turn.user)
    await turn.commit()
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    await turn.answer()
    await turn.show(texts.my_courses(shown, page, pages), keyboards.my_courses(shown, page, pages))


@as_student
async def cmd_mycourses(update: Update, context: Context, turn: Turn) -> None:
    """Enrolled courses with a progress bar and Continue."""
    await _show_my_courses(turn, 0)


@as_student
async def on_my_courses_page(update: Update, context: Context, turn: Turn) -> None:
    await _show_my_courses(turn, turn.args[0])


@as_student
async def cmd_progress(update: Update, context: Context, turn: Turn) -> None:
    """Lessons done of total, percentage and completion date per course."""
    rows = await my_progress(turn.session, turn.user)
    await turn.commit()
    await turn.reply_long(texts.progress_report(rows))

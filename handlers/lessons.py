"""Lessons: open (with media and long content in parts), complete, continue a course."""

from __future__ import annotations

from collections.abc import Callable

from telegram import InlineKeyboardMarkup, Update

from bot import keyboards, texts
from bot.callbacks import Action
from bot.formatting import CAPTION_LIMIT, utf16_len
from db.learning import CompletionOutcome, LessonView, complete_lesson, continue_course, open_lesson
from db.quizzes import quiz_standing
from handlers.common import Context, Turn, button


async def lesson_keyboard(turn: Turn, view: LessonView) -> InlineKeyboardMarkup:
    """The lesson's buttons; a quiz lesson offers Start quiz, or Continue quiz when unfinished."""
    quiz = None
    if view.quiz is not None and view.enrolled:
        quiz = await quiz_standing(turn.session, turn.user, view.quiz.id)
    return keyboards.lesson(view, quiz)


def send_lesson(turn: Turn, view: LessonView, markup: InlineKeyboardMarkup) -> None:
    """Media first (titled), then the content split into messages; buttons on the last one."""
    header = texts.lesson_header(view)
    lesson = view.lesson
    if lesson.media_kind is not None and lesson.media_file_id:
        caption = header if utf16_len(header) <= CAPTION_LIMIT else None
        turn.reply_media(lesson.media_kind, lesson.media_file_id, caption)
    turn.reply_long(texts.lesson_body(view), markup)


async def _show_lesson(turn: Turn, view: LessonView) -> None:
    send_lesson(turn, view, await lesson_keyboard(turn, view))


@button(Action.lesson_open)
async def on_lesson_open(update: Update, context: Context, turn: Turn) -> None:
    """A lesson as new messages (Next, Previous and Continue all land here)."""
    await _show_lesson(turn, await open_lesson(turn.session, turn.user, turn.args[0]))


@button(Action.course_continue)
async def on_course_continue(update: Update, context: Context, turn: Turn) -> None:
    """Continue: the next unfinished lesson of the course."""
    await _show_lesson(turn, await continue_course(turn.session, turn.user, turn.args[0]))


@button(Action.lesson_complete)
async def on_lesson_complete(update: Update, context: Context, turn: Turn) -> None:
    """Complete: record it once, update progress, congratulate at 100 %."""
    outcome, view = await complete_lesson(turn.session, turn.user, turn.args[0])
    if not outcome.newly_completed:
        turn.answer(texts.ALREADY_COMPLETED_TOAST)
        return
    turn.answer(texts.COMPLETED_TOAST)
    turn.edit_markup(keyboards.lesson(view))  # the lesson loses its Complete button
    announce_completion(turn.reply, outcome, view.course.title)


def announce_completion(
    send: Callable[..., None], outcome: CompletionOutcome, course_title: str
) -> None:
    """Progress after a newly completed lesson, and the congratulation at 100 %."""
    if not outcome.newly_completed:
        return
    send(
        texts.lesson_completed(outcome.lesson.title, outcome.progress),
        keyboards.after_completion(outcome.lesson.course_id, outcome.next_lesson_id),
    )
    if outcome.course_finished_now:
        send(texts.course_finished(course_title))

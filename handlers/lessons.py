"""Lessons: open (with media and long content in parts), complete, continue a course."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardMarkup, Update

from bot import keyboards, texts
from bot.formatting import CAPTION_LIMIT, split_html, utf16_len
from db.learning import (
    CompletionOutcome,
    LessonView,
    complete_lesson,
    continue_course,
    open_lesson,
)
from db.models import MediaKind
from db.quizzes import quiz_info
from handlers.common import Context, Turn, as_student


async def lesson_keyboard(turn: Turn, view: LessonView) -> InlineKeyboardMarkup:
    """The lesson's buttons; a quiz lesson offers Start quiz, or Continue quiz when unfinished."""
    quiz = None
    if view.quiz is not None and view.enrolled:
        quiz = await quiz_info(turn.session, turn.user, view.quiz.id)
    return keyboards.lesson(view, quiz)


async def send_lesson(turn: Turn, view: LessonView, markup: InlineKeyboardMarkup) -> None:
    """Media first (titled), then the content split into messages; buttons on the last one."""
    chat = turn.update.effective_chat
    assert chat is not None
    header = texts.lesson_header(view)
    lesson = view.lesson
    if lesson.media_kind is not None and lesson.media_file_id:
        send = {
            MediaKind.photo: chat.send_photo,
            MediaKind.video: chat.send_video,
            MediaKind.document: chat.send_document,
            MediaKind.audio: chat.send_audio,
        }[lesson.media_kind]
        caption = header if utf16_len(header) <= CAPTION_LIMIT else None
        await send(lesson.media_file_id, caption=caption)
    parts = split_html(f"{header}\n\n{lesson.content}" if lesson.content.strip() else header)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await chat.send_message(part, reply_markup=markup if last else None)


async def _show_lesson(turn: Turn, lesson_id: int) -> None:
    view = await open_lesson(turn.session, turn.user, lesson_id)
    markup = await lesson_keyboard(turn, view)
    await turn.commit()
    await turn.answer()
    await send_lesson(turn, view, markup)


@as_student
async def on_lesson_open(update: Update, context: Context, turn: Turn) -> None:
    """A lesson as new messages (Next, Previous and Continue all land here)."""
    await _show_lesson(turn, turn.args[0])


@as_student
async def on_course_continue(update: Update, context: Context, turn: Turn) -> None:
    """Continue: the next unfinished lesson of the course."""
    await _show_lesson(turn, await continue_course(turn.session, turn.user, turn.args[0]))


@as_student
async def on_lesson_complete(update: Update, context: Context, turn: Turn) -> None:
    """Complete: record it once, update progress, congratulate at 100 %."""
    outcome, view = await complete_lesson(turn.session, turn.user, turn.args[0])
    await turn.commit()
    if not outcome.newly_completed:
        await turn.answer("Already completed ✅")
        return
    await turn.answer("Completed ✅")
    await turn.edit_markup(keyboards.lesson(view))  # the lesson loses its Complete button
    await announce_completion(turn.reply, outcome, view.course.title)


async def announce_completion(
    send: Callable[..., Awaitable[object]], outcome: CompletionOutcome, course_title: str
) -> None:
    """Progress after a newly completed lesson, and the congratulation at 100 %."""
    if not outcome.newly_completed:
        return
    await send(
        texts.lesson_completed(outcome.lesson.title, outcome.progress),
        keyboards.after_completion(outcome.lesson.course_id, outcome.next_lesson_id),
    )
    if outcome.course_finished_now:
        await send(texts.course_finished(course_title))

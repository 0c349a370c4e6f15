"""Quizzes authored in the chat: attach one to a lesson, add questions, delete them.

::

    lesson card [📝 Quiz] ─► (no quiz) wizard: title ─► passing score ─► attempts ─► quiz card
                          └► (a quiz) quiz card [➕ Add questions] [🗑 n] [🗑 Delete quiz]
                                        [👁 Preview] ─► intro, every question (taps say ✓/✗)

Questions are typed in the compact format (``bot.quizformat``; several per message, errors
name the question and line) or sent as a Telegram quiz poll, one question each, until ✅ Done.
Changing a quiz that students have attempted asks first: submitted attempts and completions
stay, attempts in progress restart (their students are told at their next tap). A preview sends
the quiz exactly as a student receives it, rendered by ``handlers.quiz``; it records nothing.
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update

from bot import keyboards, texts
from bot.callbacks import Action
from bot.quizformat import parse_questions, question_from_poll
from db.authoring import QuestionDraft
from db.dialogs import Dialog, close_dialog, open_dialog
from db.errors import Conflict, Reason
from db.models import Role
from db.quizauthoring import (
    add_questions,
    create_quiz,
    delete_question,
    delete_quiz,
    lesson_quiz_id,
    move_question_up,
    preview_tap,
    quiz_management,
    quiz_preview,
    validate_quiz_field,
)
from handlers.common import Context, Turn, button, dialog_step
from handlers.quiz import send_question

NEW_QUIZ = "quiz-new"
QUESTIONS = "quiz-questions"
INSTRUCTOR = Role.instructor
STEPS = ("title", "passing_score", "max_attempts")
DEFAULTS = {"passing_score": 70, "max_attempts": 0}


async def show_quiz(turn: Turn, quiz_id: int, *, new: bool = False) -> None:
    card = await quiz_management(turn.session, turn.user, quiz_id)
    turn.show(texts.quiz_management(card), keyboards.quiz_management(card), new=new)


@button(Action.lesson_quiz, role=INSTRUCTOR)
async def on_lesson_quiz(update: Update, context: Context, turn: Turn) -> None:
    """The lesson's quiz, or the wizard that attaches one."""
    lesson_id = turn.args[0]
    quiz_id = await lesson_quiz_id(turn.session, turn.user, lesson_id)
    if quiz_id is not None:
        await show_quiz(turn, quiz_id)
        return
    open_dialog(turn.user, NEW_QUIZ, step=STEPS[0], lesson_id=lesson_id)
    turn.reply(texts.quiz_wizard_prompt(STEPS[0]))


async def _next(turn: Turn, data: dict[str, Any], step: str) -> None:
    following = STEPS.index(step) + 1
    if following < len(STEPS):
        open_dialog(turn.user, NEW_QUIZ, step=STEPS[following], **data)
        turn.reply(texts.quiz_wizard_prompt(STEPS[following]), keyboards.quiz_skip())
        return
    lesson_id = data.pop("lesson_id")
    quiz = await create_quiz(turn.session, turn.user, lesson_id, **(DEFAULTS | data))
    close_dialog(turn.user)
    turn.reply(texts.quiz_created(quiz.title))
    await show_quiz(turn, quiz.id, new=True)


async def _quiz_step(update: Update, context: Context, turn: Turn) -> None:
    """A typed answer to the new-quiz wizard, checked at once (and again when it is created)."""
    assert turn.dialog is not None
    step = turn.dialog.step
    data = {key: value for key, value in turn.dialog.data.items() if key != "step"}
    data[step] = validate_quiz_field(step, turn.typed_text())
    await _next(turn, data, step)


for _step in STEPS:
    dialog_step(NEW_QUIZ, _step, cancelled=texts.QUIZ_CANCELLED, role=INSTRUCTOR)(_quiz_step)


@button(Action.quiz_new_skip, role=INSTRUCTOR)
async def on_skip(update: Update, context: Context, turn: Turn) -> None:
    dialog = turn.left_dialog
    if dialog is None or dialog.kind != NEW_QUIZ or dialog.step not in DEFAULTS:
        raise Conflict(Reason.step_has_passed)
    data = {key: value for key, value in dialog.data.items() if key != "step"}
    await _next(turn, data, dialog.step)


@button(Action.quiz_card, role=INSTRUCTOR)
async def on_quiz_card(update: Update, context: Context, turn: Turn) -> None:
    await show_quiz(turn, turn.args[0])


# -- questions -------------------------------------------------------------------------------------


@button(Action.quiz_add, role=INSTRUCTOR)
async def on_add(update: Update, context: Context, turn: Turn) -> None:
    """Send questions; a quiz students have attempted asks first."""
    card = await quiz_management(turn.session, turn.user, turn.args[0])
    if card.attempts:
        turn.show(
            texts.confirm_quiz_change(card.quiz.title, card.attempts, card.in_progress),
            keyboards.confirm(Action.quiz_add_confirm, Action.quiz_card, card.quiz.id),
        )
        return
    _await_questions(turn, card.quiz.id, confirmed=False)


@button(Action.quiz_add_confirm, role=INSTRUCTOR)
async def on_add_confirmed(update: Update, context: Context, turn: Turn) -> None:
    card = await quiz_management(turn.session, turn.user, turn.args[0])
    _await_questions(turn, card.quiz.id, confirmed=True)


def _await_questions(turn: Turn, quiz_id: int, *, confirmed: bool) -> None:
    open_dialog(turn.user, QUESTIONS, quiz_id=quiz_id, confirmed=confirmed)
    turn.reply(texts.ask_questions())


@dialog_step(QUESTIONS, cancelled=texts.QUESTIONS_DONE, role=INSTRUCTOR)
async def on_questions(update: Update, context: Context, turn: Turn) -> None:
    """Questions in the compact format, or one Telegram quiz poll; the dialog stays open."""
    assert turn.dialog is not None
    message = update.effective_message
    assert isinstance(message, Message)
    drafts = _questions_of(message, turn)
    data = turn.dialog.data
    card = await add_questions(
        turn.session, turn.user, data["quiz_id"], drafts, confirmed=bool(data["confirmed"])
    )
    open_dialog(turn.user, QUESTIONS, **data)  # more may follow; the timeout starts again
    turn.reply(texts.questions_added(len(drafts), len(card.quiz.questions)), keyboards.quiz_done())


def _questions_of(message: Message, turn: Turn) -> list[QuestionDraft]:
    poll = message.poll
    if poll is not None:
        return [
            question_from_poll(
                poll.question,
                [option.text for option in poll.options],
                list(poll.correct_option_ids or ()),
                poll.explanation,
                poll.allows_multiple_answers,
            )
        ]
    return parse_questions(turn.typed_text())


@button(Action.quiz_add_done, role=INSTRUCTOR)
async def on_done(update: Update, context: Context, turn: Turn) -> None:
    dialog: Dialog | None = turn.left_dialog
    if dialog is None or dialog.kind != QUESTIONS:
        raise Conflict(Reason.step_has_passed)
    await show_quiz(turn, dialog.data["quiz_id"], new=True)


@button(Action.question_delete, role=INSTRUCTOR)
async def on_question_delete(update: Update, context: Context, turn: Turn) -> None:
    quiz_id, question_id = turn.args
    card = await quiz_management(turn.session, turn.user, quiz_id)
    turn.show(
        texts.confirm_question_deletion(card),
        keyboards.confirm(
            Action.question_delete_confirm, Action.quiz_card, question_id, back=(quiz_id,)
        ),
    )


@button(Action.question_delete_confirm, role=INSTRUCTOR)
async def on_question_delete_confirmed(update: Update, context: Context, turn: Turn) -> None:
    card = await delete_question(turn.session, turn.user, turn.args[0], confirmed=True)
    turn.answer(texts.DELETED_TOAST)
    turn.show(texts.quiz_management(card), keyboards.quiz_management(card))


@button(Action.question_up, role=INSTRUCTOR)
async def on_question_up(update: Update, context: Context, turn: Turn) -> None:
    """One place earlier; a quiz students have taken asks first."""
    quiz_id, question_id = turn.args
    card = await quiz_management(turn.session, turn.user, quiz_id)
    if card.attempts:
        turn.show(
            texts.confirm_question_move(card),
            keyboards.confirm(
                Action.question_up_confirm, Action.quiz_card, quiz_id, question_id, back=(quiz_id,)
            ),
        )
        return
    card = await move_question_up(turn.session, turn.user, question_id)
    turn.show(texts.quiz_management(card), keyboards.quiz_management(card))


@button(Action.question_up_confirm, role=INSTRUCTOR)
async def on_question_up_confirmed(update: Update, context: Context, turn: Turn) -> None:
    card = await move_question_up(turn.session, turn.user, turn.args[1], confirmed=True)
    turn.show(texts.quiz_management(card), keyboards.quiz_management(card))


@button(Action.quiz_preview, role=INSTRUCTOR)
async def on_quiz_preview(update: Update, context: Context, turn: Turn) -> None:
    """The intro and every question, as new messages, exactly as a student receives them."""
    preview = await quiz_preview(turn.session, turn.user, turn.args[0])
    turn.reply(texts.quiz_preview(preview.info))
    for view in preview.questions:
        send_question(turn, view)


@button(Action.quiz_preview_option, Action.quiz_preview_submit, role=INSTRUCTOR)
async def on_preview_tap(update: Update, context: Context, turn: Turn) -> None:
    """A preview's option (or Submit): an alert saying what is right; nothing is recorded."""
    question_id, *option = turn.args
    tap = await preview_tap(turn.session, turn.user, question_id, *option)
    turn.answer(texts.preview_tap(tap), alert=True)


@button(Action.quiz_delete, role=INSTRUCTOR)
async def on_quiz_delete(update: Update, context: Context, turn: Turn) -> None:
    card = await quiz_management(turn.session, turn.user, turn.args[0])
    turn.show(
        texts.confirm_quiz_deletion(card.quiz.title, card.attempts),
        keyboards.confirm(Action.quiz_delete_confirm, Action.quiz_card, card.quiz.id),
    )


@button(Action.quiz_delete_confirm, role=INSTRUCTOR)
async def on_quiz_delete_confirmed(update: Update, context: Context, turn: Turn) -> None:
    lesson = await delete_quiz(turn.session, turn.user, turn.args[0], confirmed=True)
    turn.answer(texts.DELETED_TOAST)
    turn.show(texts.quiz_deleted(lesson.title), keyboards.back_to_lesson(lesson.id))

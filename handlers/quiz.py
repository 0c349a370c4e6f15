"""Taking quizzes in the chat.

::

    lesson [📝 Start quiz] ─► intro [▶️ Start quiz] ─► question 1 ─► … ─► result [🔁 Retry]
    lesson [▶️ Continue quiz] ──────────────────────► current question
    any of these, after the instructor changed the quiz ─► "the quiz changed" ─► question 1

Nothing here keeps state in memory: the attempt row says which question is next, the question
buttons carry attempt and question ids, and a multiple-choice selection lives in the buttons
themselves. So a restart loses nothing, and a stale or forged button is refused by db/.
"""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from bot.callbacks import Action
from db.quizzes import (
    Answer,
    AnswerOutcome,
    QuestionView,
    Restarted,
    Selection,
    answer_question,
    answer_text,
    current_selection,
    history,
    open_quiz,
    start_attempt,
)
from handlers.common import Context, Turn, button
from handlers.lessons import announce_completion
from handlers.start import reply_unknown


def send_question(turn: Turn, view: QuestionView) -> None:
    """A question as a new message (a preview's too: its buttons then record nothing)."""
    turn.reply(texts.question(view), keyboards.question(view))


def send_restarted(turn: Turn, restart: Restarted) -> None:
    """The instructor changed the quiz: say so, then its first question, if it has one."""
    turn.reply(texts.quiz_restarted(restart))
    if restart.first is not None:
        send_question(turn, restart.first)


async def _record(
    turn: Turn, attempt_id: int, question_id: int, answer: Answer | Selection
) -> None:
    """Save one answer given with a button."""
    _show(turn, await answer_question(turn.session, turn.user, attempt_id, question_id, answer))


def _show(turn: Turn, outcome: AnswerOutcome | Restarted) -> None:
    """An answer saved: freeze its question message, then the next question or the result."""
    if isinstance(outcome, Restarted):
        send_restarted(turn, outcome)
        return
    turn.answer(texts.SAVED_TOAST)
    if outcome.next_question is not None:
        number, total = outcome.next_question.number - 1, outcome.next_question.total
    else:
        assert outcome.result is not None
        number = total = outcome.result.info.question_count
    turn.edit(texts.answered(number, total, outcome.answered))
    if outcome.next_question is not None:
        send_question(turn, outcome.next_question)
        return
    result = outcome.result
    turn.reply_long(texts.quiz_result(result), keyboards.quiz_result(result))
    if result.completion is not None:
        announce_completion(turn.reply, result.completion, result.info.course.title)


@button(Action.quiz_start)
async def on_quiz_start(update: Update, context: Context, turn: Turn) -> None:
    """The intro: title, questions, passing score, attempts used and left."""
    info = await open_quiz(turn.session, turn.user, turn.args[0])
    if isinstance(info, Restarted):
        send_restarted(turn, info)
        return
    turn.reply(texts.quiz_intro(info), keyboards.quiz_intro(info))


@button(Action.quiz_begin)
async def on_quiz_begin(update: Update, context: Context, turn: Turn) -> None:
    """Start, resume or retry: the current question of the (possibly new) attempt."""
    view = await start_attempt(turn.session, turn.user, turn.args[0])
    if isinstance(view, Restarted):
        send_restarted(turn, view)
        return
    send_question(turn, view)


@button(Action.quiz_answer)
async def on_quiz_answer(update: Update, context: Context, turn: Turn) -> None:
    """A single-choice option: one tap answers and moves on."""
    attempt_id, question_id, option_id = turn.args
    await _record(turn, attempt_id, question_id, [option_id])


@button(Action.quiz_toggle)
async def on_quiz_toggle(update: Update, context: Context, turn: Turn) -> None:
    """A multiple-choice toggle: redraw the buttons with the new selection (nothing stored)."""
    attempt_id, question_id, mask = turn.args
    selection = await current_selection(turn.session, turn.user, attempt_id, question_id, mask)
    if isinstance(selection, Restarted):
        send_restarted(turn, selection)
        return
    view, _ = selection
    turn.edit_markup(keyboards.question(view, mask))


@button(Action.quiz_submit)
async def on_quiz_submit(update: Update, context: Context, turn: Turn) -> None:
    """Submit a multiple-choice selection (an empty one is refused politely by db/)."""
    attempt_id, question_id, mask = turn.args
    await _record(turn, attempt_id, question_id, Selection(mask))


async def answer_typed_text(turn: Turn, text: str) -> None:
    """Typed text: the answer to an open text question, if one waits; otherwise not understood."""
    outcome = await answer_text(turn.session, turn.user, text)
    if outcome is None:
        reply_unknown(turn)
        return
    _show(turn, outcome)


@button(Action.quiz_history)
async def on_quiz_history(update: Update, context: Context, turn: Turn) -> None:
    """The student's finished attempts at a quiz: date, score, passed."""
    info, attempts = await history(turn.session, turn.user, turn.args[0])
    turn.reply_long(texts.quiz_history(info, attempts), keyboards.quiz_intro(info))

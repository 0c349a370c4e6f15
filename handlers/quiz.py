"""Taking quizzes in the chat.

::

    lesson [📝 Start quiz] ─► intro [▶️ Start quiz] ─► question 1 ─► … ─► result [🔁 Retry]
    lesson [▶️ Continue quiz] ──────────────────────► current question

Nothing here keeps state in memory: the attempt row says which question is next, the question
buttons carry attempt and question ids, and a multiple-choice selection lives in the buttons
themselves. So a restart loses nothing, and a stale or forged button is refused by db/.
"""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from db.quizzes import (
    Answer,
    AnswerOutcome,
    QuestionView,
    answer_question,
    current_selection,
    history,
    open_attempt_for_text,
    quiz_info,
    start_attempt,
)
from handlers.common import Context, Turn, as_student
from handlers.lessons import announce_completion
from handlers.start import reply_unknown


async def send_question(turn: Turn, view: QuestionView) -> None:
    await turn.reply(texts.question(view), keyboards.question(view))


async def _record(turn: Turn, attempt_id: int, question_id: int, answer: Answer) -> None:
    """Save one answer, freeze its question message, then the next question or the result."""
    outcome: AnswerOutcome = await answer_question(
        turn.session, turn.user, attempt_id, question_id, answer
    )
    await turn.commit()
    await turn.answer("Saved ✅")
    if outcome.next_question is not None:
        number, total = outcome.next_question.number - 1, outcome.next_question.total
    else:
        assert outcome.result is not None
        number = total = outcome.result.info.question_count
    await turn.edit(texts.answered(number, total, outcome.answered))
    if outcome.next_question is not None:
        await send_question(turn, outcome.next_question)
        return
    result = outcome.result
    await turn.reply_long(texts.quiz_result(result), keyboards.quiz_result(result))
    if result.completion is not None:
        await announce_completion(turn.reply, result.completion, result.info.course.title)


@as_student
async def on_quiz_start(update: Update, context: Context, turn: Turn) -> None:
    """The intro: title, questions, passing score, attempts used and left."""
    info = await quiz_info(turn.session, turn.user, turn.args[0])
    await turn.commit()
    await turn.answer()
    await turn.reply(texts.quiz_intro(info), keyboards.quiz_intro(info))


@as_student
async def on_quiz_begin(update: Update, context: Context, turn: Turn) -> None:
    """Start, resume or retry: the current question of the (possibly new) attempt."""
    view = await start_attempt(turn.session, turn.user, turn.args[0])
    await turn.commit()
    await turn.answer()
    await send_question(turn, view)


@as_student
async def on_quiz_answer(update: Update, context: Context, turn: Turn) -> None:
    """A single-choice option: one tap answers and moves on."""
    attempt_id, question_id, option_id = turn.args
    await _record(turn, attempt_id, question_id, [option_id])


@as_student
async def on_quiz_toggle(update: Update, context: Context, turn: Turn) -> None:
    """A multiple-choice toggle: redraw the buttons with the new selection (nothing stored)."""
    attempt_id, question_id, mask = turn.args
    view, _ = await current_selection(turn.session, turn.user, attempt_id, question_id, mask)
    await turn.commit()
    await turn.answer()
    await turn.edit_markup(keyboards.question(view, mask))


@as_student
async def on_quiz_submit(update: Update, context: Context, turn: Turn) -> None:
    """Submit a multiple-choice selection (an empty one is refused politely by db/)."""
    attempt_id, question_id, mask = turn.args
    _, chosen = await current_selection(turn.session, turn.user, attempt_id, question_id, mask)
    await _record(turn, attempt_id, question_id, chosen)


@as_student
async def on_text(update: Update, context: Context, turn: Turn) -> None:
    """Typed text: the answer to an open text question, if one waits; otherwise not understood."""
    view = await open_attempt_for_text(turn.session, turn.user)
    if view is None:
        await turn.commit()
        await reply_unknown(turn)
        return
    text = update.effective_message.text or ""
    await _record(turn, view.attempt.id, view.question.id, text)


@as_student
async def on_quiz_history(update: Update, context: Context, turn: Turn) -> None:
    """The student's finished attempts at a quiz: date, score, passed."""
    info, attempts = await history(turn.session, turn.user, turn.args[0])
    await turn.commit()
    await turn.answer()
    await turn.reply_long(texts.quiz_history(info, attempts), keyboards.quiz_intro(info))

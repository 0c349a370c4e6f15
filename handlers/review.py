"""/review: the course's instructor (or an admin) grades free-text answers.

::

    /review ─► answer [✅ Accept] [❌ Reject] [⏭ Next answer]
                   │
                   ▼
             AWAIT_COMMENT ──typed comment──► decided, student told ─► next answer
                   ├──[✔️ Confirm without comment]──► decided (the button works after a restart too)
                   └──/cancel or 15 min──► nothing decided
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ConversationHandler

from bot import keyboards, texts
from bot.callbacks import Action
from db.accounts import set_blocked
from db.quizzes import (
    MAX_REVIEW_COMMENT,
    ReviewOutcome,
    next_pending_review,
    quiz_info,
    review_attempt,
    review_item,
)
from handlers.common import Context, Turn, as_instructor, database, dialog_timed_out
from handlers.lessons import announce_completion

log = logging.getLogger(__name__)

AWAIT_COMMENT = 1
PENDING = "review_decision"


async def _show_next(turn: Turn, after_id: int = 0, *, edit: bool = False) -> None:
    item = await next_pending_review(turn.session, turn.user, after_id)
    await turn.commit()
    await turn.answer()
    text = texts.review_item(item) if item else texts.NOTHING_TO_REVIEW
    markup = keyboards.review(item) if item else None
    if edit:
        await turn.show(text, markup)
    else:
        await turn.reply_long(text, markup)


@as_instructor
async def cmd_review(update: Update, context: Context, turn: Turn) -> None:
    """The oldest pending free-text answer the caller may grade."""
    await _show_next(turn)


@as_instructor
async def on_review_skip(update: Update, context: Context, turn: Turn) -> None:
    await _show_next(turn, turn.args[0], edit=True)


@as_instructor
async def on_review_decision(update: Update, context: Context, turn: Turn) -> int:
    """Accept or Reject: checked now, decided after the optional comment."""
    item = await review_item(turn.session, turn.user, turn.args[0])
    await turn.commit()
    assert turn.callback is not None
    accept = turn.callback.action == Action.review_accept
    context.user_data[PENDING] = (item.attempt.id, accept)
    await turn.answer()
    await turn.reply(
        texts.review_ask_comment(item.student.display_name, accept),
        keyboards.review_confirm(item.attempt.id, accept),
    )
    return AWAIT_COMMENT


async def _decide(
    turn: Turn, context: Context, attempt_id: int, accept: bool, comment: str | None
) -> int:
    outcome = await review_attempt(turn.session, turn.user, attempt_id, accept, comment)
    info = await quiz_info(turn.session, outcome.student, outcome.quiz.id)
    await turn.commit()
    context.user_data.pop(PENDING, None)
    await turn.answer("Done ✅")
    told = await _tell_student(context, outcome, info.attempts_left != 0)
    await turn.reply(texts.review_done(outcome.student.display_name, accept, told))
    await _show_next(turn, attempt_id)
    return ConversationHandler.END


async def _tell_student(context: Context, outcome: ReviewOutcome, can_retry: bool) -> bool:
    """The verdict (and the lesson's completion) in the student's own chat; False if blocked."""
    chat_id = outcome.student.telegram_id
    attempt = outcome.attempt

    async def send(text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        await context.bot.send_message(chat_id, text, reply_markup=markup)

    verdict = texts.review_verdict(
        outcome.quiz.title, outcome.course.title, bool(attempt.passed), attempt.reviewer_comment
    )
    try:
        retry = keyboards.retry(outcome.quiz.id) if not attempt.passed and can_retry else None
        await send(verdict, retry)
        if outcome.completion is not None:
            await announce_completion(send, outcome.completion, outcome.course.title)
    except Forbidden:
        log.info("Student %s has blocked the bot; the verdict is stored", chat_id)
        async with database(context).session() as session:
            await set_blocked(session, chat_id, True)
        return False
    except TelegramError:
        log.warning("Could not tell student %s about the review", chat_id, exc_info=True)
        return False
    return True


@as_instructor
async def on_review_comment(update: Update, context: Context, turn: Turn) -> int:
    """The typed comment completes the pending decision."""
    pending = context.user_data.get(PENDING)
    if pending is None:
        return ConversationHandler.END
    comment = update.effective_message.text or ""
    if len(comment) > MAX_REVIEW_COMMENT:
        await turn.reply(
            f"Please keep the comment under {MAX_REVIEW_COMMENT} characters and send it again."
        )
        return AWAIT_COMMENT
    attempt_id, accept = pending
    return await _decide(turn, context, attempt_id, accept, comment)


@as_instructor
async def on_review_confirm(update: Update, context: Context, turn: Turn) -> int:
    """Confirm without comment; the decision travels in the button, so no dialog is needed."""
    attempt_id, accept = turn.args
    if accept not in (0, 1):
        await turn.answer(texts.STALE_BUTTON, alert=True)
        return ConversationHandler.END
    return await _decide(turn, context, attempt_id, bool(accept), None)


@as_instructor
async def on_review_cancel(update: Update, context: Context, turn: Turn) -> int:
    context.user_data.pop(PENDING, None)
    await turn.commit()
    await turn.reply(texts.CANCELLED + " Nothing was decided. /review shows the answers again.")
    return ConversationHandler.END


on_review_timeout = dialog_timed_out(PENDING)

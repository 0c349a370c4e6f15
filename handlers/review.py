"""/review: the course's instructor (or an admin) grades free-text answers.

::

    /review ─► answer [✅ Accept] [❌ Reject] [⏭ Next answer]
                   │
                   ▼
             dialog "review-comment" ──typed comment──► decided, student told ─► next answer
                   ├──[✔️ Confirm without comment]──► decided (the decision is in the button)
                   └──/cancel, another button or command, or 15 min──► nothing decided

The dialog is a row (``db.dialogs``), so a restart in the middle loses nothing.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError

from bot import keyboards, texts
from bot.callbacks import Action
from db.accounts import set_blocked
from db.dialogs import close_dialog, open_dialog
from db.engine import Database
from db.models import Role
from db.quizzes import ReviewItem, ReviewOutcome, next_pending_review, review_attempt, review_item
from handlers.common import Context, Turn, button, command, dialog_step
from handlers.lessons import announce_completion

log = logging.getLogger(__name__)

COMMENT_DIALOG = "review-comment"
Message = tuple[str, InlineKeyboardMarkup | None]


def _item_message(item: ReviewItem | None) -> Message:
    if item is None:
        return texts.NOTHING_TO_REVIEW, None
    return texts.review_item(item), keyboards.review(item)


@command("review", role=Role.instructor)
async def cmd_review(update: Update, context: Context, turn: Turn) -> None:
    """The oldest pending free-text answer the caller may grade."""
    turn.reply_long(*_item_message(await next_pending_review(turn.session, turn.user)))


@button(Action.review_skip, role=Role.instructor)
async def on_review_skip(update: Update, context: Context, turn: Turn) -> None:
    """Next answer: the following pending one, in place."""
    turn.show(*_item_message(await next_pending_review(turn.session, turn.user, turn.args[0])))


@button(Action.review_accept, Action.review_reject, role=Role.instructor)
async def on_review_decision(update: Update, context: Context, turn: Turn) -> None:
    """Accept or Reject: checked now, decided after the optional comment."""
    item = await review_item(turn.session, turn.user, turn.args[0])
    assert turn.callback is not None
    accept = turn.callback.action == Action.review_accept
    open_dialog(turn.user, COMMENT_DIALOG, attempt_id=item.attempt.id, accept=accept)
    turn.reply(
        texts.review_ask_comment(item.student.display_name, accept),
        keyboards.review_confirm(item.attempt.id, accept),
    )


@dialog_step(COMMENT_DIALOG, role=Role.instructor, cancelled=texts.REVIEW_CANCELLED)
async def on_review_comment(update: Update, context: Context, turn: Turn) -> None:
    """The typed comment completes the pending decision."""
    assert turn.dialog is not None
    data = turn.dialog.data
    await _decide(turn, context, data["attempt_id"], bool(data["accept"]), turn.typed_text())


@button(Action.review_confirm, role=Role.instructor)
async def on_review_confirm(update: Update, context: Context, turn: Turn) -> None:
    """Confirm without comment; the decision travels in the button, so no dialog is needed."""
    attempt_id, accept = turn.args
    if accept not in (0, 1):
        turn.answer(texts.STALE_BUTTON, alert=True)
        return
    await _decide(turn, context, attempt_id, bool(accept), None)


async def _decide(
    turn: Turn, context: Context, attempt_id: int, accept: bool, comment: str | None
) -> None:
    """Grade the attempt; after the commit, tell the student, then the reviewer, then the next."""
    outcome = await review_attempt(turn.session, turn.user, attempt_id, accept, comment)
    following = await next_pending_review(turn.session, turn.user, attempt_id)
    close_dialog(turn.user)
    turn.answer(texts.DONE_TOAST)
    verdict = _verdict(outcome)
    database, reviewer = context.services.database, turn.chat_id
    name, student = outcome.student.display_name, outcome.student.telegram_id

    async def tell_student(bot: Bot) -> None:
        told = await _tell(bot, database, student, verdict)
        await bot.send_message(reviewer, texts.review_done(name, accept, told))

    turn.after(tell_student)
    turn.reply_long(*_item_message(following))


def _verdict(outcome: ReviewOutcome) -> list[Message]:
    """What the student reads: the verdict (with Retry when allowed), then any completion."""
    attempt = outcome.attempt
    retry = keyboards.retry(outcome.quiz.id) if outcome.can_retry else None
    messages: list[Message] = [
        (
            texts.review_verdict(
                outcome.quiz.title,
                outcome.course.title,
                bool(attempt.passed),
                attempt.reviewer_comment,
            ),
            retry,
        )
    ]
    if outcome.completion is not None:
        announce_completion(
            lambda text, markup=None: messages.append((text, markup)),
            outcome.completion,
            outcome.course.title,
        )
    return messages


async def _tell(bot: Bot, database: Database, chat_id: int, messages: list[Message]) -> bool:
    """Messages to a student's own chat; False (and the block noted) if they cannot be told."""
    try:
        for text, markup in messages:
            await bot.send_message(chat_id, text, reply_markup=markup)
    except Forbidden:
        log.info("Student %s has blocked the bot; the verdict is stored", chat_id)
        async with database.session() as session:
            await set_blocked(session, chat_id, True)
        return False
    except TelegramError:
        log.warning("Could not tell student %s about the review", chat_id, exc_info=True)
        return False
    return True

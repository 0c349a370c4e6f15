"""The catalog, course cards, and enrollment (with the key dialog).

Enrollment with a key::

    [📝 Enroll] ──(no key)──────────────► enrolled
         │
         └─(key needed)─► AWAIT_KEY ──right key──► enrolled (END)
                             │  └─wrong key──► AWAIT_KEY (ask again)
                             └─/cancel or 15 min──► END
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ConversationHandler

from bot import keyboards, texts
from db.catalog import catalog_page, course_card
from db.errors import NotFound
from db.learning import MAX_KEY_LENGTH, KeyRequired, enroll
from handlers.common import Context, Turn, as_student, dialog_timed_out

AWAIT_KEY = 1
PENDING_COURSE = "enroll_course_id"


@as_student
async def cmd_courses(update: Update, context: Context, turn: Turn) -> None:
    """/courses [search] — the first page of the published catalog."""
    page = await catalog_page(turn.session, turn.user, " ".join(context.args or []))
    await turn.commit()
    await turn.reply(texts.catalog(page), keyboards.catalog(page))


@as_student
async def on_catalog_page(update: Update, context: Context, turn: Turn) -> None:
    """Pagination (and Back from a card): edit the message in place."""
    assert turn.callback is not None
    page = await catalog_page(turn.session, turn.user, turn.callback.text, turn.args[0])
    await turn.commit()
    await turn.answer()
    await turn.show(texts.catalog(page), keyboards.catalog(page))


@as_student
async def on_course_open(update: Update, context: Context, turn: Turn) -> None:
    """A course card, in place of the catalog message."""
    card = await course_card(turn.session, turn.user, turn.args[0])
    await turn.commit()
    await turn.answer()
    await turn.show(texts.course_card(card), keyboards.course_card(card))


@as_student
async def on_enroll(update: Update, context: Context, turn: Turn) -> int:
    """Enroll at once, or ask for the course's key."""
    course_id = turn.args[0]
    try:
        outcome = await enroll(turn.session, turn.user, course_id)
    except KeyRequired:
        card = await course_card(turn.session, turn.user, course_id)
        await turn.commit()
        context.user_data[PENDING_COURSE] = course_id
        await turn.answer()
        await turn.reply(texts.ask_key(card.course.title))
        return AWAIT_KEY
    await turn.commit()
    await turn.answer("You are enrolled! 🎉" if outcome.created else "Already enrolled.")
    await turn.reply(
        texts.enrolled(outcome.course.title, outcome.created),
        keyboards.enrolled(outcome.course.id),
    )
    return ConversationHandler.END


@as_student
async def on_key(update: Update, context: Context, turn: Turn) -> int:
    """The typed enrollment key; a wrong key is refused by ``enroll`` and asked again."""
    course_id = context.user_data.get(PENDING_COURSE)
    if course_id is None:
        raise NotFound("That enrollment is no longer pending. Open the course again.")
    key = (update.effective_message.text or "")[: MAX_KEY_LENGTH + 1]
    outcome = await enroll(turn.session, turn.user, course_id, key)
    await turn.commit()
    context.user_data.pop(PENDING_COURSE, None)
    await turn.reply(
        texts.enrolled(outcome.course.title, outcome.created),
        keyboards.enrolled(outcome.course.id),
    )
    return ConversationHandler.END


@as_student
async def on_key_not_text(update: Update, context: Context, turn: Turn) -> int:
    await turn.reply("Please type the key as a text message, or /cancel.")
    return AWAIT_KEY


@as_student
async def on_key_cancel(update: Update, context: Context, turn: Turn) -> int:
    context.user_data.pop(PENDING_COURSE, None)
    await turn.commit()
    await turn.reply(texts.CANCELLED)
    return ConversationHandler.END


on_key_timeout = dialog_timed_out(PENDING_COURSE)

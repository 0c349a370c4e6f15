"""The catalog, course cards, and enrollment (with the key dialog).

Enrollment with a key::

    [📝 Enroll] ──(no key)──────────────► enrolled
         │
         └─(key needed)─► dialog "enroll-key" ──right key──► enrolled
                             │  ├─wrong key──► asked again
                             │  ├─not text──► asked to type it
                             │  └─5 wrong keys──► closed: "try again in 15 minutes"
                             └─/cancel, another button or command, or 15 min──► closed

The dialog is a row (``db.dialogs``), so a restart in the middle loses nothing.
"""

from __future__ import annotations

from telegram import Update

from bot import keyboards, texts
from bot.callbacks import Action
from db.catalog import catalog_page, course_card
from db.dialogs import close_dialog, open_dialog
from db.learning import MAX_KEY_LENGTH, KeyRequired, enroll
from handlers.common import Context, Turn, button, command, dialog_step

KEY_DIALOG = "enroll-key"


@command("courses")
async def cmd_courses(update: Update, context: Context, turn: Turn) -> None:
    """/courses [search] — the first page of the published catalog."""
    page = await catalog_page(turn.session, turn.user, " ".join(context.args or []))
    turn.reply(texts.catalog(page), keyboards.catalog(page))


@button(Action.catalog_page)
async def on_catalog_page(update: Update, context: Context, turn: Turn) -> None:
    """Pagination (and Back from a card): edit the message in place."""
    assert turn.callback is not None
    page = await catalog_page(turn.session, turn.user, turn.callback.text, turn.args[0])
    turn.show(texts.catalog(page), keyboards.catalog(page))


async def show_course_card(turn: Turn, course_id: int) -> None:
    """A course's card: in place of the pressed button's message, else as a new message.

    The one way a card is shown (catalog and deep link alike); a long description is split.
    """
    card = await course_card(turn.session, turn.user, course_id)
    turn.show(texts.course_card(card), keyboards.course_card(card))


@button(Action.course_open)
async def on_course_open(update: Update, context: Context, turn: Turn) -> None:
    """A course card, in place of the catalog message."""
    await show_course_card(turn, turn.args[0])


@button(Action.course_enroll)
async def on_enroll(update: Update, context: Context, turn: Turn) -> None:
    """Enroll at once, or ask for the course's key."""
    course_id = turn.args[0]
    try:
        outcome = await enroll(turn.session, turn.user, course_id)
    except KeyRequired:
        card = await course_card(turn.session, turn.user, course_id)
        open_dialog(turn.user, KEY_DIALOG, course_id=course_id)
        turn.reply(texts.ask_key(card.course.title))
        return
    turn.answer(texts.ENROLLED_TOAST if outcome.created else texts.ALREADY_ENROLLED_TOAST)
    turn.reply(
        texts.enrolled(outcome.course.title, outcome.created),
        keyboards.enrolled(outcome.course.id),
    )


@dialog_step(KEY_DIALOG, cancelled=texts.CANCELLED)
async def on_key(update: Update, context: Context, turn: Turn) -> None:
    """The typed enrollment key; a wrong key is refused by ``enroll`` and asked again."""
    assert turn.dialog is not None
    key = turn.typed_text()[: MAX_KEY_LENGTH + 1]
    outcome = await enroll(turn.session, turn.user, turn.dialog.data["course_id"], key)
    close_dialog(turn.user)
    turn.reply(
        texts.enrolled(outcome.course.title, outcome.created),
        keyboards.enrolled(outcome.course.id),
    )

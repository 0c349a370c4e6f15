"""/broadcast: an admin composes a message, chooses who gets it, sees it, and confirms.

    /broadcast ─► the message (text, or a photo with a caption) ─► the audience (buttons)
               ─► the message again, as users will see it, with how many get it ─► Confirm

The composing dialog is stored with the account (a restart loses nothing). Confirm starts a
campaign (``db.broadcasts``): the confirmation message becomes its progress message, edited
every few seconds while the shared paced sender delivers it, with a button to cancel it.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, Message, Update

from bot import keyboards, texts
from bot.callbacks import Action
from db.broadcasts import (
    INACTIVE_DAYS_CHOICES,
    audience_course,
    audience_size,
    cancel_broadcast,
    check_audience,
    course_choices,
    start_broadcast,
)
from db.dialogs import Dialog, open_dialog
from db.errors import Conflict, Invalid, Reason
from db.models import MediaKind, Role
from handlers.common import Context, Turn, button, command, dialog_step

ADMIN = Role.admin
BROADCAST = "broadcast"


def _composing(turn: Turn, *steps: str) -> Dialog:
    """The broadcast being composed, at one of ``steps``: a button leaves the dialog, so it is
    ``left_dialog`` here; a stale button (after /cancel or a restart that timed out) gets
    "this step has passed"."""
    dialog = turn.left_dialog
    if dialog is None or dialog.kind != BROADCAST or dialog.step not in steps:
        raise Conflict(Reason.step_has_passed)
    return dialog


def _ask_for_message(turn: Turn) -> None:
    open_dialog(turn.user, BROADCAST, step="message")
    turn.reply(texts.ASK_BROADCAST, keyboards.broadcast_cancel())


@command("broadcast", role=ADMIN)
async def on_broadcast(update: Update, context: Context, turn: Turn) -> None:
    _ask_for_message(turn)


@button(Action.broadcast_new, role=ADMIN)
async def on_broadcast_button(update: Update, context: Context, turn: Turn) -> None:
    _ask_for_message(turn)


@dialog_step(BROADCAST, "message", cancelled=texts.BROADCAST_CANCELLED, role=ADMIN)
async def on_broadcast_message(update: Update, context: Context, turn: Turn) -> None:
    message = update.effective_message
    assert isinstance(message, Message)
    if message.photo:
        text, photo = message.caption_html or "", message.photo[-1].file_id
    elif message.text is not None:
        text, photo = message.text_html, None
    else:
        raise Invalid(Reason.broadcast_content)
    open_dialog(turn.user, BROADCAST, step="audience", text=text, photo=photo)
    turn.reply(texts.BROADCAST_AUDIENCE, keyboards.broadcast_audiences())


@button(Action.broadcast_audience, role=ADMIN)
async def on_audience(update: Update, context: Context, turn: Turn) -> None:
    dialog = _composing(turn, "audience")
    choice = turn.args[0]
    if choice == 0:
        await _preview(turn, dialog.data, {"kind": "everyone"})
    elif choice == 1:
        choices = await course_choices(turn.session)
        open_dialog(turn.user, BROADCAST, **dialog.data)  # still choosing
        if not choices:
            turn.answer(texts.BROADCAST_NO_COURSES, alert=True)
            return
        turn.show(
            texts.BROADCAST_CHOOSE_COURSE,
            keyboards.broadcast_courses(
                [(course.id, course.title, enrolled) for course, enrolled in choices]
            ),
        )
    elif choice == 2:
        open_dialog(turn.user, BROADCAST, **dialog.data)  # still choosing
        turn.show(texts.BROADCAST_CHOOSE_DAYS, keyboards.broadcast_days(INACTIVE_DAYS_CHOICES))
    else:
        raise Invalid(Reason.audience_unknown)


@button(Action.broadcast_course, role=ADMIN)
async def on_audience_course(update: Update, context: Context, turn: Turn) -> None:
    dialog = _composing(turn, "audience")
    await _preview(turn, dialog.data, {"kind": "course", "course_id": turn.args[0]})


@button(Action.broadcast_inactive, role=ADMIN)
async def on_audience_inactive(update: Update, context: Context, turn: Turn) -> None:
    dialog = _composing(turn, "audience")
    await _preview(turn, dialog.data, {"kind": "inactive", "days": turn.args[0]})


async def _preview(turn: Turn, data: dict[str, Any], audience: dict[str, Any]) -> None:
    """The message exactly as users will get it, then who gets it, and Confirm."""
    audience = check_audience(audience)
    title = None
    if audience["kind"] == "course":
        title = (await audience_course(turn.session, audience["course_id"])).title
    size = await audience_size(turn.session, audience)
    if size.reachable == 0:  # choose again: the composed message stays
        open_dialog(turn.user, BROADCAST, step="audience", text=data["text"], photo=data["photo"])
        turn.answer(texts.REFUSALS[Reason.nobody_in_audience], alert=True)
        return
    open_dialog(
        turn.user,
        BROADCAST,
        step="confirm",
        text=data["text"],
        photo=data["photo"],
        audience=audience,
    )
    if data["photo"]:
        turn.reply_media(MediaKind.photo, data["photo"], data["text"] or None)
    else:
        turn.reply(data["text"])
    turn.reply(
        texts.broadcast_preview(texts.audience(audience, title), size.reachable, size.blocked),
        keyboards.broadcast_confirm(),
    )


@button(Action.broadcast_confirm, role=ADMIN)
async def on_confirm(update: Update, context: Context, turn: Turn) -> None:
    dialog = _composing(turn, "confirm")
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    campaign, reachable = await start_broadcast(
        turn.session,
        turn.user,
        text=dialog.data["text"],
        photo_file_id=dialog.data["photo"],
        audience=dialog.data["audience"],
        report_chat_id=turn.chat_id,
        report_message_id=query.message.message_id,
    )
    pushes = context.services.pushes

    async def send(bot: Bot) -> None:
        pushes.start(bot, campaign.id)

    turn.answer(texts.BROADCAST_STARTED_TOAST)
    turn.edit(texts.campaign_starting(reachable), keyboards.campaign_progress(campaign.id))
    turn.after(send)


@button(Action.broadcast_drop, role=ADMIN)
async def on_drop(update: Update, context: Context, turn: Turn) -> None:
    """Cancel while composing (the button left the dialog already)."""
    _composing(turn, "message", "audience", "confirm")
    turn.edit(texts.BROADCAST_CANCELLED)


@button(Action.broadcast_stop, role=ADMIN)
async def on_stop(update: Update, context: Context, turn: Turn) -> None:
    sent = await cancel_broadcast(turn.session, turn.user, turn.args[0])
    turn.answer(texts.BROADCAST_STOPPED_TOAST)
    turn.edit(texts.broadcast_stopped(sent))

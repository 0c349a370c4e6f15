"""/settings: reminders on or off, their hour and time zone, and the courses whose reminders
were stopped; and the buttons of the reminders themselves.

Everything happens in the one /settings message, edited in place::

    /settings ─► [🔕 Turn reminders off | 🔔 on] ─► settings
                 [🕕 Reminder hour] ─► 24 hours ─► settings           [⬅️ Back] ─► settings
                 [🌍 Time zone] ─► dialog "settings-timezone"
                        ├─typed zone or city (Berlin)──► settings
                        ├─misspelled or ambiguous──► [Europe/Berlin (18:05)] … ─► settings
                        ├─unknown──► asked again
                        └─/cancel, another button or command, or 15 min──► unchanged
                 [🔔 Resume: course] ─► settings

The dialog keeps the settings message's id, so the answer typed below it edits it. A reminder
brings ▶️ Continue (``handlers.lessons``), 🔕 Stop reminders (that course only) and ⚙️ Settings;
the instructors' digest brings 📝 Open /review.
"""

from __future__ import annotations

from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot import keyboards, texts
from bot.callbacks import Action
from bot.timezones import find_timezone
from db.dialogs import close_dialog, open_dialog
from db.models import Role, utcnow
from db.quizzes import next_pending_review
from db.usersettings import (
    resume_course_reminders,
    set_reminder_hour,
    set_reminders,
    set_timezone,
    stop_course_reminders,
    user_settings,
)
from handlers.common import Context, Turn, button, command, dialog_step

ZONE_DIALOG = "settings-timezone"
Shown = tuple[str, InlineKeyboardMarkup]


async def _settings(turn: Turn, context: Context, note: str | None = None) -> Shown:
    view = await user_settings(turn.session, turn.user)
    policy = context.services.settings
    text = texts.settings(
        view, utcnow(), policy.reminder_inactive_days, policy.reminder_repeat_days, note
    )
    return text, keyboards.settings(view)


def _pressed(update: Update) -> Message | None:
    query = update.callback_query
    return query.message if query and isinstance(query.message, Message) else None


@command("settings")
async def cmd_settings(update: Update, context: Context, turn: Turn) -> None:
    """Reminders, their hour and time zone, and the courses whose reminders were stopped."""
    turn.reply(*await _settings(turn, context))


@button(Action.settings_open)
async def on_settings(update: Update, context: Context, turn: Turn) -> None:
    """Back to the settings, in place."""
    turn.show(*await _settings(turn, context))


@button(Action.settings_new)
async def on_settings_new(update: Update, context: Context, turn: Turn) -> None:
    """⚙️ Settings under a reminder: a new message (the reminder stays)."""
    turn.reply(*await _settings(turn, context))


@button(Action.settings_reminders)
async def on_reminders_switch(update: Update, context: Context, turn: Turn) -> None:
    """On or off: the button carries the new state, so a double tap changes nothing more."""
    (state,) = turn.args
    if state not in (0, 1):
        turn.answer(texts.STALE_BUTTON, alert=True)
        return
    set_reminders(turn.user, bool(state))
    turn.show(*await _settings(turn, context, texts.reminders_switched(bool(state))))


@button(Action.settings_hours)
async def on_hours(update: Update, context: Context, turn: Turn) -> None:
    user = turn.user
    turn.show(texts.ask_hour(user.timezone, utcnow()), keyboards.reminder_hours(user.reminder_hour))


@button(Action.settings_hour)
async def on_hour(update: Update, context: Context, turn: Turn) -> None:
    set_reminder_hour(turn.user, turn.args[0])
    turn.answer(texts.HOUR_SAVED_TOAST)
    turn.show(*await _settings(turn, context, texts.hour_saved(turn.user.reminder_hour)))


@button(Action.settings_zone)
async def on_zone(update: Update, context: Context, turn: Turn) -> None:
    """Ask for the zone; the typed answer edits this same message."""
    message = _pressed(update)
    open_dialog(turn.user, ZONE_DIALOG, message_id=message.message_id if message else None)
    turn.show(texts.ASK_TIMEZONE, keyboards.back_to_settings())


@dialog_step(ZONE_DIALOG, cancelled=texts.TIMEZONE_CANCELLED)
async def on_zone_typed(update: Update, context: Context, turn: Turn) -> None:
    """A zone or a city: saved when it names one zone; else suggestions, and asked again."""
    assert turn.dialog is not None
    message_id = turn.dialog.data.get("message_id")
    typed = turn.typed_text()
    found = find_timezone(typed)
    if found.zone is None:
        open_dialog(turn.user, ZONE_DIALOG, message_id=message_id)  # its timeout starts again
        shown: Shown = (
            texts.timezone_not_found(typed, found.suggestions),
            keyboards.timezone_choices(found.suggestions, utcnow()),
        )
    else:
        set_timezone(turn.user, found.zone)
        close_dialog(turn.user)
        shown = await _settings(turn, context, texts.timezone_saved(found.zone))
    _edit_or_send(turn, message_id, *shown)


def _edit_or_send(
    turn: Turn, message_id: int | None, text: str, markup: InlineKeyboardMarkup
) -> None:
    """Edit the settings message by its id (the update is a typed message, not a button); a
    new message if it is gone."""
    chat_id = turn.chat_id

    async def edit(bot: Bot) -> None:
        if message_id is not None:
            try:
                await bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
                return
            except BadRequest as error:
                if "not modified" in error.message.lower():
                    return
        await bot.send_message(chat_id, text, reply_markup=markup)

    turn.after(edit)


@button(Action.settings_zone_pick)
async def on_zone_pick(update: Update, context: Context, turn: Turn) -> None:
    """A suggested zone (its name is checked: the button may be forged)."""
    assert turn.callback is not None
    set_timezone(turn.user, turn.callback.text)
    turn.show(*await _settings(turn, context, texts.timezone_saved(turn.user.timezone)))


@button(Action.reminders_resume)
async def on_resume(update: Update, context: Context, turn: Turn) -> None:
    title = await resume_course_reminders(turn.session, turn.user, turn.args[0])
    turn.show(*await _settings(turn, context, texts.course_reminders_resumed(title)))


# -- the buttons of a reminder and of the review digest -------------------------------------------


@button(Action.reminders_stop)
async def on_stop(update: Update, context: Context, turn: Turn) -> None:
    """🔕 Stop reminders: of this course only (the caller's own enrollment), undone in /settings;
    the reminder loses that course's buttons."""
    course_id = turn.args[0]
    title = await stop_course_reminders(turn.session, turn.user, course_id)
    turn.answer(texts.course_reminders_stopped(title))
    if message := _pressed(update):
        turn.edit_markup(keyboards.without_course(message.reply_markup, course_id))


@button(Action.review_open, role=Role.instructor)
async def on_review_open(update: Update, context: Context, turn: Turn) -> None:
    """📝 Open /review from the digest: the oldest answer waiting, as /review shows it."""
    item = await next_pending_review(turn.session, turn.user)
    if item is None:
        turn.reply(texts.NOTHING_TO_REVIEW)
    else:
        turn.reply_long(texts.review_item(item), keyboards.review(item))

"""Authoring in the chat: /newcourse, /teach, a course's management card, and its lessons.

/newcourse is a wizard (a dialog with steps, stored with the account, so a half-written course
survives a restart)::

    /newcourse ─► title ─► description ─► category ─► difficulty ─► duration ─► draft's card
                            [Skip]          [Skip]       [buttons]     [Skip]

A lesson is added the same way: its title, then its content in one or more messages (text with
its formatting, or a photo, video, document or audio with a caption), finished with ✅ Done.
A wizard's own buttons (Skip, a difficulty, Done) carry the wizard on: every button leaves the
open dialog, and these reopen it at the next step from ``turn.left_dialog``, so a stale one
(after /cancel or a restart that timed out) only says the step has passed.

Every handler is for instructors (admins too); ownership is checked in ``db.teaching`` on
every update.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Message, Update

from bot import keyboards, texts
from bot.callbacks import Action
from bot.coursefile import (
    MAX_FILE_BYTES,
    check_html,
    decode_course_file,
    dump_course,
    parse_course,
)
from db.accounts import require_role
from db.authoring import CourseDraft, course_draft, create_course
from db.coursestats import course_stats, gradebook_csv
from db.dialogs import Dialog, close_dialog, open_dialog
from db.errors import Conflict, Invalid, Reason
from db.models import Difficulty, MediaKind, Role
from db.replacing import replace_course, replacement_summary
from db.teaching import (
    add_lesson,
    course_management,
    create_draft,
    delete_course,
    delete_lesson,
    managed_lesson,
    move_lesson,
    publish,
    set_enrollment_key,
    teaching_page,
    unpublish,
    update_course,
    update_lesson,
    validate_course_field,
)
from handlers.common import Context, Turn, button, command, dialog_step

NEW_COURSE = "new-course"
EDIT_FIELD = "course-edit"
RENAME_LESSON = "lesson-rename"
SET_KEY = "course-key"
ADD_LESSON = "lesson-add"
REPLACE_COURSE = "course-replace"
INSTRUCTOR = Role.instructor

# The wizard's steps in order; the optional ones can be skipped.
WIZARD = texts.COURSE_FIELDS
OPTIONAL = frozenset({"description", "category", "difficulty", "duration_minutes"})
LEVELS = list(Difficulty)


# -- /teach and the management card --------------------------------------------------------------


@command("teach", role=INSTRUCTOR)
async def cmd_teach(update: Update, context: Context, turn: Turn) -> None:
    """Your courses (admins: yours, then everyone's), with their state and counts."""
    page = await teaching_page(turn.session, turn.user, 0)
    turn.reply(texts.teaching(page), keyboards.teaching(page))


@button(Action.teach_page, role=INSTRUCTOR)
async def on_teach_page(update: Update, context: Context, turn: Turn) -> None:
    page = await teaching_page(turn.session, turn.user, turn.args[0])
    turn.show(texts.teaching(page), keyboards.teaching(page))


async def show_card(turn: Turn, course_id: int, *, new: bool = False) -> None:
    """The course's management card, in place of the pressed message (or as a new one)."""
    card = await course_management(turn.session, turn.user, course_id)
    turn.show(texts.course_management(card), keyboards.course_management(card), new=new)


@button(Action.teach_open, role=INSTRUCTOR)
async def on_teach_open(update: Update, context: Context, turn: Turn) -> None:
    await show_card(turn, turn.args[0])


@button(Action.teach_publish, role=INSTRUCTOR)
async def on_publish(update: Update, context: Context, turn: Turn) -> None:
    """Publish: in the catalog from now on (a course needs a lesson first)."""
    await publish(turn.session, turn.user, turn.args[0])
    turn.answer(texts.PUBLISHED_TOAST)
    await show_card(turn, turn.args[0])


@button(Action.teach_unpublish, role=INSTRUCTOR)
async def on_unpublish(update: Update, context: Context, turn: Turn) -> None:
    """Unpublish: out of the catalog; enrolled students keep their access."""
    await unpublish(turn.session, turn.user, turn.args[0])
    turn.answer(texts.UNPUBLISHED_TOAST)
    await show_card(turn, turn.args[0])


@button(Action.teach_delete, role=INSTRUCTOR)
async def on_delete(update: Update, context: Context, turn: Turn) -> None:
    """Delete asks first, saying how many students are enrolled."""
    card = await course_management(turn.session, turn.user, turn.args[0])
    turn.show(
        texts.confirm_course_deletion(card.course.title, card.enrolled_count),
        keyboards.confirm(Action.teach_delete_confirm, Action.teach_open, card.course.id),
    )


@button(Action.teach_delete_confirm, role=INSTRUCTOR)
async def on_delete_confirmed(update: Update, context: Context, turn: Turn) -> None:
    title = await delete_course(turn.session, turn.user, turn.args[0])
    turn.answer(texts.DELETED_TOAST)
    turn.show(texts.course_deleted(title), keyboards.back_to_teaching())


# -- editing the course's fields ------------------------------------------------------------------


@button(Action.teach_edit, role=INSTRUCTOR)
async def on_edit(update: Update, context: Context, turn: Turn) -> None:
    """Edit one field: the difficulty with buttons, the others by typing the new value."""
    course_id, index = turn.args
    if index >= len(WIZARD):
        turn.answer(texts.STALE_BUTTON, alert=True)
        return
    card = await course_management(turn.session, turn.user, course_id)
    field = WIZARD[index]
    if field == "difficulty":
        turn.reply(texts.ASK_DIFFICULTY, keyboards.levels(Action.teach_level, card.course.id))
        return
    open_dialog(turn.user, EDIT_FIELD, course_id=card.course.id, field=field)
    turn.reply(texts.ask_new_value(field, card.course))


@dialog_step(EDIT_FIELD, cancelled=texts.CANCELLED, role=INSTRUCTOR)
async def on_edit_value(update: Update, context: Context, turn: Turn) -> None:
    assert turn.dialog is not None
    course_id, field = turn.dialog.data["course_id"], turn.dialog.data["field"]
    value = _typed_value(turn, field)
    await update_course(turn.session, turn.user, course_id, **{field: value})
    close_dialog(turn.user)
    turn.reply(texts.SAVED)
    await show_card(turn, course_id, new=True)


@button(Action.teach_level, role=INSTRUCTOR)
async def on_level(update: Update, context: Context, turn: Turn) -> None:
    course_id, index = turn.args
    level = _level(index)
    await update_course(turn.session, turn.user, course_id, difficulty=level)
    turn.answer(texts.SAVED)
    await show_card(turn, course_id)


@button(Action.teach_key, role=INSTRUCTOR)
async def on_key(update: Update, context: Context, turn: Turn) -> None:
    card = await course_management(turn.session, turn.user, turn.args[0])
    open_dialog(turn.user, SET_KEY, course_id=card.course.id)
    turn.reply(texts.ASK_ENROLLMENT_KEY)


@dialog_step(SET_KEY, cancelled=texts.CANCELLED, role=INSTRUCTOR)
async def on_key_typed(update: Update, context: Context, turn: Turn) -> None:
    assert turn.dialog is not None
    course_id = turn.dialog.data["course_id"]
    await set_enrollment_key(turn.session, turn.user, course_id, turn.typed_text().strip())
    close_dialog(turn.user)
    turn.reply(texts.KEY_SET)
    await show_card(turn, course_id, new=True)


@button(Action.teach_key_clear, role=INSTRUCTOR)
async def on_key_clear(update: Update, context: Context, turn: Turn) -> None:
    await set_enrollment_key(turn.session, turn.user, turn.args[0], None)
    turn.answer(texts.KEY_CLEARED)
    await show_card(turn, turn.args[0])


# -- /newcourse ------------------------------------------------------------------------------------


@command("newcourse", role=INSTRUCTOR)
async def cmd_newcourse(update: Update, context: Context, turn: Turn) -> None:
    """Start the wizard; the course is created as a draft at its last step."""
    open_dialog(turn.user, NEW_COURSE, step=WIZARD[0])
    _ask(turn, WIZARD[0])


def _ask(turn: Turn, step: str) -> None:
    if step == "difficulty":
        turn.reply(texts.ASK_DIFFICULTY, keyboards.levels(Action.new_course_level, skip=True))
    else:
        turn.reply(texts.wizard_prompt(step), keyboards.skip() if step in OPTIONAL else None)


async def _next(turn: Turn, data: dict[str, Any], step: str) -> None:
    """After ``step``: ask the next one, or create the draft after the last."""
    following = WIZARD.index(step) + 1
    if following < len(WIZARD):
        open_dialog(turn.user, NEW_COURSE, step=WIZARD[following], **data)
        _ask(turn, WIZARD[following])
        return
    course = await create_draft(turn.session, turn.user, **data)
    close_dialog(turn.user)
    turn.reply(texts.course_created(course.title))
    await show_card(turn, course.id, new=True)


def _wizard_data(dialog: Dialog) -> dict[str, Any]:
    return {key: value for key, value in dialog.data.items() if key != "step"}


async def _wizard_step(update: Update, context: Context, turn: Turn) -> None:
    """A typed answer to the wizard's current step."""
    assert turn.dialog is not None
    step = turn.dialog.step
    data = _wizard_data(turn.dialog)
    data[step] = _typed_value(turn, step)
    await _next(turn, data, step)


for _step in WIZARD:
    dialog_step(NEW_COURSE, _step, cancelled=texts.NEW_COURSE_CANCELLED, role=INSTRUCTOR)(
        _wizard_step
    )


def _wizard_at(turn: Turn, *steps: str) -> Dialog:
    """The wizard the pressed button belongs to, if it is still at one of ``steps``."""
    dialog = turn.left_dialog
    if dialog is None or dialog.kind != NEW_COURSE or dialog.step not in steps:
        raise Conflict(Reason.step_has_passed)
    return dialog


@button(Action.new_course_skip, role=INSTRUCTOR)
async def on_skip(update: Update, context: Context, turn: Turn) -> None:
    dialog = _wizard_at(turn, *OPTIONAL)
    await _next(turn, _wizard_data(dialog), dialog.step)


@button(Action.new_course_level, role=INSTRUCTOR)
async def on_wizard_level(update: Update, context: Context, turn: Turn) -> None:
    dialog = _wizard_at(turn, "difficulty")
    data = _wizard_data(dialog) | {"difficulty": _level(turn.args[0])}
    await _next(turn, data, "difficulty")


def _typed_value(turn: Turn, field: str) -> Any:
    """A typed course field, checked by the one validation in ``db.teaching`` (a difficulty
    may be typed by name too). The description keeps its formatting: the HTML Telegram gives
    for the message, checked like a course file's."""
    message = turn.update.effective_message
    text = turn.typed_text()
    if field == "description" and isinstance(message, Message) and message.text_html:
        text = message.text_html
        _check_markup(text)
    return validate_course_field(field, text)


def _check_markup(html: str) -> None:
    try:
        check_html(html)
    except ValueError:
        raise Invalid(Reason.lesson_content_kind) from None


def _level(index: int) -> Difficulty:
    if not 0 <= index < len(LEVELS):
        raise Invalid(Reason.difficulty_unknown)
    return LEVELS[index]


# -- lessons ---------------------------------------------------------------------------------------


@button(Action.lesson_add, role=INSTRUCTOR)
async def on_lesson_add(update: Update, context: Context, turn: Turn) -> None:
    card = await course_management(turn.session, turn.user, turn.args[0])
    open_dialog(turn.user, ADD_LESSON, step="title", course_id=card.course.id)
    turn.reply(texts.ask_lesson_title(card.course.title))


@dialog_step(ADD_LESSON, "title", cancelled=texts.LESSON_CANCELLED, role=INSTRUCTOR)
async def on_lesson_title(update: Update, context: Context, turn: Turn) -> None:
    assert turn.dialog is not None
    title = validate_course_field("title", turn.typed_text())
    course_id = turn.dialog.data["course_id"]
    open_dialog(turn.user, ADD_LESSON, step="content", course_id=course_id, title=title, parts=[])
    turn.reply(texts.ASK_LESSON_CONTENT)


@button(Action.lesson_rename, role=INSTRUCTOR)
async def on_lesson_rename(update: Update, context: Context, turn: Turn) -> None:
    lesson, _ = await managed_lesson(turn.session, turn.user, turn.args[0])
    open_dialog(turn.user, RENAME_LESSON, lesson_id=lesson.id)
    turn.reply(texts.ask_lesson_rename(lesson.title))


@dialog_step(RENAME_LESSON, cancelled=texts.CANCELLED, role=INSTRUCTOR)
async def on_lesson_renamed(update: Update, context: Context, turn: Turn) -> None:
    assert turn.dialog is not None
    lesson = await update_lesson(
        turn.session, turn.user, turn.dialog.data["lesson_id"], title=turn.typed_text()
    )
    close_dialog(turn.user)
    turn.reply(texts.lesson_updated(lesson.title))
    await show_card(turn, lesson.course_id, new=True)


@button(Action.lesson_rewrite, role=INSTRUCTOR)
async def on_lesson_rewrite(update: Update, context: Context, turn: Turn) -> None:
    """New content for a lesson: the same messages-then-Done flow as adding one."""
    lesson, course = await managed_lesson(turn.session, turn.user, turn.args[0])
    open_dialog(
        turn.user,
        ADD_LESSON,
        step="content",
        course_id=course.id,
        lesson_id=lesson.id,
        title=lesson.title,
        parts=[],
    )
    turn.reply(texts.ask_lesson_rewrite(lesson.title))


@dialog_step(ADD_LESSON, "content", cancelled=texts.LESSON_CANCELLED, role=INSTRUCTOR)
async def on_lesson_content(update: Update, context: Context, turn: Turn) -> None:
    """One message of the lesson: its formatted text, or a medium and its caption."""
    assert turn.dialog is not None
    data = dict(turn.dialog.data)
    message = update.effective_message
    assert isinstance(message, Message)
    media = _media_of(message)
    if media is not None:
        if data.get("media_kind"):
            raise Invalid(Reason.one_medium_per_lesson)
        data["media_kind"], data["media_file_id"] = media
        part = message.caption_html or ""
    elif message.text is not None:
        part = message.text_html
    else:
        raise Invalid(Reason.lesson_content_kind)
    if part:
        _check_markup(part)
    if part:
        data["parts"] = [*data.get("parts", []), part]
    data["received"] = data.get("received", 0) + 1
    open_dialog(turn.user, ADD_LESSON, **data)
    turn.reply(texts.lesson_part_received(data["received"]), keyboards.lesson_done())


def _media_of(message: Message) -> tuple[str, str] | None:
    if message.photo:
        return MediaKind.photo.value, message.photo[-1].file_id
    for kind in (MediaKind.video, MediaKind.document, MediaKind.audio):
        attachment = getattr(message, kind.value)
        if attachment is not None:
            return kind.value, attachment.file_id
    return None


@button(Action.lesson_add_done, role=INSTRUCTOR)
async def on_lesson_done(update: Update, context: Context, turn: Turn) -> None:
    """Done: the lesson is added (last), and enrolled students' progress stays true."""
    dialog = turn.left_dialog
    if dialog is None or dialog.kind != ADD_LESSON or dialog.step != "content":
        raise Conflict(Reason.step_has_passed)
    data = dialog.data
    if not data.get("parts") and not data.get("media_kind"):
        open_dialog(turn.user, ADD_LESSON, **data)  # still waiting for the content
        turn.answer(texts.SEND_CONTENT_FIRST, alert=True)
        return
    content = "\n\n".join(data.get("parts", []))
    media_kind = MediaKind(data["media_kind"]) if data.get("media_kind") else None
    if "lesson_id" in data:  # new content for an existing lesson: text and media replaced
        lesson = await update_lesson(
            turn.session,
            turn.user,
            data["lesson_id"],
            content=content,
            media_kind=media_kind,
            media_file_id=data.get("media_file_id"),
        )
        turn.answer(texts.SAVED)
        turn.reply(texts.lesson_updated(lesson.title))
    else:
        lesson = await add_lesson(
            turn.session,
            turn.user,
            data["course_id"],
            title=data["title"],
            content=content,
            media_kind=media_kind,
            media_file_id=data.get("media_file_id"),
        )
        turn.answer(texts.LESSON_ADDED_TOAST)
        turn.reply(texts.lesson_added(lesson.title), keyboards.announce_offer(lesson.id))
    await show_card(turn, data["course_id"], new=True)


@button(Action.lesson_manage, role=INSTRUCTOR)
async def on_lesson_manage(update: Update, context: Context, turn: Turn) -> None:
    lesson, course = await managed_lesson(turn.session, turn.user, turn.args[0])
    turn.show(texts.lesson_management(lesson, course), keyboards.lesson_management(lesson))


async def _move(turn: Turn, offset: int) -> None:
    lesson = await move_lesson(turn.session, turn.user, turn.args[0], offset)
    await show_card(turn, lesson.course_id)


@button(Action.lesson_up, role=INSTRUCTOR)
async def on_lesson_up(update: Update, context: Context, turn: Turn) -> None:
    await _move(turn, -1)


@button(Action.lesson_down, role=INSTRUCTOR)
async def on_lesson_down(update: Update, context: Context, turn: Turn) -> None:
    await _move(turn, +1)


@button(Action.lesson_delete, role=INSTRUCTOR)
async def on_lesson_delete(update: Update, context: Context, turn: Turn) -> None:
    lesson, course = await managed_lesson(turn.session, turn.user, turn.args[0])
    turn.show(
        texts.confirm_lesson_deletion(lesson.title, course.title),
        keyboards.confirm(Action.lesson_delete_confirm, Action.lesson_manage, lesson.id),
    )


@button(Action.lesson_delete_confirm, role=INSTRUCTOR)
async def on_lesson_delete_confirmed(update: Update, context: Context, turn: Turn) -> None:
    course = await delete_lesson(turn.session, turn.user, turn.args[0])
    turn.answer(texts.DELETED_TOAST)
    await show_card(turn, course.id)


# -- course files ----------------------------------------------------------------------------------

COURSE_FILE_SUFFIXES = (".yaml", ".yml", ".json")


@button(Action.teach_export, role=INSTRUCTOR)
async def on_export(update: Update, context: Context, turn: Turn) -> None:
    """The course as a course file (YAML), sent as a document; the key is never exported."""
    card = await course_management(turn.session, turn.user, turn.args[0])
    text = dump_course(await course_draft(turn.session, card.course.id))
    name = re.sub(r"[^a-z0-9]+", "-", card.course.title.lower()).strip("-") or "course"
    turn.reply_document(f"{name[:60]}.yaml", text.encode(), texts.exported(card.course.title))


async def _received_course_file(
    update: Update, context: Context, turn: Turn
) -> tuple[CourseDraft, str, str]:
    """The course file the message carries, downloaded and read (all of it valid, or an error
    naming the place), with its ``file_id`` and name: a .yaml, .yml or .json document of at
    most 1 MB of UTF-8 text."""
    message = update.effective_message
    document = message.document if message is not None else None
    name = (document.file_name or "") if document else ""
    too_large = document is not None and (document.file_size or 0) > MAX_FILE_BYTES
    if document is None or not name.lower().endswith(COURSE_FILE_SUFFIXES) or too_large:
        raise Invalid(Reason.not_a_course_file, megabytes=MAX_FILE_BYTES // 2**20)
    draft = await _download_course_file(turn, context, document.file_id, name)
    return draft, document.file_id, name


async def _download_course_file(
    turn: Turn, context: Context, file_id: str, name: str
) -> CourseDraft:
    """The file is fetched from Telegram with no transaction open: what came before is
    committed first, as every Telegram request waits for the commit."""
    await turn.session.commit()
    raw = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    return parse_course(decode_course_file(raw, name), filename=name)


async def import_document(update: Update, context: Context, turn: Turn) -> None:
    """A course file sent to the bot becomes a new draft (all or nothing; errors name the place)."""
    require_role(turn.user, INSTRUCTOR)
    draft, _, _ = await _received_course_file(update, context, turn)
    draft.published = False  # a new draft: the author checks it in the chat first
    course = await create_course(turn.session, turn.user, draft)
    turn.reply(texts.course_imported(course.title, len(draft.lessons)))
    await show_card(turn, course.id, new=True)


# -- replacing a course from a course file ---------------------------------------------------------
#
#   📥 Replace from file ─► the file ─► (students enrolled?) ─► Confirm ─► replaced, the card
#                [Cancel]    [hint for text]  no: replaced at once   [Cancel]
#
# The question keeps only the file's file_id and name in the dialog, and Confirm downloads it
# again: a dialog is read with the account on every update, and a course file may be 1 MB.
# Confirm carries the message id of the file it answers, so an older question's Confirm (after
# another file was sent) only says the step has passed.


@button(Action.teach_replace, role=INSTRUCTOR)
async def on_replace(update: Update, context: Context, turn: Turn) -> None:
    """📥 Replace from file: the next course file sent replaces this course in place."""
    card = await course_management(turn.session, turn.user, turn.args[0])
    open_dialog(turn.user, REPLACE_COURSE, step="file", course_id=card.course.id)
    turn.reply(
        texts.ask_replacement_file(card.course.title),
        keyboards.cancel(Action.teach_open, card.course.id),
    )


@dialog_step(REPLACE_COURSE, "file", cancelled=texts.REPLACE_CANCELLED, role=INSTRUCTOR)
@dialog_step(REPLACE_COURSE, "confirm", cancelled=texts.REPLACE_CANCELLED, role=INSTRUCTOR)
async def on_replacement_file(update: Update, context: Context, turn: Turn) -> None:
    """The file that replaces the dialog's course: at once when nobody is enrolled, else after
    Confirm. Any new document withdraws an earlier question, even when it is refused."""
    assert turn.dialog is not None
    course_id = turn.dialog.data["course_id"]
    message = update.effective_message
    if message is None or message.document is None:
        asked = turn.dialog.step == "confirm"
        turn.reply(texts.CONFIRM_OR_SEND_FILE if asked else texts.SEND_REPLACEMENT_FILE)
        return
    card = await course_management(turn.session, turn.user, course_id)
    open_dialog(turn.user, REPLACE_COURSE, step="file", course_id=course_id)
    await turn.session.commit()  # kept when the document is refused below
    draft, file_id, name = await _received_course_file(update, context, turn)
    summary = await replacement_summary(turn.session, turn.user, course_id, draft)
    if summary.enrolled:
        open_dialog(
            turn.user,
            REPLACE_COURSE,
            step="confirm",
            course_id=course_id,
            file_id=file_id,
            file_name=name,
            message_id=message.message_id,
        )
        turn.reply(
            texts.confirm_replacement(card.course.title, summary),
            keyboards.confirm(
                Action.teach_replace_confirm,
                Action.teach_open,
                course_id,
                message.message_id,
                back=(course_id,),
            ),
        )
        return
    close_dialog(turn.user)
    await turn.session.commit()  # the new key's hash (if any) must not hold the write lock
    done = await replace_course(turn.session, turn.user, course_id, draft)
    turn.reply(texts.course_replaced(draft.title, done))
    await show_card(turn, course_id, new=True)


@button(Action.teach_replace_confirm, role=INSTRUCTOR)
async def on_replace_confirmed(update: Update, context: Context, turn: Turn) -> None:
    """Confirm: the file of the question is downloaded again and replaces the course."""
    course_id, message_id = turn.args
    await course_management(turn.session, turn.user, course_id)
    dialog = turn.left_dialog
    if dialog is None or (dialog.kind, dialog.step) != (REPLACE_COURSE, "confirm"):
        raise Conflict(Reason.step_has_passed)
    data = dialog.data
    if (data.get("course_id"), data.get("message_id")) != (course_id, message_id):
        raise Conflict(Reason.step_has_passed)
    draft = await _download_course_file(turn, context, data["file_id"], data["file_name"])
    done = await replace_course(turn.session, turn.user, course_id, draft)
    turn.answer(texts.REPLACED_TOAST)
    turn.edit(texts.course_replaced(draft.title, done))
    await show_card(turn, course_id, new=True)


# -- stats -----------------------------------------------------------------------------------------


@button(Action.teach_stats, role=INSTRUCTOR)
async def on_stats(update: Update, context: Context, turn: Turn) -> None:
    """The course's figures: enrolment, activity, progress, the lesson funnel, quiz results."""
    stats = await course_stats(turn.session, turn.user, turn.args[0])
    turn.show(texts.course_stats(stats), keyboards.course_stats(turn.args[0]))


@button(Action.teach_gradebook, role=INSTRUCTOR)
async def on_gradebook(update: Update, context: Context, turn: Turn) -> None:
    card = await course_management(turn.session, turn.user, turn.args[0])
    table = await gradebook_csv(turn.session, turn.user, card.course.id)
    name = f"gradebook-{card.course.id}.csv"
    turn.reply_document(name, table.encode("utf-8-sig"), texts.gradebook_caption(card.course.title))

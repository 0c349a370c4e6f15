"""Callback data: short codes such as ``crs:open:42``, built and parsed only here.

Callback data comes from the client and can be forged, so parsing is strict: a known prefix and
action, then exactly the expected number of integers from 0 to ``MAX_ID`` (and, for actions that
carry one, a trailing text), at most 64 bytes in all. Anything else parses to ``None`` and is
answered as a stale button, so no out-of-range number ever reaches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from db.models import MAX_ID

MAX_BYTES = 64
_INT = re.compile(r"0|[1-9][0-9]{0,9}")


class Action(Enum):
    """Every button: its code, how many integers it carries, and whether a text follows them.

    A new button is one line here; ``handlers.common.button`` registers its handler.
    """

    catalog_page = ("cat:page", 1, True)  # page, then the search text (may be empty)
    course_open = ("crs:open", 1)  # course id
    course_enroll = ("crs:enroll", 1)  # course id
    course_continue = ("crs:cont", 1)  # course id
    lesson_open = ("les:open", 1)  # lesson id
    lesson_complete = ("les:done", 1)  # lesson id
    my_courses = ("my:page", 1)  # page
    quiz_start = ("qz:start", 1)  # quiz id: the intro
    quiz_begin = ("qz:go", 1)  # quiz id: start or resume an attempt (also Retry)
    quiz_answer = ("qz:ans", 3)  # attempt id, question id, option id
    quiz_toggle = ("qz:tog", 3)  # attempt id, question id, selection bit mask
    quiz_submit = ("qz:sub", 3)  # attempt id, question id, selection bit mask
    quiz_history = ("qz:hist", 1)  # quiz id
    review_accept = ("rv:acc", 1)  # attempt id
    review_reject = ("rv:rej", 1)  # attempt id
    review_confirm = ("rv:ok", 2)  # attempt id, 1 accept / 0 reject: decide without a comment
    review_skip = ("rv:skip", 1)  # attempt id: show the next pending answer
    noop = ("nop", 0)  # no argument: page counters and other labels
    # Authoring (instructors and admins; ownership is checked in db/ on every press).
    new_course_skip = ("nc:skip", 0)  # skip the optional step of /newcourse
    new_course_level = ("nc:lvl", 1)  # difficulty index, in the /newcourse wizard
    teach_page = ("tch:page", 1)  # page of /teach
    teach_open = ("tch:open", 1)  # course id: its management card
    teach_edit = ("tch:edit", 2)  # course id, field index (COURSE_FIELDS)
    teach_level = ("tch:lvl", 2)  # course id, difficulty index
    teach_key = ("tch:key", 1)  # course id: type a new enrollment key
    teach_key_clear = ("tch:nokey", 1)  # course id
    teach_publish = ("tch:pub", 1)  # course id
    teach_unpublish = ("tch:unpub", 1)  # course id
    teach_delete = ("tch:del", 1)  # course id: asks for confirmation
    teach_delete_confirm = ("tch:delok", 1)  # course id
    teach_export = ("tch:exp", 1)  # course id: the course file, as a document
    teach_replace = ("tch:rep", 1)  # course id: send a course file that replaces it in place
    teach_replace_confirm = ("tch:repok", 2)  # course id, message id of the file: replace
    teach_stats = ("tch:stats", 1)  # course id: its figures
    teach_gradebook = ("tch:grades", 1)  # course id: the CSV gradebook, as a document
    lesson_add = ("tl:add", 1)  # course id: the add-lesson dialog
    lesson_add_done = ("tl:done", 0)  # the lesson's content is complete
    lesson_manage = ("tl:open", 1)  # lesson id: its management card
    lesson_up = ("tl:up", 1)  # lesson id
    lesson_down = ("tl:down", 1)  # lesson id
    lesson_rename = ("tl:name", 1)  # lesson id: type a new title
    lesson_rewrite = ("tl:text", 1)  # lesson id: send new content (replaces text and media)
    lesson_delete = ("tl:del", 1)  # lesson id: asks for confirmation
    lesson_delete_confirm = ("tl:delok", 1)  # lesson id
    lesson_announce = ("tl:ann", 1)  # lesson id: asks to confirm an announcement
    lesson_announce_confirm = ("tl:annok", 1)  # lesson id: tell its course's students
    # Admin (the admin role is checked from the database on every press).
    admin_home = ("adm:home", 0)  # /admin, in place
    admin_stats = ("adm:stats", 0)  # /stats, in place
    broadcast_new = ("bc:new", 0)  # compose a broadcast
    broadcast_audience = ("bc:aud", 1)  # 0 everyone, 1 the students of a course, 2 inactive
    broadcast_course = ("bc:crs", 1)  # course id
    broadcast_inactive = ("bc:idle", 1)  # days
    broadcast_confirm = ("bc:ok", 0)  # send the composed broadcast
    broadcast_drop = ("bc:drop", 0)  # cancel the composed broadcast
    broadcast_stop = ("bc:stop", 1)  # campaign id: cancel a broadcast being sent
    lesson_quiz = ("tq:open", 1)  # lesson id: its quiz's card, or a new quiz
    quiz_new_skip = ("tq:skip", 0)  # skip an optional step of the new-quiz wizard
    quiz_card = ("tq:card", 1)  # quiz id
    quiz_add = ("tq:add", 1)  # quiz id: send questions (asks first if there are attempts)
    quiz_add_confirm = ("tq:addok", 1)  # quiz id: change a quiz that has attempts
    quiz_add_done = ("tq:done", 0)  # no more questions for now
    question_up = ("tq:up", 2)  # quiz id, question id: one place earlier
    question_up_confirm = ("tq:upok", 2)  # quiz id, question id: the same, the quiz was taken
    question_delete = ("tq:qdel", 2)  # quiz id, question id: asks for confirmation
    question_delete_confirm = ("tq:qdelok", 1)  # question id
    quiz_delete = ("tq:del", 1)  # quiz id: asks for confirmation
    quiz_delete_confirm = ("tq:delok", 1)  # quiz id
    quiz_preview = ("tq:prev", 1)  # quiz id: the intro and questions as a student gets them
    quiz_preview_option = ("tq:try", 2)  # question id, option id: is it right? (records nothing)
    quiz_preview_submit = ("tq:trysub", 1)  # question id: the right selection (records nothing)
    # Admins: users, roles, invites (the admin role is checked from the database on every press).
    users_page = ("usr:page", 1, True)  # page, then the search text (may be empty)
    user_open = ("usr:open", 1)  # user id (users.id, not the Telegram id): their card
    user_role = ("usr:role", 2)  # user id, role index (db.users.ROLES): asks for confirmation
    user_role_confirm = ("usr:roleok", 3)  # user id, new role index, role index it was shown at
    audit_page = ("aud:page", 1)  # page of the role changes
    invites_page = ("inv:page", 1)  # page of the invites
    invite_revoke = ("inv:rev", 2)  # invite id, page to show again
    # Reminders and /settings (handlers.settings): only ever the caller's own settings.
    settings_open = ("set:open", 0)  # /settings in place (Back from a picker)
    settings_new = ("set:new", 0)  # /settings as a new message (under a reminder)
    settings_reminders = ("set:on", 1)  # 1 on, 0 off
    settings_hours = ("set:hours", 0)  # the hour picker
    settings_hour = ("set:hour", 1)  # local hour, 0-23
    settings_zone = ("set:tz", 0)  # type the time zone (a dialog)
    settings_zone_pick = ("set:tzp", 0, True)  # a suggested zone: its IANA name
    reminders_stop = ("rem:stop", 1)  # course id: no more reminders about it
    reminders_resume = ("rem:on", 1)  # course id: reminders about it again
    review_open = ("rv:open", 0)  # /review, from the instructors' daily digest

    def __init__(self, code: str, arity: int, with_text: bool = False) -> None:
        self.code = code
        self.arity = arity
        self.with_text = with_text

    def __str__(self) -> str:
        return self.code


_BY_CODE = {action.code: action for action in Action}


@dataclass(frozen=True)
class Callback:
    action: Action
    args: tuple[int, ...]
    text: str = ""


def encode(action: Action, *args: int, text: str = "") -> str:
    if len(args) != action.arity or any(not 0 <= a <= MAX_ID for a in args):
        raise ValueError(f"{action} takes {action.arity} integers from 0 to {MAX_ID}: {args}")
    if text and not action.with_text:
        raise ValueError(f"{action} carries no text")
    fields = [action.code, *map(str, args)]
    if action.with_text:
        fields.append(text)
    data = ":".join(fields)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data}")
    return data


def decode(data: str | None) -> Callback | None:
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    for width in (2, 1):
        action = _BY_CODE.get(":".join(parts[:width]))
        if action is None:
            continue
        raw = parts[width:]
        text = ""
        if action.with_text:
            if len(raw) <= action.arity:
                return None
            text = ":".join(raw[action.arity :])
            raw = raw[: action.arity]
        if len(raw) != action.arity or not all(_INT.fullmatch(part) for part in raw):
            return None
        args = tuple(int(part) for part in raw)
        if any(arg > MAX_ID for arg in args):
            return None
        return Callback(action, args, text)
    return None


def pattern(*actions: Action) -> re.Pattern[str]:
    """A handler pattern matching the given actions (arguments are checked by ``decode``)."""
    names = "|".join(re.escape(action.code) for action in actions)
    return re.compile(rf"^(?:{names})(?::|$)")

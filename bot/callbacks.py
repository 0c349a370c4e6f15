"""Callback data: short codes such as ``crs:open:42``, built and parsed only here.

Callback data comes from the client and can be forged, so parsing is strict: a known prefix and
action, then exactly the expected number of non-negative integers (and, for the catalog only, a
search text), at most 64 bytes in all. Anything else parses to ``None`` and is answered as a
stale button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64
_INT = re.compile(r"0|[1-9][0-9]{0,17}")


class Action(StrEnum):
    """``prefix:verb`` of every button, with the number of integer arguments it carries."""

    catalog_page = "cat:page"  # page, then the search text (may be empty)
    course_open = "crs:open"  # course id
    course_enroll = "crs:enroll"  # course id
    course_continue = "crs:cont"  # course id
    lesson_open = "les:open"  # lesson id
    lesson_complete = "les:done"  # lesson id
    my_courses = "my:page"  # page
    quiz_start = "qz:start"  # quiz id: the intro
    quiz_begin = "qz:go"  # quiz id: start or resume an attempt (also Retry)
    quiz_answer = "qz:ans"  # attempt id, question id, option id
    quiz_toggle = "qz:tog"  # attempt id, question id, selection bit mask
    quiz_submit = "qz:sub"  # attempt id, question id, selection bit mask
    quiz_history = "qz:hist"  # quiz id
    review_accept = "rv:acc"  # attempt id
    review_reject = "rv:rej"  # attempt id
    review_confirm = "rv:ok"  # attempt id, 1 accept / 0 reject: decide without a comment
    review_skip = "rv:skip"  # attempt id: show the next pending answer
    noop = "nop"  # no argument: page counters and other labels


ARITY: dict[Action, int] = {
    Action.catalog_page: 1,
    Action.course_open: 1,
    Action.course_enroll: 1,
    Action.course_continue: 1,
    Action.lesson_open: 1,
    Action.lesson_complete: 1,
    Action.my_courses: 1,
    Action.quiz_start: 1,
    Action.quiz_begin: 1,
    Action.quiz_answer: 3,
    Action.quiz_toggle: 3,
    Action.quiz_submit: 3,
    Action.quiz_history: 1,
    Action.review_accept: 1,
    Action.review_reject: 1,
    Action.review_confirm: 2,
    Action.review_skip: 1,
    Action.noop: 0,
}


# Actions whose data ends with free text after the integers.
WITH_TEXT = frozenset({Action.catalog_page})


@dataclass(frozen=True)
class Callback:
    action: Action
    args: tuple[int, ...]
    text: str = ""

    @property
    def id(self) -> int:
        """The first argument: the object the button is about."""
        return self.args[0]


def encode(action: Action, *args: int, text: str = "") -> str:
    if len(args) != ARITY[action] or any(a < 0 for a in args):
        raise ValueError(f"{action} takes {ARITY[action]} non-negative integers, got {args}")
    if text and action not in WITH_TEXT:
        raise ValueError(f"{action} carries no text")
    fields = [action.value, *map(str, args)]
    if action in WITH_TEXT:
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
        try:
            action = Action(":".join(parts[:width]))
        except ValueError:
            continue
        raw = parts[width:]
        text = ""
        if action in WITH_TEXT:
            if len(raw) <= ARITY[action]:
                return None
            text = ":".join(raw[ARITY[action] :])
            raw = raw[: ARITY[action]]
        if len(raw) != ARITY[action] or not all(_INT.fullmatch(part) for part in raw):
            return None
        return Callback(action, tuple(int(part) for part in raw), text)
    return None


def pattern(*actions: Action) -> re.Pattern[str]:
    """A handler pattern matching the given actions (arguments are checked by ``decode``)."""
    names = "|".join(re.escape(action.value) for action in actions)
    return re.compile(rf"^(?:{names})(?::|$)")

"""Domain errors raised by ``db/``: a category, a reason and its data, and no words.

``bot.texts.refusal`` words each reason, so every sentence a user reads lives in one module
(which is what a translation needs). The category says what the wrapper does with a refusal:
``Invalid`` input leaves an open dialog waiting for a better answer; the others end it.
"""

from __future__ import annotations

from enum import StrEnum, auto
from typing import Any


class Reason(StrEnum):
    """Why something was refused (the data each one carries is noted)."""

    no_such_user = auto()
    role_required = auto()  # role
    last_admin = auto()
    no_such_course = auto()  # course_id
    step_has_passed = auto()
    one_medium_per_lesson = auto()
    lesson_content_kind = auto()
    not_a_course_file = auto()  # megabytes
    # Quiz authoring (db.quizauthoring)
    lesson_has_quiz = auto()
    passing_score_out_of_range = auto()  # limit
    max_attempts_out_of_range = auto()  # limit
    too_many_questions = auto()  # limit, room
    question_gone = auto()
    question_at_top = auto()
    quiz_has_attempts = auto()  # attempts
    course_not_available = auto()
    course_closed = auto()
    course_has_no_lessons = auto()
    key_required = auto()
    wrong_key = auto()
    too_many_guesses = auto()  # minutes
    search_too_long = auto()  # limit
    lesson_gone = auto()
    enroll_first = auto()
    enroll_to_open_lessons = auto()
    enroll_to_complete_lessons = auto()
    enroll_to_take_quizzes = auto()
    pass_the_quiz = auto()
    quiz_gone = auto()
    quiz_has_no_questions = auto()
    quiz_passed = auto()
    quiz_awaiting_review = auto()
    no_attempts_left = auto()
    quiz_already_started = auto()
    attempt_gone = auto()
    attempt_finished = auto()
    question_not_in_quiz = auto()
    question_answered = auto()
    questions_in_order = auto()
    selection_does_not_fit = auto()
    type_your_answer = auto()
    answer_empty = auto()
    answer_too_long = auto()  # length, limit
    answer_with_buttons = auto()
    select_at_least_one = auto()
    option_not_in_question = auto()
    choose_one = auto()
    review_not_allowed = auto()
    review_not_yours = auto()
    answer_gone = auto()
    answer_reviewed = auto()
    comment_too_long = auto()  # limit
    type_as_text = auto()
    course_file = auto()  # detail: the place in the file and what is wrong there
    # Instructor authoring (db.teaching)
    field_empty = auto()  # field
    field_too_long = auto()  # field, limit
    field_unstorable = auto()  # field
    duration_out_of_range = auto()  # limit
    difficulty_unknown = auto()
    publish_needs_a_lesson = auto()
    published_course_keeps_a_lesson = auto()
    lesson_at_edge = auto()
    # Admins: users, roles, invites (db.users, db.invites)
    role_unknown = auto()
    user_handle = auto()
    role_changed_meanwhile = auto()  # role
    invite_role = auto()
    invite_invalid = auto()
    invite_not_revocable = auto()
    invite_gone = auto()
    # Campaigns: announcements, broadcasts (db.campaigns)
    already_announced = auto()  # sent
    nobody_to_announce_to = auto()
    campaign_gone = auto()
    campaign_finished = auto()
    audience_unknown = auto()
    nobody_in_audience = auto()
    broadcast_content = auto()
    # Reminders and /settings (db.usersettings)
    reminder_hour_out_of_range = auto()
    unknown_timezone = auto()  # zone
    not_enrolled = auto()


class DomainError(Exception):
    """A refusal a user should read, worded by ``bot.texts.refusal``."""

    def __init__(self, reason: Reason, **data: Any) -> None:
        super().__init__(reason, data)
        self.reason = reason
        self.data = data

    def __str__(self) -> str:
        details = ", ".join(f"{key}={value!r}" for key, value in self.data.items())
        return f"{self.reason}({details})" if details else str(self.reason)


class NotFound(DomainError):
    """The object is gone or never existed (or the caller may not know it exists)."""


class Forbidden(DomainError):
    """The caller's role or ownership does not allow this."""


class Conflict(DomainError):
    """The action clashes with the current state (already done, step has passed)."""


class Invalid(DomainError):
    """The input is malformed or out of range: the user may try again."""

"""Inline keyboards as small factories; every callback data goes through ``bot.callbacks``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Action, encode
from bot.formatting import truncate
from bot.texts import (
    COURSE_FIELD_NAMES,
    COURSE_FIELDS,
    LETTERS,
    REMINDER_COURSES_SHOWN,
    STOPPED_COURSES_SHOWN,
    admin_labels,
    labels,
    reminder_labels,
)
from db.catalog import CatalogPage, CourseCard
from db.invites import InviteEntry, InviteState
from db.learning import CourseProgress, LessonView
from db.models import Difficulty, Lesson, QuestionType, Role
from db.paging import Page
from db.quizauthoring import QuizManagement
from db.quizzes import AttemptResult, QuestionView, QuizInfo, QuizStanding, ReviewItem
from db.reminders import ReminderCourse
from db.teaching import CourseManagement, TeachingEntry
from db.users import ROLES, AuditEntry, UserCard, UsersPage
from db.usersettings import HOURS, UserSettings

BUTTON_TEXT_LIMIT = 48


def button(label: str, action: Action, *args: int, text: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        truncate(label, BUTTON_TEXT_LIMIT), callback_data=encode(action, *args, text=text)
    )


def pager(action: Action, page: int, pages: int, text: str = "") -> list[InlineKeyboardButton]:
    """◀️ Previous · n/m · Next ▶️ — only the arrows that lead somewhere."""
    if pages <= 1:
        return []
    row = []
    if page > 0:
        row.append(button(labels.PREVIOUS, action, page - 1, text=text))
    row.append(button(f"{page + 1}/{pages}", Action.noop))
    if page + 1 < pages:
        row.append(button(labels.NEXT, action, page + 1, text=text))
    return row


def catalog(page: CatalogPage) -> InlineKeyboardMarkup | None:
    rows = [
        [
            button(
                labels.open_course(e.course.title, enrolled=e.enrolled),
                Action.course_open,
                e.course.id,
            )
        ]
        for e in page.entries
    ]
    if nav := pager(Action.catalog_page, page.page, page.pages, page.query):
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


def course_card(card: CourseCard) -> InlineKeyboardMarkup:
    course_id = card.course.id
    if card.enrolled:
        first = button(labels.CONTINUE, Action.course_continue, course_id)
    else:
        first = button(labels.ENROLL, Action.course_enroll, course_id)
    return InlineKeyboardMarkup([[first], [button(labels.BACK_TO_CATALOG, Action.catalog_page, 0)]])


def enrolled(course_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.CONTINUE, Action.course_continue, course_id)]])


def lesson(view: LessonView, quiz: QuizStanding | None = None) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    nav = []
    if view.previous_id is not None:
        nav.append(button(labels.PREVIOUS, Action.lesson_open, view.previous_id))
    if view.next_id is not None:
        nav.append(button(labels.NEXT, Action.lesson_open, view.next_id))
    if nav:
        rows.append(nav)
    if view.enrolled:
        if quiz is not None and quiz.in_progress:
            rows.append([button(labels.CONTINUE_QUIZ, Action.quiz_begin, quiz.quiz_id)])
        elif quiz is not None:
            rows.append([button(labels.START_QUIZ_FROM_LESSON, Action.quiz_start, quiz.quiz_id)])
        elif not view.completed:
            rows.append([button(labels.COMPLETE, Action.lesson_complete, view.lesson.id)])
        if quiz is not None and quiz.attempts_used:
            rows.append([button(labels.QUIZ_HISTORY, Action.quiz_history, quiz.quiz_id)])
    rows.append([button(labels.BACK_TO_COURSE, Action.course_open, view.course.id)])
    return InlineKeyboardMarkup(rows)


def after_completion(course_id: int, next_lesson_id: int | None) -> InlineKeyboardMarkup:
    if next_lesson_id is not None:
        return InlineKeyboardMarkup(
            [[button(labels.NEXT_LESSON, Action.lesson_open, next_lesson_id)]]
        )
    return InlineKeyboardMarkup([[button(labels.BACK_TO_COURSE, Action.course_open, course_id)]])


def my_courses(shown: Page[CourseProgress]) -> InlineKeyboardMarkup | None:
    keyboard = [
        [
            button(
                labels.my_course(row.course.title, finished=row.completed_at is not None),
                Action.course_continue if row.total else Action.course_open,
                row.course.id,
            )
        ]
        for row in shown.items
    ]
    if nav := pager(Action.my_courses, shown.page, shown.pages):
        keyboard.append(nav)
    return InlineKeyboardMarkup(keyboard) if keyboard else None


def quiz_intro(info: QuizInfo) -> InlineKeyboardMarkup:
    rows = []
    if info.open_attempt is not None:
        rows.append([button(labels.CONTINUE_QUIZ, Action.quiz_begin, info.quiz.id)])
    elif info.can_start:
        rows.append([button(labels.START_QUIZ, Action.quiz_begin, info.quiz.id)])
    if info.attempts_used:
        rows.append([button(labels.HISTORY, Action.quiz_history, info.quiz.id)])
    rows.append([button(labels.BACK_TO_LESSON, Action.lesson_open, info.lesson.id)])
    return InlineKeyboardMarkup(rows)


def question(view: QuestionView, mask: int = 0) -> InlineKeyboardMarkup | None:
    """Single choice: one tap answers. Multiple choice: toggles carrying the new selection.
    A preview (no attempt) has the same buttons; they only tell whether an option is right."""
    q, attempt = view.question, view.attempt
    if q.type == QuestionType.text:
        return None
    rows = []
    for index, option in enumerate(q.options):
        label = f"{LETTERS[index]}) {option.text}"
        if q.type == QuestionType.multiple_choice:
            label = f"{'☑' if mask >> index & 1 else '☐'} {label}"
        if attempt is None:
            rows.append([button(label, Action.quiz_preview_option, q.id, option.id)])
        elif q.type == QuestionType.single_choice:
            rows.append([button(label, Action.quiz_answer, attempt.id, q.id, option.id)])
        else:
            toggled = mask ^ (1 << index)
            rows.append([button(label, Action.quiz_toggle, attempt.id, q.id, toggled)])
    if q.type == QuestionType.multiple_choice:
        submit = (
            button(labels.SUBMIT, Action.quiz_preview_submit, q.id)
            if attempt is None
            else button(labels.SUBMIT, Action.quiz_submit, attempt.id, q.id, mask)
        )
        rows.append([submit])
    return InlineKeyboardMarkup(rows)


def quiz_result(result: AttemptResult) -> InlineKeyboardMarkup:
    info = result.info
    rows = []
    if result.can_retry:
        rows.append([button(labels.RETRY, Action.quiz_begin, info.quiz.id)])
    if result.completion is not None and result.completion.next_lesson_id is not None:
        rows.append(
            [button(labels.NEXT_LESSON, Action.lesson_open, result.completion.next_lesson_id)]
        )
    rows.append([button(labels.HISTORY, Action.quiz_history, info.quiz.id)])
    rows.append([button(labels.BACK_TO_LESSON, Action.lesson_open, info.lesson.id)])
    return InlineKeyboardMarkup(rows)


def review(item: ReviewItem) -> InlineKeyboardMarkup:
    attempt_id = item.attempt.id
    rows = [
        [
            button(labels.ACCEPT, Action.review_accept, attempt_id),
            button(labels.REJECT, Action.review_reject, attempt_id),
        ]
    ]
    if item.pending_total > 1:
        rows.append([button(labels.NEXT_ANSWER, Action.review_skip, attempt_id)])
    return InlineKeyboardMarkup(rows)


def review_confirm(attempt_id: int, accept: bool) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(labels.CONFIRM_WITHOUT_COMMENT, Action.review_confirm, attempt_id, int(accept))]]
    )


def retry(quiz_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.RETRY, Action.quiz_begin, quiz_id)]])


# -- authoring ------------------------------------------------------------------------------------


def teaching(page: Page[TeachingEntry]) -> InlineKeyboardMarkup | None:
    rows = [
        [button(labels.open_course(e.course.title, enrolled=False), Action.teach_open, e.course.id)]
        for e in page.items
    ]
    if nav := pager(Action.teach_page, page.page, page.pages):
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


def course_management(card: CourseManagement) -> InlineKeyboardMarkup:
    course_id = card.course.id
    fields = [
        button(f"{labels.EDIT} {COURSE_FIELD_NAMES[name]}", Action.teach_edit, course_id, index)
        for index, name in enumerate(COURSE_FIELDS)
    ]
    rows = [fields[:3], fields[3:]]
    rows += [
        [button(f"{number}. {truncate(lesson.title, 40)}", Action.lesson_manage, lesson.id)]
        for number, lesson in enumerate(card.lessons, start=1)
    ]
    rows.append([button(labels.ADD_LESSON, Action.lesson_add, course_id)])
    key = [button(labels.SET_KEY, Action.teach_key, course_id)]
    if card.has_key:
        key.append(button(labels.CLEAR_KEY, Action.teach_key_clear, course_id))
    rows.append(key)
    state = (
        button(labels.UNPUBLISH, Action.teach_unpublish, course_id)
        if card.course.is_published
        else button(labels.PUBLISH, Action.teach_publish, course_id)
    )
    rows.append([state, button(labels.DELETE, Action.teach_delete, course_id)])
    extra = [
        button(labels.STATS, Action.teach_stats, course_id),
        button(labels.EXPORT, Action.teach_export, course_id),
    ]
    if card.lessons:
        extra.insert(0, button(labels.PREVIEW, Action.lesson_open, card.lessons[0].id))
    rows.append(extra)
    rows.append([button(labels.REPLACE_FROM_FILE, Action.teach_replace, course_id)])
    rows.append([button(labels.MY_COURSES, Action.teach_page, 0)])
    return InlineKeyboardMarkup(rows)


def confirm(
    yes: Action, no: Action, *ids: int, back: tuple[int, ...] | None = None
) -> InlineKeyboardMarkup:
    """Confirm does ``yes`` with ``ids``; Cancel goes ``no`` with ``back`` (default: ``ids``)."""
    return InlineKeyboardMarkup(
        [[button(labels.CONFIRM, yes, *ids), button(labels.CANCEL, no, *(back or ids))]]
    )


def cancel(action: Action, *ids: int) -> InlineKeyboardMarkup:
    """A lone Cancel under a prompt: it leaves the dialog, and goes ``action`` with ``ids``."""
    return InlineKeyboardMarkup([[button(labels.CANCEL, action, *ids)]])


def back_to_teaching() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.MY_COURSES, Action.teach_page, 0)]])


def levels(action: Action, *ids: int, skip: bool = False) -> InlineKeyboardMarkup:
    """The difficulties as buttons (the wizard's also offers Skip)."""
    rows = [
        [button(level.value.title(), action, *ids, index) for index, level in enumerate(Difficulty)]
    ]
    if skip:
        rows.append([button(labels.SKIP, Action.new_course_skip)])
    return InlineKeyboardMarkup(rows)


def skip() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.SKIP, Action.new_course_skip)]])


def lesson_done() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.DONE, Action.lesson_add_done)]])


def lesson_management(lesson: Lesson) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(labels.UP, Action.lesson_up, lesson.id),
                button(labels.DOWN, Action.lesson_down, lesson.id),
            ],
            [
                button(labels.RENAME, Action.lesson_rename, lesson.id),
                button(labels.REWRITE, Action.lesson_rewrite, lesson.id),
                button(labels.QUIZ, Action.lesson_quiz, lesson.id),
            ],
            [
                button(labels.PREVIEW, Action.lesson_open, lesson.id),
                button(labels.ANNOUNCE, Action.lesson_announce, lesson.id),
                button(labels.DELETE, Action.lesson_delete, lesson.id),
            ],
            [button(labels.BACK_TO_COURSE, Action.teach_open, lesson.course_id)],
        ]
    )


def quiz_management(card: QuizManagement) -> InlineKeyboardMarkup:
    quiz = card.quiz
    deletes = [
        button(f"🗑 {number}", Action.question_delete, quiz.id, question.id)
        for number, question in enumerate(quiz.questions, start=1)
    ]
    ups = [
        button(f"⬆️ {number}", Action.question_up, quiz.id, question.id)
        for number, question in enumerate(quiz.questions, start=1)
        if number > 1
    ]
    rows = [deletes[index : index + 5] for index in range(0, len(deletes), 5)]
    rows += [ups[index : index + 5] for index in range(0, len(ups), 5)]
    rows.append(
        [
            button(labels.ADD_QUESTIONS, Action.quiz_add, quiz.id),
            button(labels.PREVIEW, Action.quiz_preview, quiz.id),
        ]
    )
    rows.append([button(labels.DELETE_QUIZ, Action.quiz_delete, quiz.id)])
    rows.append([button(labels.BACK_TO_LESSON, Action.lesson_manage, card.lesson.id)])
    return InlineKeyboardMarkup(rows)


def quiz_skip() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.SKIP, Action.quiz_new_skip)]])


def quiz_done() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.DONE, Action.quiz_add_done)]])


def back_to_lesson(lesson_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.BACK_TO_LESSON, Action.lesson_manage, lesson_id)]])


def course_stats(course_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(labels.GRADEBOOK, Action.teach_gradebook, course_id)],
            [button(labels.BACK_TO_COURSE, Action.teach_open, course_id)],
        ]
    )


def announce_offer(lesson_id: int) -> InlineKeyboardMarkup:
    """Under "lesson added": tell the course's students."""
    return InlineKeyboardMarkup([[button(labels.ANNOUNCE, Action.lesson_announce, lesson_id)]])


def campaign_markup(payload: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    """The buttons under a pushed message, from the campaign's stored description."""
    if payload and (lesson_id := payload.get("open_lesson")):
        return InlineKeyboardMarkup([[button(labels.OPEN_LESSON, Action.lesson_open, lesson_id)]])
    return None


# -- admin: /admin, /stats, /broadcast ----------------------------------------------------------


def admin_home() -> InlineKeyboardMarkup:
    """/admin: a button to everything an admin runs."""
    return InlineKeyboardMarkup(
        [
            [
                button(labels.USERS, Action.users_page, 0),
                button(admin_labels.AUDIT, Action.audit_page, 0),
                button(admin_labels.INVITES, Action.invites_page, 0),
            ],
            [
                button(labels.ADMIN_STATS, Action.admin_stats),
                button(labels.BROADCAST, Action.broadcast_new),
            ],
        ]
    )


def back_to_admin() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.BACK_TO_ADMIN, Action.admin_home)]])


def broadcast_cancel() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(labels.CANCEL, Action.broadcast_drop)]])


def broadcast_audiences() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(labels.AUDIENCE_EVERYONE, Action.broadcast_audience, 0)],
            [button(labels.AUDIENCE_COURSE, Action.broadcast_audience, 1)],
            [button(labels.AUDIENCE_INACTIVE, Action.broadcast_audience, 2)],
            [button(labels.CANCEL, Action.broadcast_drop)],
        ]
    )


def broadcast_courses(choices: list[tuple[int, str, int]]) -> InlineKeyboardMarkup:
    """One button per course: (course id, title, enrolled)."""
    rows = [
        [
            button(
                labels.audience_course(truncate(title, 40), enrolled), Action.broadcast_course, cid
            )
        ]
        for cid, title, enrolled in choices
    ]
    rows.append([button(labels.CANCEL, Action.broadcast_drop)])
    return InlineKeyboardMarkup(rows)


def broadcast_days(choices: tuple[int, ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(labels.inactive_days(days), Action.broadcast_inactive, days)
                for days in choices
            ],
            [button(labels.CANCEL, Action.broadcast_drop)],
        ]
    )


def broadcast_confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(labels.CONFIRM, Action.broadcast_confirm),
                button(labels.CANCEL, Action.broadcast_drop),
            ]
        ]
    )


def campaign_progress(campaign_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(labels.CANCEL_BROADCAST, Action.broadcast_stop, campaign_id)]]
    )


# -- admin: users, roles, invites ----------------------------------------------------------------


def _admin_footer() -> list[InlineKeyboardButton]:
    return [
        button(admin_labels.BACK_TO_USERS, Action.users_page, 0),
        button(admin_labels.AUDIT, Action.audit_page, 0),
        button(admin_labels.INVITES, Action.invites_page, 0),
    ]


def users_list(page: UsersPage) -> InlineKeyboardMarkup:
    rows = [[button(admin_labels.user(user), Action.user_open, user.id)] for user in page.items]
    if nav := pager(Action.users_page, page.page, page.pages, page.query):
        rows.append(nav)
    rows.append(
        [
            button(admin_labels.AUDIT, Action.audit_page, 0),
            button(admin_labels.INVITES, Action.invites_page, 0),
        ]
    )
    return InlineKeyboardMarkup(rows)


def user_card(card: UserCard) -> InlineKeyboardMarkup:
    """A button per other role (each asks for confirmation), then the way back."""
    user = card.user
    roles = [
        button(admin_labels.make(role), Action.user_role, user.id, ROLES.index(role))
        for role in ROLES
        if role != user.role
    ]
    return InlineKeyboardMarkup([roles, _admin_footer()])


def confirm_role(user_id: int, new_role: Role, old_role: Role) -> InlineKeyboardMarkup:
    """Confirm carries the role the question was asked about, so a stale one is refused."""
    return confirm(
        Action.user_role_confirm,
        Action.user_open,
        user_id,
        ROLES.index(new_role),
        ROLES.index(old_role),
        back=(user_id,),
    )


def audit(page: Page[AuditEntry]) -> InlineKeyboardMarkup:
    rows = []
    if nav := pager(Action.audit_page, page.page, page.pages):
        rows.append(nav)
    rows.append(_admin_footer())
    return InlineKeyboardMarkup(rows)


def invites(page: Page[InviteEntry]) -> InlineKeyboardMarkup:
    """Revoke for each invite still open on this page, then the pages and the way back."""
    revokes = [
        button(
            admin_labels.revoke(entry.invite.id), Action.invite_revoke, entry.invite.id, page.page
        )
        for entry in page.items
        if entry.state == InviteState.active
    ]
    rows = [revokes[index : index + 2] for index in range(0, len(revokes), 2)]
    if nav := pager(Action.invites_page, page.page, page.pages):
        rows.append(nav)
    rows.append(_admin_footer())
    return InlineKeyboardMarkup(rows)


# -- reminders and /settings -----------------------------------------------------------------------


def reminder(courses: tuple[ReminderCourse, ...]) -> InlineKeyboardMarkup:
    """Continue and Stop reminders for each course (named when there are several), then
    Settings."""
    if len(courses) == 1:
        [course] = courses
        rows = [
            [
                button(reminder_labels.CONTINUE, Action.course_continue, course.course_id),
                button(reminder_labels.STOP, Action.reminders_stop, course.course_id),
            ]
        ]
    else:
        rows = [
            [
                button(
                    reminder_labels.continue_course(course.title),
                    Action.course_continue,
                    course.course_id,
                ),
                button(reminder_labels.STOP, Action.reminders_stop, course.course_id),
            ]
            for course in courses[:REMINDER_COURSES_SHOWN]
        ]
    rows.append([button(reminder_labels.SETTINGS, Action.settings_new)])
    return InlineKeyboardMarkup(rows)


def without_course(
    markup: InlineKeyboardMarkup | None, course_id: int
) -> InlineKeyboardMarkup | None:
    """A reminder's buttons less the row of a course whose reminders were stopped."""
    if markup is None:
        return None
    stop = encode(Action.reminders_stop, course_id)
    rows = [
        row
        for row in markup.inline_keyboard
        if all(getattr(key, "callback_data", None) != stop for key in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def settings(view: UserSettings) -> InlineKeyboardMarkup:
    switch = (
        button(reminder_labels.REMINDERS_OFF, Action.settings_reminders, 0)
        if view.reminders_enabled
        else button(reminder_labels.REMINDERS_ON, Action.settings_reminders, 1)
    )
    rows = [
        [switch],
        [
            button(reminder_labels.HOUR, Action.settings_hours),
            button(reminder_labels.ZONE, Action.settings_zone),
        ],
    ]
    rows += [
        [button(reminder_labels.resume(course.title), Action.reminders_resume, course.course_id)]
        for course in view.stopped[:STOPPED_COURSES_SHOWN]
    ]
    return InlineKeyboardMarkup(rows)


def _back_to_settings() -> list[InlineKeyboardButton]:
    return [button(reminder_labels.BACK, Action.settings_open)]


def back_to_settings() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([_back_to_settings()])


def reminder_hours(current: int) -> InlineKeyboardMarkup:
    """The 24 hours, six to a row, the current one marked."""
    hours = [
        button(reminder_labels.hour(hour, current=hour == current), Action.settings_hour, hour)
        for hour in HOURS
    ]
    rows = [hours[index : index + 6] for index in range(0, len(hours), 6)]
    return InlineKeyboardMarkup([*rows, _back_to_settings()])


def timezone_choices(zones: tuple[str, ...], now: datetime) -> InlineKeyboardMarkup:
    """Suggested zones (with the time there), then Back."""
    rows = [
        [button(reminder_labels.zone(zone, now), Action.settings_zone_pick, text=zone)]
        for zone in zones
    ]
    return InlineKeyboardMarkup([*rows, _back_to_settings()])


def review_digest() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(reminder_labels.OPEN_REVIEW, Action.review_open)]])

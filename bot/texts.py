"""What the bot says. Every value from a user or the database is escaped here, nowhere else."""

from __future__ import annotations

from datetime import datetime

from bot.formatting import escape, progress_bar, sparkline, truncate, utf16_len
from bot.quizformat import EXAMPLE as QUIZ_EXAMPLE
from bot.quizformat import render_questions
from bot.timezones import local_time
from db.authoring import question_drafts
from db.campaigns import Tally
from db.catalog import CatalogPage, CourseCard
from db.coursestats import CourseStats
from db.errors import DomainError, Reason
from db.invites import InviteEntry, InviteState
from db.learning import CourseProgress, LessonView
from db.models import AttemptStatus, Course, Lesson, QuestionType, QuizAttempt, Role, User
from db.paging import Page
from db.platformstats import AdminCounts, PlatformStats
from db.quizauthoring import PreviewTap, QuizManagement
from db.quizzes import (
    MAX_TEXT_ANSWER,
    AttemptResult,
    QuestionResult,
    QuestionView,
    QuizInfo,
    Restarted,
    ReviewItem,
)
from db.reminders import PendingCourse, ReminderCourse
from db.replacing import ReplacementSummary
from db.teaching import CourseManagement, TeachingEntry
from db.users import AuditEntry, UserCard, UsersPage
from db.usersettings import UserSettings

GENERIC_ERROR = "Sorry, something went wrong on our side. Please try again."
STALE_BUTTON = "This button is no longer valid."
NOTHING_TO_CANCEL = "There is nothing to cancel."
CANCELLED = "Cancelled."
ENROLLED_TOAST = "You are enrolled! 🎉"
ALREADY_ENROLLED_TOAST = "Already enrolled."
SAVED_TOAST = "Saved ✅"
DONE_TOAST = "Done ✅"
COMPLETED_TOAST = "Completed ✅"
ALREADY_COMPLETED_TOAST = "Already completed ✅"
EDITS_ARE_NOT_READ = (
    "✏️ I only read new messages, so that edit changed nothing. "
    "Send it again as a new message if you meant it as an answer."
)
DIALOG_TIMED_OUT = "⌛ That took a while, so I stopped waiting. Start again when you are ready."
PRIVATE_ONLY = "I teach in private chats: open a chat with me and send /start."
UNKNOWN_INPUT = "I did not understand that. /help lists what I can do."


class labels:
    """Button labels. They contain the words of SPEC §4 (Enroll, Continue, Next, …)."""

    PREVIOUS = "◀️ Previous"
    NEXT = "Next ▶️"
    CONTINUE = "▶️ Continue"
    ENROLL = "📝 Enroll"
    BACK_TO_CATALOG = "⬅️ Back to catalog"
    CONTINUE_QUIZ = "▶️ Continue quiz"
    START_QUIZ_FROM_LESSON = "📝 Start quiz"
    COMPLETE = "✅ Complete"
    QUIZ_HISTORY = "📜 Quiz history"
    BACK_TO_COURSE = "⬅️ Back to course"
    NEXT_LESSON = "Next lesson ▶️"
    START_QUIZ = "▶️ Start quiz"
    HISTORY = "📜 History"
    BACK_TO_LESSON = "⬅️ Back to lesson"
    SUBMIT = "📨 Submit"
    RETRY = "🔁 Retry"
    ACCEPT = "✅ Accept"
    REJECT = "❌ Reject"
    NEXT_ANSWER = "⏭ Next answer"
    SKIP = "⏭ Skip"
    DONE = "✅ Done"
    PUBLISH = "📢 Publish"
    UNPUBLISH = "🙈 Unpublish"
    DELETE = "🗑 Delete"
    CONFIRM = "✅ Confirm"
    CANCEL = "✖️ Cancel"
    ADD_LESSON = "➕ Add lesson"
    SET_KEY = "🔑 Set key"
    CLEAR_KEY = "🔓 Clear key"
    PREVIEW = "👁 Preview"
    UP = "⬆️ Up"
    DOWN = "⬇️ Down"
    MY_COURSES = "⬅️ Back to my courses"
    EDIT = "✏️"
    EXPORT = "📤 Export"
    REPLACE_FROM_FILE = "📥 Replace from file"
    STATS = "📊 Stats"
    GRADEBOOK = "📄 Gradebook (CSV)"
    RENAME = "✏️ Title"
    QUIZ = "📝 Quiz"
    ADD_QUESTIONS = "➕ Add questions"
    DELETE_QUIZ = "🗑 Delete quiz"
    REWRITE = "✏️ Content"
    CONFIRM_WITHOUT_COMMENT = "✔️ Confirm without comment"
    ANNOUNCE = "📣 Announce"
    ADMIN_STATS = "📊 Stats"
    USERS = "👥 Users"
    BROADCAST = "📣 Broadcast"
    BACK_TO_ADMIN = "⬅️ Back to admin"
    AUDIENCE_EVERYONE = "👥 Everyone"
    AUDIENCE_COURSE = "🎓 Students of a course"
    AUDIENCE_INACTIVE = "💤 Inactive learners"
    CANCEL_BROADCAST = "⏹ Cancel broadcast"

    @staticmethod
    def inactive_days(days: int) -> str:
        return f"{days} days"

    @staticmethod
    def audience_course(title: str, enrolled: int) -> str:
        return f"{title} ({enrolled})"

    OPEN_LESSON = "▶️ Open lesson"

    @staticmethod
    def open_course(title: str, *, enrolled: bool) -> str:
        return f"{'✅ ' if enrolled else ''}Open: {title}"

    @staticmethod
    def my_course(title: str, *, finished: bool) -> str:
        return f"{'🎉 Open' if finished else '▶️ Continue'}: {title}"


# Refusals raised by db/ (see db.errors.Reason), worded with the data they carry. Refusals are
# shown as plain text (alerts cannot format), so they are not HTML.
REFUSALS: dict[Reason, str] = {
    Reason.no_such_user: "No such user.",
    Reason.role_required: "This is for {role}s.",
    Reason.last_admin: "The last admin cannot give up the admin role.",
    Reason.no_such_course: "There is no course {course_id}.",
    Reason.step_has_passed: "This step has passed. Start again when you are ready.",
    Reason.one_medium_per_lesson: (
        "A lesson has one photo, video, document or audio; send text for the rest, or press Done."
    ),
    Reason.not_a_course_file: (
        "To import a course, send a course file: a .yaml, .yml or .json document of at most "
        "{megabytes} MB (the format is in the README; /teach → 📤 Export gives an example)."
    ),
    Reason.lesson_has_quiz: "This lesson already has a quiz.",
    Reason.passing_score_out_of_range: "The passing score is a whole percent, from 0 to {limit}.",
    Reason.max_attempts_out_of_range: (
        "The number of attempts is a whole number from 0 (unlimited) to {limit}."
    ),
    Reason.too_many_questions: (
        "A quiz holds at most {limit} questions; there is room for {room} more."
    ),
    Reason.question_gone: "This question no longer exists.",
    Reason.question_at_top: "This question is already the first.",
    Reason.quiz_has_attempts: (
        "Students have already taken this quiz (attempts: {attempts}). Their results stay, but "
        "attempts in progress will start again. Confirm to go ahead."
    ),
    Reason.lesson_content_kind: (
        "Please send text (formatting is kept), or a photo, video, document or audio with a "
        "caption."
    ),
    Reason.course_not_available: "This course is not available.",
    Reason.course_closed: "This course is not open for enrollment.",
    Reason.course_has_no_lessons: "This course has no lessons yet.",
    Reason.key_required: "This course needs an enrollment key.",
    Reason.wrong_key: "That key is not right. Try again, or /cancel.",
    Reason.too_many_guesses: "Too many wrong tries. Try again in {minutes} {minutes_unit}.",
    Reason.search_too_long: "Please search with at most {limit} characters.",
    Reason.lesson_gone: "This lesson no longer exists.",
    Reason.enroll_first: "Enroll in this course first.",
    Reason.enroll_to_open_lessons: "Enroll in this course to open its lessons.",
    Reason.enroll_to_complete_lessons: "Enroll in this course to complete its lessons.",
    Reason.enroll_to_take_quizzes: "Enroll in this course to take its quizzes.",
    Reason.pass_the_quiz: "Pass this lesson's quiz to complete it.",
    Reason.quiz_gone: "This quiz no longer exists.",
    Reason.quiz_has_no_questions: "This quiz has no questions yet.",
    Reason.quiz_passed: "You already passed this quiz. ✅",
    Reason.quiz_awaiting_review: "Your last attempt is waiting for the instructor's review.",
    Reason.no_attempts_left: "You have used all your attempts at this quiz.",
    Reason.quiz_already_started: "Your quiz has already started.",
    Reason.attempt_gone: "This quiz is no longer available.",
    Reason.attempt_finished: "This quiz attempt is already finished.",
    Reason.question_not_in_quiz: "This question is not part of your quiz.",
    Reason.question_answered: "You already answered this question.",
    Reason.questions_in_order: "Please answer the questions in order.",
    Reason.selection_does_not_fit: "That selection does not fit this question.",
    Reason.type_your_answer: "Please type your answer to this question.",
    Reason.answer_empty: "Your answer is empty. Please type it.",
    Reason.answer_too_long: (
        "Your answer is {length} characters long; please keep it under {limit} and send it again."
    ),
    Reason.answer_with_buttons: "Please answer with the buttons.",
    Reason.select_at_least_one: "Select at least one option, then press Submit.",
    Reason.option_not_in_question: "That option does not belong to this question.",
    Reason.choose_one: "Choose one option.",
    Reason.review_not_allowed: "Only the course's instructor can review answers.",
    Reason.review_not_yours: "Only the course's instructor can review this answer.",
    Reason.answer_gone: "This answer no longer exists.",
    Reason.answer_reviewed: "This answer has already been reviewed.",
    Reason.comment_too_long: "Please keep the comment under {limit} characters.",
    Reason.type_as_text: "Please type your answer as a text message, or /cancel.",
    Reason.course_file: "{detail}",
    # Instructor authoring (db.teaching)
    Reason.field_empty: "The {field} can't be empty.",
    Reason.field_too_long: "The {field} can be at most {limit} characters long.",
    Reason.field_unstorable: "The {field} holds a character that can't be saved. Please remove it.",
    Reason.duration_out_of_range: "The duration is a whole number of minutes, from 0 to {limit}.",
    Reason.difficulty_unknown: "Choose a difficulty: beginner, intermediate or advanced.",
    Reason.publish_needs_a_lesson: "Add a lesson before publishing this course.",
    Reason.published_course_keeps_a_lesson: (
        "A published course needs at least one lesson: add another one first, or unpublish it."
    ),
    Reason.lesson_at_edge: "This lesson can't move further that way.",
    Reason.role_unknown: "Roles are student, instructor and admin.",
    Reason.user_handle: (
        "Name the user by their @username or Telegram id: /promote @username instructor"
    ),
    Reason.role_changed_meanwhile: "Their role changed meanwhile: it is now {role}.",
    Reason.invite_role: "An invite makes someone an instructor or an admin.",
    Reason.invite_invalid: (
        "This invite link is not valid: it may have expired, been used or been revoked. "
        "Ask the person who sent it for a new one."
    ),
    Reason.invite_not_revocable: "This invite was already used or revoked.",
    Reason.invite_gone: "This invite no longer exists.",
    Reason.already_announced: "This lesson was announced already ({sent} students reached).",
    Reason.nobody_to_announce_to: "No student is enrolled in this course yet: nobody to tell.",
    Reason.campaign_gone: "This message is no longer being sent.",
    Reason.campaign_finished: "This broadcast has already finished.",
    Reason.audience_unknown: "Choose who gets the message with the buttons.",
    Reason.nobody_in_audience: "Nobody would get this message: choose another audience.",
    Reason.broadcast_content: "Send text, or one photo with a caption.",
}


def refusal(error: DomainError) -> str:
    """The sentence for a refusal from db/ (plain text)."""
    data = dict(error.data)
    if "minutes" in data:
        data["minutes_unit"] = "minute" if data["minutes"] == 1 else "minutes"
    return REFUSALS[error.reason].format(**data)


COMMANDS: dict[Role, list[tuple[str, str]]] = {
    Role.student: [
        ("start", "Welcome and what to do next"),
        ("courses", "Browse the course catalog"),
        ("mycourses", "Your courses and where to continue"),
        ("progress", "Your progress per course"),
        ("settings", "Reminders: on or off, hour, time zone"),
        ("help", "What I can do"),
        ("cancel", "Leave the current dialog"),
    ],
    Role.instructor: [
        ("newcourse", "Create a course"),
        ("teach", "Your courses: lessons, publishing"),
        ("review", "Grade free-text quiz answers"),
    ],
    Role.admin: [
        ("admin", "The platform at a glance"),
        ("users", "Users and their roles"),
        ("promote", "Change a user's role: /promote @username role"),
        ("invite", "Invite links for instructors and admins"),
        ("stats", "Platform statistics"),
        ("broadcast", "Send a message to many users"),
    ],
}


def commands_for(role: Role) -> list[tuple[str, str]]:
    """The menu of a role: its own commands after those of every lower role."""
    return [item for r in Role if r.rank <= role.rank for item in COMMANDS[r]]


def welcome(name: str, role: Role) -> str:
    lines = [
        f"👋 Hello, {escape(name)}!",
        "",
        "I am your learning companion: browse courses, enroll, learn lesson by lesson and "
        "follow your progress, right here in Telegram.",
        "",
        "👉 Start with /courses to find a course, or /mycourses to continue one.",
    ]
    if role != Role.student:
        lines.append(f"You are signed in as <b>{role.value}</b>. /help lists your commands.")
    return "\n".join(lines)


def help_text(role: Role) -> str:
    lines = ["<b>What I can do</b>", ""]
    lines += [f"/{name} — {escape(description)}" for name, description in commands_for(role)]
    lines += ["", "Tip: /courses python searches the catalog by title or category."]
    if role.rank >= Role.instructor.rank:
        lines += [
            "",
            "<b>Authoring</b>",
            "/newcourse asks for a title, a description (your formatting is kept), a category, "
            "a difficulty and a duration; the course starts as a draft.",
            "/teach opens a course's card: edit its fields, set an enrollment key, ➕ Add lesson "
            "(send text, or a photo, video, document or audio with a caption, in one or more "
            "messages, then ✅ Done), reorder or delete lessons, 👁 Preview, 📢 Publish.",
            "A lesson's 📝 Quiz takes questions typed like this (+ correct, - wrong, > why):",
            f"<pre>{escape(QUIZ_EXAMPLE)}</pre>",
            "Sending me a course file (.yaml) imports it as a new draft; 📥 Replace from file "
            "on a course's card replaces that course in place, keeping its students.",
            "After adding a lesson, 📣 Announce tells the course's students (once).",
        ]
    if role == Role.admin:
        lines += [
            "",
            "<b>Admin</b>",
            "/admin shows the platform at a glance; /stats has every figure and a 30-day trend.",
            "/users finds a user (name, @username or id); their card changes the role, after a "
            "confirmation. /promote @name instructor does the same in one line.",
            "/invite instructor makes a single-use link; /invite alone lists and revokes them.",
            "/broadcast: send the message (text or a photo with a caption), choose who gets it "
            "(everyone, a course's students, inactive learners), check the preview, Confirm.",
        ]
    return "\n".join(lines)


def catalog(page: CatalogPage) -> str:
    title = f"🔎 Courses matching “{escape(page.query)}”" if page.query else "📚 Course catalog"
    if page.total == 0:
        if page.query:
            return f"{title}\n\nNothing found. Try another word, or /courses to see everything."
        return f"{title}\n\nNo courses are published yet. Please check back soon."
    lines = [f"<b>{title}</b>", f"{page.total} course(s) · page {page.page + 1} of {page.pages}"]
    for entry in page.entries:
        course = entry.course
        mark = "✅ enrolled · " if entry.enrolled else ""
        lines += [
            "",
            f"<b>{escape(course.title)}</b>",
            f"{mark}{escape(course.category or 'General')} · {course.difficulty.value}",
        ]
    lines += ["", "Tap a course to open it."]
    return "\n".join(lines)


def duration(minutes: int) -> str:
    if minutes <= 0:
        return "self-paced"
    hours, rest = divmod(minutes, 60)
    return " ".join(
        part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part
    )


def course_card(card: CourseCard) -> str:
    course = card.course
    lines = [f"📘 <b>{escape(course.title)}</b>"]
    if not course.is_published:
        lines.append("<i>Draft — not visible in the catalog.</i>")
    if course.description:
        lines += ["", course.description]
    lines += [
        "",
        f"🏷 {escape(course.category or 'General')}",
        f"📈 Difficulty: {course.difficulty.value}",
        f"⏱ Duration: {duration(course.duration_minutes)}",
        f"📄 Lessons: {card.lesson_count}",
        f"👩‍🏫 Instructor: {escape(card.instructor_name)}",
    ]
    if card.enrollment is not None:
        lines += ["", f"Your progress: {progress_bar(card.enrollment.progress_percentage)}"]
    elif card.needs_key:
        lines += ["", "🔑 Enrolling needs a key from your instructor."]
    return "\n".join(lines)


def ask_key(title: str) -> str:
    return (
        f"🔑 <b>{escape(title)}</b> needs an enrollment key.\n"
        "Type the key your instructor gave you, or /cancel."
    )


def enrolled(title: str, created: bool) -> str:
    if created:
        return f"🎉 You are enrolled in <b>{escape(title)}</b>. Tap Continue to start learning."
    return f"You are already enrolled in <b>{escape(title)}</b>."


def lesson_header(view: LessonView) -> str:
    done = " ✅" if view.completed else ""
    return (
        f"📘 {escape(view.course.title)} · Lesson {view.position} of {view.total}{done}\n"
        f"<b>{escape(view.lesson.title)}</b>"
    )


def lesson_body(view: LessonView) -> str:
    """The header, then the lesson's content (Telegram HTML, validated when it was written)."""
    header = lesson_header(view)
    content = view.lesson.content
    return f"{header}\n\n{content}" if content.strip() else header


def lesson_completed(title: str, progress: int) -> str:
    return f"✅ Lesson <b>{escape(title)}</b> completed.\nCourse progress: {progress_bar(progress)}"


def course_finished(title: str) -> str:
    return (
        f"🎉 <b>Congratulations!</b> You completed every lesson of <b>{escape(title)}</b>.\n"
        "See /progress for your record, or /courses for what to learn next."
    )


def my_courses(shown: Page[CourseProgress]) -> str:
    if not shown.items:
        return "You are not enrolled in any course yet. Find one with /courses."
    lines = ["<b>🎒 My courses</b>"]
    if shown.pages > 1:
        lines.append(f"page {shown.page + 1} of {shown.pages}")
    for row in shown.items:
        finished = " 🎉" if row.completed_at else ""
        lines += [
            "",
            f"<b>{escape(row.course.title)}</b>{finished}",
            f"{progress_bar(row.percentage)} · {row.done}/{row.total} lessons",
        ]
    return "\n".join(lines)


def date(moment: datetime) -> str:
    return moment.strftime("%d %b %Y")


def progress_report(rows: list[CourseProgress]) -> str:
    if not rows:
        return "No progress yet: enroll in a course with /courses."
    lines = ["<b>📊 Your progress</b>"]
    for row in rows:
        lines += [
            "",
            f"<b>{escape(row.course.title)}</b>",
            f"{row.done} of {row.total} lessons done · {row.percentage}%",
            f"Completed on {date(row.completed_at)} 🎉"
            if row.completed_at
            else f"Enrolled on {date(row.enrollment.enrolled_at)}",
        ]
    return "\n".join(lines)


# -- quizzes -----------------------------------------------------------------------------------

LETTERS = "ABCDEFGHIJ"


def attempts_line(info: QuizInfo) -> str:
    if info.attempts_left is None:
        return f"Attempts: {info.attempts_used} used · unlimited"
    used, allowed = info.attempts_used, info.quiz.max_attempts
    return f"Attempts: {used} of {allowed} used · {info.attempts_left} left"


def quiz_intro(info: QuizInfo) -> str:
    lines = [
        f"📝 <b>{escape(info.quiz.title)}</b>",
        f"Lesson: {escape(info.lesson.title)}",
        "",
        f"Questions: {info.question_count}",
        f"Passing score: {info.quiz.passing_score}%",
        attempts_line(info),
        "",
    ]
    if info.open_attempt is not None:
        answered = len(info.open_attempt.answers)
        lines.append(
            f"⏸ You have an unfinished attempt ({answered} of {info.question_count} answered)."
        )
    elif info.passed:
        lines.append("✅ You passed this quiz.")
    elif info.awaiting_review:
        lines.append("⏳ Your answers are waiting for the instructor's review.")
    elif info.attempts_left == 0:
        lines.append("You have used all your attempts.")
    else:
        lines.append("Answer each question; your answers are saved as you go.")
    return "\n".join(lines)


def question(view: QuestionView) -> str:
    q = view.question
    lines = [f"❓ Question {view.number} of {view.total}", "", f"<b>{escape(q.text)}</b>", ""]
    if q.type == QuestionType.text:
        lines.append(f"✍️ Type your answer (up to {MAX_TEXT_ANSWER} characters).")
        if view.attempt is None:  # an instructor's preview
            lines.append("<i>(students type their answer)</i>")
        return "\n".join(lines)
    lines += [f"{LETTERS[i]}) {escape(option.text)}" for i, option in enumerate(q.options)]
    lines.append("")
    if q.type == QuestionType.single_choice:
        lines.append("Choose one answer.")
    else:
        lines.append("Select every right answer, then press Submit.")
    return "\n".join(lines)


def given_answer(row: QuestionResult) -> str:
    if isinstance(row.answer, str):
        return escape(row.answer)
    chosen = row.chosen()
    return ", ".join(escape(option.text) for option in chosen) if chosen else "—"


def answered(view_number: int, total: int, row: QuestionResult) -> str:
    return (
        f"❓ Question {view_number} of {total}\n\n<b>{escape(row.question.text)}</b>\n\n"
        f"Your answer: {given_answer(row)}"
    )


def quiz_result(result: AttemptResult) -> str:
    attempt, quiz = result.attempt, result.info.quiz
    lines = [f"📊 <b>{escape(quiz.title)}</b>"]
    if attempt.status == AttemptStatus.pending_review:
        lines += [
            "",
            "⏳ Your answers are waiting for the instructor's review. "
            "I will tell you the outcome here.",
        ]
        return "\n".join(lines)
    verdict = "✅ Passed" if attempt.passed else "❌ Not passed"
    score = "—" if attempt.score is None else f"{attempt.score}%"
    lines += [f"Score: {score} · {verdict} (passing score {quiz.passing_score}%)", ""]
    for number, row in enumerate(result.rows, start=1):
        mark = {True: "✓", False: "✗", None: "✍️"}[row.correct]
        lines.append(f"{mark} {number}. {escape(row.question.text)}")
        lines.append(f"   Your answer: {given_answer(row)}")
        if row.correct is None:
            lines.append("   Kept for your instructor to read.")
        elif attempt.passed:
            right = [o.text for o in row.question.options if o.is_correct]
            lines.append(f"   Correct: {escape(', '.join(right))}")
        if row.question.explanation and row.correct is not None:
            lines.append(f"   💡 {escape(row.question.explanation)}")
    if attempt.reviewer_comment:
        lines += ["", f"💬 {escape(attempt.reviewer_comment)}"]
    if not attempt.passed:
        lines += ["", attempts_line(result.info)]
    return "\n".join(lines)


def quiz_history(info: QuizInfo, attempts: list[QuizAttempt]) -> str:
    lines = [f"📜 <b>{escape(info.quiz.title)}</b> — your attempts", ""]
    if not attempts:
        lines.append("No finished attempts yet.")
    for attempt in attempts:
        when = (attempt.submitted_at or attempt.started_at).strftime("%d %b %Y %H:%M")
        if attempt.status == AttemptStatus.pending_review:
            outcome = "⏳ waiting for review"
        else:
            score = "reviewed" if attempt.score is None else f"{attempt.score}%"
            outcome = f"{score} · {'✅ passed' if attempt.passed else '❌ not passed'}"
        lines.append(f"{when} UTC — {outcome}")
    lines += ["", attempts_line(info)]
    return "\n".join(lines)


def quiz_restarted(restart: Restarted) -> str:
    """Told once, at the first touch of an attempt the instructor restarted."""
    head = f"🔄 Your instructor changed the quiz <b>{escape(restart.info.quiz.title)}</b>"
    if restart.first is None:
        return f"{head}. {REFUSALS[Reason.quiz_has_no_questions]}"
    return f"{head}, so your attempt starts again from the first question."


# -- review ------------------------------------------------------------------------------------


def review_item(item: ReviewItem) -> str:
    lines = [
        f"📝 <b>Answer to review</b> ({item.pending_total} pending)",
        f"Course: {escape(item.course.title)}",
        f"Quiz: {escape(item.quiz.title)}",
        f"Student: {escape(item.student.display_name)}",
    ]
    for number, row in enumerate(item.rows, start=1):
        lines += ["", f"<b>{number}. {escape(row.question.text)}</b>"]
        if row.correct is None:
            lines.append(f"<blockquote>{given_answer(row)}</blockquote>")
        else:
            lines.append(f"{'✓' if row.correct else '✗'} {given_answer(row)}")
    return "\n".join(lines)


REVIEW_CANCELLED = "Cancelled. Nothing was decided. /review shows the answers again."


NOTHING_TO_REVIEW = "🎉 Nothing to review: every free-text answer has been graded."


def review_ask_comment(student: str, accept: bool) -> str:
    verb = "Accepting" if accept else "Rejecting"
    return (
        f"{verb} the answers of {escape(student)}.\n"
        "Type a comment for the student, or press Confirm to send the decision without one. "
        "/cancel goes back."
    )


def review_done(student: str, accept: bool, told: bool) -> str:
    outcome = "has been told" if told else "could not be told (they blocked the bot); it is saved"
    return f"{'✅ Accepted' if accept else '❌ Rejected'}: {escape(student)} {outcome}."


def review_verdict(quiz_title: str, course_title: str, accept: bool, comment: str | None) -> str:
    outcome = "were accepted" if accept else "were not accepted"
    mark = "✅" if accept else "❌"
    head = f"{mark} Your answers to <b>{escape(quiz_title)}</b> ({escape(course_title)}) {outcome}."
    return head + (f"\n💬 {escape(comment)}" if comment else "")


# -- authoring (/newcourse, /teach) ----------------------------------------------------------------

COURSE_FIELD_NAMES = {
    "title": "title",
    "description": "description",
    "category": "category",
    "difficulty": "difficulty",
    "duration_minutes": "duration",
}
COURSE_FIELDS = tuple(COURSE_FIELD_NAMES)  # their order is their index in callback data
PUBLISHED_TOAST = "Published 📢"
UNPUBLISHED_TOAST = "Unpublished"
DELETED_TOAST = "Deleted 🗑"
LESSON_ADDED_TOAST = "Lesson added ✅"
ANNOUNCING_TOAST = "Sending 📣"
SAVED = "Saved ✅"
KEY_SET = "🔑 The enrollment key is set. Students type it when they enroll."
KEY_CLEARED = "Key cleared"
ASK_ENROLLMENT_KEY = (
    "Type the enrollment key students will need (1 to 128 characters; it is stored hashed), "
    "or /cancel."
)
ASK_DIFFICULTY = "How hard is it? Choose the difficulty."
NEW_COURSE_CANCELLED = "Cancelled. No course was created. /newcourse starts again."
LESSON_CANCELLED = "Cancelled. No lesson was added."
ASK_LESSON_CONTENT = (
    "Now send the lesson: text (your formatting is kept), or a photo, video, document or audio "
    "with a caption. A long lesson can take several messages. Press ✅ Done when it is complete, "
    "or /cancel."
)

SEND_CONTENT_FIRST = "Send the lesson's content first, then press Done."
_WIZARD_PROMPTS = {
    "title": "📝 A new course. What is its <b>title</b>? (/cancel stops)",
    "description": ("Describe the course in a message (formatting is kept), or press Skip."),
    "category": "Which <b>category</b> is it in (for example Programming)? Or press Skip.",
    "duration_minutes": "About how many <b>minutes</b> does it take? Type a number, or press Skip.",
}


def wizard_prompt(step: str) -> str:
    return _WIZARD_PROMPTS[step]


def course_created(title: str) -> str:
    return (
        f"✅ <b>{escape(title)}</b> is created as a draft. Add lessons, then publish it when "
        "it is ready."
    )


def ask_new_value(field: str, course: Course) -> str:
    name = COURSE_FIELD_NAMES[field]
    return f"Type the new {name} of <b>{escape(course.title)}</b>, or /cancel."


def teaching(page: Page[TeachingEntry]) -> str:
    if not page.items:
        return "You have no courses yet. /newcourse creates one."
    lines = ["<b>🧑‍🏫 Your courses</b>"]
    if page.pages > 1:
        lines.append(f"page {page.page + 1} of {page.pages}")
    for entry in page.items:
        state = "📢 published" if entry.course.is_published else "📝 draft"
        lines += [
            "",
            f"<b>{escape(entry.course.title)}</b> · {state}",
            f"{entry.lesson_count} lessons · {entry.enrolled_count} enrolled",
        ]
    return "\n".join(lines)


def course_management(card: CourseManagement) -> str:
    course = card.course
    state = "📢 published" if course.is_published else "📝 draft (not in the catalog)"
    lines = [
        f"<b>{escape(course.title)}</b> · {state}",
        f"Category: {escape(course.category) or '—'} · Difficulty: {course.difficulty.value} · "
        f"Duration: {duration(course.duration_minutes)}",
        f"Enrollment key: {'set 🔑' if card.has_key else 'none'} · Enrolled: {card.enrolled_count}",
        "",
        course.description or "<i>No description yet.</i>",
        "",
        f"<b>Lessons ({len(card.lessons)})</b>",
    ]
    if not card.lessons:
        lines.append("None yet: ➕ Add lesson. A course needs one before it can be published.")
    for number, lesson in enumerate(card.lessons, start=1):
        marks = (" 📝 quiz" if lesson.has_quiz else "") + (" 📎" if lesson.media_kind else "")
        lines.append(f"{number}. {escape(lesson.title)}{marks}")
    return "\n".join(lines)


def confirm_course_deletion(title: str, enrolled: int) -> str:
    students = "1 student is" if enrolled == 1 else f"{enrolled} students are"
    return (
        f"🗑 Delete <b>{escape(title)}</b>? {students} enrolled; their progress in it will be "
        "lost. This cannot be undone."
    )


def course_deleted(title: str) -> str:
    return f"🗑 <b>{escape(title)}</b> was deleted."


def ask_lesson_title(course_title: str) -> str:
    return f"➕ A new lesson for <b>{escape(course_title)}</b>. What is its title? (/cancel stops)"


def lesson_part_received(count: int) -> str:
    parts = "1 message" if count == 1 else f"{count} messages"
    return f"Got it ({parts}). Send more, or press ✅ Done."


def lesson_added(title: str) -> str:
    return (
        f"✅ Lesson <b>{escape(title)}</b> added. Enrolled students see it in the course; "
        "📣 Announce tells them."
    )


def lesson_management(lesson: Lesson, course: Course) -> str:
    media = f"\nMedia: {lesson.media_kind.value}" if lesson.media_kind else ""
    return (
        f"📘 <b>{escape(lesson.title)}</b>\nCourse: {escape(course.title)}{media}\n\n"
        "👁 Preview shows it exactly as a student receives it."
    )


def confirm_lesson_deletion(lesson_title: str, course_title: str) -> str:
    return (
        f"🗑 Delete the lesson <b>{escape(lesson_title)}</b> from {escape(course_title)}? "
        "Students' progress is recounted."
    )


def exported(title: str) -> str:
    return (
        f"📤 <b>{escape(title)}</b> as a course file. Edit it and send it back to me to import "
        "it as a new draft, or import it with learnbot import. 📥 Replace from file (on the "
        "course's card) updates this course in place instead."
    )


def course_imported(title: str, lessons: int) -> str:
    return (
        f"📥 Imported <b>{escape(title)}</b> with {lessons} lessons, as a draft: check it, "
        "then publish it."
    )


REPLACE_CANCELLED = "Cancelled. The course was not changed."
REPLACED_TOAST = "Replaced ✅"
SEND_REPLACEMENT_FILE = (
    "Please send the course file as a document (.yaml, .yml or .json), or press Cancel."
)
CONFIRM_OR_SEND_FILE = "Press ✅ Confirm to replace the course, ✖️ Cancel, or send another file."


def ask_replacement_file(title: str) -> str:
    return (
        f"📥 Send the course file that replaces <b>{escape(title)}</b>: a .yaml, .yml or .json "
        "document, as 📤 Export makes it.\n\n"
        "Enrollments stay. A lesson that keeps its <code>id:</code> line is the same lesson, "
        "edited: students keep their completion of it. A lesson without an id is new; a lesson "
        "missing from the file is deleted, with its completions. Attempts in progress at a "
        "changed quiz start again. The enrollment key stays unless the file sets one."
    )


def _replacement_counts(kept: int, added: int, removed: int) -> str:
    return f"Lessons: {kept} kept, {added} added, {removed} removed."


def confirm_replacement(title: str, summary: ReplacementSummary) -> str:
    students = "1 student is" if summary.enrolled == 1 else f"{summary.enrolled} students are"
    lost = "; their completions of the removed lessons are deleted" if summary.removed else ""
    return (
        f"📥 Replace <b>{escape(title)}</b> with this file? "
        f"{_replacement_counts(summary.kept, summary.added, summary.removed)}\n\n"
        f"{students} enrolled: they stay enrolled and keep their completions of the kept "
        f"lessons{lost}. Their progress is recounted."
    )


def course_replaced(title: str, summary: ReplacementSummary) -> str:
    students = "1 student" if summary.enrolled == 1 else f"{summary.enrolled} students"
    return (
        f"📥 <b>{escape(title)}</b> was replaced from the file. "
        f"{_replacement_counts(summary.kept, summary.added, summary.removed)} "
        f"Enrolled: {students}."
    )


def ask_lesson_rename(title: str) -> str:
    return f"Type the new title of the lesson <b>{escape(title)}</b>, or /cancel."


def ask_lesson_rewrite(title: str) -> str:
    return (
        f"Send the new content of <b>{escape(title)}</b>; it replaces the text and any media. "
        "Text (formatting is kept), or a photo, video, document or audio with a caption, in "
        "one or more messages; then press ✅ Done, or /cancel."
    )


def lesson_updated(title: str) -> str:
    return f"✅ Lesson <b>{escape(title)}</b> updated."


# -- quiz authoring --------------------------------------------------------------------------------

QUIZ_CANCELLED = "Cancelled. No quiz was added."
QUESTIONS_DONE = "Done. The quiz keeps the questions added so far."
_QUIZ_PROMPTS = {
    "title": "📝 A quiz for this lesson. What is its <b>title</b>? (/cancel stops)",
    "passing_score": "Which <b>score</b> (0 to 100 %) passes? Type a number, or Skip for 70.",
    "max_attempts": (
        "How many <b>attempts</b> may a student make? Type a number (0 = unlimited), or Skip "
        "for unlimited."
    ),
}


def quiz_wizard_prompt(step: str) -> str:
    return _QUIZ_PROMPTS[step]


def quiz_created(title: str) -> str:
    return f"✅ The quiz <b>{escape(title)}</b> is attached. Now add its questions."


def ask_questions() -> str:
    return (
        "Send questions, several in one message, a blank line between them:\n"
        f"<pre>{escape(QUIZ_EXAMPLE)}</pre>\n"
        "<code>+</code> a correct option, <code>-</code> a wrong one, <code>&gt;</code> the "
        "explanation; a question without options is answered in words (you review it). "
        "You can also send a Telegram quiz poll. Press ✅ Done when finished."
    )


def questions_added(added: int, total: int) -> str:
    noun = "question" if added == 1 else "questions"
    return f"✅ Added {added} {noun}; the quiz has {total}. Send more, or press ✅ Done."


def quiz_management(card: QuizManagement) -> str:
    quiz = card.quiz
    attempts = "unlimited" if quiz.max_attempts == 0 else str(quiz.max_attempts)
    lines = [
        f"📝 <b>{escape(quiz.title)}</b> · lesson {escape(card.lesson.title)}",
        f"Passing score: {quiz.passing_score}% · Attempts allowed: {attempts} · "
        f"Taken: {card.attempts}",
        "",
        f"<b>Questions ({len(quiz.questions)})</b>",
    ]
    if not quiz.questions:
        lines.append("None yet: ➕ Add questions.")
    else:
        lines.append(f"<pre>{escape(render_questions(question_drafts(quiz)))}</pre>")
    return "\n".join(lines)


def confirm_quiz_change(title: str, attempts: int, in_progress: int) -> str:
    return (
        f"Students have taken <b>{escape(title)}</b> {attempts} time(s). Their results and "
        f"completed lessons stay; {in_progress} attempt(s) in progress will start again. Go on?"
    )


def confirm_question_deletion(card: QuizManagement) -> str:
    note = (
        f" Students have taken it {card.attempts} time(s): results stay, attempts in progress "
        "start again."
        if card.attempts
        else ""
    )
    return f"🗑 Delete this question from <b>{escape(card.quiz.title)}</b>?{note}"


def confirm_question_move(card: QuizManagement) -> str:
    return (
        f"Move this question up in <b>{escape(card.quiz.title)}</b>? Students have taken the "
        f"quiz {card.attempts} time(s): results stay, attempts in progress start again."
    )


def confirm_quiz_deletion(title: str, attempts: int) -> str:
    return (
        f"🗑 Delete the quiz <b>{escape(title)}</b> and its {attempts} attempt(s)? Lessons "
        "students completed stay completed."
    )


def quiz_deleted(lesson_title: str) -> str:
    return f"🗑 The quiz of <b>{escape(lesson_title)}</b> was deleted."


ALERT_LIMIT = 200  # a callback answer's text, in UTF-16 code units


def quiz_preview(info: QuizInfo) -> str:
    """The preview's first message: a note, then the intro a new student reads."""
    return (
        "👁 <b>Preview</b>: the quiz as a student receives it. Tap an option to see whether it "
        f"is right; nothing is recorded.\n\n{quiz_intro(info)}"
    )


def preview_tap(tap: PreviewTap) -> str:
    """The alert of a preview button (plain text): right or wrong, and why if it fits."""
    q = tap.question
    if q.type == QuestionType.text:
        return "(students type their answer)"
    if tap.option is None:
        right = ", ".join(LETTERS[i] for i, option in enumerate(q.options) if option.is_correct)
        verdict = f"✓ Correct: {right}"
    else:
        verdict = "✓ Correct" if tap.option.is_correct else "✗ Wrong"
    if q.explanation:
        explained = f"{verdict}\n💡 {q.explanation}"
        if utf16_len(explained) <= ALERT_LIMIT:
            return explained
    return verdict


def course_stats(stats: CourseStats) -> str:
    lines = [
        f"📊 <b>{escape(stats.title)}</b>",
        f"Enrolled: {stats.enrolled} · active in the last 7 days: {stats.active_7_days}",
        f"Average progress: {progress_bar(stats.average_progress)} · completed: {stats.completed}",
        f"Answers waiting for review: {stats.pending_reviews}",
    ]
    if stats.lessons:
        lines += ["", "<b>Lessons completed</b>"]
        lines += [
            f"{number}. {escape(lesson.title)}: {lesson.completed}"
            for number, lesson in enumerate(stats.lessons, start=1)
        ]
    if stats.quizzes:
        lines += ["", "<b>Quizzes</b>"]
        for quiz in stats.quizzes:
            average = "—" if quiz.average_score is None else f"{quiz.average_score}%"
            lines.append(
                f"{escape(quiz.title)}: {quiz.passed} passed of {quiz.submitted} · "
                f"average {average}"
            )
    return "\n".join(lines)


def gradebook_caption(title: str) -> str:
    return f"📄 The gradebook of <b>{escape(title)}</b>: one row per student."


# -- announcements and other pushes to many users (bot.campaigns) -------------------------------


def announce_prompt(lesson_title: str, course_title: str, recipients: int) -> str:
    students = "student" if recipients == 1 else "students"
    return (
        f"📣 Tell the {recipients} {students} of <b>{escape(course_title)}</b> about the lesson "
        f"<b>{escape(lesson_title)}</b>? They get this message:\n\n"
        f"{announcement(course_title, lesson_title)}"
    )


def announcement(course_title: str, lesson_title: str) -> str:
    """What an enrolled student receives when a new lesson is announced."""
    return (
        f"📣 New lesson in <b>{escape(course_title)}</b>: <b>{escape(lesson_title)}</b>. "
        "Open it when you are ready."
    )


def announcing(recipients: int) -> str:
    students = "student" if recipients == 1 else "students"
    return (
        f"📣 Sending the announcement to {recipients} {students}. "
        "I'll tell you when everyone has it."
    )


def announcement_report(lesson_title: str, sent: int, blocked: int, failed: int) -> str:
    students = "student" if sent == 1 else "students"
    lines = [f"📣 <b>{escape(lesson_title)}</b> was announced to {sent} {students}."]
    if blocked:
        lines.append(f"{blocked} could not be reached: they blocked the bot.")
    if failed:
        lines.append(f"{failed} could not be reached: Telegram refused the message.")
    return "\n".join(lines)


def campaign_progress(tally: Tally) -> str:
    return (
        f"📤 Sending… {tally.sent} sent, {tally.blocked} blocked the bot, {tally.failed} failed, "
        f"{tally.left} left."
    )


def campaign_done(tally: Tally) -> str:
    return (
        f"✅ Sent to {tally.sent} of {tally.total}: {tally.blocked + tally.skipped} blocked the "
        f"bot, {tally.failed} failed."
    )


# -- admin: /admin, /stats, /broadcast ----------------------------------------------------------


def _roles(users_by_role: dict[Role, int]) -> str:
    return ", ".join(f"{users_by_role.get(role, 0)} {role.value}s" for role in Role)


def admin_home(counts: AdminCounts) -> str:
    total = sum(counts.users_by_role.values())
    return "\n".join(
        [
            "🛠 <b>Admin</b>",
            "",
            f"Users: {total} ({_roles(counts.users_by_role)})",
            f"Answers waiting for review: {counts.pending_reviews}",
            f"Users who blocked the bot: {counts.blocked}",
        ]
    )


def _percent(part: int, whole: int) -> str:
    return f"{(200 * part + whole) // (2 * whole)}%" if whole else "–"


def platform_stats(stats: PlatformStats) -> str:
    return "\n".join(
        [
            "📊 <b>Platform statistics</b>",
            "",
            f"Users: {stats.users} ({_roles(stats.users_by_role)})",
            f"Active: {stats.active_1} today · {stats.active_7} in 7 days · "
            f"{stats.active_30} in 30 days",
            f"New this week: {stats.new_this_week}",
            f"Blocked the bot: {stats.blocked}",
            "",
            f"Courses: {stats.courses_published} published, {stats.courses_draft} drafts",
            f"Enrollments: {stats.enrollments} · completed: {stats.completions} "
            f"({_percent(stats.completions, stats.enrollments)})",
            f"Quiz attempts: {stats.attempts} · passed: {stats.attempts_passed} "
            f"({_percent(stats.attempts_passed, stats.attempts)})",
            f"Answers waiting for review: {stats.pending_reviews}",
            f"Reminders sent in 7 days: {stats.reminders_7} · came back within a day: "
            f"{stats.came_back} ({_percent(stats.came_back, stats.reminders_7)})",
            "",
            f"Daily active learners, last {len(stats.daily_learners)} days "
            f"(today {stats.daily_learners[-1]}, best {max(stats.daily_learners)}):",
            f"<code>{sparkline(stats.daily_learners)}</code>",
        ]
    )


ASK_BROADCAST = (
    "📣 Send me the message to broadcast: text (your formatting is kept), or a photo with a "
    "caption. /cancel leaves."
)
BROADCAST_AUDIENCE = "Who gets it?"
BROADCAST_CHOOSE_COURSE = "The students of which course? (the most enrolled are listed)"
BROADCAST_NO_COURSES = "No course has students yet. Choose another audience."
BROADCAST_CHOOSE_DAYS = "Learners (enrolled in a course) inactive for at least:"
BROADCAST_CANCELLED = "Cancelled. Nothing was sent."
BROADCAST_STARTED_TOAST = "Sending 📣"
BROADCAST_STOPPED_TOAST = "Cancelled ⏹"


def audience(description: dict[str, object], course_title: str | None = None) -> str:
    if description.get("kind") == "course":
        return f"the students of <b>{escape(course_title or '')}</b>"
    if description.get("kind") == "inactive":
        return f"learners inactive for {description.get('days')} days or more"
    return "everyone"


def broadcast_preview(who: str, reachable: int, blocked: int) -> str:
    users = "user" if reachable == 1 else "users"
    lines = [f"⬆️ That is the message. It goes to {who}: <b>{reachable}</b> {users}."]
    if blocked:
        lines.append(f"{blocked} more blocked the bot and are skipped.")
    lines.append("Send it now?")
    return "\n".join(lines)


def campaign_starting(recipients: int) -> str:
    users = "user" if recipients == 1 else "users"
    return f"📤 Sending to {recipients} {users}… I edit this message as it goes."


def broadcast_stopped(sent: int) -> str:
    return f"⏹ Broadcast cancelled after {sent} sent. Nobody else gets it."


# -- admin: users, roles, invites ----------------------------------------------------------------


class admin_labels:
    """Button labels of /users, a user's card, the audit and /invite."""

    BACK_TO_USERS = "⬅️ Back to users"
    AUDIT = "📜 Audit"
    INVITES = "🎟 Invites"

    @staticmethod
    def user(user: User) -> str:
        return f"{user.display_name} · {user.role.value}"

    @staticmethod
    def make(role: Role) -> str:
        return f"Make {role.value}"

    @staticmethod
    def revoke(invite_id: int) -> str:
        return f"🚫 Revoke #{invite_id}"


PROMOTE_USAGE = (
    "Usage: /promote @username role, or /promote TELEGRAM_ID role. "
    "Roles are student, instructor and admin."
)
ROLE_CHANGED_TOAST = "Role changed ✅"
ROLE_UNCHANGED_TOAST = "Already so: nothing changed"
INVITE_USAGE = "/invite instructor or /invite admin creates a single-use invite link."
INVITE_REVOKED_TOAST = "Invite revoked 🚫"
_NOBODY = "the configuration or the command line"


def _a(role: Role) -> str:
    """``an admin``, ``an instructor``, ``a student``."""
    return f"{'an' if role.value[0] in 'aeiou' else 'a'} {role.value}"


def _moment(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _short(name: str, limit: int = 40) -> str:
    """A name in a list, cut so that a page of them fits one message (escaped)."""
    return escape(name if len(name) <= limit else name[: limit - 1] + "…")


def _handle(user: User, limit: int = 256) -> str:
    """The name, then the @username if any (both escaped)."""
    username = f" @{escape(user.username)}" if user.username else ""
    return f"{_short(user.display_name, limit)}{username}"


def users_list(page: UsersPage) -> str:
    title = f"👥 Users matching “{escape(page.query)}”" if page.query else "👥 Users"
    if page.total == 0:
        return (
            f"<b>{title}</b>\n\nNo user matches. Search by name, @username or Telegram id, "
            "for example /users ann."
        )
    lines = [
        f"<b>{title}</b>",
        f"{page.total} user(s) · page {page.page + 1} of {page.pages} · most recently active first",
    ]
    for user in page.items:
        lines += [
            "",
            f"<b>{_handle(user, 40)}</b> · {user.role.value}",
            f"id <code>{user.telegram_id}</code> · last active {_moment(user.last_active_at)}",
        ]
    lines += ["", "Tap a user to open their card."]
    return "\n".join(lines)


def user_card(card: UserCard, note: str = "") -> str:
    user = card.user
    lines = [note, ""] if note else []
    lines += [
        f"👤 <b>{_handle(user)}</b>",
        f"Telegram id: <code>{user.telegram_id}</code>",
        f"Role: <b>{user.role.value}</b>",
        f"Joined: {_moment(user.created_at)}",
        f"Last active: {_moment(user.last_active_at)}",
        "🚫 They blocked the bot: nothing reaches them."
        if user.is_blocked
        else "✅ Messages from the bot reach them.",
        "",
    ]
    if card.courses:
        lines.append(f"<b>Courses ({len(card.courses)})</b>")
        lines += [
            f"{escape(row.course.title)}: {progress_bar(row.percentage)}"
            for row in card.courses[:15]
        ]
        if len(card.courses) > 15:
            lines.append(f"… and {len(card.courses) - 15} more")
    else:
        lines.append("Not enrolled in any course.")
    return "\n".join(lines)


def confirm_role_change(user: User, new_role: Role) -> str:
    return (
        f"Change the role of <b>{_handle(user)}</b> (id <code>{user.telegram_id}</code>): "
        f"{user.role.value} → {new_role.value}?\n"
        "They are told, and their command menu changes at once."
    )


def role_changed(old_role: Role, new_role: Role) -> str:
    return f"✅ Role changed: {old_role.value} → {new_role.value}."


def role_unchanged(user: User) -> str:
    return f"{_handle(user)} is already {_a(user.role)}: nothing to change."


def role_notice(old_role: Role, new_role: Role) -> str:
    """What the user whose role an admin changed reads."""
    if new_role.rank > old_role.rank:
        return (
            f"🎉 An admin made you {_a(new_role)}. Your command menu has new commands: "
            "/help lists them."
        )
    return (
        f"Your role is now <b>{new_role.value}</b> (it was {old_role.value}); your command "
        "menu has changed accordingly. /help lists your commands."
    )


def could_not_tell(name: str) -> str:
    return (
        f"ℹ️ {escape(name)} could not be told: they have not started the bot yet, or blocked "
        "it. Their command menu follows at their next /start."
    )


def audit(page: Page[AuditEntry]) -> str:
    if not page.items:
        return "<b>📜 Role changes</b>\n\nNo role has been changed yet."
    lines = ["<b>📜 Role changes</b>, the latest first"]
    if page.pages > 1:
        lines.append(f"page {page.page + 1} of {page.pages}")
    lines.append("")
    for entry in page.items:
        actor = _short(entry.actor) if entry.actor is not None else _NOBODY
        lines.append(
            f"{_moment(entry.at)} · {actor}: <b>{_short(entry.target)}</b> "
            f"{entry.old_role.value} → {entry.new_role.value}"
        )
    return "\n".join(lines)


def invite_created(link: str, role: Role, expires_at: datetime) -> str:
    return (
        f"🎟 An invite to become {_a(role)}:\n{escape(link)}\n\n"
        f"Single use, valid until {_moment(expires_at)}. Send it to one person: whoever opens "
        "it first gets the role. /invite lists your invites and revokes them."
    )


def _invite_state(entry: InviteEntry) -> str:
    invite = entry.invite
    if entry.state == InviteState.used and invite.used_at is not None:
        who = _short(entry.used_by) if entry.used_by is not None else "a deleted account"
        return f"used by {who} on {_moment(invite.used_at)}"
    if entry.state == InviteState.revoked and invite.revoked_at is not None:
        return f"revoked on {_moment(invite.revoked_at)}"
    if entry.state == InviteState.expired:
        return f"expired on {_moment(invite.expires_at)}"
    return f"active until {_moment(invite.expires_at)}"


def invites(page: Page[InviteEntry]) -> str:
    lines = ["<b>🎟 Invites</b>", INVITE_USAGE]
    if not page.items:
        return "\n".join([*lines, "", "No invites yet."])
    if page.pages > 1:
        lines.append(f"page {page.page + 1} of {page.pages}")
    for entry in page.items:
        lines += [
            "",
            f"#{entry.invite.id} · {entry.invite.role.value} · by {_short(entry.created_by)}",
            _invite_state(entry),
        ]
    return "\n".join(lines)


def invite_redeemed(role: Role, now: Role, raised: bool) -> str:
    """What the person who opened an invite link reads (``now``: their role afterwards)."""
    if raised:
        return (
            f"🎉 Welcome aboard! You are now {_a(role)}. Your command menu has new commands: "
            "/help lists them."
        )
    return f"You are already {_a(now)}, so this invite changes nothing. /help lists your commands."


def invite_already_yours(now: Role) -> str:
    return f"You already used this invite: you are {_a(now)}. /help lists your commands."


def invite_used(user: User, role: Role, raised: bool) -> str:
    """What the admin who made the invite reads when it is used."""
    if raised:
        return f"🎟 {_handle(user)} used your invite and is now {_a(role)}."
    return f"🎟 {_handle(user)} used your invite; they already were {_a(user.role)}."


# -- reminders and /settings -----------------------------------------------------------------------

REMINDER_COURSES_SHOWN = 8  # courses listed (with their buttons) in one reminder
STOPPED_COURSES_SHOWN = 20  # stopped courses offered in /settings
_TITLE = 80  # a title's length in a list


class reminder_labels:
    """Button labels of reminders and /settings (SPEC §4: Continue, Stop reminders, Back)."""

    CONTINUE = labels.CONTINUE
    STOP = "🔕 Stop reminders"
    SETTINGS = "⚙️ Settings"
    REMINDERS_OFF = "🔕 Turn reminders off"
    REMINDERS_ON = "🔔 Turn reminders on"
    HOUR = "🕕 Reminder hour"
    ZONE = "🌍 Time zone"
    BACK = "⬅️ Back"
    OPEN_REVIEW = "📝 Open /review"

    @staticmethod
    def continue_course(title: str) -> str:
        return f"▶️ Continue: {title}"

    @staticmethod
    def resume(title: str) -> str:
        return f"🔔 Resume: {title}"

    @staticmethod
    def hour(hour: int, *, current: bool) -> str:
        return f"{'✅ ' if current else ''}{hour:02d}:00"

    @staticmethod
    def zone(zone: str, now: datetime) -> str:
        return f"{zone} ({local_time(zone, now):%H:%M})"


REFUSALS.update(
    {
        Reason.reminder_hour_out_of_range: "Choose an hour from 0 to 23.",
        Reason.unknown_timezone: "I don't know the time zone {zone}.",
        Reason.not_enrolled: "You are not enrolled in this course.",
    }
)

TIMEZONE_CANCELLED = "Cancelled. Your time zone is unchanged."
ASK_TIMEZONE = (
    "🌍 Type your time zone, such as <b>Europe/Berlin</b>, or the name of a big city near you "
    "(Berlin, New York, Tokyo). /cancel keeps the current one."
)
HOUR_SAVED_TOAST = "Saved ✅"


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def settings(
    view: UserSettings,
    now: datetime,
    inactive_days: int,
    repeat_days: int,
    note: str | None = None,
) -> str:
    """The /settings message; ``note`` (already HTML) says what just changed."""
    local = local_time(view.timezone, now)
    lines = [note, ""] if note else []
    lines += ["⚙️ <b>Settings</b>", ""]
    if view.reminders_enabled:
        lines += [
            "🔔 Reminders: <b>on</b>",
            f"When you have not studied a course for {_days(inactive_days)}, I remind you of it "
            f"at your hour, at most every {_days(repeat_days)}.",
        ]
    else:
        lines.append("🔕 Reminders: <b>off</b>")
    lines += [
        "",
        f"🕕 Reminder hour: <b>{view.reminder_hour:02d}:00</b> (your time)",
        f"🌍 Time zone: <b>{escape(view.timezone)}</b>, where it is {local:%H:%M} ({local:%a}) now",
    ]
    if view.stopped:
        courses = "1 course" if len(view.stopped) == 1 else f"{len(view.stopped)} courses"
        lines += ["", f"🔕 You stopped reminders about {courses}: tap one to turn them back on."]
    return "\n".join(lines)


def ask_hour(zone: str, now: datetime) -> str:
    return (
        f"🕕 At which hour should reminders come? Your time zone is {escape(zone)}, where it is "
        f"{local_time(zone, now):%H:%M} now."
    )


def hour_saved(hour: int) -> str:
    return f"✅ Reminders come at {hour:02d}:00 your time."


def timezone_saved(zone: str) -> str:
    return f"✅ Your time zone is {escape(zone)}."


def reminders_switched(enabled: bool) -> str:
    return "🔔 Reminders are on." if enabled else "🔕 Reminders are off. Turn them on any time."


def course_reminders_resumed(title: str) -> str:
    return f"🔔 Reminders about <b>{escape(truncate(title, _TITLE))}</b> are back on."


def timezone_not_found(typed: str, suggestions: tuple[str, ...]) -> str:
    shown = escape(truncate(typed.strip(), 64))
    if suggestions:
        return (
            f"🤔 I don't know “{shown}”. Did you mean one of these? Tap it, or type again "
            "(/cancel keeps your time zone)."
        )
    return (
        f"🤷 I don't know the time zone “{shown}”. Type a name such as Europe/Berlin, or a big "
        "city near you; /cancel keeps your time zone."
    )


def course_reminders_stopped(title: str) -> str:
    """The toast of 🔕 Stop reminders (plain text, at most 200 characters)."""
    return f"🔕 No more reminders about {truncate(title, _TITLE)}. /settings turns them back on."


def reminder(courses: tuple[ReminderCourse, ...]) -> str:
    """The nudge of a student who stalled, about one course or several."""
    if len(courses) == 1:
        [course] = courses
        lines = [
            f"👋 It has been a while! Ready to go on with <b>{escape(course.title)}</b>?",
            "",
            f"Progress: {progress_bar(course.progress)}",
        ]
        if course.next_lesson:
            lines.append(f"Next lesson: <b>{escape(course.next_lesson)}</b>")
    else:
        lines = ["👋 It has been a while! Your courses are waiting for you:"]
        for course in courses[:REMINDER_COURSES_SHOWN]:
            following = (
                f" · next: {escape(truncate(course.next_lesson, _TITLE))}"
                if course.next_lesson
                else ""
            )
            lines += [
                "",
                f"<b>{escape(truncate(course.title, _TITLE))}</b>",
                f"{progress_bar(course.progress)}{following}",
            ]
        if len(courses) > REMINDER_COURSES_SHOWN:
            lines += ["", f"…and {len(courses) - REMINDER_COURSES_SHOWN} more in /mycourses."]
    lines += ["", "Not now? 🔕 Stop reminders of a course, or choose when they come: ⚙️ Settings."]
    return "\n".join(lines)


def review_digest(courses: tuple[PendingCourse, ...], shown: int = 20) -> str:
    """An instructor's daily note of answers waiting for review, per course."""
    total = sum(course.pending for course in courses)
    lines = [f"📝 Answers wait for your review ({total}):"]
    lines += [
        f"• {escape(truncate(course.title, _TITLE))}: {course.pending}"
        for course in courses[:shown]
    ]
    if len(courses) > shown:
        lines.append(f"…and {len(courses) - shown} more courses.")
    return "\n".join(lines)


def media_unavailable(kind: str, caption: str | None) -> str:
    """In place of a lesson's photo (video, …) that Telegram would not send."""
    note = f"📎 This lesson's {kind} can't be shown right now."
    return f"{note}\n\n{caption}" if caption else note

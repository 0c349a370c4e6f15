"""What the bot says. Every value from a user or the database is escaped here, nowhere else."""

from __future__ import annotations

from datetime import datetime

from bot.formatting import escape, progress_bar
from bot.quizformat import EXAMPLE as QUIZ_EXAMPLE
from bot.quizformat import render_questions
from db.authoring import question_drafts
from db.catalog import CatalogPage, CourseCard
from db.coursestats import CourseStats
from db.errors import DomainError, Reason
from db.learning import CourseProgress, LessonView
from db.models import AttemptStatus, Course, Lesson, QuestionType, QuizAttempt, Role
from db.paging import Page
from db.quizauthoring import QuizManagement
from db.quizzes import (
    MAX_TEXT_ANSWER,
    AttemptResult,
    QuestionResult,
    QuestionView,
    QuizInfo,
    ReviewItem,
)
from db.teaching import CourseManagement, TeachingEntry

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
    STATS = "📊 Stats"
    GRADEBOOK = "📄 Gradebook (CSV)"
    RENAME = "✏️ Title"
    QUIZ = "📝 Quiz"
    ADD_QUESTIONS = "➕ Add questions"
    DELETE_QUIZ = "🗑 Delete quiz"
    REWRITE = "✏️ Content"
    CONFIRM_WITHOUT_COMMENT = "✔️ Confirm without comment"

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
        "attempts in progress will be cancelled. Confirm to go ahead."
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
        ("help", "What I can do"),
        ("cancel", "Leave the current dialog"),
    ],
    Role.instructor: [
        ("newcourse", "Create a course"),
        ("teach", "Your courses: lessons, publishing"),
        ("review", "Grade free-text quiz answers"),
    ],
    Role.admin: [],
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
            "Sending me a course file (.yaml) imports it as a new draft.",
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
    return f"✅ Lesson <b>{escape(title)}</b> added. Enrolled students see it in the course."


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
        "it as a new draft, or import it with learnbot import."
    )


def course_imported(title: str, lessons: int) -> str:
    return (
        f"📥 Imported <b>{escape(title)}</b> with {lessons} lessons, as a draft: check it, "
        "then publish it."
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

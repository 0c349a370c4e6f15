"""SQL statements per kind of update, on one journey that touches every handler.

The budget is what the code does today (README, Performance): a change that makes an update
kind issue more statements fails here and has to say why in the budget. Counts include SQLite's
``BEGIN``; an account is read first and written only when its name or activity stamp is stale,
so a user's first update in a minute costs one statement more than the next ones. PostgreSQL
runs one statement fewer per transaction, so the budget is checked on SQLite.
"""

from __future__ import annotations

from tests.e2e.conftest import TEACHER_ID, BotHarness
from tests.e2e.test_quiz_journeys import assign, explain, names, quiz_course

# The most statements one update of each kind may issue (SQLite).
BUDGET = {
    "/start": 4,
    "/help": 2,
    "/courses": 4,
    "/mycourses": 3,
    "/progress": 3,
    "/review": 11,  # the reviewer's first update: the account is read, then written (+1)
    "/cancel": 3,
    "text": 10,
    "button cat:page": 4,
    "button crs:open": 4,
    "button crs:enroll": 7,
    "button crs:cont": 14,
    "button les:open": 11,
    "button les:done": 7,
    "button qz:start": 7,
    "button qz:go": 8,
    "button qz:ans": 9,
    "button qz:tog": 8,
    "button qz:sub": 14,
    "button rv:acc": 10,
    "button rv:ok": 24,
}


async def journey(bot: BotHarness) -> None:
    """A student learns and takes two quizzes; the teacher reviews the free-text answer."""
    course = await bot.course(quiz_course([assign(), names()], lessons_before=2))
    essay = await bot.course(quiz_course([explain()], lessons_before=0))
    ann = bot.emulator.user(3001, "Ann")
    await ann.send("/start")
    await ann.send("/help")
    await ann.send("/courses")
    await ann.press("Python Basics")
    await ann.press("Back")
    await ann.send(f"/start course-{course.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    await ann.press("Complete")
    await ann.press("Next lesson")
    await ann.press("Complete")
    await ann.press("Next lesson")
    await ann.press("Start quiz")
    await ann.press("Start quiz")
    await ann.press("x = 4")
    await ann.press("my_var")
    await ann.press("_x")
    await ann.press("Submit")
    await ann.send(f"/start course-{essay.id}")
    await ann.press("Enroll")
    await ann.press("Continue")
    await ann.press("Start quiz")
    await ann.press("Start quiz")
    await ann.send("A name for a value")
    await ann.send("/mycourses")
    await ann.send("/progress")
    teacher = bot.emulator.user(TEACHER_ID, "Tess")
    await teacher.send("/review")
    await teacher.press("Accept")
    await teacher.send("/cancel")
    await teacher.send("/review")
    await teacher.press("Accept")
    await teacher.press("Confirm without comment")


async def test_statements_per_update_stay_within_budget(sqlite_bot: BotHarness):
    await journey(sqlite_bot)
    counts = sqlite_bot.watch.per_kind()
    print("\nstatements per update kind:", counts)
    over = {kind: (n, BUDGET.get(kind)) for kind, n in counts.items() if n > BUDGET.get(kind, 0)}
    assert over == {}, f"more statements than budgeted (seen, budget): {over}"

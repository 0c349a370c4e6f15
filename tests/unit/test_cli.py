"""The ``learnbot`` command line on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from telegram.error import InvalidToken

from bot.cli import main
from bot.logs import RedactSecrets
from bot.settings import Settings
from db.engine import Database
from db.learning import complete_lesson, enroll
from db.models import Course, Enrollment, Lesson, LessonCompletion, Role, RoleChange, User
from tests.conftest import BACKENDS, empty_database_url, make_user
from tests.e2e.test_webhook import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-basics.yaml"
TOKEN = "123456:CLI-token-that-must-never-be-printed"
TOO_BIG = str(2**63)  # one above PostgreSQL's BIGINT
LESSON_ID = re.compile(r"^    id: \d+\n", re.MULTILINE)


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the caller's environment or a stray .env in the developer's folder."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """An empty database, not even migrated."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    else:
        url = asyncio.run(empty_database_url(request.param, tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def query(url: str, statement):
    async def run():
        database = Database(url)
        async with database.session() as session:
            result = (await session.execute(statement)).all()
        await database.dispose()
        return result

    return asyncio.run(run())


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line on stderr; it starts with ``error:``."""
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    return err.removeprefix("error: ").rstrip("\n")


def test_migrate_then_grant_admin_is_audited_and_idempotent(database_url, capsys):
    assert main(["migrate"]) == 0
    assert main(["grant-admin", "777"]) == 0
    assert "777 is now an admin" in capsys.readouterr().out
    assert main(["grant-admin", "777"]) == 0
    assert "already an admin" in capsys.readouterr().out
    assert query(database_url, select(User.telegram_id, User.role)) == [(777, Role.admin)]
    [(old, new)] = query(database_url, select(RoleChange.old_role, RoleChange.new_role))
    assert (old, new) == (Role.student, Role.admin)


def test_import_then_export_round_trips(database_url, tmp_path, capsys):
    assert main(["migrate"]) == 0
    assert main(["import", str(EXAMPLE), "--owner", "555"]) == 0
    assert "Imported course 1: Python Basics" in capsys.readouterr().out
    assert query(database_url, select(User.role).where(User.telegram_id == 555)) == [
        (Role.instructor,)
    ]
    exported = tmp_path / "copy.yaml"
    assert main(["export", "1", "-o", str(exported)]) == 0
    assert main(["import", str(exported), "--owner", "555"]) == 0
    assert main(["export", "2"]) == 0
    again = capsys.readouterr().out
    assert LESSON_ID.sub("", again).endswith(LESSON_ID.sub("", exported.read_text("utf-8")))
    assert LESSON_ID.findall(again) != LESSON_ID.findall(exported.read_text("utf-8")), "new ids"
    [(courses,)] = query(database_url, select(func.count(Course.id)))
    [(lessons,)] = query(database_url, select(func.count(Lesson.id)))
    assert courses == 2 and lessons % 2 == 0 and lessons > 0


def test_bad_input_is_a_clear_error_and_changes_nothing(database_url, tmp_path, capsys):
    assert main(["migrate"]) == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "title: T\nlessons:\n  - title: L\n    quiz:\n      title: Q\n      questions:\n"
        "        - text: Pick\n          options:\n"
        "            - {text: a}\n            - {text: b}\n",
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["import", str(broken), "--owner", "1"]) == 1
    assert "lessons[0].quiz.questions[0]: no correct option" in one_error_line(capsys)
    assert main(["export", "42"]) == 1
    assert one_error_line(capsys) == "There is no course 42."
    assert query(database_url, select(func.count(User.id))) == [(0,)]


def enrolled_student(url: str, telegram_id: int, course_id: int, completed: list[int]) -> None:
    """A student enrolled in the course who completed the lessons at these places."""

    async def run() -> None:
        database = Database(url)
        student = await make_user(database, telegram_id)
        async with database.session() as session:
            await enroll(session, student, course_id)
            lessons = await session.scalars(
                select(Lesson.id).where(Lesson.course_id == course_id).order_by(Lesson.order_index)
            )
        lesson_ids = list(lessons)
        for lesson_id in (lesson_ids[index] for index in completed):
            async with database.session() as session:
                await complete_lesson(session, student, lesson_id)
        await database.dispose()

    asyncio.run(run())


def test_import_replace_keeps_the_course_its_students_and_their_completions(
    database_url, tmp_path, capsys
):
    assert main(["import", str(EXAMPLE), "--owner", "555"]) == 0
    enrolled_student(database_url, 42, 1, completed=[0, 2])  # two lessons without a quiz
    edited = tmp_path / "edited.yaml"
    assert main(["export", "1", "-o", str(edited)]) == 0
    text = edited.read_text("utf-8")
    ids = [int(match.split()[1]) for match in LESSON_ID.findall(text)]
    third = text.index("  - title: Working with text")
    fourth = text.index("\n  - title:", third + 1) + 1
    text = text[:third] + text[fourth:]  # the third lesson is deleted
    text = text.replace("title: Hello, Python", "title: Hello, Python 3", 1)
    text += "\n  - title: Next steps\n    content: Keep going.\n"
    edited.write_text(text, "utf-8")
    capsys.readouterr()

    assert main(["import", str(edited), "--owner", "555", "--replace", "1"]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"Replaced course 1: Python Basics ({len(ids) - 1} lessons kept, 1 added, 1 removed; "
        "1 student enrolled)\n"
    )
    assert query(database_url, select(func.count(Course.id))) == [(1,)]
    rows = query(database_url, select(Lesson.id, Lesson.title).order_by(Lesson.order_index))
    assert [lesson_id for lesson_id, _ in rows][: len(ids) - 1] == [*ids[:2], *ids[3:]]
    assert rows[0][1] == "Hello, Python 3" and rows[-1][1] == "Next steps"
    assert query(database_url, select(LessonCompletion.lesson_id)) == [(ids[0],)]
    [(progress,)] = query(database_url, select(Enrollment.progress_percentage))
    assert progress == round(100 / len(ids))


def test_import_replace_is_for_the_courses_instructor_or_an_admin(database_url, tmp_path, capsys):
    assert main(["import", str(EXAMPLE), "--owner", "555"]) == 0
    assert main(["set-role", "556", "instructor"]) == 0
    capsys.readouterr()
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(EXAMPLE.read_text("utf-8").replace("title: Python Basics", "title: X", 1))
    before = query(database_url, select(Course.title, Lesson.id, Lesson.title).join(Lesson))
    for owner in ("556", "557"):  # another instructor; someone the bot has never seen
        assert main(["import", str(renamed), "--owner", owner, "--replace", "1"]) == 1
        assert one_error_line(capsys) == (
            f"{owner} does not manage course 1: only its instructor or an admin can replace it"
        )
    assert query(database_url, select(Course.title, Lesson.id, Lesson.title).join(Lesson)) == before
    assert query(database_url, select(func.count(User.id))) == [(2,)], "557 was not created"

    assert main(["grant-admin", "558"]) == 0
    capsys.readouterr()
    assert main(["import", str(renamed), "--owner", "558", "--replace", "1"]) == 0
    assert capsys.readouterr().out.startswith("Replaced course 1: X (0 lessons kept, ")
    [(title, instructor)] = query(
        database_url,
        select(Course.title, User.telegram_id).join(User, User.id == Course.instructor_id),
    )
    assert (title, instructor) == ("X", 555), "an admin replaces it; the course stays the owner's"


def test_import_replace_errors_are_one_line_and_change_nothing(database_url, tmp_path, capsys):
    assert main(["import", str(EXAMPLE), "--owner", "555"]) == 0
    capsys.readouterr()
    before = query(database_url, select(Course.title, Lesson.id, Lesson.title).join(Lesson))
    for course_id in ("42", "0", "-1", str(2**31), TOO_BIG):
        assert main(["import", str(EXAMPLE), "--owner", "555", "--replace", course_id]) == 1
        assert one_error_line(capsys) == f"There is no course {course_id}."
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "title: T\nlessons:\n  - title: A\n    id: 1\n  - title: B\n    id: 1\n", "utf-8"
    )
    assert main(["import", str(broken), "--owner", "555", "--replace", "1"]) == 1
    assert one_error_line(capsys) == "lessons[1].id: 1 is used by lessons[0] too"
    assert main(["import", str(tmp_path / "none.yaml"), "--owner", "555", "--replace", "1"]) == 1
    assert "none.yaml: can't read the file" in one_error_line(capsys)
    assert main(["import", str(EXAMPLE), "--owner", TOO_BIG, "--replace", "1"]) == 1
    assert "is not a Telegram user id" in one_error_line(capsys)
    assert query(database_url, select(Course.title, Lesson.id, Lesson.title).join(Lesson)) == before


def test_run_without_a_token_says_what_is_missing(database_url, capsys):
    assert main(["run"]) == 1
    assert one_error_line(capsys).startswith("TELEGRAM_BOT_TOKEN is not set")


# --- set-role -----------------------------------------------------------------------------------


def test_set_role_demotes_an_admin_and_audits_it(database_url, capsys, monkeypatch):
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", "2")
    assert main(["grant-admin", "1"]) == main(["grant-admin", "2"]) == 0
    capsys.readouterr()
    assert main(["set-role", "2", "instructor"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 is now an instructor") and out.count("\n") == 1
    assert "ADMIN_TELEGRAM_IDS" in out, "they would be made admin again at the next start"
    assert main(["set-role", "3", "INSTRUCTOR"]) == 0  # unknown ids are created
    assert capsys.readouterr().out.startswith("3 is now an instructor")
    roles = query(database_url, select(User.telegram_id, User.role).order_by(User.telegram_id))
    assert roles == [(1, Role.admin), (2, Role.instructor), (3, Role.instructor)]
    changes = query(
        database_url,
        select(User.telegram_id, RoleChange.actor_id, RoleChange.old_role, RoleChange.new_role)
        .join(User, User.id == RoleChange.target_id)
        .order_by(RoleChange.id),
    )
    assert changes[-2:] == [
        (2, None, Role.admin, Role.instructor),
        (3, None, Role.student, Role.instructor),
    ]


def test_set_role_refuses_to_demote_the_last_admin(database_url, capsys):
    assert main(["grant-admin", "1"]) == 0
    capsys.readouterr()
    assert main(["set-role", "1", "student"]) == 1
    assert one_error_line(capsys) == "The last admin cannot give up the admin role."
    assert query(database_url, select(User.role)) == [(Role.admin,)]
    assert main(["set-role", "1", "admin"]) == 0
    assert capsys.readouterr().out == "1 is already an admin.\n"


def test_set_role_names_the_roles_on_a_bad_one(clean_env, capsys):
    assert main(["set-role", "1", "boss"]) == 1
    assert one_error_line(capsys) == "unknown role 'boss': use one of student, instructor, admin"


# --- a fresh folder -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["grant-admin", "7"],
        ["set-role", "7", "instructor"],
        ["import", str(EXAMPLE), "--owner", "7"],
    ],
    ids=["grant-admin", "set-role", "import"],
)
def test_every_command_migrates_a_fresh_database_first(database_url, command, capsys):
    assert main(command) == 0, capsys.readouterr().err
    assert query(database_url, select(User.telegram_id)) == [(7,)]


def test_export_migrates_a_fresh_database_first(database_url, capsys):
    assert main(["export", "1"]) == 1
    assert one_error_line(capsys) == "There is no course 1."


# --- one line per error -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_LEVEL", "LOUD", "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("REMINDER_HOUR", "abc", "Input should be a valid integer"),
        ("REMINDER_HOUR", "24", "Input should be less than or equal to 23"),
        ("ADMIN_TELEGRAM_IDS", "abc", "expected comma-separated Telegram user ids"),
        ("ADMIN_TELEGRAM_IDS", TOO_BIG, "Telegram user ids are between 1 and"),
        ("DEFAULT_TIMEZONE", "Mars/Base", "unknown time zone 'Mars/Base'"),
        ("DATABASE_URL", "notaurl", "expected sqlite:///FILE or postgresql://"),
        ("WEBHOOK_SECRET", "short", "use 16 to 256 characters"),
    ],
)
def test_an_invalid_setting_is_one_line_naming_it(
    clean_env, capsys, monkeypatch, name, value, message
):
    monkeypatch.setenv(name, value)
    assert main(["migrate"]) == 1
    assert one_error_line(capsys).startswith(f"invalid setting {name}: {message}")


def test_postgresql_without_asyncpg_says_which_extra_to_install(clean_env, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # what an install without the extra has
    monkeypatch.setenv("DATABASE_URL", "postgresql://learnbot:pw@127.0.0.1/learnbot")
    assert main(["migrate"]) == 1
    assert one_error_line(capsys) == (
        "invalid setting DATABASE_URL: PostgreSQL needs the asyncpg driver: install the "
        '`postgres` extra: pip install -e ".[postgres]"'
    )


def test_an_unusable_sqlite_path_is_one_line(clean_env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////nonexistent/dir/x.db")
    assert main(["grant-admin", "1"]) == 1
    assert one_error_line(capsys) == (
        "no folder /nonexistent/dir for the SQLite database (DATABASE_URL)"
    )
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'file' / 'x.db'}")
    assert main(["migrate"]) == 1
    assert one_error_line(capsys).startswith(f"no folder {tmp_path / 'file'} ")
    (tmp_path / "folder.db").mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'folder.db'}")
    assert main(["migrate"]) == 1
    assert one_error_line(capsys) == f"the SQLite database {tmp_path / 'folder.db'} is not a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder")
def test_a_read_only_sqlite_folder_or_file_is_one_line(clean_env, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{folder / 'x.db'}")
    assert main(["migrate"]) == 1
    assert one_error_line(capsys) == f"the folder {folder} of the SQLite database is not writable"
    writable = tmp_path / "writable"
    writable.mkdir()
    (writable / "x.db").touch(mode=0o444)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{writable / 'x.db'}")
    assert main(["migrate"]) == 1
    assert one_error_line(capsys).endswith("x.db is not readable and writable")


def test_an_unreachable_database_is_one_line_without_its_password(clean_env, capsys, monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("DATABASE_URL", f"postgresql://learnbot:hunter2@127.0.0.1:{port}/x")
    assert main(["set-role", "1", "admin"]) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"database postgresql+asyncpg://learnbot:***@127.0.0.1:{port}/x: ")
    assert "hunter2" not in line


def test_export_into_a_missing_folder_or_onto_a_folder_is_one_line(database_url, tmp_path, capsys):
    assert main(["import", str(EXAMPLE), "--owner", "1"]) == 0
    capsys.readouterr()
    assert main(["export", "1", "-o", str(tmp_path / "missing" / "x.yaml")]) == 1
    assert one_error_line(capsys).endswith("x.yaml: No such file or directory")
    assert main(["export", "1", "-o", str(tmp_path)]) == 1
    assert one_error_line(capsys) == f"cannot write {tmp_path}: Is a directory"


@pytest.mark.parametrize(
    "command",
    [
        ["grant-admin", "0"],
        ["grant-admin", "-5"],
        ["grant-admin", TOO_BIG],
        ["set-role", TOO_BIG, "admin"],
        ["set-role", "0", "student"],
        ["import", str(EXAMPLE), "--owner", TOO_BIG],
        ["import", str(EXAMPLE), "--owner", "-1"],
    ],
)
def test_impossible_telegram_ids_are_one_line_and_change_nothing(database_url, command, capsys):
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(command) == 1
    assert "is not a Telegram user id (1 to 9223372036854775807)" in one_error_line(capsys)
    assert query(database_url, select(func.count(User.id))) == [(0,)]
    assert query(database_url, select(func.count(Course.id))) == [(0,)]


@pytest.mark.parametrize("course_id", ["0", "-1", str(2**31), TOO_BIG])
def test_impossible_course_ids_are_no_course(database_url, course_id, capsys):
    assert main(["export", course_id]) == 1
    assert one_error_line(capsys) == f"There is no course {course_id}."


def test_run_in_webhook_mode_requires_a_secret(clean_env, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_BASE_URL", f"http://127.0.0.1:{free_port()}/bot")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/learnbot")
    assert main(["run"]) == 1
    assert one_error_line(capsys).startswith("WEBHOOK_SECRET is required with WEBHOOK_URL")


def test_an_invalid_setting_in_the_console_script_is_one_line(tmp_path):
    """The installed ``learnbot`` command, as a user runs it: no traceback on stderr."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("learnbot")), "migrate"],
        cwd=tmp_path,
        env=env | {"REMINDER_HOUR": "abc", "TELEGRAM_BOT_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: invalid setting REMINDER_HOUR: Input should be a valid integer, "
        "unable to parse string as an integer\n"
    )


def test_the_log_filter_redacts_exception_text_and_tracebacks():
    """``InvalidToken`` carries the token in its message, and so in the logged traceback."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([TOKEN, TOKEN.split(":")[1]]))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
        except InvalidToken:
            logger.error(
                "Calling %s failed",
                f"https://api.telegram.org/bot{TOKEN}/getMe",
                exc_info=True,
                stack_info=True,
            )
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "Traceback" in output and "The token `<redacted>` was rejected" in output
    assert "/bot<redacted>/getMe" in output and "Stack (most recent call last)" in output
    assert TOKEN.split(":")[1] not in output


# -- learnbot remind -------------------------------------------------------------------------------


REMIND_NOW = datetime(2027, 5, 12, 16, 5, tzinfo=UTC)  # 18:05 in Berlin


def due_student(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ann, enrolled in the example course, idle for five days, at her hour at the CLI's now."""
    monkeypatch.setattr("bot.cli.utcnow", lambda: REMIND_NOW)
    assert main(["import", str(EXAMPLE), "--owner", "555"]) == 0

    async def seed() -> None:
        database = Database(url)
        made = await make_user(database, 8001, name="Ann")
        async with database.session() as session:
            ann = await session.get(User, made.id)
            assert ann is not None
            ann.timezone, ann.reminder_hour = "Europe/Berlin", 18
            await enroll(session, ann, 1)
            await session.execute(
                update(Enrollment).values(last_activity_at=REMIND_NOW - timedelta(days=5))
            )
        await database.dispose()

    asyncio.run(seed())


def test_remind_dry_run_lists_who_is_due_and_sends_nothing(database_url, capsys, monkeypatch):
    due_student(database_url, monkeypatch)
    capsys.readouterr()
    assert main(["remind", "--dry-run"]) == 0, capsys.readouterr().err  # no token needed
    out = capsys.readouterr().out
    assert "Would remind 1 student" in out and "Ann (8001): Python Basics" in out
    assert query(database_url, select(Enrollment.last_reminded_at)) == [(None,)]


def test_remind_with_nobody_due_says_so(database_url, capsys):
    assert main(["remind", "--dry-run"]) == 0
    assert "Nobody is due" in capsys.readouterr().out


def test_remind_without_a_token_is_one_line_and_claims_nothing(database_url, capsys, monkeypatch):
    due_student(database_url, monkeypatch)
    capsys.readouterr()
    assert main(["remind"]) == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in one_error_line(capsys)
    assert query(database_url, select(Enrollment.last_reminded_at)) == [(None,)]


def test_remind_with_a_rejected_token_is_one_line(database_url, capsys, monkeypatch):
    async def refuse(self) -> None:
        raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr("telegram.Bot.initialize", refuse)
    assert main(["remind"]) == 1
    line = one_error_line(capsys)
    assert line == "Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN)"

"""The ``learnbot`` command line on a real database file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from db.engine import Database
from db.models import Course, Lesson, Role, RoleChange, User

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-basics.yaml"


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's folder
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return url


def query(url: str, statement):
    async def run():
        database = Database(url)
        async with database.session() as session:
            result = (await session.execute(statement)).all()
        await database.dispose()
        return result

    return asyncio.run(run())


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
    assert capsys.readouterr().out.endswith(exported.read_text(encoding="utf-8"))
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
    assert main(["import", str(broken), "--owner", "1"]) == 1
    assert "lessons[0].quiz.questions[0]: no correct option" in capsys.readouterr().err
    assert main(["export", "42"]) == 1
    assert "There is no course 42." in capsys.readouterr().err
    assert query(database_url, select(func.count(User.id))) == [(0,)]


def test_run_without_a_token_says_what_is_missing(database_url, capsys):
    with pytest.raises(SystemExit, match="TELEGRAM_BOT_TOKEN is not set"):
        main(["run"])

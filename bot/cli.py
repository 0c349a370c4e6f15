"""The ``learnbot`` command: run, migrate, grant-admin, set-role, import, export.

Every error is one line on stderr with a non-zero exit, never a traceback, and never a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from telegram import Bot, User
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.app import ALLOWED_UPDATES, build_application
from bot.coursefile import CourseFileError, export_course_file, import_course_file
from bot.logs import RedactSecrets, configure_logging
from bot.migrate import upgrade
from bot.settings import (
    TELEGRAM_ID_MAX,
    ConfigurationError,
    Settings,
    WebhookArguments,
    load_settings,
)
from bot.texts import refusal
from db.accounts import ensure_user, raise_role, set_role
from db.engine import Database
from db.errors import DomainError
from db.models import MAX_ID, Role

log = logging.getLogger("learnbot")

T = TypeVar("T")

ROLE_NAMES = ", ".join(role.value for role in Role)


class CliError(Exception):
    """A refusal of the command line, said in one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="learnbot",
        description="learnbot: an online-learning platform inside Telegram. "
        "Settings come from the environment or a .env file (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="migrate the database, then serve the bot")
    commands.add_parser("migrate", help="migrate the database to the latest revision")
    grant = commands.add_parser("grant-admin", help="make a Telegram user an admin")
    grant.add_argument("telegram_id", type=int, metavar="TELEGRAM_ID")
    role = commands.add_parser("set-role", help=f"set a Telegram user's role ({ROLE_NAMES})")
    role.add_argument("telegram_id", type=int, metavar="TELEGRAM_ID")
    role.add_argument("role", metavar="ROLE")
    importer = commands.add_parser("import", help="import a course file (YAML or JSON)")
    importer.add_argument("file", type=Path, metavar="FILE")
    importer.add_argument("--owner", type=int, required=True, metavar="TELEGRAM_ID")
    exporter = commands.add_parser("export", help="export a course as YAML")
    exporter.add_argument("course_id", type=int, metavar="COURSE_ID")
    exporter.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    return parser


def _telegram_id(value: int) -> int:
    """Bounded here, so an impossible id never reaches the database (a BIGINT column)."""
    if not 1 <= value <= TELEGRAM_ID_MAX:
        raise CliError(f"{value} is not a Telegram user id (1 to {TELEGRAM_ID_MAX})")
    return value


def _course_id(value: int) -> int:
    """Bounded here: PostgreSQL refuses an INTEGER out of range instead of finding nothing."""
    if not 1 <= value <= MAX_ID:
        raise CliError(f"There is no course {value}.")
    return value


def _role(name: str) -> Role:
    try:
        return Role(name.lower())
    except ValueError:
        raise CliError(f"unknown role {name!r}: use one of {ROLE_NAMES}") from None


def _first_line(error: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's statement and background link."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def _check_sqlite_path(url: str) -> None:
    """SQLite only says "unable to open database file", and aiosqlite's worker thread may then
    print a traceback after the event loop closed: the usual causes are checked first."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database).absolute()
    if not path.parent.is_dir():
        raise CliError(f"no folder {path.parent} for the SQLite database (DATABASE_URL)")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise CliError(f"the folder {path.parent} of the SQLite database is not writable")
    if path.exists() and not path.is_file():
        raise CliError(f"the SQLite database {path} is not a file")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise CliError(f"the SQLite database {path} is not readable and writable")


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """A database that cannot be reached or opened is one line naming it (password hidden)."""
    try:
        yield
    except (SQLAlchemyError, OSError) as error:
        raise CliError(f"database {make_url(url)}: {_first_line(error)}") from None


def _migrate(settings: Settings) -> None:
    _check_sqlite_path(settings.database_url)
    with _database_errors(settings.database_url):
        asyncio.run(upgrade(settings.database_url))


def _with_database(settings: Settings, command: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate first (a fresh folder has no tables yet), then run ``command`` on the store."""
    _migrate(settings)

    async def run() -> T:
        database = Database(settings.database_url)
        try:
            return await command(database)
        finally:
            await database.dispose()

    with _database_errors(settings.database_url):
        return asyncio.run(run())


async def _grant_admin(database: Database, telegram_id: int) -> str:
    async with database.session() as session:
        _user, changed = await raise_role(session, telegram_id, Role.admin)
    if changed:
        return f"{telegram_id} is now an admin (their menu updates when the bot next starts)."
    return f"{telegram_id} is already an admin."


def _a(role: Role) -> str:
    return f"an {role.value}" if role.value[0] in "aeiou" else f"a {role.value}"


async def _set_role(database: Database, settings: Settings, telegram_id: int, role: Role) -> str:
    """Audited as a change without an actor; the last admin cannot be demoted."""
    async with database.session() as session:
        user = await ensure_user(session, telegram_id)
        changed = await set_role(session, user, role)
    if not changed:
        return f"{telegram_id} is already {_a(role)}."
    line = f"{telegram_id} is now {_a(role)} (their menu updates when the bot next starts)."
    if role != Role.admin and telegram_id in settings.admin_telegram_ids:
        line += " ADMIN_TELEGRAM_IDS lists them: remove them there, or they are admin again."
    return line


async def _import(database: Database, path: Path, owner: int) -> str:
    course = await import_course_file(database, path, owner)
    return f"Imported course {course.id}: {course.title}"


async def _check_telegram(settings: Settings, webhook: WebhookArguments | None) -> User:
    """Ask Telegram who the bot is (and set the webhook) before serving.

    PTB's own start-up logs a rejected token or an unreachable server with a long traceback;
    here each is one line, and the token is in neither.
    """
    bot = Bot(
        settings.token,
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
    )
    try:
        async with bot:
            if webhook is not None:
                await bot.set_webhook(
                    webhook["webhook_url"],
                    secret_token=webhook["secret_token"],
                    allowed_updates=ALLOWED_UPDATES,
                )
            return bot.bot
    except InvalidToken:
        raise CliError("Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN)") from None
    except NetworkError as error:
        raise CliError(
            f"cannot reach the Telegram Bot API at {settings.telegram_base_url}: {error.message}"
        ) from None
    except TelegramError as error:
        raise CliError(f"the Telegram Bot API refused: {error.message}") from None


def _serve(settings: Settings) -> None:
    webhook = settings.webhook_arguments() if settings.webhook_url else None
    me = asyncio.run(_check_telegram(settings, webhook))
    _migrate(settings)
    application = build_application(settings)
    mode = f"webhook on {settings.webhook_listen}:{settings.webhook_port}" if webhook else "polling"
    # The URL's string form hides any password.
    log.info(
        "learnbot is starting as @%s (%s, database %s)",
        me.username,
        mode,
        make_url(settings.database_url),
    )
    try:
        if webhook is not None:
            application.run_webhook(**webhook, allowed_updates=ALLOWED_UPDATES)
        else:
            application.run_polling(allowed_updates=ALLOWED_UPDATES)
    except TelegramError as error:
        raise CliError(f"the Telegram Bot API refused: {error.message}") from None


def _command(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "run":
        _serve(settings)
    elif args.command == "migrate":
        _migrate(settings)
        print("The database is at the latest revision.")
    elif args.command == "grant-admin":
        telegram_id = _telegram_id(args.telegram_id)
        print(_with_database(settings, lambda db: _grant_admin(db, telegram_id)))
    elif args.command == "set-role":
        telegram_id, role = _telegram_id(args.telegram_id), _role(args.role)
        print(_with_database(settings, lambda db: _set_role(db, settings, telegram_id, role)))
    elif args.command == "import":
        owner = _telegram_id(args.owner)
        print(_with_database(settings, lambda db: _import(db, args.file, owner)))
    elif args.command == "export":
        course_id = _course_id(args.course_id)
        text = _with_database(settings, lambda db: export_course_file(db, course_id))
        if args.output is None:
            sys.stdout.write(text)
            return
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CliError(f"cannot write {args.output}: {error.strerror or error}") from None
        print(f"Wrote {args.output}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    redactor = RedactSecrets([])
    try:
        settings = load_settings()
        redactor = configure_logging(settings)
        _command(args, settings)
        return 0
    except (CliError, ConfigurationError) as error:
        message = str(error)
    except CourseFileError as error:  # worded where the file was read
        message = error.message
    except DomainError as error:
        message = refusal(error)
    except KeyboardInterrupt:
        message = "interrupted"
    except Exception as error:
        log.debug("learnbot failed", exc_info=True)
        message = f"{type(error).__name__}: {_first_line(error)} (LOG_LEVEL=DEBUG shows where)"
    print(f"error: {redactor.redact(message)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``learnbot`` command: run, migrate, grant-admin, set-role, import (or replace), export.

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
from bot.coursefile import (
    CourseFileError,
    export_course_file,
    import_course_file,
    replace_course_file,
)
from bot.logs import RedactSecrets, configure_logging
from bot.migrate import upgrade
from bot.reminders import Plan, policy_of, sweep
from bot.reminders import dry_run as plan_reminders
from bot.sandbox import SandboxError, run_sandbox
from bot.sender import PacedSender
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
from db.errors import DomainError, NotFound, Reason
from db.models import MAX_ID, Role, utcnow

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
    sandbox = commands.add_parser(
        "sandbox",
        help="try the bot without Telegram: the real bot on a local emulator, in a web chat",
    )
    sandbox.add_argument("--port", type=int, default=8080, help="the page's port (default 8080)")
    sandbox.add_argument(
        "--course",
        type=Path,
        action="extend",
        nargs="+",
        default=[],
        metavar="FILE",
        help="course files to import (default: examples/python-basics.yaml into an empty database)",
    )
    sandbox.add_argument(
        "--db", type=Path, metavar="PATH", help="a SQLite file to keep (default: a temporary one)"
    )
    commands.add_parser("migrate", help="migrate the database to the latest revision")
    grant = commands.add_parser("grant-admin", help="make a Telegram user an admin")
    grant.add_argument("telegram_id", type=int, metavar="TELEGRAM_ID")
    role = commands.add_parser("set-role", help=f"set a Telegram user's role ({ROLE_NAMES})")
    role.add_argument("telegram_id", type=int, metavar="TELEGRAM_ID")
    role.add_argument("role", metavar="ROLE")
    importer = commands.add_parser("import", help="import a course file (YAML or JSON)")
    importer.add_argument("file", type=Path, metavar="FILE")
    importer.add_argument("--owner", type=int, required=True, metavar="TELEGRAM_ID")
    importer.add_argument(
        "--replace",
        type=int,
        metavar="COURSE_ID",
        help="replace that course in place (the owner must be its instructor or an admin): "
        "enrollments stay, and completions of the lessons whose id the file keeps",
    )
    exporter = commands.add_parser("export", help="export a course as YAML")
    exporter.add_argument("course_id", type=int, metavar="COURSE_ID")
    exporter.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    remind = commands.add_parser(
        "remind", help="send the reminders due now (one sweep; safe while the bot runs)"
    )
    remind.add_argument(
        "--dry-run", action="store_true", help="list who would be reminded, and send nothing"
    )
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


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


async def _replace(database: Database, path: Path, owner: int, course_id: int) -> str:
    try:
        title, done = await replace_course_file(database, path, owner, course_id)
    except NotFound as error:
        if error.reason != Reason.course_not_available:
            raise
        raise CliError(
            f"{owner} does not manage course {course_id}: "
            "only its instructor or an admin can replace it"
        ) from None
    return (
        f"Replaced course {course_id}: {title} ({_count(done.kept, 'lesson')} kept, "
        f"{done.added} added, {done.removed} removed; {_count(done.enrolled, 'student')} enrolled)"
    )


def _bot(settings: Settings) -> Bot:
    return Bot(
        settings.token,
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
    )


@contextmanager
def _telegram_errors(settings: Settings) -> Iterator[None]:
    """PTB logs a rejected token or an unreachable server with a long traceback; here each is
    one line, and the token is in neither."""
    try:
        yield
    except InvalidToken:
        raise CliError("Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN)") from None
    except NetworkError as error:
        raise CliError(
            f"cannot reach the Telegram Bot API at {settings.telegram_base_url}: {error.message}"
        ) from None
    except TelegramError as error:
        raise CliError(f"the Telegram Bot API refused: {error.message}") from None


async def _check_telegram(settings: Settings, webhook: WebhookArguments | None) -> User:
    """Ask Telegram who the bot is (and set the webhook) before serving."""
    bot = _bot(settings)
    with _telegram_errors(settings):
        async with bot:
            if webhook is not None:
                await bot.set_webhook(
                    webhook["webhook_url"],
                    secret_token=webhook["secret_token"],
                    allowed_updates=ALLOWED_UPDATES,
                )
            return bot.bot


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


def _sandbox(args: argparse.Namespace, settings: Settings) -> None:
    """No token and no network: a fixed fake token, and a SQLite file (never DATABASE_URL)."""
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port {args.port} is not a port (0 to 65535)")
    if args.db is not None:
        _check_sqlite_path(f"sqlite:///{args.db}")
    try:
        run_sandbox(settings, port=args.port, courses=args.course, db=args.db)
    except SandboxError as error:
        raise CliError(str(error)) from None


def _plan(plan: Plan) -> str:
    if not plan.students and not plan.digests:
        return "Nobody is due a reminder now."
    lines = [f"Would remind {_count(len(plan.students), 'student')}:"]
    lines += [
        f"  {student.name} ({student.telegram_id}): "
        + ", ".join(course.title for course in student.courses)
        for student in plan.students
    ]
    if plan.digests:
        lines.append(f"Would tell {_count(len(plan.digests), 'instructor')} of answers to review:")
        lines += [
            f"  {digest.name} ({digest.telegram_id}): "
            + _count(sum(course.pending for course in digest.courses), "answer")
            for digest in plan.digests
        ]
    return "\n".join(lines)


async def _remind(database: Database, settings: Settings, *, dry_run: bool) -> str:
    """One reminder sweep now. Safe while the bot runs: every reminder is claimed in the
    database before it is sent, so nobody gets one twice."""
    now, policy = utcnow(), policy_of(settings)
    if dry_run:
        return _plan(await plan_reminders(database, policy, now))
    bot = _bot(settings)
    with _telegram_errors(settings):
        async with bot:
            sender = PacedSender(settings.send_rate_per_second)
            report = await sweep(database, bot, sender, policy, now)
    return (
        f"Reminders: {report.due} due, {report.sent} sent, {report.blocked} blocked the bot, "
        f"{report.failed} failed (tried again at the next sweep); "
        f"{_count(report.digests, 'review digest')} sent."
    )


def _command(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "run":
        _serve(settings)
    elif args.command == "sandbox":
        _sandbox(args, settings)
    elif args.command == "migrate":
        _migrate(settings)
        print("The database is at the latest revision.")
    elif args.command == "grant-admin":
        telegram_id = _telegram_id(args.telegram_id)
        print(_with_database(settings, lambda db: _grant_admin(db, telegram_id)))
    elif args.command == "set-role":
        telegram_id, role = _telegram_id(args.telegram_id), _role(args.role)
        print(_with_database(settings, lambda db: _set_role(db, settings, telegram_id, role)))
    elif args.command == "import" and args.replace is not None:
        owner, course_id = _telegram_id(args.owner), _course_id(args.replace)
        print(_with_database(settings, lambda db: _replace(db, args.file, owner, course_id)))
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
    elif args.command == "remind":
        print(_with_database(settings, lambda db: _remind(db, settings, dry_run=args.dry_run)))


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

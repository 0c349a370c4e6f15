"""The ``learnbot`` command: run, migrate, grant-admin, import, export."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import ALLOWED_UPDATES, build_application, configure_logging
from bot.migrate import upgrade
from bot.settings import Settings
from db.accounts import raise_role
from db.engine import Database
from db.errors import DomainError
from db.models import Role

log = logging.getLogger("learnbot")


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
    importer = commands.add_parser("import", help="import a course file (YAML or JSON)")
    importer.add_argument("file", type=Path, metavar="FILE")
    importer.add_argument("--owner", type=int, required=True, metavar="TELEGRAM_ID")
    exporter = commands.add_parser("export", help="export a course as YAML")
    exporter.add_argument("course_id", type=int, metavar="COURSE_ID")
    exporter.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    return parser


async def _grant_admin(settings: Settings, telegram_id: int) -> str:
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            _user, changed = await raise_role(session, telegram_id, Role.admin)
    finally:
        await database.dispose()
    if changed:
        return f"{telegram_id} is now an admin (their menu updates when the bot next starts)."
    return f"{telegram_id} is already an admin."


async def _import(settings: Settings, path: Path, owner: int) -> str:
    from bot.coursefile import import_course_file

    database = Database(settings.database_url)
    try:
        course = await import_course_file(database, path, owner)
    finally:
        await database.dispose()
    return f"Imported course {course.id}: {course.title}"


async def _export(settings: Settings, course_id: int) -> str:
    from bot.coursefile import export_course_file

    database = Database(settings.database_url)
    try:
        return await export_course_file(database, course_id)
    finally:
        await database.dispose()


def _serve(settings: Settings) -> None:
    _ = settings.token  # fail early and clearly, before touching the database
    asyncio.run(upgrade(settings.database_url))
    application = build_application(settings)
    # The URL's string form hides any password; the token is never logged.
    log.info("learnbot is starting (database %s)", application.bot_data["db"].engine.url)
    if settings.webhook_url:
        application.run_webhook(
            listen=settings.webhook_listen or "0.0.0.0",
            port=settings.webhook_port or 8443,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value()
            if settings.webhook_secret
            else None,
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings)
    try:
        if args.command == "run":
            _serve(settings)
        elif args.command == "migrate":
            asyncio.run(upgrade(settings.database_url))
            print("The database is at the latest revision.")
        elif args.command == "grant-admin":
            print(asyncio.run(_grant_admin(settings, args.telegram_id)))
        elif args.command == "import":
            print(asyncio.run(_import(settings, args.file, args.owner)))
        elif args.command == "export":
            text = asyncio.run(_export(settings, args.course_id))
            if args.output:
                args.output.write_text(text, encoding="utf-8")
                print(f"Wrote {args.output}")
            else:
                sys.stdout.write(text)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

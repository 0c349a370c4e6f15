"""End-to-end harness: the real Application long-polls the loopback Bot API emulator (or serves
a webhook it calls).

The database is built by the real migrations. A last-group ``TypeHandler`` tells the emulator
when an update is fully processed, so tests wait for the bot, never for the clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.app import ALLOWED_UPDATES, DIALOG_TIMEOUT, build_application
from bot.emulator import BotApiEmulator
from bot.emulator.users import ChatMessage
from bot.migrate import upgrade
from bot.settings import Settings
from db.accounts import raise_role
from db.authoring import CourseDraft, LessonDraft, create_course
from db.engine import Database
from db.models import Course, Role
from tests.conftest import BACKENDS, empty_database_url
from tests.e2e.watch import BotWatch

TOKEN = "123456:TEST-token-for-the-emulator"
ADMIN_ID = 900_001
TEACHER_ID = 900_002


@dataclass
class BotHarness:
    emulator: BotApiEmulator
    settings: Settings
    database: Database
    application: Application | None = None
    dialog_timeout: timedelta = DIALOG_TIMEOUT
    paced: bool = True
    webhook: bool = False  # serve the webhook of ``settings`` (WEBHOOK_*) instead of polling
    watch: BotWatch | None = None  # statements per update, Telegram calls inside transactions

    async def start(self) -> None:
        database = Database(self.settings.database_url)
        application = build_application(
            self.settings, database, dialog_timeout=self.dialog_timeout, paced=self.paced
        )
        if self.watch is not None:
            self.watch.attach(application, database.engine)

        async def processed(update: Update, _context: object) -> None:
            self.emulator.mark_processed(update.update_id)

        application.add_handler(TypeHandler(Update, processed), group=999)
        await application.initialize()
        if application.post_init:
            await application.post_init(application)
        await application.start()
        assert application.updater is not None
        if self.webhook:
            await application.updater.start_webhook(
                **self.settings.webhook_arguments(), allowed_updates=ALLOWED_UPDATES
            )
        else:
            await application.updater.start_polling(
                poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES
            )
        self.application = application

    async def stop(self) -> None:
        application = self.application
        if application is None:
            return
        self.application = None
        assert application.updater is not None
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def course(self, draft: CourseDraft, owner_id: int = TEACHER_ID) -> Course:
        """A course created as an instructor would (the chat authoring comes later)."""
        async with self.database.session() as session:
            owner, _ = await raise_role(session, owner_id, Role.instructor)
            return await create_course(session, owner, draft)


def simple_course(title: str = "Python Basics", lessons: int = 3, **overrides) -> CourseDraft:
    fields = {
        "description": "Your <b>first</b> steps in Python.",
        "category": "Programming",
        "duration_minutes": 90,
        "published": True,
        "lessons": [
            LessonDraft(
                f"Lesson {i + 1}", f"This is lesson {i + 1}.\n\nIt has <i>two</i> paragraphs."
            )
            for i in range(lessons)
        ],
    }
    return CourseDraft(title=title, **(fields | overrides))


def emulator_settings(emulator: BotApiEmulator, database_url: str, **extra: object) -> Settings:
    """Settings of a bot that talks to the emulator (and ignores any .env lying around)."""
    return Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_base_url=emulator.base_url,
        telegram_base_file_url=emulator.base_file_url,
        database_url=database_url,
        **extra,
    )


def has_button(message: ChatMessage, label: str) -> bool:
    return any(label in text for text in message.labels)


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture(params=BACKENDS)
async def bot(
    request: pytest.FixtureRequest,
    emulator: BotApiEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[BotHarness]:
    """The real bot on a migrated database (SQLite, and PostgreSQL when configured)."""
    async for harness in running_bot(request.param, emulator, tmp_path, monkeypatch):
        yield harness


@pytest.fixture
async def sqlite_bot(
    emulator: BotApiEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[BotHarness]:
    """The real bot on SQLite only, for what is about SQLite itself (its write lock, counts)."""
    async for harness in running_bot("sqlite", emulator, tmp_path, monkeypatch):
        yield harness


async def running_bot(
    backend: str,
    emulator: BotApiEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    **webhook_settings: object,
) -> AsyncIterator[BotHarness]:
    """A started harness, and the checks every test ends with; ``webhook_settings``
    (``webhook_url=…``) serve a webhook instead of polling."""
    url = await empty_database_url(backend, tmp_path)
    await upgrade(url)
    settings = emulator_settings(emulator, url, admin_telegram_ids=[ADMIN_ID], **webhook_settings)
    watch = BotWatch(monkeypatch)
    harness = BotHarness(
        emulator, settings, Database(url), watch=watch, webhook=bool(webhook_settings)
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        await harness.database.dispose()
    # Every test: the bot never sent Telegram a request that the real server would refuse.
    assert emulator.refused == [], emulator.refused
    # Every test: no Telegram request was made while a database transaction was open.
    assert watch.calls_in_transaction == [], watch.calls_in_transaction
    assert emulator.problems == [], emulator.problems

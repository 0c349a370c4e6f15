"""``learnbot run`` as a real process: it migrates, polls the emulator and answers a user."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import func, select

from bot.emulator import BotApiEmulator
from bot.settings import Settings
from db.engine import Database
from db.models import Role, User
from tests.e2e.conftest import TOKEN


async def test_learnbot_run_serves_a_user_and_never_logs_the_token(tmp_path: Path):
    database_file = tmp_path / "run.db"
    async with BotApiEmulator(token=TOKEN) as emulator:
        emulator.use_markers = False  # a separate process: wait until the bot goes quiet
        # Configuration the way the README says: a .env file in the working directory.
        (tmp_path / ".env").write_text(
            f"TELEGRAM_BOT_TOKEN={TOKEN}\n"
            f"TELEGRAM_BASE_URL={emulator.base_url}\n"
            f"TELEGRAM_BASE_FILE_URL={emulator.base_file_url}\n"
            f"DATABASE_URL=sqlite:///{database_file}\n"
            "ADMIN_TELEGRAM_IDS=4242\n"
            "LOG_LEVEL=DEBUG\n",
            encoding="utf-8",
        )
        settings = {name for name in Settings.model_fields} | {"TELEGRAM_BOT_TOKEN"}
        env = {
            k: v for k, v in os.environ.items() if k.lower() not in settings and k not in settings
        }
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("learnbot")),  # the installed console script
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await emulator.wait_for_bot()  # the process migrates first, then polls
            admin = emulator.user(4242, "Root")
            replies = await admin.send("/start")
            assert replies and "Hello, Root" in replies[-1].text
            assert "admin" in replies[-1].text
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        log = output.decode()
        assert process.returncode == 0, log
        assert TOKEN not in log and TOKEN.split(":")[1] not in log
        assert emulator.refused == []

    database = Database(f"sqlite:///{database_file}")
    async with database.session() as session:
        assert await session.scalar(select(func.count(User.id)).where(User.role == Role.admin)) == 1
    await database.dispose()

"""``learnbot run`` as a real process: it migrates, polls the emulator (or serves a webhook) and
answers a user; a start-up failure is one line, never a traceback or the token."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.emulator import BotApiEmulator
from bot.emulator.server import SECRET_HEADER
from bot.settings import Settings
from db.engine import Database
from db.models import Role, User
from tests.e2e.conftest import TOKEN
from tests.e2e.test_webhook import free_port

WRONG_TOKEN = "123456:WRONG-token-the-emulator-refuses"
WEBHOOK_SECRET = "run-webhook-secret_0123456789abcdef"


async def start_learnbot(cwd: Path, settings: dict[str, str]) -> asyncio.subprocess.Process:
    """The installed console script, configured the way the README says: a .env file in the
    working directory (and nothing of the caller's environment)."""
    (cwd / ".env").write_text(
        "".join(f"{name}={value}\n" for name, value in settings.items()), encoding="utf-8"
    )
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("learnbot")),
        "run",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    return output.decode()


def emulator_settings(emulator: BotApiEmulator, database_file: Path) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": emulator.base_url,
        "TELEGRAM_BASE_FILE_URL": emulator.base_file_url,
        "DATABASE_URL": f"sqlite:///{database_file}",
        "ADMIN_TELEGRAM_IDS": "4242",
        "LOG_LEVEL": "DEBUG",
    }


def assert_no_secret(log: str) -> None:
    for secret in (TOKEN, TOKEN.split(":")[1], WRONG_TOKEN, WEBHOOK_SECRET):
        assert secret not in log


async def test_learnbot_run_serves_a_user_and_never_logs_the_token(tmp_path: Path):
    database_file = tmp_path / "run.db"
    async with BotApiEmulator(token=TOKEN) as emulator:
        emulator.use_markers = False  # a separate process: wait until the bot goes quiet
        process = await start_learnbot(tmp_path, emulator_settings(emulator, database_file))
        try:
            await emulator.wait_for_bot()  # the process migrates first, then polls
            admin = emulator.user(4242, "Root")
            replies = await admin.send("/start")
            assert replies and "Hello, Root" in replies[-1].text
            assert "admin" in replies[-1].text
        finally:
            log = await stop(process)
        assert process.returncode == 0, log
        assert_no_secret(log)
        assert emulator.refused == []

    database = Database(f"sqlite:///{database_file}")
    async with database.session() as session:
        assert await session.scalar(select(func.count(User.id)).where(User.role == Role.admin)) == 1
    await database.dispose()


async def test_learnbot_run_serves_a_webhook_nobody_else_can_call(tmp_path: Path):
    port = free_port()
    async with BotApiEmulator(token=TOKEN) as emulator:
        emulator.use_markers = False
        settings = emulator_settings(emulator, tmp_path / "run.db") | {
            "WEBHOOK_URL": f"http://127.0.0.1:{port}",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
        }
        process = await start_learnbot(tmp_path, settings)
        try:
            await emulator.wait_for_bot()
            replies = await emulator.user(4242, "Root").send("/start")
            assert replies and "Hello, Root" in replies[-1].text
            assert emulator.webhook_deliveries == 1 and emulator.calls("getUpdates") == []
            async with aiohttp.ClientSession() as http:
                for path, status in (("/", 404), ("/webhook", 404), ("/learnbot", 404)):
                    headers = {SECRET_HEADER: WEBHOOK_SECRET}
                    async with http.post(
                        f"http://127.0.0.1:{port}{path}", json={"update_id": 1}, headers=headers
                    ) as response:
                        assert response.status == status, path
                hook = emulator.calls("setWebhook")[-1].params["url"]
                async with http.post(hook, json={"update_id": 1}) as response:
                    assert response.status == 403, "no secret header"
        finally:
            log = await stop(process)
        assert process.returncode == 0, log
        assert_no_secret(log)
        assert hook.removeprefix(f"http://127.0.0.1:{port}/") not in log, "the path is secret too"


async def run_until_it_exits(tmp_path: Path, settings: dict[str, str]) -> tuple[int, str]:
    process = await start_learnbot(tmp_path, settings)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_a_rejected_token_is_one_line_without_the_token(tmp_path: Path, level: str):
    async with BotApiEmulator(token=TOKEN) as emulator:
        settings = emulator_settings(emulator, tmp_path / "run.db")
        settings |= {"TELEGRAM_BOT_TOKEN": WRONG_TOKEN, "LOG_LEVEL": level}
        code, output = await run_until_it_exits(tmp_path, settings)
    assert code == 1
    assert_no_secret(output)
    assert "Traceback" not in output
    if level == "INFO":
        assert output == "error: Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN)\n"
    else:
        assert output.splitlines()[-1].startswith("error: Telegram rejected the bot token")


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_an_unreachable_bot_api_is_one_line_without_the_token(tmp_path: Path, level: str):
    base_url = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    settings = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "LOG_LEVEL": level,
    }
    code, output = await run_until_it_exits(tmp_path, settings)
    assert code == 1
    assert_no_secret(output)
    assert "Traceback" not in output
    last = output.splitlines()[-1]
    assert last.startswith(f"error: cannot reach the Telegram Bot API at {base_url}: "), output
    if level == "INFO":
        assert output == last + "\n"

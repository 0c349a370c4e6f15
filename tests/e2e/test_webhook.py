"""Webhook mode: the emulator POSTs updates to the real bot's webhook server, as Telegram does,
and nobody else can feed the bot updates."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.emulator import BotApiEmulator
from bot.emulator.server import SECRET_HEADER, WEBHOOK_CONFLICT
from db.engine import Database
from db.models import Enrollment, User
from tests.conftest import BACKENDS
from tests.e2e.conftest import TOKEN, BotHarness, has_button, running_bot, simple_course

SECRET = "webhook-secret-for-the-tests_0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=BACKENDS)
async def webhook_bot(
    request: pytest.FixtureRequest,
    emulator: BotApiEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[BotHarness]:
    """The real bot serving its webhook on 127.0.0.1, the emulator calling it."""
    port = free_port()
    async for harness in running_bot(
        request.param,
        emulator,
        tmp_path,
        monkeypatch,
        webhook_url=f"http://127.0.0.1:{port}/learnbot",
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    ):
        yield harness


async def enrolled_ids(database: Database) -> list[int]:
    async with database.session() as session:
        rows = await session.scalars(
            select(User.telegram_id).join(Enrollment, Enrollment.student_id == User.id)
        )
        return sorted(rows)


async def test_a_student_enrolls_through_the_webhook(webhook_bot: BotHarness):
    await webhook_bot.course(simple_course())
    ann = webhook_bot.emulator.user(1001, "Ann")

    [welcome] = await ann.send("/start")
    assert "Hello, Ann" in welcome.text
    [catalog] = await ann.send("/courses")
    assert "Python Basics" in catalog.text
    await ann.press("Python Basics")
    assert has_button(ann.last, "Enroll")
    answer = await ann.press("Enroll")
    assert answer is not None and "enrolled" in answer.text.lower()

    assert await enrolled_ids(webhook_bot.database) == [1001]
    assert webhook_bot.emulator.webhook_deliveries == 4
    assert webhook_bot.emulator.calls("getUpdates") == [], "the bot never polled"
    [webhook] = webhook_bot.emulator.calls("setWebhook")
    path = webhook_bot.settings.webhook_arguments()["url_path"]
    assert webhook.params["url"] == f"http://127.0.0.1:{webhook_bot.settings.webhook_port}{path}"
    assert webhook.params["secret_token"] == SECRET
    assert webhook.params["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]


async def test_forged_posts_to_the_webhook_are_refused_and_change_nothing(
    webhook_bot: BotHarness,
):
    await webhook_bot.course(simple_course())
    ann = webhook_bot.emulator.user(1001, "Ann")
    await ann.send("/courses")
    await ann.press("Python Basics")
    card = ann.last
    [enroll] = [b for row in card.buttons for b in row if "Enroll" in b["text"]]
    # Mallory never wrote to the bot and claims to press Ann's Enroll button.
    forged: dict[str, Any] = {
        "update_id": 10_000,
        "callback_query": {
            "id": "forged-1",
            "from": {"id": 1002, "is_bot": False, "first_name": "Mallory"},
            "message": ann.message_to_api(card),
            "chat_instance": "1",
            "data": enroll["callback_data"],
        },
    }
    settings = webhook_bot.settings
    base = f"http://127.0.0.1:{settings.webhook_port}"
    path = settings.webhook_arguments()["url_path"]
    attempts = [
        (path, {}, 403),  # the right path, no secret
        (path, {SECRET_HEADER: "webhook-secret-guessed_0123456789"}, 403),
        ("/", {SECRET_HEADER: SECRET}, 404),  # the secret, at a guessed path
        ("/learnbot", {SECRET_HEADER: SECRET}, 404),
    ]
    async with aiohttp.ClientSession() as http:
        for where, headers, status in attempts:
            async with http.post(base + where, json=forged, headers=headers) as response:
                assert response.status == status, (where, headers)

    await ann.send("/mycourses")  # processed after anything the bot could have queued
    assert await enrolled_ids(webhook_bot.database) == []
    async with webhook_bot.database.session() as session:
        assert await session.scalar(select(func.count()).where(User.telegram_id == 1002)) == 0


async def test_the_emulator_posts_updates_to_a_webhook_until_it_is_deleted(
    emulator: BotApiEmulator,
):
    received: list[tuple[dict[str, Any], str | None]] = []
    answers = [403]  # the first delivery is refused: the emulator retries it, as Telegram does

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.json(), request.headers.get(SECRET_HEADER)))
        return web.Response(status=answers.pop() if answers else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    api = f"{emulator.base_url}{TOKEN}"
    try:
        async with aiohttp.ClientSession() as http:

            async def call(method: str, **params: str) -> tuple[int, dict[str, Any]]:
                async with http.post(f"{api}/{method}", data=params) as response:
                    return response.status, await response.json()

            await call(
                "setWebhook",
                url=f"http://127.0.0.1:{port}/hook",
                secret_token="s3cret",
                allowed_updates='["message"]',
            )
            first = emulator.enqueue_update({"message": {"text": "one"}}, "one")
            second = emulator.enqueue_update({"message": {"text": "two"}}, "two")
            for _ in range(200):
                if len(received) == 3:
                    break
                await asyncio.sleep(0.02)
            assert [(body["update_id"], secret) for body, secret in received] == [
                (first, "s3cret"),
                (first, "s3cret"),
                (second, "s3cret"),
            ]
            status, body = await call("getUpdates")
            assert (status, body["description"]) == (409, WEBHOOK_CONFLICT)
            _, info = await call("getWebhookInfo")
            assert info["result"]["pending_update_count"] == 0
            assert "403" in info["result"]["last_error_message"]

            await call("deleteWebhook")
            third = emulator.enqueue_update({"message": {"text": "three"}}, "three")
            _, polled = await call("getUpdates")
            assert [update["update_id"] for update in polled["result"]] == [third]
            assert len(received) == 3
    finally:
        await runner.cleanup()

"""``BotApiEmulator.observe``, the hook the sandbox's live page is built on, against a real
python-telegram-bot Application polling the emulator."""

from __future__ import annotations

import contextlib
import datetime as dtm
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.emulator import BotApiEmulator, RecordedRequest

TOKEN = "123456789:TEST-observe-token"


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    await update.effective_message.reply_text("Ready", reply_markup=markup)
    with contextlib.suppress(BadRequest):  # refused: the emulator answers 400
        await update.effective_message.reply_text("<b>broken", parse_mode="HTML")


async def on_go(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer("Going")
    await update.callback_query.edit_message_text("Gone")


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(TOKEN) as emulator:
        app = Application.builder().token(TOKEN).base_url(emulator.base_url).build()
        app.add_handler(CommandHandler("start", on_start))
        app.add_handler(CallbackQueryHandler(on_go))
        emulator.install_marker(app)
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        try:
            yield emulator
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


def describe(kind: str, item: Any) -> str:
    if kind == "update":
        return f"update {next(key for key in item if key != 'update_id')}"
    assert isinstance(item, RecordedRequest)
    return f"{item.method} {'ok' if item.ok else item.error_code}"


async def test_observers_see_updates_and_answered_requests_but_not_idle_polls(
    emu: BotApiEmulator,
) -> None:
    seen: list[str] = []
    stop = emu.observe(lambda kind, item: seen.append(describe(kind, item)))
    ann = emu.user(42, "Ann")
    await ann.send("/start")
    assert seen == ["update message", "sendMessage ok", "sendMessage 400"]
    assert emu.refused[-1].description.startswith("Bad Request: can't parse entities")

    seen.clear()
    await ann.press("Go")
    assert seen == ["update callback_query", "answerCallbackQuery ok", "editMessageText ok"]
    assert ann.last.text == "Gone"

    stop()
    stop()  # twice is harmless
    await ann.send("/start")
    assert seen == ["update callback_query", "answerCallbackQuery ok", "editMessageText ok"]


async def test_a_failing_observer_changes_no_answer(
    emu: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_kind: str, _item: Any) -> None:
        raise RuntimeError("observer bug")

    emu.observe(broken)
    ann = emu.user(43, "Ann")
    replies = await ann.send("/start")
    assert [m.text for m in replies] == ["Ready"]
    assert "an observer failed" in caplog.text
    assert emu.problems == []

"""The Bot API emulator against a real python-telegram-bot Application polling it over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.emulator import BotApiEmulator
from bot.emulator.server import NOT_MODIFIED, QUERY_TOO_OLD, TEXT_BUTTONS

TOKEN = "123456789:TEST-emulator-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ptb_message(description: str) -> str:
    """What PTB makes of a "Bad Request: ..." description (prefix cut, then capitalize())."""
    return description.removeprefix("Bad Request: ").capitalize()


def start_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Next ▶", callback_data="next")],
            [InlineKeyboardButton("Docs", url="https://example.com/docs")],
        ]
    )


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    payload = " ".join(context.args or [])
    name = update.effective_user.first_name
    text = f"Welcome, <b>{name}</b>!" + (f" Payload: <code>{payload}</code>" if payload else "")
    await update.effective_message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=start_keyboard()
    )


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query.data == "next":
        await query.answer("Moving on")
        back = InlineKeyboardMarkup([[InlineKeyboardButton("Back", callback_data="back")]])
        await query.edit_message_text("Step <i>2</i>", parse_mode="HTML", reply_markup=back)
    elif query.data == "back":
        await query.answer()
        await query.edit_message_reply_markup(start_keyboard())
    elif query.data == "twice":
        await query.answer("first")
        try:
            await query.answer("second")
        except BadRequest as exc:
            await query.message.reply_text(f"caught: {exc.message}")
    elif query.data == "chatty":
        try:
            await query.answer("x" * 201)
        except BadRequest as exc:
            await query.message.reply_text(f"caught: {exc.message}")
    else:
        await query.answer("Unknown button", show_alert=True)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    document = update.message.document
    file = await document.get_file()
    content = bytes(await file.download_as_bytearray())
    await update.message.reply_text(
        f"got {document.file_name}: {content.decode()} ({update.message.caption})"
    )


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    sent = await update.message.reply_photo(PNG, caption="<i>Chart</i>", parse_mode="HTML")
    await update.message.reply_photo(sent.photo[-1].file_id, caption="again")


def error_action(name: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
    """A command handler that provokes one Bot API error and reports what came back."""

    async def provoke(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat_id = update.effective_chat.id
        bot = context.bot
        try:
            if name == "long":
                await message.reply_text("x" * 5000)
            elif name == "longhtml":  # 4096 visible characters are fine, markup not counted
                await message.reply_text("<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
                await message.reply_text("😀" * 2049)  # 4098 UTF-16 code units
            elif name == "badhtml":
                await message.reply_text("Hi <foo>there</foo>", parse_mode="HTML")
            elif name == "unclosed":
                await message.reply_text("<b>bold", parse_mode="HTML")
            elif name == "empty":
                await message.reply_text("<b> </b>", parse_mode="HTML")
            elif name == "bigdata":
                button = InlineKeyboardButton("Big", callback_data="d" * 65)
                await message.reply_text("big", reply_markup=InlineKeyboardMarkup([[button]]))
            elif name == "textbutton":
                await bot.send_message(
                    chat_id, "t", reply_markup={"inline_keyboard": [[{"text": "plain"}]]}
                )
            elif name == "same":
                markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
                sent = await message.reply_text(
                    "Same <b>text</b>", parse_mode="HTML", reply_markup=markup
                )
                await sent.edit_text("Same <b>text</b>", parse_mode="HTML", reply_markup=markup)
            elif name == "caption":
                await message.reply_photo(PNG, caption="c" * 1025)
            elif name == "delmissing":
                await bot.delete_message(chat_id, 9999)
            elif name == "editmissing":
                await bot.edit_message_text("new", chat_id=chat_id, message_id=9999)
            elif name == "edituser":
                await bot.edit_message_text("new", chat_id=chat_id, message_id=message.id)
            elif name == "nochat":
                await bot.send_message(424242, "hello?")
            elif name == "scopechat":
                await bot.set_my_commands([BotCommand("x", "y")], scope=BotCommandScopeChat(424242))
        except BadRequest as exc:
            await message.reply_text(f"caught: {exc.message}")

    return provoke


ERROR_CASES = {
    "long": "Bad Request: message is too long",
    "longhtml": "Bad Request: message is too long",
    "badhtml": 'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 3',
    "unclosed": "Bad Request: can't parse entities: "
    'Can\'t find end tag corresponding to start tag "b"',
    "empty": "Bad Request: message text is empty",
    "bigdata": "Bad Request: BUTTON_DATA_INVALID",
    "textbutton": TEXT_BUTTONS,
    "same": NOT_MODIFIED,
    "caption": "Bad Request: message caption is too long",
    "delmissing": "Bad Request: message to delete not found",
    "editmissing": "Bad Request: message to edit not found",
    "edituser": "Bad Request: message to edit not found",
    "nochat": "Bad Request: chat not found",
    "scopechat": "Bad Request: chat not found",
}


def build_app(emulator: BotApiEmulator) -> Application:
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .build()
    )
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CommandHandler("photo", on_photo))
    for name in ERROR_CASES:
        app.add_handler(CommandHandler(name, error_action(name)))
    app.add_handler(CallbackQueryHandler(on_callback))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))

    async def marker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        emulator.mark_processed(update.update_id)

    app.add_handler(TypeHandler(Update, marker), group=999)
    return app


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def app(emu: BotApiEmulator) -> AsyncIterator[Application]:
    application = build_app(emu)
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


# ------------------------------------------------------------------------------ happy paths
async def test_start_keyboard_callback_and_edit(emu: BotApiEmulator, app: Application) -> None:
    ann = emu.user(42, "Ann", username="ann")
    replies = await ann.send("/start")
    assert [m.text for m in replies] == ["Welcome, Ann!"]
    welcome = ann.last
    assert welcome.entities == [{"offset": 9, "length": 3, "type": "bold"}]
    assert welcome.html == "Welcome, <b>Ann</b>!"
    assert ann.buttons() == ["Next ▶", "Docs"]

    answer = await ann.press("Next")
    assert answer is not None and answer.text == "Moving on" and not answer.show_alert
    assert ann.alerts == [answer]
    assert welcome is ann.last  # edited in place
    assert (welcome.text, welcome.edited, ann.buttons()) == ("Step 2", 1, ["Back"])
    assert welcome.entities == [{"offset": 5, "length": 1, "type": "italic"}]

    assert await ann.press("Back") is not None
    assert ann.buttons() == ["Next ▶", "Docs"] and welcome.text == "Step 2"
    # PTB's Defaults(parse_mode) leak into editMessageReplyMarkup: tolerated, not a problem
    assert emu.ignored == ["editMessageReplyMarkup: parse_mode='HTML' (a PTB Defaults value)"]
    assert ann.texts() == ["Step 2"]

    await ann.send("/start deep-link")
    assert ann.last.text == "Welcome, Ann! Payload: deep-link"
    assert len(ann.bot_messages) == 2
    mark = ann.mark()
    await ann.send("/start")
    assert [m.text for m in ann.since(mark)] == ["Welcome, Ann!"]

    # user messages carry the bot_command entity, as in Telegram
    first = ann.messages[0]
    assert not first.from_bot and first.entities == [
        {"type": "bot_command", "offset": 0, "length": 6}
    ]
    assert emu.refused == [] and emu.problems == [] and emu.injected == []


async def test_forged_callback_and_url_buttons(emu: BotApiEmulator, app: Application) -> None:
    bob = emu.user(43, "Bob")
    await bob.send("/start")
    answer = await bob.press_data("forged:data")
    assert answer is not None and answer.show_alert and answer.text == "Unknown button"
    with pytest.raises(AssertionError, match="is a url button"):
        await bob.press("Docs")
    with pytest.raises(AssertionError, match=r"no inline button containing 'Nope'.*Next ▶"):
        await bob.press("Nope")
    assert emu.refused == [] and emu.problems == []


async def test_documents_and_photos_round_trip(emu: BotApiEmulator, app: Application) -> None:
    ann = emu.user(42)
    await ann.send_document("notes.txt", b"hello file", caption="my notes")
    assert ann.last.text == "got notes.txt: hello file (my notes)"

    await ann.send("/photo")
    first, second = ann.bot_messages[-2:]
    assert (first.media, first.caption, first.caption_entities) == (
        "photo",
        "Chart",
        [{"offset": 0, "length": 5, "type": "italic"}],
    )
    assert second.media == "photo" and second.file_id == first.file_id
    assert ann.texts()[-2:] == ["Chart", "again"]
    upload = emu.calls("sendPhoto")[0]
    assert upload.params["photo"].content == PNG  # multipart upload decoded
    assert emu.refused == [] and emu.problems == []


async def test_commands_resolve_per_scope_and_language(
    emu: BotApiEmulator, app: Application
) -> None:
    ann, de, fr = emu.user(42), emu.user(50, language_code="de"), emu.user(51, language_code="fr")
    for user in (ann, de, fr):
        await user.send("hi")
    bot = app.bot
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands(
        [BotCommand("start", "Starten")], scope=BotCommandScopeAllPrivateChats(), language_code="de"
    )
    await bot.set_my_commands(
        [BotCommand("start", "Start"), BotCommand("admin", "Admin panel")],
        scope=BotCommandScopeChat(42),
    )
    assert [c["command"] for c in ann.commands()] == ["start", "admin"]
    assert de.commands() == [{"command": "start", "description": "Starten"}]
    assert [c["command"] for c in fr.commands()] == ["start", "help"]

    chat_commands = await bot.get_my_commands(scope=BotCommandScopeChat(42))
    assert [c.command for c in chat_commands] == ["start", "admin"]
    assert await bot.get_my_commands(language_code="fr") == ()
    await bot.delete_my_commands(scope=BotCommandScopeChat(42))
    assert [c["command"] for c in ann.commands()] == ["start", "help"]
    assert emu.refused == [] and emu.problems == []


async def test_settle_without_markers(emu: BotApiEmulator, app: Application) -> None:
    emu.use_markers = False
    ann = emu.user(42)
    replies = await ann.send("/start")
    assert [m.text for m in replies] == ["Welcome, Ann!"]
    await ann.press("Next")
    assert ann.last.text == "Step 2"


# ------------------------------------------------------------------------------ errors
async def test_bot_sees_telegram_errors(emu: BotApiEmulator, app: Application) -> None:
    ann = emu.user(42)
    await ann.send("hello")
    for command, description in ERROR_CASES.items():
        before = len(emu.refused)
        await ann.send(f"/{command}")
        assert ann.last.text == f"caught: {ptb_message(description)}", command
        assert [r.description for r in emu.refused[before:]] == [description], command
    # "longhtml": 4096 visible characters inside <b> were accepted
    assert any(m.text == "y" * 4096 for m in ann.bot_messages)
    assert emu.problems == []


async def test_callback_answer_errors(emu: BotApiEmulator, app: Application) -> None:
    ann = emu.user(42)
    await ann.send("/start")
    answer = await ann.press_data("twice")
    assert answer is not None and answer.text == "first"
    assert ann.last.text == f"caught: {ptb_message(QUERY_TOO_OLD)}"
    assert await ann.press_data("chatty") is None
    assert ann.last.text == "caught: Message_too_long"
    assert [r.description for r in emu.refused] == [QUERY_TOO_OLD, "Bad Request: MESSAGE_TOO_LONG"]


async def test_blocked_user_and_fault_injection(emu: BotApiEmulator, app: Application) -> None:
    ann = emu.user(42)
    await ann.send("/start")
    update_id = ann.block()
    assert update_id is not None
    await emu.wait_processed(update_id)  # the my_chat_member update reached the bot
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(42, "still there?")
    with pytest.raises(AssertionError, match="blocked the bot"):
        await ann.send("hi")
    ann.unblock()
    await app.bot.send_message(42, "welcome back")
    assert ann.last.text == "welcome back"
    assert emu.refused[-1].error_code == 403
    emu.refused.clear()

    emu.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(42, "rate limited")
    assert caught.value.retry_after in (3, dtm.timedelta(seconds=3))
    emu.fail_next("sendMessage", error_code=502)
    with pytest.raises(Exception, match="Bad Gateway"):
        await app.bot.send_message(42, "gateway")
    await app.bot.send_message(42, "works again")
    assert [r.error_code for r in emu.injected] == [429, 502]
    assert emu.refused == [] and ann.last.text == "works again"


async def test_marker_timeout_explains_what_is_pending(emu: BotApiEmulator) -> None:
    update_id = emu.enqueue_update({"message": {"text": "hi"}}, "test message")
    with pytest.raises(AssertionError, match="never called getUpdates"):
        await emu.wait_processed(update_id, timeout=0.05)


# ------------------------------------------------------------------------------ raw HTTP
async def test_raw_http_protocol(emu: BotApiEmulator) -> None:
    base = f"{emu.base_url}{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/getMe") as resp:
            body = await resp.json()
            assert resp.status == 200 and body["ok"] and body["result"]["is_bot"] is True
            assert body["result"]["username"] == "learnbot_test_bot"
        async with http.post(f"{emu.base_url}123:wrong/getMe") as resp:
            assert (resp.status, await resp.json()) == (
                401,
                {"ok": False, "error_code": 401, "description": "Unauthorized"},
            )
        async with http.post(f"{base}/sendTelepathy") as resp:
            assert (await resp.json())["description"] == "Not Found" and resp.status == 404
        async with http.post(f"{base}/sendMessage", data={"chat_id": "1"}) as resp:
            assert (await resp.json())["description"] == "Bad Request: message text is empty"
        async with http.post(f"{base}/sendMessage", json={"text": "hi"}) as resp:
            assert (await resp.json())["description"] == "Bad Request: chat_id is empty"
        async with http.post(f"{base}/getUpdates", data={"timeout": "0", "bogus": "1"}) as resp:
            assert (await resp.json()) == {"ok": True, "result": []}
        assert emu.problems == ["getUpdates: parameter 'bogus' is not in the Bot API spec"]

        # offset confirms, limit limits, JSON body and query string both work
        for i in range(3):
            emu.enqueue_update({"message": {"text": str(i)}}, f"m{i}")
        async with http.get(f"{base}/getUpdates?limit=2") as resp:
            ids = [u["update_id"] for u in (await resp.json())["result"]]
            assert ids == [1, 2]
        async with http.post(f"{base}/getUpdates", json={"offset": 3}) as resp:
            assert [u["update_id"] for u in (await resp.json())["result"]] == [3]

        # long polling returns as soon as an update arrives
        started = time.monotonic()
        poll = asyncio.ensure_future(
            http.post(f"{base}/getUpdates", data={"offset": "4", "timeout": "5"})
        )
        await asyncio.sleep(0.1)
        assert not poll.done()
        emu.enqueue_update({"message": {"text": "late"}}, "late")
        async with await poll as resp:
            result = (await resp.json())["result"]
        assert [u["message"]["text"] for u in result] == ["late"]
        assert time.monotonic() - started < 2

        # a second concurrent getUpdates terminates the first one with 409, like Telegram
        first = asyncio.ensure_future(
            http.post(f"{base}/getUpdates", data={"offset": "5", "timeout": "5"})
        )
        await asyncio.sleep(0.1)
        async with http.post(f"{base}/getUpdates", data={"offset": "5"}) as resp:
            assert (await resp.json())["result"] == []
        async with await first as resp:
            body = await resp.json()
            assert resp.status == 409 and body["description"].startswith("Conflict: terminated")

        # reply_markup arrives as a JSON string inside the form and must be valid JSON
        emu.user(7)
        emu.users[7].started = True
        async with http.post(
            f"{base}/sendMessage", data={"chat_id": "7", "text": "x", "reply_markup": "{oops"}
        ) as resp:
            assert (await resp.json())["description"] == (
                "Bad Request: can't parse reply keyboard markup JSON object"
            )
        markup = json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
        async with http.post(
            f"{base}/sendMessage", data={"chat_id": "7", "text": "x", "reply_markup": markup}
        ) as resp:
            message = (await resp.json())["result"]
            assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
            assert message["from"]["is_bot"] and message["chat"]["type"] == "private"


async def test_webhook_methods_and_dropping_updates(emu: BotApiEmulator) -> None:
    base = f"{emu.base_url}{TOKEN}"
    async with aiohttp.ClientSession() as http:
        update_id = emu.enqueue_update({"message": {"text": "old"}}, "old message")
        async with http.post(f"{base}/setWebhook", data={"url": "https://example.com/hook"}):
            pass
        async with http.post(f"{base}/getWebhookInfo") as resp:
            info = (await resp.json())["result"]
            assert info["url"] == "https://example.com/hook" and info["pending_update_count"] == 1
        async with http.post(f"{base}/getUpdates") as resp:
            assert resp.status == 409
        async with http.post(f"{base}/deleteWebhook", data={"drop_pending_updates": "true"}):
            pass
        async with http.post(f"{base}/getUpdates") as resp:
            assert (await resp.json())["result"] == []
    with pytest.raises(AssertionError, match="was dropped"):
        await emu.wait_processed(update_id, timeout=1)

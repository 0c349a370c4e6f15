"""The Bot API emulator against a real python-telegram-bot Application polling it over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

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
from telegram.warnings import PTBDeprecationWarning

from bot.emulator import BotApiEmulator
from bot.emulator._build_methods import DEFAULT_SPEC
from bot.emulator.server import NOT_MODIFIED, QUERY_TOO_OLD, TEXT_BUTTONS
from bot.emulator.users import SAMPLE_AUDIO, SAMPLE_PHOTO, png_image

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


async def test_a_user_waits_as_long_as_update_timeout_says(emu: BotApiEmulator) -> None:
    emu.update_timeout = 0.05  # no bot is polling
    with pytest.raises(AssertionError, match=r"not processed within 0\.05s"):
        await emu.user(42).send("hi")


async def test_answers_delayed_for_one_chat_or_method(
    emu: BotApiEmulator, app: Application
) -> None:
    ann, bob = emu.user(42, "Ann"), emu.user(43, "Bob")
    await ann.send("/start")
    await bob.send("/start")
    stop = emu.delay_answers(0.3, chat_id=42)
    started = time.monotonic()
    await asyncio.gather(app.bot.send_message(42, "slow"), app.bot.send_message(43, "fast"))
    assert time.monotonic() - started >= 0.3
    sent = [r.params["chat_id"] for r in emu.calls("sendMessage")[-2:]]
    assert sent == [43, 42], "the other chat's answer does not wait"
    assert ann.last.text == "slow" and bob.last.text == "fast"

    answer = await ann.press("Next")  # the answer to Ann's button press is late as well
    assert answer is not None and answer.text == "Moving on"
    answered = emu.calls("answerCallbackQuery")[-1]
    edited = emu.calls("editMessageText")[-1]
    assert edited.at - answered.at >= 0.3, "PTB edits only once the late answer came"
    stop()

    stop = emu.delay_answers(0.3, method="sendChatAction")
    started = time.monotonic()
    await asyncio.gather(
        app.bot.send_chat_action(43, "typing"), app.bot.send_message(43, "not delayed")
    )
    answered_in_order = [r.method for r in emu.requests if r.method != "getUpdates"][-2:]
    assert answered_in_order == ["sendMessage", "sendChatAction"]
    assert time.monotonic() - started >= 0.3
    stop()
    with pytest.raises(ValueError, match="not a Bot API method"):
        emu.delay_answers(1, method="sendTelepathy")
    with pytest.raises(ValueError, match="long poll"):
        emu.delay_answers(1, method="getupdates")
    with pytest.raises(ValueError, match="negative"):
        emu.delay_answers(-1, chat_id=42)
    assert emu.refused == [] and emu.problems == []


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


# ------------------------------------------------------------------------------ what users send
def seconds(value: int | dtm.timedelta | None) -> float | None:
    """A PTB duration (an int, or a timedelta with PTB_TIMEDELTA set) in seconds."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


def jpeg_header(width: int, height: int) -> bytes:
    """The first bytes of a baseline JPEG of this size: SOI, an APP0 (JFIF) and the SOF0."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return b"\xff\xd8" + app0 + sof0 + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01" + b"\xff\xd9"


def build_media_app(emulator: BotApiEmulator) -> Application:
    """A bare bot that echoes formatted text, sends each received photo, video and audio back
    by file_id with its caption, downloads it, and reports quiz polls; what it received is kept
    in ``bot_data["received"]`` (kind -> (message, the bot's sent message, downloaded bytes))."""
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .build()
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text_html)

    async def media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        caption = message.caption_html
        if message.photo:
            kind, file_id = "photo", message.photo[-1].file_id
            sent = await message.reply_photo(file_id, caption=caption)
        elif message.video:
            kind, file_id = "video", message.video.file_id
            sent = await message.reply_video(file_id, caption=caption)
        else:
            kind, file_id = "audio", message.audio.file_id
            sent = await message.reply_audio(file_id, caption=caption)
        file = await context.bot.get_file(file_id)
        content = bytes(await file.download_as_bytearray())
        context.bot_data.setdefault("received", {})[kind] = (message, sent, content)

    async def quiz(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        poll = update.message.poll
        context.bot_data.setdefault("received", {})["poll"] = (update.message, None, b"")
        await update.message.reply_text(f"quiz {poll.question}: {list(poll.correct_option_ids)}")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(MessageHandler(filters.PHOTO | filters.VIDEO | filters.AUDIO, media))
    app.add_handler(MessageHandler(filters.POLL, quiz))
    emulator.install_marker(app)
    return app


@pytest.fixture
async def media_app(emu: BotApiEmulator) -> AsyncIterator[Application]:
    application = build_media_app(emu)
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


def spec_types() -> dict[str, Any]:
    return json.loads(DEFAULT_SPEC.read_text(encoding="utf-8"))["types"]


def assert_spec_shape(value: Any, type_name: str, types: dict[str, Any], where: str) -> None:
    """``value`` is a ``type_name`` as the spec defines it: all required fields, no others
    (recursively for the spec's object types)."""
    if type_name.startswith("Array of "):
        assert isinstance(value, list), f"{where}: {type_name} expected, got {value!r}"
        for index, item in enumerate(value):
            assert_spec_shape(item, type_name[len("Array of ") :], types, f"{where}[{index}]")
        return
    scalar = {"String": str, "Integer": int, "Boolean": bool, "Float": (int, float)}
    if type_name in scalar:
        assert isinstance(value, scalar[type_name]), f"{where}: {type_name}, got {value!r}"
        return
    spec = types[type_name]
    assert isinstance(value, dict), f"{where}: {type_name} object expected, got {value!r}"
    fields = {f["name"]: f for f in spec.get("fields", [])}
    assert not value.keys() - fields.keys(), (
        f"{where}: not in {type_name}: {value.keys() - fields.keys()}"
    )
    for name, field_spec in fields.items():
        if name not in value:
            assert not field_spec["required"], f"{where}: {type_name}.{name} is required"
            continue
        if len(field_spec["types"]) == 1:
            assert_spec_shape(value[name], field_spec["types"][0], types, f"{where}.{name}")


async def test_user_photo_reaches_bot_and_comes_back_by_file_id(
    emu: BotApiEmulator, media_app: Application
) -> None:
    ann = emu.user(42)
    bold = [{"type": "bold", "offset": 0, "length": 4}]
    await ann.send_photo(caption="Bold chart", caption_entities=bold)
    message, sent, content = media_app.bot_data["received"]["photo"]
    sizes = [(p.width, p.height) for p in message.photo]
    assert sizes == [(90, 68), (320, 240), (400, 300)]  # a 400x300 picture, as Telegram sizes it
    assert (
        len({p.file_id for p in message.photo})
        == 3
        == len({p.file_unique_id for p in message.photo})
    )
    assert all(p.file_size == len(SAMPLE_PHOTO) for p in message.photo)
    assert message.caption_html == "<b>Bold</b> chart"
    assert content == SAMPLE_PHOTO  # getFile + the file URL give the bytes the user sent

    # sendPhoto with the user's file_id: the same picture, with all its sizes
    echoed = ann.last
    assert (echoed.media, echoed.file_id, echoed.caption) == (
        "photo",
        message.photo[-1].file_id,
        "Bold chart",
    )
    assert echoed.caption_entities == bold and echoed.html is None
    assert echoed.caption_html == "<b>Bold</b> chart"
    assert [p.file_id for p in sent.photo] == [p.file_id for p in message.photo]
    # any size's file_id works, and each can be downloaded
    smallest = await media_app.bot.send_photo(42, message.photo[0].file_id)
    assert len(smallest.photo) == 3
    file = await media_app.bot.get_file(message.photo[0].file_id)
    assert bytes(await file.download_as_bytearray()) == SAMPLE_PHOTO
    # a photo is not a video, nor a document
    with pytest.raises(
        BadRequest, match=ptb_message("Bad Request: can't use file of type Photo as Video")
    ):
        await media_app.bot.send_video(42, message.photo[-1].file_id)
    with pytest.raises(
        BadRequest, match=ptb_message("Bad Request: can't use file of type Photo as Document")
    ):
        await media_app.bot.send_document(42, message.photo[-1].file_id)

    # a big JPEG: the largest size is fitted into 1280 pixels
    await ann.send_photo(jpeg_header(2000, 1000))
    message, _, _ = media_app.bot_data["received"]["photo"]
    assert [(p.width, p.height) for p in message.photo] == [
        (90, 45),
        (320, 160),
        (800, 400),
        (1280, 640),
    ]
    assert message.caption is None and message.caption_html is None
    # a tiny picture still gets a thumbnail and its own size
    await ann.send_photo(png_image(2, 1))
    message, _, _ = media_app.bot_data["received"]["photo"]
    assert [(p.width, p.height) for p in message.photo] == [(2, 1), (2, 1)]
    assert emu.refused[-2:] and all("can't use file" in r.description for r in emu.refused)
    assert emu.problems == []


async def test_user_video_and_audio_come_back_by_file_id(
    emu: BotApiEmulator, media_app: Application
) -> None:
    ann = emu.user(42)
    italic = [{"type": "italic", "offset": 0, "length": 4}]
    await ann.send_video(b"video bytes", "clip one", italic, width=320, height=240, duration=7)
    message, sent, content = media_app.bot_data["received"]["video"]
    video = message.video
    assert (video.width, video.height, seconds(video.duration)) == (320, 240, 7)
    assert (video.file_name, video.mime_type, video.file_size) == ("video.mp4", "video/mp4", 11)
    assert message.caption_html == "<i>clip</i> one" and content == b"video bytes"
    assert sent.video.file_id == video.file_id
    assert (sent.video.width, sent.video.height, seconds(sent.video.duration)) == (320, 240, 7)
    echoed = ann.last
    assert (echoed.media, echoed.file_id, echoed.caption_entities) == (
        "video",
        video.file_id,
        italic,
    )

    await ann.send_audio(duration=185, title="Lesson 1", performer="Teacher")
    message, sent, content = media_app.bot_data["received"]["audio"]
    audio = message.audio
    assert (audio.title, audio.performer, seconds(audio.duration)) == ("Lesson 1", "Teacher", 185)
    assert (audio.file_name, audio.mime_type, audio.file_size) == (
        "audio.mp3",
        "audio/mpeg",
        len(SAMPLE_AUDIO),
    )
    assert message.caption is None and content == SAMPLE_AUDIO
    assert (sent.audio.file_id, sent.audio.title, sent.audio.performer) == (
        audio.file_id,
        "Lesson 1",
        "Teacher",
    )
    assert ann.last.media == "audio" and ann.last.file_id == audio.file_id
    # an audio file_id is not a video
    with pytest.raises(
        BadRequest, match=ptb_message("Bad Request: can't use file of type Audio as Video")
    ):
        await media_app.bot.send_video(42, audio.file_id)
    assert emu.problems == []


async def test_formatted_text_reaches_ptb_as_telegram_sends_it(
    emu: BotApiEmulator, media_app: Application
) -> None:
    ann = emu.user(42)
    text = "Hi 😀 bold, italic link and code\nprint(1)"
    entities = [  # deliberately unsorted; offsets in UTF-16 code units (😀 counts 2)
        {"type": "pre", "offset": 33, "length": 8, "language": "python"},
        {"type": "bold", "offset": 6, "length": 4},
        {"type": "italic", "offset": 12, "length": 6},
        {"type": "text_link", "offset": 19, "length": 4, "url": "https://example.com/"},
        {"type": "code", "offset": 28, "length": 4},
    ]
    await ann.send(text, entities=entities)
    user_message = ann.messages[0]
    assert [e["offset"] for e in user_message.entities] == [6, 12, 19, 28, 33]  # as Telegram sorts
    echoed = ann.last  # the bot sent back message.text_html with parse_mode HTML
    assert echoed.html == (
        'Hi 😀 <b>bold</b>, <i>italic</i> <a href="https://example.com/">link</a> and '
        '<code>code</code>\n<pre><code class="python">print(1)</code></pre>'
    )
    # PTB 22.8 writes <code class="python"> where Telegram reads only class="language-python":
    # the echo keeps every entity but the code block loses its language (and the emulator, like
    # tdlib's parse_html, reads the inner <code> as a code entity of its own).
    without_language = [
        {k: v for k, v in e.items() if k != "language"} for e in user_message.entities
    ]
    assert echoed.text == text
    assert all(entity in echoed.entities for entity in without_language), echoed.entities
    assert not any("language" in entity for entity in echoed.entities)

    # a leading command still gets its bot_command entity; nested entities come outer first
    nested = [
        {"type": "italic", "offset": 7, "length": 3},
        {"type": "bold", "offset": 7, "length": 8},
    ]
    await ann.send("/start now bold", entities=nested)
    assert ann.messages[-2].entities == [
        {"type": "bot_command", "offset": 0, "length": 6},
        {"type": "bold", "offset": 7, "length": 8},
        {"type": "italic", "offset": 7, "length": 3},
    ]
    assert ann.last.html == "/start <b><i>now</i> bold</b>"

    # an edit can change only the formatting
    plain = await ann.send("make me bold")
    assert plain[-1].text == "make me bold"
    own = ann.messages[-2]
    await ann.edit(own, "make me bold", entities=[{"type": "bold", "offset": 8, "length": 4}])
    assert own.entities == [{"type": "bold", "offset": 8, "length": 4}] and own.edit_date

    bad_entities = {
        "outside": [{"type": "bold", "offset": 5, "length": 10}],
        "unknown type": [{"type": "blink", "offset": 0, "length": 1}],
        "text_link without url": [{"type": "text_link", "offset": 0, "length": 1}],
        "url on bold": [{"type": "bold", "offset": 0, "length": 1, "url": "https://x.org"}],
        "empty": [{"type": "bold", "offset": 0, "length": 0}],
        "splits 😀": [{"type": "bold", "offset": 0, "length": 4}],
    }
    for case, wrong in bad_entities.items():
        with pytest.raises(AssertionError, match="entity"):
            await ann.send("abc😀", entities=wrong)
            pytest.fail(case)
    with pytest.raises(AssertionError, match="empty message"):
        await ann.send("  ")
    with pytest.raises(AssertionError, match="at most 4096"):
        await ann.send("x" * 4097)
    with pytest.raises(AssertionError, match="caption entities need a caption"):
        await ann.send_photo(caption_entities=[{"type": "bold", "offset": 0, "length": 1}])
    with pytest.raises(AssertionError, match="caption holds at most 1024"):
        await ann.send_photo(caption="c" * 1025)
    with pytest.raises(AssertionError, match="PNG or JPEG"):
        await ann.send_photo(b"not a picture")
    with pytest.raises(AssertionError, match="20:1"):
        await ann.send_photo(png_image(210, 10))
    assert emu.problems == [] and emu.refused == []


async def test_user_quiz_poll_reaches_ptb_with_its_answers(
    emu: BotApiEmulator, media_app: Application
) -> None:
    ann = emu.user(42)
    explanation_bold = [{"type": "bold", "offset": 0, "length": 4}]
    await ann.send_quiz_poll(
        "2 + 2 = ?",
        ["3", "4", "5"],
        [1],
        explanation="Four is two twos",
        explanation_entities=explanation_bold,
    )
    assert ann.last.text == "quiz 2 + 2 = ?: [1]"
    message, _, _ = media_app.bot_data["received"]["poll"]
    poll = message.poll
    assert (poll.type, poll.question, poll.correct_option_ids) == ("quiz", "2 + 2 = ?", (1,))
    with pytest.warns(PTBDeprecationWarning):
        assert poll.correct_option_id == 1  # PTB 22.8 keeps the old name as a deprecated alias
    assert [(o.text, o.voter_count, o.persistent_id) for o in poll.options] == [
        ("3", 0, "0"),
        ("4", 0, "1"),
        ("5", 0, "2"),
    ]
    assert (poll.total_voter_count, poll.is_closed, poll.is_anonymous) == (0, False, True)
    assert (poll.allows_multiple_answers, poll.allows_revoting, poll.members_only) == (
        False,
        False,
        False,
    )
    assert poll.explanation == "Four is two twos"
    assert [(e.type, e.offset, e.length) for e in poll.explanation_entities] == [("bold", 0, 4)]
    assert poll.api_kwargs == {}  # nothing PTB does not know

    # several right answers; one option is allowed since Bot API 10.0
    await ann.send_quiz_poll("Even?", ["2", "3", "4"], [0, 2], allows_multiple_answers=True)
    assert ann.last.text == "quiz Even?: [0, 2]"
    await ann.send_quiz_poll("Only one", ["yes"], [0])
    poll = media_app.bot_data["received"]["poll"][0].poll
    assert poll.correct_option_ids == (0,) and poll.explanation is None
    await ann.send_quiz_poll("q" * 300, ["a" * 100, "b"], [0])  # the limits themselves

    wrong_polls = {
        "1-300 characters": ("q" * 301, ["a", "b"], [0], None),
        "1-300 characters ": ("   ", ["a", "b"], [0], None),
        "1-12 answer options": ("q", [], [0], None),
        "1-12 answer options ": ("q", [str(i) for i in range(13)], [0], None),
        "more than 100": ("q", ["a" * 101, "b"], [0], None),
        "is empty": ("q", ["a", " "], [0], None),
        "must differ": ("q", ["a", "a"], [0], None),
        "not 0-based ids": ("q", ["a", "b"], [2], None),
        "at least one correct": ("q", ["a", "b"], [], None),
        "increase monotonically": ("q", ["a", "b", "c"], [2, 0], None),
        "at most 200": ("q", ["a", "b"], [0], "e" * 201),
        "2 line feeds": ("q", ["a", "b"], [0], "a\nb\nc\nd"),
    }
    for match, (question, options, correct, explanation) in wrong_polls.items():
        with pytest.raises(AssertionError, match=match.strip()):
            await ann.send_quiz_poll(question, options, correct, explanation, True)
    assert emu.problems == [] and emu.refused == []


@pytest.mark.skipif(not DEFAULT_SPEC.exists(), reason="shared/ is not beside this checkout")
async def test_user_sent_objects_match_the_spec(
    emu: BotApiEmulator, media_app: Application
) -> None:
    types = spec_types()
    ann = emu.user(42, "Ann", username="ann")
    await ann.send("plain *text*", entities=[{"type": "bold", "offset": 6, "length": 6}])
    await ann.send_photo(
        caption="photo", caption_entities=[{"type": "italic", "offset": 0, "length": 5}]
    )
    await ann.send_video(caption="video")
    await ann.send_audio(title="T", performer="P")
    await ann.send_document("a.txt", b"doc")
    await ann.send_quiz_poll("q?", ["a", "b"], [1], explanation="because")
    for message in ann.messages:
        assert_spec_shape(ann.message_to_api(message), "Message", types, f"#{message.message_id}")


async def test_get_file_refuses_files_over_20_mb(
    emu: BotApiEmulator, media_app: Application
) -> None:
    ann = emu.user(42)
    await ann.send_document("big.bin", b"\0" * (20 * 1024 * 1024 + 1))
    with pytest.raises(BadRequest, match="File is too big"):
        await media_app.bot.get_file(ann.messages[-1].file_id)

"""A loopback Telegram Bot API emulator.

The real python-telegram-bot ``Application`` talks to it over HTTP on 127.0.0.1 (long polling or
a webhook, form/multipart/JSON requests), every request is validated against the Bot API spec,
and test users (:mod:`bot.emulator.users`) play the human side of private chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from aiohttp.web_request import FileField

from bot.emulator.tghtml import TelegramHtmlError, parse_html, utf16_len
from bot.emulator.users import CallbackAnswer, StoredFile, TestUser, _PendingQuery

__all__ = ["DEFAULT_TOKEN", "BotApiEmulator", "RecordedRequest"]

_LOGGER = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:EMULATOR-test-token"
METHODS_FILE = Path(__file__).with_name("botapi_methods.json")

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_TEXT = 200
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile: "bots can download files of up to 20MB in size"

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
TEXT_BUTTONS = (
    "Bad Request: can't parse inline keyboard button: "
    "Text buttons are unallowed in the inline keyboard"
)
GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# media kind -> (directory of file_path, file_id prefix)
_MEDIA_KINDS = {
    "photo": ("photos", "AgACAgIAAxk"),
    "document": ("documents", "BQACAgIAAxk"),
    "video": ("videos", "BAACAgIAAxk"),
    "audio": ("music", "CQACAgIAAxk"),
    "animation": ("animations", "CgACAgIAAxk"),
    "voice": ("voice", "AwACAgIAAxk"),
    "sticker": ("stickers", "CAACAgIAAxk"),
    "video_note": ("video_notes", "DQACAgIAAxk"),
}
_DEFAULT_UPDATE_TYPES_EXCLUDED = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
# Keys of telegram.ext.Defaults.api_defaults: PTB sends them to every method that routes through
# Bot._send_message, even where the spec has no such parameter (e.g. parse_mode on
# editMessageReplyMarkup). Telegram ignores unknown parameters, and a bot cannot avoid these.
_PTB_DEFAULTS = frozenset(
    {
        "allow_sending_without_reply",
        "disable_notification",
        "explanation_parse_mode",
        "link_preview_options",
        "parse_mode",
        "protect_content",
        "question_parse_mode",
        "text_parse_mode",
    }
)
_ATTACH_RE = re.compile(r"attach://([A-Za-z0-9_\-]+)")
_INT_RE = re.compile(r"-?\d+")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# The emulator only ever calls the machine it runs on: a webhook elsewhere stays pending.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")


@cache
def load_methods() -> tuple[str, dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    """(version, method -> fields, method -> return types) from ``botapi_methods.json``."""
    data = json.loads(METHODS_FILE.read_text(encoding="utf-8"))
    return data["version"], data["methods"], data.get("returns", {})


@dataclass
class RecordedRequest:
    """One Bot API call the bot made, and how the emulator answered it."""

    method: str
    params: dict[str, Any]
    ok: bool = False
    error_code: int | None = None
    description: str | None = None
    injected: bool = False
    at: float = field(default_factory=time.monotonic)  # when it arrived (``time.monotonic``)

    def __str__(self) -> str:
        status = "ok" if self.ok else f"{self.error_code} {self.description}"
        return f"{self.method}({_short(self.params)}) -> {status}"


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    content: bytes

    def __repr__(self) -> str:
        return f"<upload {self.filename!r} {len(self.content)} bytes>"


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": code, "description": description}``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class _Fault:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class _Delay:
    seconds: float
    chat_id: int | None
    method: str | None


@dataclass
class _QueuedUpdate:
    update_id: int
    payload: dict[str, Any]
    description: str
    kind: str
    fetched: bool = False
    confirmed: bool = False
    dropped: bool = False


@dataclass
class _Poll:
    superseded: bool = False


@dataclass
class _InFlight:
    method: str
    started: float = field(default_factory=time.monotonic)


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class BotApiEmulator:
    """A Telegram Bot API server on 127.0.0.1 for end-to-end tests and the offline sandbox.

    Use ``async with BotApiEmulator() as emu`` (or :meth:`start` / :meth:`stop`) and point the
    bot at :attr:`base_url` / :attr:`base_file_url`.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "learnbot_test_bot",
        bot_first_name: str = "LearnBot",
        host: str = "127.0.0.1",
        port: int = 0,
        strict_html_entities: bool = True,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.strict_html_entities = strict_html_entities
        self.use_markers = True
        self.polled = False  # a getUpdates has arrived (see wait_for_bot)
        self.webhook_deliveries = 0  # updates a webhook has taken
        self.update_timeout = 15.0  # how long a test user waits for the bot to process an update
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456789
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name

        self.spec_version, self._methods, self._returns = load_methods()
        self._method_names = {name.lower(): name for name in self._methods}
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._api_get_me,
            "logOut": self._api_true,
            "close": self._api_true,
            "setWebhook": self._api_set_webhook,
            "deleteWebhook": self._api_delete_webhook,
            "getWebhookInfo": self._api_get_webhook_info,
            "sendMessage": self._api_send_message,
            "sendChatAction": self._api_send_chat_action,
            "editMessageText": self._api_edit_message_text,
            "editMessageCaption": self._api_edit_message_caption,
            "editMessageReplyMarkup": self._api_edit_message_reply_markup,
            "deleteMessage": self._api_delete_message,
            "answerCallbackQuery": self._api_answer_callback_query,
            "setMyCommands": self._api_set_my_commands,
            "getMyCommands": self._api_get_my_commands,
            "deleteMyCommands": self._api_delete_my_commands,
            "setChatMenuButton": self._api_set_chat_menu_button,
            "getChatMenuButton": self._api_get_chat_menu_button,
            "getChat": self._api_get_chat,
            "getFile": self._api_get_file,
        }
        for kind in _MEDIA_KINDS:
            method = "send" + kind.title().replace("_", "")
            self._handlers[method] = self._media_sender(kind)

        # what tests inspect
        self.requests: list[RecordedRequest] = []
        self.refused: list[RecordedRequest] = []
        self.injected: list[RecordedRequest] = []
        self.problems: list[str] = []
        self.ignored: list[str] = []
        self.users: dict[int, TestUser] = {}
        self._observers: list[Callable[[str, Any], None]] = []

        # server state
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._updates: list[_QueuedUpdate] = []
        self._all_updates: dict[int, _QueuedUpdate] = {}
        self._next_update_id = 1
        self._changed = asyncio.Event()
        self._recorded = asyncio.Event()  # set (and replaced) whenever a request is recorded
        self._current_poll: _Poll | None = None
        self._poll_count = 0
        self._allowed_updates: list[str] | None = None
        self._webhook_url = ""
        self._webhook_secret: str | None = None
        self._webhook_error: tuple[int, str] | None = None  # (unix time, message)
        self._delivery: asyncio.Task[None] | None = None
        self._processed: set[int] = set()
        self._processed_events: dict[int, asyncio.Event] = {}
        self._inflight: dict[int, _InFlight] = {}
        self._request_ids = itertools.count(1)
        self._last_activity = time.monotonic()
        self._queries: dict[str, _PendingQuery] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[tuple[tuple[Any, ...], str], list[dict[str, str]]] = {}
        self._default_menu_button: dict[str, Any] | None = None

    # ------------------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder.base_url`` (PTB appends the token)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder.base_file_url``."""
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as the ``from`` of its messages."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    async def start(self) -> None:
        """Bind a free port on 127.0.0.1 and start serving."""
        if self._runner is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        self._runner = runner
        self._delivery = asyncio.create_task(self._deliver_webhook())

    async def stop(self) -> None:
        """Answer pending long polls and shut the server down."""
        if self._runner is None:
            return
        self._stopping = True
        self._notify()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------------------ test users
    def user(
        self,
        user_id: int,
        first_name: str = "Ann",
        username: str | None = None,
        language_code: str | None = "en",
        last_name: str | None = None,
    ) -> TestUser:
        """The test user with this id (created on first use; chat id == user id)."""
        existing = self.users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0:
            raise ValueError("test user ids must be positive")
        created = TestUser(self, user_id, first_name, username, language_code, last_name)
        self.users[user_id] = created
        return created

    # ------------------------------------------------------------------------------ records
    def observe(self, callback: Callable[[str, Any], None]) -> Callable[[], None]:
        """Call ``callback("request", RecordedRequest)`` after the emulator answered a bot request
        (every one but the long polls it answered), and ``callback("update", payload)`` when an
        update is queued for the bot: a chat's messages, edits and answers may have changed (the
        sandbox's live page). Returns a function that stops the observing.

        Callbacks run on the emulator's loop and must not block; one that raises is logged and
        changes nothing of the answer.
        """
        self._observers.append(callback)

        def stop() -> None:
            if callback in self._observers:
                self._observers.remove(callback)

        return stop

    def _tell(self, kind: str, item: Any) -> None:
        for callback in list(self._observers):
            try:
                callback(kind, item)
            except Exception:
                _LOGGER.exception("Bot API emulator: an observer failed on %s", kind)

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests for one method."""
        return [r for r in self.requests if r.method == method]

    async def wait_calls(
        self,
        count: int,
        where: Callable[[RecordedRequest], bool],
        timeout: float = 15.0,  # noqa: ASYNC109
    ) -> list[RecordedRequest]:
        """Wait until ``count`` recorded requests match ``where`` (the bot sends on its own, a
        campaign say); returns the matching ones."""
        async with asyncio.timeout(timeout):
            while len(matching := [r for r in self.requests if where(r)]) < count:
                await self._recorded.wait()
        return matching

    async def wait_for_bot(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until a bot polls (a getUpdates is open or done) or sets a webhook: a bot
        started elsewhere is up (a webhook not yet listening gets its updates on a retry)."""
        deadline = time.monotonic() + timeout
        while not (self.polled or self._webhook_url):
            if time.monotonic() > deadline:
                raise AssertionError(f"no bot polled the emulator within {timeout} s")
            await asyncio.sleep(0.02)

    def reset_records(self) -> None:
        """Forget recorded requests, refusals, injected faults, problems and ignored params."""
        self.requests.clear()
        self.refused.clear()
        self.injected.clear()
        self.problems.clear()
        self.ignored.clear()

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (``"*"``: any method
        except getUpdates). 429 answers carry ``parameters.retry_after`` (default 1)."""
        if method != "*" and method.lower() not in self._method_names:
            raise ValueError(f"{method!r} is not a Bot API method")
        if error_code == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        elif description is None:
            description = {
                500: "Internal Server Error",
                502: "Bad Gateway",
                503: "Service Unavailable",
                504: "Gateway Timeout",
            }.get(error_code, f"Error {error_code}")
        name = method if method == "*" else self._method_names[method.lower()]
        self._faults.append(_Fault(name, error_code, description, retry_after, times))

    def delay_answers(
        self, seconds: float, *, chat_id: int | None = None, method: str | None = None
    ) -> Callable[[], None]:
        """Answer the bot's requests ``seconds`` late, as a slow or distant server would: those
        about one chat (its sends and edits, and the answers to its users' button presses), of
        one method, or both (neither: every request but getUpdates). The request takes effect
        when it is answered. Returns a function that ends the delay."""
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        if method is not None and method.lower() not in self._method_names:
            raise ValueError(f"{method!r} is not a Bot API method")
        name = None if method is None else self._method_names[method.lower()]
        if name == "getUpdates":
            raise ValueError("getUpdates is a long poll: its answer waits for updates already")
        delay = _Delay(seconds, chat_id, name)
        self._delays.append(delay)

        def stop() -> None:
            if delay in self._delays:
                self._delays.remove(delay)

        return stop

    def _delay_of(self, method: str, params: dict[str, Any]) -> float:
        if not self._delays or method == "getUpdates":
            return 0.0
        chat_id = params.get("chat_id")
        if method == "answerCallbackQuery":
            query = self._queries.get(str(params.get("callback_query_id")))
            chat_id = query.user.id if query is not None else None
        return max(
            (
                delay.seconds
                for delay in self._delays
                if delay.method in (None, method) and delay.chat_id in (None, chat_id)
            ),
            default=0.0,
        )

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method or (fault.method == "*" and method != "getUpdates"):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _problem(self, text: str) -> None:
        _LOGGER.warning("Bot API emulator: %s", text)
        self.problems.append(text)

    # ------------------------------------------------------------------------------ updates
    def accepts(self, kind: str) -> bool:
        """Whether the bot receives updates of this kind (per its ``allowed_updates``)."""
        allowed = self._allowed_updates
        if allowed is None:
            return kind not in _DEFAULT_UPDATE_TYPES_EXCLUDED
        return kind in allowed

    def enqueue_update(self, payload: dict[str, Any], description: str = "update") -> int:
        """Queue an update (``payload`` without ``update_id``) for getUpdates, or for the webhook
        when one is set; return its id."""
        kind = next(iter(payload))
        allowed = self._allowed_updates
        if not self.accepts(kind):
            raise AssertionError(
                f"the bot does not receive {kind!r} updates (allowed_updates={allowed})"
            )
        update_id = self._next_update_id
        self._next_update_id += 1
        queued = _QueuedUpdate(update_id, {"update_id": update_id, **payload}, description, kind)
        self._updates.append(queued)
        self._all_updates[update_id] = queued
        self._touch()
        self._notify()
        self._tell("update", queued.payload)
        return update_id

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset > 0:
            keep = []
            for update in self._updates:
                if update.update_id < offset:
                    update.confirmed = True
                else:
                    keep.append(update)
            self._updates = keep
        else:
            for update in self._updates[:offset]:
                update.confirmed = True
            self._updates = self._updates[offset:]

    async def _deliver_webhook(self) -> None:
        """Telegram's side of a webhook: POST the pending updates one at a time, in order.

        An update leaves the queue only when the bot's server answered 2xx; any other answer, or
        no server yet (PTB sets the webhook before it listens), is retried soon, as Telegram does.
        """
        delay = 0.0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            while True:
                changed = self._changed
                url, secret = self._webhook_url, self._webhook_secret
                if not url or not self._updates:
                    await changed.wait()
                    continue
                if urlsplit(url).hostname not in _LOOPBACK_HOSTS:
                    self._webhook_error = (int(time.time()), "the emulator calls only 127.0.0.1")
                    await changed.wait()
                    continue
                update = self._updates[0]
                error = await self._post_update(http, url, secret, update)
                if error is None:
                    delay = 0.0
                    update.fetched = update.confirmed = True
                    if update in self._updates:  # not dropped meanwhile
                        self._updates.remove(update)
                    self.webhook_deliveries += 1
                    self._touch()
                    continue
                self._webhook_error = (int(time.time()), error)
                delay = min(max(delay * 2, 0.02), 1.0)
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow stop()'s cancel.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await changed.wait()

    @staticmethod
    async def _post_update(
        http: aiohttp.ClientSession, url: str, secret: str | None, update: _QueuedUpdate
    ) -> str | None:
        """POST one update as Telegram does; None when the bot took it, else Telegram's error."""
        headers = {SECRET_HEADER: secret} if secret else {}
        try:
            async with http.post(url, json=update.payload, headers=headers) as response:
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Connection failed: {exc}"

    def _drop_pending(self) -> None:
        for update in self._updates:
            update.dropped = True
            self._set_processed(update.update_id)
        self._updates = []

    # ------------------------------------------------------------------------------ sync
    def mark_processed(self, update_id: int) -> None:
        """Called by the bot's last-group TypeHandler: the update has been fully handled."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            loop.call_soon_threadsafe(self._set_processed, update_id)
        else:
            self._set_processed(update_id)

    def _set_processed(self, update_id: int) -> None:
        self._processed.add(update_id)
        event = self._processed_events.get(update_id)
        if event is not None:
            event.set()

    def install_marker(self, application: Any, group: int = 999) -> None:
        """Add the ``TypeHandler(Update, ...)`` that calls :meth:`mark_processed` to a PTB
        ``Application`` (in ``group``, which must be the last group)."""
        from telegram import Update
        from telegram.ext import TypeHandler

        async def _marker(update: Update, _context: object) -> None:
            self.mark_processed(update.update_id)

        application.add_handler(TypeHandler(Update, _marker), group=group)

    async def wait_processed(self, update_id: int, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        """Wait until the marker handler reported ``update_id`` as processed."""
        event = self._processed_events.setdefault(update_id, asyncio.Event())
        if update_id in self._processed:
            event.set()
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            raise AssertionError(self._describe_pending(update_id, timeout)) from None
        finally:
            self._processed_events.pop(update_id, None)
        queued = self._all_updates.get(update_id)
        if queued is not None and queued.dropped:
            raise AssertionError(
                f"update {update_id} ({queued.description}) was dropped before the bot fetched "
                "it (deleteWebhook with drop_pending_updates)"
            )

    async def wait_update(self, update_id: int, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait for one update: by marker if :attr:`use_markers`, else via :meth:`settle`
        (``timeout`` defaults to :attr:`update_timeout`)."""
        if timeout is None:
            timeout = self.update_timeout
        if self.use_markers:
            await self.wait_processed(update_id, timeout)
        else:
            await self.settle(timeout=timeout)

    async def settle(self, quiet: float = 0.2, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        """Wait until every queued update was fetched, no bot request is in flight and no
        request arrived for ``quiet`` seconds (for bots without the marker handler)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            unfetched = [u for u in self._updates if not u.fetched]
            idle = time.monotonic() - self._last_activity
            if not unfetched and not self._inflight and idle >= quiet:
                return
            if loop.time() >= deadline:
                raise AssertionError(
                    f"the bot did not settle within {timeout}s: "
                    f"{len(unfetched)} update(s) not fetched "
                    f"{[u.description for u in unfetched]}, "
                    f"requests in flight: {[f.method for f in self._inflight.values()]}, "
                    f"idle for {idle:.2f}s (need {quiet}s); "
                    f"last requests: {[str(r) for r in self.requests[-5:]]}"
                )
            await asyncio.sleep(min(0.01, max(quiet - idle, 0.001)))

    def _describe_pending(self, update_id: int, timeout: float) -> str:
        queued = self._all_updates.get(update_id)
        what = queued.description if queued else "unknown update"
        lines = [f"update {update_id} ({what}) was not processed within {timeout}s."]
        if self._webhook_url and queued is not None and not queued.fetched:
            error = self._webhook_error[1] if self._webhook_error else "none"
            lines.append(f"The webhook {self._webhook_url} has not taken it (last error: {error}).")
        elif self._poll_count == 0:
            lines.append(
                f"The bot never called getUpdates: is polling running against {self.base_url}?"
            )
        elif queued is not None and not queued.fetched:
            lines.append(
                f"The bot has not fetched it (getUpdates calls so far: {self._poll_count})."
            )
        elif self.use_markers:
            lines.append(
                "The bot fetched it but no marker arrived: is the last-group "
                "TypeHandler(Update, ...) calling emulator.mark_processed installed, did a "
                "handler raise ApplicationHandlerStop, or is a handler still running/stuck?"
            )
        if self._inflight:
            lines.append(f"In flight: {[f.method for f in self._inflight.values()]}.")
        if self.refused:
            lines.append(f"Refused requests: {[str(r) for r in self.refused[-5:]]}.")
        recent = [str(r) for r in self.requests if r.method != "getUpdates"][-5:]
        lines.append(f"Last bot requests: {recent}.")
        return " ".join(lines)

    # ------------------------------------------------------------------------------ HTTP
    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None or stored.content is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        requested = request.match_info["method"]
        method = self._method_names.get(requested.lower())
        record = RecordedRequest(method or requested, {})
        is_poll = method == "getUpdates"
        request_id = next(self._request_ids)
        if is_poll:
            self.polled = True
        else:
            self._inflight[request_id] = _InFlight(record.method)
            self._touch()
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method is None:
                raise ApiError(404, "Not Found")
            raw, files = await self._read_params(request)
            record.params = dict(raw)
            fault = self._take_fault(method)
            if fault is not None:
                record.injected = True
                raise ApiError(fault.error_code, fault.description, fault.retry_after)
            params = self._decode(method, raw, files)
            record.params = params
            delay = self._delay_of(method, params)
            if delay:
                await asyncio.sleep(delay)
            if is_poll:
                result: Any = await self._get_updates(params, request)
            else:
                result = self._dispatch(method, params)
            record.ok = True
            return web.json_response({"ok": True, "result": result})
        except ApiError as err:
            record.error_code = err.code
            record.description = err.description
            body: dict[str, Any] = {
                "ok": False,
                "error_code": err.code,
                "description": err.description,
            }
            if err.retry_after is not None:
                body["parameters"] = {"retry_after": err.retry_after}
            return web.json_response(body, status=err.code)
        except asyncio.CancelledError:
            record.ok = True
            record.description = "abandoned: the client went away before the answer"
            raise
        except Exception as exc:
            _LOGGER.exception("Bot API emulator failed on %s", record.method)
            self._problem(f"{record.method}: emulator error {exc!r}")
            record.error_code = 500
            record.description = f"Internal Server Error: emulator error {exc!r}"
            return web.json_response(
                {"ok": False, "error_code": 500, "description": record.description}, status=500
            )
        finally:
            self.requests.append(record)
            self._recorded.set()
            self._recorded = asyncio.Event()
            if record.injected:
                self.injected.append(record)
            elif not record.ok:
                self.refused.append(record)
            if not is_poll:
                self._inflight.pop(request_id, None)
                self._touch()
            if not is_poll or not record.ok:
                self._tell("request", record)

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method != "POST" or not request.can_read_body:
            return raw, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON object") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: can't parse JSON object")
            raw.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, FileField):
                    files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
        return raw, files

    def _decode(
        self, method: str, raw: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        fields = {f["name"]: f for f in self._methods[method]}
        attached = {
            name
            for value in raw.values()
            if isinstance(value, str)
            for name in _ATTACH_RE.findall(value)
        }
        params: dict[str, Any] = {}
        for name, value in raw.items():
            spec = fields.get(name)
            if spec is None:
                if name in _PTB_DEFAULTS:
                    self.ignored.append(f"{method}: {name}={value!r} (a PTB Defaults value)")
                else:
                    self._problem(f"{method}: parameter {name!r} is not in the Bot API spec")
                params[name] = value
                continue
            params[name] = self._convert(method, name, spec["types"], value, files)
        for name, upload in files.items():
            if name in fields:
                params[name] = upload
            elif name not in attached:
                self._problem(f"{method}: uploaded file part {name!r} is not used by any parameter")
        for name, spec in fields.items():
            if spec["required"] and params.get(name) in (None, ""):
                raise ApiError(400, self._missing(name, spec["types"]))
        return params

    def _convert(
        self,
        method: str,
        name: str,
        types: list[str],
        value: Any,
        files: dict[str, UploadedFile],
    ) -> Any:
        kinds = set(types)
        if "InputFile" in kinds:
            if isinstance(value, str) and value.startswith("attach://"):
                upload = files.get(value[len("attach://") :])
                if upload is None:
                    raise ApiError(400, f"Bad Request: there is no {name} in the request")
                return upload
            return value
        if not isinstance(value, str):  # JSON body: already typed
            if kinds == {"String"} and isinstance(value, int | float):
                return str(value)
            return value
        if kinds == {"String"}:
            return value
        if kinds == {"Integer", "String"}:
            return int(value) if _INT_RE.fullmatch(value) else value
        if kinds == {"Integer"}:
            try:
                return int(value)
            except ValueError:
                try:
                    return int(float(value))
                except ValueError:
                    self._problem(f"{method}: {name}={value!r} is not an Integer")
                    return 0
        if kinds == {"Float"}:
            try:
                return float(value)
            except ValueError:
                self._problem(f"{method}: {name}={value!r} is not a Float")
                return 0.0
        if kinds == {"Boolean"}:
            lowered = value.lower()
            if lowered not in ("true", "false", "1", "0", ""):
                self._problem(f"{method}: {name}={value!r} is not a Boolean")
            return lowered in ("true", "1")
        try:
            return json.loads(value)
        except ValueError:
            if name == "reply_markup":
                raise ApiError(
                    400, "Bad Request: can't parse reply keyboard markup JSON object"
                ) from None
            if name.endswith("entities"):
                raise ApiError(400, "Bad Request: can't parse entities JSON object") from None
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None

    @staticmethod
    def _missing(name: str, types: list[str]) -> str:
        if name == "text":
            return "Bad Request: message text is empty"
        if "InputFile" in types:
            return f"Bad Request: there is no {name} in the request"
        return f"Bad Request: {name} is empty"

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        handler = self._handlers.get(method)
        if handler is not None:
            return handler(params)
        # Any other spec method: validate the chat, then answer plausibly.
        returns = self._returns.get(method, [])
        sends = method.startswith(("send", "copy", "forward"))
        if method.startswith("edit") and "Message" in returns and "message_id" in params:
            user, message = self._editable(params)
            self._mark_edited(message)
            return user.message_to_api(message)
        if "chat_id" in params:
            user = self._chat(params, sending=sends)
            if sends and ("Message" in returns or "MessageId" in returns):
                markup = self._parse_markup(params.get("reply_markup"))
                message = user.add_message(True, reply_markup=markup)
                if "MessageId" in returns:
                    return {"message_id": message.message_id}
                return user.message_to_api(message)
        if returns and returns[0].startswith("Array of"):
            return []
        return True

    # ------------------------------------------------------------------------------ helpers
    def _chat(self, params: dict[str, Any], *, sending: bool = False) -> TestUser:
        chat_id = params.get("chat_id")
        user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None or not user.started:
            raise ApiError(400, "Bad Request: chat not found")
        if sending and user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return user

    def _formatted(
        self,
        value: str,
        parse_mode: str | None,
        entities: list[dict[str, Any]] | None,
    ) -> tuple[str, list[dict[str, Any]]]:
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                return parse_html(value, strict_entities=self.strict_html_entities)
            except TelegramHtmlError as err:
                raise ApiError(400, f"Bad Request: can't parse entities: {err.detail}") from None
        if mode in ("markdown", "markdownv2"):
            return value, []  # Markdown is not emulated: the raw text is shown
        if mode:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        return value, list(entities or [])

    def _text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text, entities = self._formatted(
            params.get("text") or "", params.get("parse_mode"), params.get("entities")
        )
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    def _caption(self, params: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
        raw = params.get("caption")
        if not raw:
            return None, []
        caption, entities = self._formatted(
            raw, params.get("parse_mode"), params.get("caption_entities")
        )
        if utf16_len(caption) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        return (caption if caption.strip() else None), entities

    def _parse_markup(self, markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            return {"inline_keyboard": self._check_inline_keyboard(markup["inline_keyboard"])}
        if inline_only:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if "keyboard" in markup or "remove_keyboard" in markup or "force_reply" in markup:
            return markup
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_keyboard(rows: Any) -> list[list[dict[str, Any]]]:
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400,
                'Bad Request: can\'t parse inline keyboard button: Field "inline_keyboard" '
                "must be of type Array",
            )
        count = 0
        for row in rows:
            for button in row:
                count += 1
                if not isinstance(button, dict):
                    raise ApiError(
                        400, "Bad Request: can't parse inline keyboard button: Object expected"
                    )
                if "text" not in button:
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        'Can\'t find field "text"',
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                    if not 1 <= size <= MAX_CALLBACK_DATA:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button["text"] or not any(k in button for k in _INLINE_ACTIONS):
                    raise ApiError(400, TEXT_BUTTONS)
                if "url" in button:
                    parts = urlsplit(str(button["url"]))
                    if parts.scheme not in ("http", "https", "tg") or not (
                        parts.netloc or parts.scheme == "tg"
                    ):
                        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        if count > MAX_BUTTONS:
            raise ApiError(400, "Bad Request: reply markup is too long")
        return rows

    @staticmethod
    def _apply_reply_keyboard(user: TestUser, markup: dict[str, Any] | None) -> None:
        if not markup:
            return
        if "keyboard" in markup:
            user.reply_keyboard = [
                [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
                for row in markup["keyboard"]
            ]
        elif markup.get("remove_keyboard"):
            user.reply_keyboard = None

    @staticmethod
    def _check_reply_to(user: TestUser, params: dict[str, Any]) -> None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict) or reply.get("chat_id") not in (None, user.id):
            return
        target = user.find_message(int(reply.get("message_id") or 0))
        if (target is None or target.deleted) and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")

    def file(self, file_id: str) -> StoredFile:
        """A file the bot or a user sent, as a user would open it (KeyError if unknown)."""
        return self._files[file_id]

    def store_file(
        self,
        kind: str,
        content: bytes | None,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Register a file and give it a fresh file_id / file_path."""
        number = next(self._file_counter)
        directory, prefix = _MEDIA_KINDS.get(kind, ("documents", "BQACAgIAAxk"))
        suffix = Path(file_name).suffix if file_name else ""
        if not suffix:
            suffix = {"photo": ".jpg", "video": ".mp4", "audio": ".mp3", "voice": ".oga"}.get(
                kind, ""
            )
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}EmUlAtOr",
            file_unique_id=f"AgAD{number:06d}",
            kind=kind,
            content=content,
            file_name=file_name,
            mime_type=mime_type,
            file_path=f"{directory}/file_{number}{suffix}",
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _input_file(self, kind: str, value: Any) -> StoredFile:
        if isinstance(value, UploadedFile):
            return self.store_file(kind, value.content, value.filename, value.content_type)
        text = str(value)
        known = self._files.get(text)
        if known is not None:
            if known.kind != kind and not (kind == "document" and known.kind != "photo"):
                raise ApiError(
                    400,
                    f"Bad Request: can't use file of type {known.kind.title()} as {kind.title()}",
                )
            return known
        if text.startswith(("http://", "https://")):
            name = Path(urlsplit(text).path).name or None
            return self.store_file(kind, None, name, None)
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    @staticmethod
    def _media_payload(kind: str, stored: StoredFile) -> Any:
        base: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
        }
        if stored.file_size is not None:
            base["file_size"] = stored.file_size
        width, height = stored.width or 1280, stored.height or 720
        duration = 1 if stored.duration is None else stored.duration
        if kind == "photo":
            if stored.sizes:  # a user's photo: all its sizes, as Telegram returns them
                return [dict(size) for size in stored.sizes]
            return [{**base, "width": width, "height": height}]
        if kind in ("document", "video", "audio", "animation"):
            if stored.file_name:
                base["file_name"] = stored.file_name
            if stored.mime_type:
                base["mime_type"] = stored.mime_type
        if kind in ("video", "animation"):
            base.update(width=width, height=height, duration=duration)
        elif kind in ("audio", "voice"):
            base["duration"] = duration
            if kind == "audio" and stored.performer:
                base["performer"] = stored.performer
            if kind == "audio" and stored.title:
                base["title"] = stored.title
        elif kind == "video_note":
            base.update(length=240, duration=1)
        elif kind == "sticker":
            base.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
        return base

    def _editable(self, params: dict[str, Any]) -> tuple[TestUser, Any]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        if params.get("chat_id") in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not params.get("message_id"):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        user = self._chat(params)
        message = user.find_message(int(params["message_id"]))
        if message is None or message.deleted or not message.from_bot:
            raise ApiError(400, "Bad Request: message to edit not found")
        return user, message

    @staticmethod
    def _mark_edited(message: Any) -> None:
        message.edited += 1
        message.edit_date = int(time.time())

    # ------------------------------------------------------------------------------ methods
    def _api_true(self, _params: dict[str, Any]) -> bool:
        return True

    def _api_get_me(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_set_webhook(self, params: dict[str, Any]) -> bool:
        """Unlike Telegram, plain http is accepted: a bot's test webhook has no certificate."""
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "") or None
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = list(allowed) if allowed else None
        if (url, secret) != (self._webhook_url, self._webhook_secret):
            self._webhook_url, self._webhook_secret = url, secret
            self._webhook_error = None
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self._notify()
        return True

    def _api_delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook_url, self._webhook_secret, self._webhook_error = "", None, None
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self._notify()
        return True

    def _api_get_webhook_info(self, _params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates is not None:
            info["allowed_updates"] = self._allowed_updates
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _get_updates(self, params: dict[str, Any], request: web.Request) -> list[Any]:
        if self._webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._poll_count += 1
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = list(allowed) if allowed else None
        self._confirm(params.get("offset"))
        if self._current_poll is not None:
            self._current_poll.superseded = True
            self._notify()
        poll = self._current_poll = _Poll()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                changed = self._changed
                if self._updates or self._stopping or poll.superseded:
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
            if poll.superseded:
                # PTB cancels its long poll on shutdown and polls once more; only a client
                # that is still listening gets the Conflict Telegram would send.
                await asyncio.sleep(0.05)
                transport = request.transport
                if transport is None or transport.is_closing():
                    return []
                raise ApiError(409, GET_UPDATES_CONFLICT)
        finally:
            if self._current_poll is poll:
                self._current_poll = None
        batch = self._updates[:limit]
        for update in batch:
            update.fetched = True
        if batch:
            self._touch()
        return [update.payload for update in batch]

    def _api_send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = self._parse_markup(params.get("reply_markup"))
        user = self._chat(params, sending=True)
        self._check_reply_to(user, params)
        text, entities = self._text(params)
        message = user.add_message(
            True, text=text, html=params.get("text"), entities=entities, reply_markup=markup
        )
        self._apply_reply_keyboard(user, markup)
        return user.message_to_api(message)

    def _media_sender(self, kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def send(params: dict[str, Any]) -> dict[str, Any]:
            markup = self._parse_markup(params.get("reply_markup"))
            user = self._chat(params, sending=True)
            self._check_reply_to(user, params)
            caption, caption_entities = self._caption(params)
            stored = self._input_file(kind, params[kind])
            message = user.add_message(
                True,
                media=kind,
                file_id=stored.file_id,
                caption=caption,
                caption_html=params.get("caption"),
                caption_entities=caption_entities,
                reply_markup=markup,
                media_payload=self._media_payload(kind, stored),
            )
            self._apply_reply_keyboard(user, markup)
            return user.message_to_api(message)

        return send

    def _api_send_chat_action(self, params: dict[str, Any]) -> bool:
        user = self._chat(params, sending=True)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        user.chat_actions.append(action)
        return True

    def _api_edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = self._parse_markup(params.get("reply_markup"), inline_only=True)
        user, message = self._editable(params)
        if message.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = self._text(params)
        if (text, entities, markup) == (message.text, message.entities, message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        message.text, message.html, message.entities = text, params.get("text"), entities
        message.reply_markup = markup
        self._mark_edited(message)
        return user.message_to_api(message)

    def _api_edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = self._parse_markup(params.get("reply_markup"), inline_only=True)
        user, message = self._editable(params)
        if message.media is None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, entities = self._caption(params)
        current = (message.caption, message.caption_entities, message.reply_markup)
        if (caption, entities, markup) == current:
            raise ApiError(400, NOT_MODIFIED)
        message.caption, message.caption_html = caption, params.get("caption")
        message.caption_entities = entities
        message.reply_markup = markup
        self._mark_edited(message)
        return user.message_to_api(message)

    def _api_edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = self._parse_markup(params.get("reply_markup"), inline_only=True)
        user, message = self._editable(params)
        if markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        message.reply_markup = markup
        self._mark_edited(message)
        return user.message_to_api(message)

    def _api_delete_message(self, params: dict[str, Any]) -> bool:
        user = self._chat(params)
        message = user.find_message(int(params["message_id"]))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    def register_query(self, query: _PendingQuery) -> None:
        """Remember a callback query so answerCallbackQuery can find it."""
        self._queries[query.query_id] = query

    def _api_answer_callback_query(self, params: dict[str, Any]) -> bool:
        query = self._queries.get(str(params["callback_query_id"]))
        if query is None or query.answer is not None:
            raise ApiError(400, QUERY_TOO_OLD)
        text = params.get("text")
        if text and utf16_len(text) > MAX_CALLBACK_TEXT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        answer = CallbackAnswer(
            query_id=query.query_id,
            text=text or None,
            show_alert=bool(params.get("show_alert")),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        query.answer = answer
        query.user.callback_answers.append(answer)
        return True

    def _scope_key(self, scope: Any) -> tuple[Any, ...]:
        if scope is None:
            return ("default",)
        if not isinstance(scope, dict) or "type" not in scope:
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        kind = scope["type"]
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return (kind,)
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat_id = scope.get("chat_id")
            if isinstance(chat_id, str) and _INT_RE.fullmatch(chat_id):
                chat_id = int(chat_id)
            user = self._chat({"chat_id": chat_id})
            if kind == "chat_member":
                return (kind, user.id, scope.get("user_id"))
            return (kind, user.id)
        raise ApiError(400, "Bad Request: unsupported bot command scope type")

    def _api_set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params["commands"]
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        cleaned = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not _COMMAND_NAME_RE.fullmatch(name.lower()):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
            cleaned.append({"command": name.lower(), "description": description})
        key = (self._scope_key(params.get("scope")), params.get("language_code") or "")
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        return True

    def _api_get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        key = (self._scope_key(params.get("scope")), params.get("language_code") or "")
        return list(self._commands.get(key, []))

    def _api_delete_my_commands(self, params: dict[str, Any]) -> bool:
        key = (self._scope_key(params.get("scope")), params.get("language_code") or "")
        self._commands.pop(key, None)
        return True

    def commands_for_user(self, user: TestUser) -> list[dict[str, str]]:
        """The command list Telegram shows ``user`` in the private chat's menu."""
        languages = [user.language_code or "", ""] if user.language_code else [""]
        for scope in (("chat", user.id), ("all_private_chats",), ("default",)):
            for language in languages:
                commands = self._commands.get((scope, language))
                if commands:
                    return list(commands)
        return []

    def _api_set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if params.get("chat_id") in (None, ""):
            self._default_menu_button = button
        else:
            self._chat(params).menu_button = button
        return True

    def _api_get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("chat_id") not in (None, ""):
            button = self._chat(params).menu_button
            if button is not None:
                return button
        return self._default_menu_button or {"type": "commands"}

    def _api_get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params)
        return {
            **user.to_api_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _api_get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params["file_id"]))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.file_size is not None and stored.file_size > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        result: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_path": stored.file_path,
        }
        if stored.file_size is not None:
            result["file_size"] = stored.file_size
        return result

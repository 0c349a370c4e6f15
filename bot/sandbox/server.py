"""``learnbot sandbox``: the real bot, the built-in Bot API emulator and a local web chat.

One process, one event loop: the emulator listens on a free loopback port, the bot that
``learnbot run`` builds (``bot.app.build_application``) long-polls it, and an aiohttp server on
127.0.0.1 serves the page (``static/``) and a small JSON API. The page plays the emulator's test
users: it sends what they type, presses their buttons (by place and label), and receives every
change of their chat (new messages, edits, deletions, the command menu) and every request the
emulator refused as server-sent events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import signal
import socket
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.app import ALLOWED_UPDATES, build_application
from bot.coursefile import import_course_file
from bot.emulator import BotApiEmulator, ChatMessage, TestUser
from bot.emulator.users import image_size
from bot.migrate import upgrade
from bot.sandbox.render import message_view, refusal_view
from bot.settings import Settings
from db.accounts import raise_role
from db.engine import Database
from db.models import Course, Role
from handlers.common import LearnApplication

__all__ = ["EXAMPLE_COURSE", "Sandbox", "SandboxError", "run_sandbox"]

# A fixed fake token: the emulator accepts it, Telegram never sees it.
SANDBOX_TOKEN = "7000000001:SANDBOX-fake-token-never-sent-anywhere"
STATIC = Path(__file__).with_name("static")
EXAMPLE_COURSE = Path("examples") / "python-basics.yaml"
MAX_UPLOAD = 20 * 1024 * 1024  # what a bot may download with getFile
CSRF_HEADER = "X-Learnbot-Sandbox"  # a header no other site's form or link can send
KEEPALIVE = 15.0  # seconds between comments on an idle event stream


@dataclass(frozen=True)
class Persona:
    """A test user the page offers from the start, with the role made real in the database."""

    telegram_id: int
    name: str
    role: Role


PERSONAS = (
    Persona(100_001, "Sam", Role.student),
    Persona(100_002, "Ines", Role.instructor),
    Persona(100_003, "Ada", Role.admin),
)
INSTRUCTOR = PERSONAS[1]
FIRST_NEW_USER = 100_011


class SandboxError(Exception):
    """The sandbox cannot start: one line for the command line."""


@dataclass
class _Seen:
    """What one event stream has already sent its page."""

    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, str]] | None = None
    keyboard: list[list[str]] | None = None
    users: list[dict[str, Any]] | None = None
    refused: int = 0
    problems: int = 0


class Sandbox:
    """The emulator, the bot and the page, started and stopped together."""

    def __init__(
        self,
        settings: Settings,
        database_url: str,
        *,
        port: int = 8080,
        host: str = "127.0.0.1",
        courses: list[Path] | None = None,
    ) -> None:
        self.base_settings = settings
        self.database_url = database_url
        self.host = host
        self.port = port
        self.courses = list(courses or [])
        self.emulator = BotApiEmulator(
            SANDBOX_TOKEN, bot_username="learnbot_sandbox_bot", bot_first_name="LearnBot"
        )
        self.roles: dict[int, Role] = {}
        self.imported: list[str] = []
        self.note = ""  # why nothing was imported, if so
        self._application: LearnApplication | None = None
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._closing = False
        self._next_user = FIRST_NEW_USER
        self._stop_observing: Callable[[], None] | None = None
        self._views: dict[tuple[int, int], tuple[tuple[Any, ...], dict[str, Any]]] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # ------------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Migrate and fill the database, then start the emulator, the bot and the page."""
        site = self._bind()  # first: a busy port is refused before anything else runs
        try:
            await self._prepare_database()
            await self.emulator.start()
            self._stop_observing = self.emulator.observe(lambda _kind, _item: self._bump())
            for persona in PERSONAS:
                self.emulator.user(persona.telegram_id, persona.name)
                self.roles[persona.telegram_id] = persona.role
            await self._start_bot()
            self._runner = web.AppRunner(self._web_app(), access_log=None, shutdown_timeout=1.0)
            await self._runner.setup()
            await web.SockSite(self._runner, site).start()
        except BaseException:
            site.close()
            await self.stop()
            raise

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            raise SandboxError(
                f"cannot listen on {self.host}:{self.port} ({error.strerror}): "
                "choose another port with --port"
            ) from None
        self.port = sock.getsockname()[1]
        return sock

    async def _prepare_database(self) -> None:
        """Migrate; import the --course files (or the example course into an empty store); make
        the instructor's role real (the admin's comes from ADMIN_TELEGRAM_IDS at start-up)."""
        try:
            await upgrade(self.database_url)
            database = Database(self.database_url)
            try:
                async with database.session() as session:
                    empty = not await session.scalar(select(func.count(Course.id)))
                courses = self.courses
                example = _example_course()
                if not courses and empty and example is not None:
                    courses = [example]
                elif not courses and empty:
                    self.note = f"no {EXAMPLE_COURSE} here: add a course with --course FILE"
                elif not courses:
                    self.note = "the database has courses already"
                for path in courses:
                    course = await import_course_file(database, path, INSTRUCTOR.telegram_id)
                    self.imported.append(course.title)
                async with database.session() as session:
                    await raise_role(session, INSTRUCTOR.telegram_id, Role.instructor)
            finally:
                await database.dispose()
        except (SQLAlchemyError, OSError) as error:
            first = (str(getattr(error, "orig", error)).strip().splitlines() or ["?"])[0]
            raise SandboxError(f"the sandbox database: {first}") from None

    async def _start_bot(self) -> None:
        emulator = self.emulator
        settings = self.base_settings.model_copy(
            update={
                "telegram_bot_token": SecretStr(SANDBOX_TOKEN),
                "telegram_base_url": emulator.base_url,
                "telegram_base_file_url": emulator.base_file_url,
                "database_url": self.database_url,
                "admin_telegram_ids": [p.telegram_id for p in PERSONAS if p.role == Role.admin],
                "webhook_url": None,
                "webhook_secret": None,
            }
        )
        application = self._application = build_application(settings)
        emulator.install_marker(application)  # the page's actions wait until the bot is done
        await application.initialize()
        if application.post_init:
            await application.post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)

    async def stop(self) -> None:
        """Close the event streams, stop the page, the bot and the emulator."""
        self._closing = True
        self._bump()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        application, self._application = self._application, None
        if application is not None:  # as far as it got
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
            if application.post_shutdown:
                await application.post_shutdown(application)
        if self._stop_observing is not None:
            self._stop_observing()
            self._stop_observing = None
        await self.emulator.stop()

    def _bump(self) -> None:
        """Something in a chat may have changed: wake every event stream."""
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------------------ users
    def user_views(self) -> list[dict[str, Any]]:
        return [
            {
                "id": user.id,
                "name": user.first_name,
                "role": self.roles.get(user.id, Role.student).value,
                "messages": len([m for m in user.messages if not m.deleted]),
            }
            for user in self.emulator.users.values()
            if isinstance(user, TestUser)
        ]

    def new_user(self) -> TestUser:
        """Another student, as if someone new found the bot."""
        number = self._next_user - FIRST_NEW_USER + 2
        user = self.emulator.user(self._next_user, f"Student {number}")
        self.roles[user.id] = Role.student
        self._next_user += 1
        self._bump()
        return user

    def _user(self, value: Any) -> TestUser:
        user = self.emulator.users.get(int(value)) if str(value).isdigit() else None
        if not isinstance(user, TestUser):
            raise web.HTTPNotFound(text="no such user")
        return user

    # ------------------------------------------------------------------------------ the page
    def _web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024, middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC)
        app.router.add_get("/api/events", self._events)
        app.router.add_get("/api/users", self._users)
        app.router.add_post("/api/users", self._create_user)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/press", self._press)
        app.router.add_post("/api/upload", self._upload)
        app.router.add_get("/api/file/{file_id}", self._file)
        return app

    @web.middleware
    async def _guard(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Only the page itself may act. Another site open in the same browser cannot send the
        custom header without a CORS preflight, which this server never grants; and a site whose
        name is made to point at 127.0.0.1 (DNS rebinding) still sends its own name as Host."""
        hosts = {f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]")}
        if request.host not in hosts:
            raise web.HTTPMisdirectedRequest(text="open the sandbox at its 127.0.0.1 address")
        if request.method == "POST" and request.headers.get(CSRF_HEADER) != "1":
            raise web.HTTPForbidden(text="missing the sandbox header")
        return await handler(request)

    async def _index(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events for one user's chat: everything at once, then each change."""
        user = self._user(request.query.get("user", ""))
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        seen = _Seen()
        try:
            await _event(response, "hello", {"user": user.id, "bot": self.emulator.bot_username})
            while not self._closing:
                changed = self._changed
                for name, data in self._changes(user, seen):
                    await _event(response, name, data)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(KEEPALIVE):
                        await changed.wait()
                        await asyncio.sleep(0.02)  # one burst of bot requests, one update
                if not changed.is_set():
                    await response.write(b": keep-alive\n\n")
        except ConnectionResetError:  # the page was closed or switched to another user
            pass
        return response

    def _changes(self, user: TestUser, seen: _Seen) -> list[tuple[str, Any]]:
        """What the page of ``user`` has not seen yet, as (event, data)."""
        events: list[tuple[str, Any]] = []
        users = self.user_views()
        if users != seen.users:
            seen.users = users
            events.append(("users", users))
        upsert, remove = [], []
        for message in user.messages:
            if message.deleted:
                if seen.messages.pop(message.message_id, None) is not None:
                    remove.append(message.message_id)
                continue
            view = self._view(message)
            if seen.messages.get(message.message_id) != view:
                seen.messages[message.message_id] = view
                upsert.append(view)
        if upsert or remove:
            events.append(("messages", {"upsert": upsert, "remove": remove}))
        commands = user.commands()
        if commands != seen.commands:
            seen.commands = commands
            events.append(("commands", commands))
        if user.reply_keyboard != seen.keyboard:
            seen.keyboard = user.reply_keyboard
            events.append(("keyboard", user.reply_keyboard))
        refused = self.emulator.refused
        if len(refused) > seen.refused:
            names = {u.id: u.first_name for u in self.emulator.users.values()}
            views = [
                refusal_view(number, record, names)
                for number, record in enumerate(refused[seen.refused :], seen.refused + 1)
            ]
            seen.refused = len(refused)
            events.append(("refused", views))
        problems = self.emulator.problems
        if len(problems) > seen.problems:
            events.append(("problems", problems[seen.problems :]))
            seen.problems = len(problems)
        return events

    async def _users(self, _request: web.Request) -> web.Response:
        return web.json_response(self.user_views())

    def _view(self, message: ChatMessage) -> dict[str, Any]:
        """The page's view of a message, made again only when the message changed (every
        change of a bot message is an edit, which the emulator counts)."""
        key = (message.chat_id, message.message_id)
        signature = (message.edited, message.edit_date, message.text, message.caption)
        cached = self._views.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        view = message_view(self.emulator, message)
        self._views[key] = (signature, view)
        return view

    async def _create_user(self, _request: web.Request) -> web.Response:
        user = self.new_user()
        return web.json_response({"id": user.id, "name": user.first_name})

    async def _send(self, request: web.Request) -> web.Response:
        body = await _json(request)
        user = self._user(body.get("user"))
        text = str(body.get("text", ""))
        return await _act(lambda: user.send(text))

    async def _press(self, request: web.Request) -> web.Response:
        """Press a button by its place and label, as the page shows it (the callback data never
        leaves the server)."""
        body = await _json(request)
        user = self._user(body.get("user"))
        message = user.find_message(_int(body.get("message_id")))
        if message is None or message.deleted or not message.from_bot:
            raise web.HTTPBadRequest(text="that message is gone")
        button = _button(message, _int(body.get("row")), _int(body.get("column")))
        if button.get("text") != body.get("text"):
            raise web.HTTPConflict(text="the buttons changed meanwhile: press again")
        if "callback_data" not in button:
            raise web.HTTPBadRequest(text="only callback buttons can be pressed here")
        data = str(button["callback_data"])

        async def press() -> dict[str, Any]:
            answer = await user.press_data(data, message.message_id)
            if answer is None:
                return {"answer": None}
            return {
                "answer": {"text": answer.text, "show_alert": answer.show_alert, "url": answer.url}
            }

        return await _act(press)

    async def _upload(self, request: web.Request) -> web.Response:
        """A file from the page: a picture as a photo, a video or audio as such, else a document
        (a course file, say); the text typed so far is its caption."""
        form = await request.post()
        user = self._user(form.get("user"))
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise web.HTTPBadRequest(text="no file")
        content = upload.file.read()
        name = upload.filename or "file"
        mime = upload.content_type or "application/octet-stream"
        caption = str(form.get("caption") or "") or None
        if image_size(content) is not None:
            return await _act(lambda: user.send_photo(content, caption))
        if mime.startswith("video/"):
            return await _act(
                lambda: user.send_video(content, caption, file_name=name, mime_type=mime)
            )
        if mime.startswith("audio/"):
            return await _act(
                lambda: user.send_audio(content, caption, file_name=name, mime_type=mime)
            )
        return await _act(lambda: user.send_document(name, content, caption, mime))

    async def _file(self, request: web.Request) -> web.StreamResponse:
        try:
            stored = self.emulator.file(request.match_info["file_id"])
        except KeyError:
            raise web.HTTPNotFound() from None
        if stored.content is None:
            raise web.HTTPNotFound()
        headers = {}
        if stored.file_name:
            quoted = stored.file_name.replace('"', "")
            headers["Content-Disposition"] = f'inline; filename="{quoted}"'
        return web.Response(
            body=stored.content,
            content_type=stored.mime_type or "application/octet-stream",
            headers=headers,
        )


def _example_course() -> Path | None:
    """The example course next to the package in a source checkout (``pip install -e .``), else
    in the folder the command runs in (a checkout installed normally)."""
    places = (Path(__file__).resolve().parents[2] / EXAMPLE_COURSE, Path.cwd() / EXAMPLE_COURSE)
    return next((path for path in places if path.is_file()), None)


async def _event(response: web.StreamResponse, name: str, data: Any) -> None:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    await response.write(f"event: {name}\ndata: {payload}\n\n".encode())


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise web.HTTPBadRequest(text=f"expected a number, got {value!r}")


def _button(message: ChatMessage, row: int, column: int) -> dict[str, Any]:
    rows = message.buttons
    if not (0 <= row < len(rows) and 0 <= column < len(rows[row])):
        raise web.HTTPBadRequest(text="that button is gone")
    return rows[row][column]


async def _act(action: Callable[[], Awaitable[Any]]) -> web.Response:
    """Run a user's action until the bot has processed it; what the user could not do (too long
    a text, the bot not answering) is a 400 with the reason."""
    try:
        result = await action()
    except AssertionError as error:
        return web.json_response({"error": str(error)}, status=400)
    return web.json_response(result if isinstance(result, dict) else {"ok": True})


# ------------------------------------------------------------------------------ the command
@contextlib.contextmanager
def _database_url(db: Path | None) -> Iterator[str]:
    """The --db file, or a file in a temporary folder removed at the end."""
    if db is not None:
        yield f"sqlite+aiosqlite:///{db.absolute()}"
        return
    folder = Path(tempfile.mkdtemp(prefix="learnbot-sandbox-"))
    try:
        yield f"sqlite+aiosqlite:///{folder / 'sandbox.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _serve(sandbox: Sandbox, where: str) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await sandbox.start()
        courses = ", ".join(sandbox.imported) or f"none ({sandbox.note})"
        print(
            f"learnbot sandbox: the real bot on a local Telegram emulator, {where}.\n"
            f"Imported courses: {courses}.\n"
            f"Open {sandbox.url} in a browser; Ctrl-C stops it.",
            flush=True,
        )
        await stopping.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await sandbox.stop()


def run_sandbox(
    settings: Settings,
    *,
    port: int = 8080,
    courses: list[Path] | None = None,
    db: Path | None = None,
    host: str = "127.0.0.1",
) -> None:
    """``learnbot sandbox``: serve until Ctrl-C (or SIGTERM), then stop cleanly."""
    for path in courses or []:
        if not path.is_file():
            raise SandboxError(f"no course file {path}")
    if settings.log_level != "DEBUG":  # the page is the interface: keep the terminal quiet
        for name in ("apscheduler", "telegram.ext"):
            logging.getLogger(name).setLevel(logging.WARNING)
    where = f"the database {db}" if db is not None else "a temporary database"
    with _database_url(db) as url:
        sandbox = Sandbox(settings, url, port=port, host=host, courses=courses)
        asyncio.run(_serve(sandbox, where))
    print("learnbot sandbox stopped.", flush=True)

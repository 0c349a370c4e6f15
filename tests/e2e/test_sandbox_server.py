"""``learnbot sandbox`` without a browser: its JSON API and event stream over real HTTP, the
database it prepares, and the command as a process (start, serve, Ctrl-C).

The page itself is tested in a real browser by ``tests/browser``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.cli import main
from bot.emulator.users import SAMPLE_PHOTO
from bot.sandbox.server import CSRF_HEADER, FIRST_NEW_USER, PERSONAS, Sandbox
from bot.settings import Settings
from db.engine import Database
from db.models import Course, Role, User
from tests.browser.conftest import start_sandbox

HEADERS = {CSRF_HEADER: "1"}
SAM, INES, ADA = (persona.telegram_id for persona in PERSONAS)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-basics.yaml"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(
        Settings(_env_file=None), f"sqlite+aiosqlite:///{tmp_path / 'sandbox.db'}", port=0
    )
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()
    assert sandbox.emulator.problems == []


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sandbox.url) as session:
        yield session


class EventStream:
    """The page's side of /api/events: reads server-sent events as they come."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, name: str, timeout: float = 10.0) -> Any:  # noqa: ASYNC109
        """The data of the next event called ``name`` (others are skipped)."""
        async with asyncio.timeout(timeout):
            event, data = None, []
            while True:
                line = (await self.response.content.readline()).decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data.append(line.removeprefix("data: "))
                elif line == "" and event is not None:
                    if event == name:
                        return json.loads("\n".join(data))
                    event, data = None, []

    async def messages_until(self, predicate: Any) -> list[dict[str, Any]]:
        """Message upserts until one matches ``predicate``; all of them."""
        seen: list[dict[str, Any]] = []
        while True:
            change = await self.next("messages")
            seen += change["upsert"]
            if any(predicate(view) for view in change["upsert"]):
                return seen


@contextlib.asynccontextmanager
async def events(http: aiohttp.ClientSession, user: int) -> AsyncIterator[EventStream]:
    async with http.get(f"/api/events?user={user}") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        yield EventStream(response)


async def test_the_sandbox_prepares_the_database_and_serves_the_page(sandbox: Sandbox, http):
    async with http.get("/") as response:
        page = await response.text()
        assert response.status == 200 and "/static/app.js" in page
    for name in ("app.js", "style.css"):
        async with http.get(f"/static/{name}") as response:
            assert response.status == 200
    async with http.get("/api/users") as response:
        users = await response.json()
    assert [(u["name"], u["role"]) for u in users] == [
        ("Sam", "student"),
        ("Ines", "instructor"),
        ("Ada", "admin"),
    ]

    database = Database(sandbox.database_url)
    async with database.session() as session:
        roles = dict((await session.execute(select(User.telegram_id, User.role))).all())
        courses = (await session.execute(select(Course.title, Course.is_published))).all()
    await database.dispose()
    assert roles == {INES: Role.instructor, ADA: Role.admin}  # real before anyone writes
    assert courses == [("Python Basics", True)]
    assert sandbox.imported == ["Python Basics"]


async def test_only_the_page_may_act(http):
    """Another site open in the same browser cannot make a test user send anything."""
    async with http.post("/api/send", json={"user": SAM, "text": "/start"}) as response:
        assert response.status == 403
    async with http.post("/api/send", json={"user": 1, "text": "/start"}, headers=HEADERS) as r:
        assert r.status == 404
    async with http.get("/api/events?user=424242") as response:
        assert response.status == 404
    # a site whose name points at 127.0.0.1 (DNS rebinding) sends its own name
    async with http.get("/api/users", headers={"Host": "evil.example:80"}) as response:
        assert response.status == 421


async def test_a_chat_arrives_live_with_edits_in_place_and_answers(sandbox: Sandbox, http):
    async with events(http, SAM) as stream:
        assert await stream.next("hello") == {"user": SAM, "bot": "learnbot_sandbox_bot"}
        commands = await stream.next("commands")
        assert "courses" in [c["command"] for c in commands]

        async with http.post("/api/send", json={"user": SAM, "text": "/start"}, headers=HEADERS):
            pass
        seen = await stream.messages_until(lambda view: "Hello, Sam" in view["html"])
        mine = next(view for view in seen if not view["from_bot"])
        assert mine["html"] == '<span class="tg-command" data-command="/start">/start</span>'

        async with http.post(
            "/api/send", json={"user": SAM, "text": "/courses"}, headers=HEADERS
        ) as response:
            assert response.status == 200
        seen = await stream.messages_until(lambda view: "Course catalog" in view["html"])
        catalog = seen[-1]
        assert catalog["html"].startswith("<b>📚 Course catalog</b>")
        assert catalog["buttons"] == [[{"text": "Open: Python Basics", "kind": "callback"}]]
        assert "callback_data" not in json.dumps(catalog)  # the data stays on the server

        press = {"user": SAM, "message_id": catalog["id"], "row": 0, "column": 0, "text": "Open"}
        async with http.post("/api/press", json=press, headers=HEADERS) as response:
            assert response.status == 409  # not the label the page shows there: not pressed
        press["text"] = "Open: Python Basics"
        async with http.post("/api/press", json=press, headers=HEADERS) as response:
            answer = (await response.json())["answer"]  # answered, without a text
        assert answer == {"text": None, "show_alert": False, "url": None}
        card = (await stream.next("messages"))["upsert"][0]
        assert (card["id"], card["edited"]) == (catalog["id"], 1)
        assert "Lessons: 6" in card["html"]

        enroll = {"user": SAM, "message_id": card["id"], "row": 0, "column": 0, "text": "📝 Enroll"}
        async with http.post("/api/press", json=enroll, headers=HEADERS) as response:
            answer = (await response.json())["answer"]
        assert answer == {"text": "You are enrolled! 🎉", "show_alert": False, "url": None}

        gone = {"user": SAM, "message_id": card["id"], "row": 9, "column": 0, "text": "x"}
        async with http.post("/api/press", json=gone, headers=HEADERS) as response:
            assert response.status == 400 and "gone" in await response.text()
    assert sandbox.emulator.refused == []


async def test_a_refused_request_reaches_every_page(sandbox: Sandbox, http):
    async with events(http, INES) as stream:
        await stream.next("hello")
        url = f"{sandbox.emulator.base_url}{sandbox.emulator.token}/sendMessage"
        async with (
            aiohttp.ClientSession() as bot,
            bot.post(url, data={"chat_id": str(SAM), "text": "hi"}) as response,
        ):
            assert response.status == 400  # Sam has not started the bot: "chat not found"
        (refused,) = await stream.next("refused")
        assert refused == {
            "number": 1,
            "method": "sendMessage",
            "error_code": 400,
            "description": "Bad Request: chat not found",
            "chat": "Sam",
            "detail": "hi",
        }


async def test_a_course_file_and_a_picture_sent_from_the_page(sandbox: Sandbox, http):
    async with events(http, INES) as stream:
        form = aiohttp.FormData()
        form.add_field("user", str(INES))
        form.add_field("caption", "")
        form.add_field(
            "file",
            EXAMPLE.read_bytes(),
            filename="python-basics.yaml",
            content_type="application/x-yaml",
        )
        async with http.post("/api/upload", data=form, headers=HEADERS) as response:
            assert response.status == 200, await response.text()
        seen = await stream.messages_until(lambda view: view["from_bot"])
        document = next(view for view in seen if not view["from_bot"])
        media = document["media"]
        assert (media["kind"], media["file_name"]) == ("document", "python-basics.yaml")
        async with http.get(media["url"]) as response:
            assert await response.read() == EXAMPLE.read_bytes()
        assert "Python Basics" in seen[-1]["html"]  # the bot made a draft of it

        form = aiohttp.FormData()
        form.add_field("user", str(INES))
        form.add_field("caption", "A <chart>")
        form.add_field("file", SAMPLE_PHOTO, filename="chart.png", content_type="image/png")
        async with http.post("/api/upload", data=form, headers=HEADERS) as response:
            assert response.status == 200
        seen = await stream.messages_until(lambda view: view["from_bot"])
        photo = next(view for view in seen if not view["from_bot"])
        assert photo["media"]["kind"] == "photo" and photo["html"] == "A &lt;chart&gt;"
    assert sandbox.emulator.refused == []


async def test_a_new_user_gets_a_chat_of_their_own(sandbox: Sandbox, http):
    async with http.post("/api/users", headers=HEADERS) as response:
        created = await response.json()
    assert created == {"id": FIRST_NEW_USER, "name": "Student 2"}
    async with http.post(
        "/api/send", json={"user": FIRST_NEW_USER, "text": "/start"}, headers=HEADERS
    ) as response:
        assert response.status == 200
    assert "Hello, Student 2" in sandbox.emulator.users[FIRST_NEW_USER].last.text
    assert sandbox.emulator.users[SAM].messages == []
    async with http.post(
        "/api/send", json={"user": FIRST_NEW_USER, "text": "x" * 4097}, headers=HEADERS
    ) as response:
        assert response.status == 400  # what a Telegram client would not send
        assert "at most 4096" in (await response.json())["error"]


# ------------------------------------------------------------------------------ the command
@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_a_missing_course_file_or_a_busy_port_is_one_line(
    clean_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert main(["sandbox", "--course", "nowhere.yaml"]) == 1
    assert capsys.readouterr().err == "error: no course file nowhere.yaml\n"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["sandbox", "--port", str(port), "--db", str(tmp_path / "s.db")])
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use): "
        "choose another port with --port\n"
    )


async def test_learnbot_sandbox_needs_no_token_and_stops_on_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A fresh folder, no .env, no token: it imports the example course into a temporary
    database, serves, and on Ctrl-C stops and removes that database."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    process = await start_sandbox(tmp_path, "--port", "0")
    try:
        assert "Imported courses: Python Basics." in process.log
        async with aiohttp.ClientSession(base_url=process.url) as http:
            async with http.post(
                "/api/send", json={"user": SAM, "text": "/start"}, headers=HEADERS
            ) as response:
                assert response.status == 200
            assert list(scratch.iterdir()) != []  # the temporary database
    finally:
        code = await process.stop()
    assert code == 0, process.log
    assert process.log.endswith("learnbot sandbox stopped.\n"), process.log
    assert list(scratch.iterdir()) == [], "the temporary database is removed"

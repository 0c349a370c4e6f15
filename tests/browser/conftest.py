"""``learnbot sandbox`` as a real process, and a headless Chromium (the system's, driven by
Playwright) to use its page as a person would.

The browser tests skip, saying why, when Playwright or a Chromium is missing, unless
``LEARNBOT_BROWSER_REQUIRED=1`` (``.ci/run`` sets it once it has a working Chromium; when it
cannot install one it warns instead). ``LEARNBOT_CHROMIUM`` names another browser to use.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.settings import Settings

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-basics.yaml"
URL_LINE = re.compile(r"Open (http://127\.0\.0\.1:\d+/) in a browser")


def chromium_path() -> str | None:
    configured = os.environ.get("LEARNBOT_CHROMIUM")
    if configured:
        return configured
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SandboxProcess:
    process: asyncio.subprocess.Process
    url: str
    output: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def stop(self) -> int:
        """Ctrl-C, as a person stops it; the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(self.process.wait(), timeout=30)
        if self.reader is not None:
            await asyncio.wait_for(self.reader, timeout=5)
        return code

    @property
    def log(self) -> str:
        return "".join(self.output)


async def start_sandbox(cwd: Path, *args: str) -> SandboxProcess:
    """The installed console script, in a folder without a .env and with none of the caller's
    learnbot settings: it needs no token and no network."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("learnbot")),
        "sandbox",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output: list[str] = []
    url = None
    async with asyncio.timeout(60):
        while url is None:
            line = (await process.stdout.readline()).decode()
            if not line:
                await process.wait()
                raise AssertionError(f"learnbot sandbox exited early:\n{''.join(output)}")
            output.append(line)
            if match := URL_LINE.search(line):
                url = match.group(1)

    async def drain() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            output.append(line.decode())

    sandbox = SandboxProcess(process, url, output)
    sandbox.reader = asyncio.create_task(drain())
    return sandbox


@pytest.fixture
async def sandbox_process(tmp_path: Path) -> AsyncIterator[SandboxProcess]:
    """``learnbot sandbox`` on a free port with its database in tmp, with the example course and
    a small course of every formatting and media the page must show."""
    course = tmp_path / "showcase.yaml"
    course.write_text(SHOWCASE_COURSE, encoding="utf-8")
    sandbox = await start_sandbox(
        tmp_path,
        "--port",
        str(free_port()),
        "--db",
        str(tmp_path / "sandbox.db"),
        "--course",
        str(EXAMPLE),
        str(course),
    )
    try:
        yield sandbox
    finally:
        if sandbox.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                sandbox.process.kill()
            await sandbox.process.wait()


def no_browser(reason: str) -> None:
    if os.environ.get("LEARNBOT_BROWSER_REQUIRED") == "1":
        pytest.fail(f"{reason} (LEARNBOT_BROWSER_REQUIRED=1)")
    pytest.skip(reason)


@pytest.fixture
async def browser_page() -> AsyncIterator[object]:
    """A phone-sized page in the system's headless Chromium."""
    try:
        playwright_api = importlib.import_module("playwright.async_api")
    except ImportError:
        no_browser("Playwright is not installed (the test extra has it)")
    executable = chromium_path()
    if executable is None:
        no_browser("no Chromium here: apt-get install chromium (or set LEARNBOT_CHROMIUM)")
    async with playwright_api.async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(executable_path=executable)
        except playwright_api.Error as error:
            no_browser(f"Chromium at {executable} does not start: {error.message.splitlines()[0]}")
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 760}, device_scale_factor=1, locale="en-GB"
            )
            page = await context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on(
                "console",
                lambda message: (
                    problems.append(f"console {message.type}: {message.text}")
                    if message.type == "error"
                    else None
                ),
            )
            yield page
            assert problems == [], problems
        finally:
            await browser.close()


SHOWCASE_COURSE = """\
title: Sandbox showcase
description: Every kind of formatting, and media the sandbox has no file for.
category: Testing
published: true
lessons:
  - title: Formatting
    content: |
      <b>bold</b>, <i>italic</i>, <u>underline</u>, <s>strikethrough</s>, \
<tg-spoiler>a secret</tg-spoiler>, <a href="https://example.com/docs">a link</a> and \
<code>code</code>.

      <pre><code class="language-python">print("&lt;b&gt; stays text")</code></pre>

      <blockquote>A quote.</blockquote>
    media: {kind: photo, file_id: "https://example.com/diagram.png"}
  - title: A file from real Telegram
    content: This lesson's file id comes from real Telegram; the emulator does not know it.
    media: {kind: document, file_id: "BQACAgIAAxkBAAIBfakeTelegramFileId"}
"""

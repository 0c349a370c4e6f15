"""The bots of ``bench_load``, each in a process of its own: a bare PTB echo bot and learnbot.

The emulator and the simulated users stay in the benchmark's process. A bot runs in a spawned
child process (its own interpreter and GIL, and its own CPU clock) and reports each update it has
processed over a pipe, from a last-group marker handler as in the end-to-end harness; the parent
hands the report to ``emulator.mark_processed``, so a test user's ``send``/``press`` returns once
the bot is done with the update. The parent also asks the bot for its CPU time
(``time.process_time``: every thread of the process, so aiosqlite's and argon2's worker threads
count), pauses and resumes its polling between rounds (both bots share one emulator, and only
one polls at a time), and stops it.

learnbot is started exactly as ``tests/e2e/conftest.py``'s ``BotHarness`` starts it
(``build_application(settings, database, paced=False)``, long polling with the same arguments);
with ``watch`` it also counts SQL statements per update with ``tests/e2e/watch.py``'s ``BotWatch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import logging
import multiprocessing
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

ECHO = "echo"
LEARNBOT = "learnbot"
ECHO_BUTTON = "Echo"  # the one button of every echo reply
POLLING = {"poll_interval": 0, "timeout": 1}  # as BotHarness polls


@dataclass(frozen=True)
class BotSpec:
    kind: str  # ECHO or LEARNBOT
    token: str
    base_url: str
    base_file_url: str
    database_url: str = ""  # learnbot's store
    watch: bool = False  # learnbot: count SQL statements per update (BotWatch)
    profile: str = ""  # a file for cProfile's figures of the event loop's thread while polling


# -- the child process ---------------------------------------------------------------------------


class _EchoBot:
    """The least a bot can do with an update that gets one reply: a message is answered with its
    text, a button press is answered and its message edited; each reply carries one button."""

    def __init__(self, spec: BotSpec, mark: Callable[[int], None]) -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
        from telegram.ext import (
            Application,
            CallbackQueryHandler,
            ContextTypes,
            MessageHandler,
            TypeHandler,
            filters,
        )

        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(ECHO_BUTTON, callback_data="e")]])

        async def on_message(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.message
            assert message is not None and message.text is not None
            await message.reply_text(message.text, reply_markup=keyboard)

        async def on_button(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            query = update.callback_query
            assert query is not None
            await query.answer()
            await query.edit_message_text(f"Pressed ({query.id})", reply_markup=keyboard)

        async def processed(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            mark(update.update_id)

        application = (
            Application.builder()
            .token(spec.token)
            .base_url(spec.base_url)
            .base_file_url(spec.base_file_url)
            .build()
        )
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, on_message)
        )
        application.add_handler(CallbackQueryHandler(on_button))
        application.add_handler(TypeHandler(Update, processed), group=999)
        self.application = application

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()

    async def resume(self) -> None:
        from bot.app import ALLOWED_UPDATES

        assert self.application.updater is not None
        await self.application.updater.start_polling(**POLLING, allowed_updates=ALLOWED_UPDATES)

    async def pause(self) -> None:
        assert self.application.updater is not None
        if self.application.updater.running:
            await self.application.updater.stop()

    async def stop(self) -> None:
        await self.pause()
        await self.application.stop()
        await self.application.shutdown()

    def stats(self) -> dict[str, Any]:
        return {}


class _Learnbot:
    """learnbot as ``BotHarness`` runs it; this object stands in for the emulator there (it has
    the URLs, and ``mark_processed`` reports to the parent)."""

    def __init__(self, spec: BotSpec, mark: Callable[[int], None]) -> None:
        self.spec = spec
        self.base_url = spec.base_url
        self.base_file_url = spec.base_file_url
        self.mark_processed = mark
        self._monkeypatch: Any = None
        self.watch: Any = None

    async def start(self) -> None:
        from db.engine import Database
        from tests.e2e.conftest import BotHarness, emulator_settings

        if self.spec.watch:
            import pytest

            from tests.e2e.watch import BotWatch

            self._monkeypatch = pytest.MonkeyPatch()
            self.watch = BotWatch(self._monkeypatch)
        settings = emulator_settings(self, self.spec.database_url)  # type: ignore[arg-type]
        self.harness = BotHarness(
            self,  # type: ignore[arg-type]
            settings,
            Database(self.spec.database_url),
            paced=False,
            watch=self.watch,
        )
        await self.harness.start()
        await self.pause()

    @property
    def _updater(self) -> Any:
        assert self.harness.application is not None
        return self.harness.application.updater

    async def resume(self) -> None:
        from bot.app import ALLOWED_UPDATES

        await self._updater.start_polling(**POLLING, allowed_updates=ALLOWED_UPDATES)

    async def pause(self) -> None:
        if self._updater.running:
            await self._updater.stop()

    async def stop(self) -> None:
        if not self._updater.running:  # BotHarness.stop stops a polling bot
            await self.resume()
        await self.harness.stop()
        await self.harness.database.dispose()
        if self._monkeypatch is not None:
            self._monkeypatch.undo()

    def stats(self) -> dict[str, Any]:
        if self.watch is None:
            return {}
        return {
            "statements": dict(self.watch.statements),
            "kinds": dict(self.watch.kinds),
            "calls_in_transaction": list(self.watch.calls_in_transaction),
        }


class _BriefLog(logging.Formatter):
    """A log record in two lines at most: a failing bot under load logs the same error hundreds
    of times, and the benchmark's figures must stay readable."""

    def formatException(self, ei: Any) -> str:
        return "  " + "".join(traceback.format_exception_only(ei[0], ei[1])).strip()[:300]


class _FirstFew(logging.Filter):
    """Only the first three records of each kind (logger, message, exception type)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[tuple[str, str, str]] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        kind = (record.name, str(record.msg), error)
        self.seen[kind] += 1
        if self.seen[kind] == 4:
            record.msg = f"{record.msg} (and more like it, not shown)"
        return self.seen[kind] <= 4


def _child(spec: BotSpec, conn: Connection) -> None:
    """The bot process: import, wait for ``start`` (the store may not be ready before), then
    serve the parent's commands until ``stop``."""
    handler = logging.StreamHandler()
    handler.setFormatter(_BriefLog(f"{spec.kind} bot: %(name)s: %(message)s"))
    handler.addFilter(_FirstFew())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    try:
        import telegram.ext  # noqa: F401  (the slow imports, while the parent prepares the store)

        import bot.app  # noqa: F401
        import tests.e2e.conftest  # noqa: F401

        conn.send(("loaded",))
        if conn.recv() != "start":  # stopped before it started
            conn.send(("stopped",))
            return
        asyncio.run(_serve(spec, conn))
    except BaseException:
        with contextlib.suppress(OSError):
            conn.send(("error", traceback.format_exc()))
        raise


async def _serve(spec: BotSpec, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    processed = 0

    def mark(update_id: int) -> None:
        nonlocal processed
        processed += 1
        conn.send(("processed", update_id))

    bot: _EchoBot | _Learnbot = (_EchoBot if spec.kind == ECHO else _Learnbot)(spec, mark)
    await bot.start()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def readable() -> None:
        try:
            while conn.poll():
                commands.put_nowait(conn.recv())
        except EOFError:  # the parent is gone
            loop.remove_reader(conn.fileno())
            commands.put_nowait("stop")

    loop.add_reader(conn.fileno(), readable)
    profiler = cProfile.Profile() if spec.profile else None
    conn.send(("ready",))
    while True:
        command = await commands.get()
        if command == "cpu":
            conn.send(("cpu", time.process_time(), processed))
        elif command == "resume":
            await bot.resume()
            if profiler is not None:
                profiler.enable()
            conn.send(("resumed",))
        elif command == "pause":
            if profiler is not None:
                profiler.disable()
            await bot.pause()
            conn.send(("paused",))
        elif command == "stats":
            conn.send(("stats", bot.stats()))
        elif command == "stop":
            await bot.stop()
            if profiler is not None:
                profiler.dump_stats(spec.profile)
            with contextlib.suppress(OSError):
                conn.send(("stopped",))
            return


# -- the parent's handle -------------------------------------------------------------------------


class BotProcess:
    """A bot in its own process, polling ``emulator`` while resumed."""

    def __init__(self, spec: BotSpec, emulator: Any) -> None:
        self.spec = spec
        self.emulator = emulator
        self._replies: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self._conn: Connection | None = None
        self._process: Any = None

    @property
    def kind(self) -> str:
        return self.spec.kind

    def launch(self) -> None:
        """Spawn the process, which imports what it needs and waits for :meth:`start`."""
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_child, args=(self.spec, child_conn), name=f"{self.kind}-bot", daemon=True
        )
        self._process.start()
        child_conn.close()
        asyncio.get_running_loop().add_reader(self._conn.fileno(), self._readable)

    async def start(self) -> None:
        """Start the bot (launching the process first if need be); it does not poll yet."""
        if self._conn is None:
            self.launch()
        await self._reply("loaded", timeout=120)
        assert self._conn is not None
        self._conn.send("start")
        await self._reply("ready", timeout=120)

    def _readable(self) -> None:
        assert self._conn is not None
        try:
            while self._conn.poll():
                message = self._conn.recv()
                if message[0] == "processed":
                    self.emulator.mark_processed(message[1])
                else:
                    self._replies.put_nowait(message)
        except EOFError:
            asyncio.get_running_loop().remove_reader(self._conn.fileno())
            self._replies.put_nowait(("gone",))

    async def _reply(self, expected: str, timeout: float = 60) -> tuple[Any, ...]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            reply = await self._replies.get()
        if reply[0] != expected:
            detail = reply[1] if reply[0] == "error" else reply
            raise RuntimeError(f"the {self.kind} bot process failed:\n{detail}")
        return reply

    async def _ask(self, command: str) -> tuple[Any, ...]:
        assert self._conn is not None
        self._conn.send(command)
        return await self._reply({"cpu": "cpu", "stats": "stats"}.get(command, command + "d"))

    async def cpu(self) -> tuple[float, int]:
        """The process's CPU seconds so far, and how many updates it has processed."""
        _, seconds, processed = await self._ask("cpu")
        return seconds, processed

    async def resume(self) -> None:
        await self._ask("resume")

    async def pause(self) -> None:
        await self._ask("pause")

    async def stats(self) -> dict[str, Any]:
        """learnbot with ``watch``: ``statements`` and ``kinds`` per update id (BotWatch)."""
        return (await self._ask("stats"))[1]

    async def stop(self) -> None:
        """Stop the bot and end its process, whatever state they are in."""
        if self._conn is None:
            return
        try:
            if self._process.is_alive():
                self._conn.send("stop")
                await self._reply("stopped", timeout=30)
        except (OSError, RuntimeError, TimeoutError) as error:
            print(f"the {self.kind} bot did not stop cleanly: {error!r}", flush=True)
        finally:
            asyncio.get_running_loop().remove_reader(self._conn.fileno())
            self._conn.close()
            self._conn = None
            await asyncio.to_thread(self._process.join, 10)
            if self._process.is_alive():
                self._process.kill()

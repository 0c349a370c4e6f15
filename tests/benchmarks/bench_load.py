"""Benchmark: learnbot under load, side by side with a bare PTB echo bot on the same emulator.

Run: ``python -m tests.benchmarks.bench_load [--quick] [--postgres-url URL]`` (``--help`` lists
the sizes). It prints figures; it asserts nothing. Each bot runs in a process of its own
(``loadbots.py``: its own GIL and CPU clock); the emulator and the simulated users run in this
one. The two bots poll the same emulator in turn, alternating round by round (echo first, then
learnbot first); throughput and CPU are medians of the rounds, latency percentiles are taken over
every round's samples.

- **Latency** of an action: from the user's send or press until the bot has processed the update
  (its last-group marker ran) *and* the user sees the reply (a send or an edit in that chat).
- **Bot CPU per update**: the bot process's CPU time (``time.process_time``, all its threads)
  over a round, divided by the updates it processed; "emulator + users" is the same for this
  process, to show whether the load generator kept up.
- The echo bot answers a message with one message, and a button press with an answer and an
  edit; its users send the same messages and press as many buttons, in the same order.

Scenarios (``--scenarios``): ``commands`` (one-reply commands, every user's at once: open loop),
``solo`` (the journey below and the commands, one user at a time), ``journeys`` (new students
take a course with a quiz, each action as soon as the last was answered: closed loop, at each
``--students`` count), ``slow`` (students on the journey while one more user enters wrong
enrollment keys — argon2, ~0.4 s each — or is answered late by the server), ``statements``
(learnbot's SQL statements per kind of update, counted by ``tests/e2e/watch.py``).
``--profile`` runs learnbot under cProfile and prints where its event loop spends its time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import pstats
import shutil
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import telegram
from sqlalchemy import text

from bot.emulator import BotApiEmulator
from bot.emulator.users import TestUser
from bot.migrate import upgrade
from db.accounts import raise_role
from db.authoring import (
    CourseDraft,
    LessonDraft,
    OptionDraft,
    QuestionDraft,
    QuizDraft,
    create_course,
)
from db.engine import Database
from db.models import Base, QuestionType, Role
from tests.benchmarks.loadbots import ECHO, ECHO_BUTTON, LEARNBOT, BotProcess, BotSpec
from tests.e2e.conftest import TEACHER_ID, TOKEN  # learnbot's settings carry this token

TITLES = ("Algebra", "Biology", "Chemistry")
KEYED_TITLE = "Secret Club"
KEY = "the-right-key"
WRONG_GUESSES = 5  # per account: learnbot locks an account out of a course after 5 wrong keys
REPLY_TIMEOUT = 300.0  # seconds a user waits for the bot to process an update (200 queue)
REPLY_GRACE = 30.0  # seconds a user waits, once the update is processed, for the reply to show
COMMANDS = ("/courses", "/progress", "/mycourses", "/help")
VISIBLE = ("send", "edit", "delete", "copy", "forward")  # requests that change what a user sees

# Targets of the issue "Fast under load": learnbot against the echo bot, in the same run.
COMMANDS_THROUGHPUT = 0.6
JOURNEY_THROUGHPUT = 0.4
JOURNEY_P95 = 2.0
SOLO_P95 = 3.0


# -- what users do -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: str  # its row in the latency tables
    text: str  # what the user sends, or the label of the button they press (learnbot)
    press: bool = False


def journey(title: str) -> list[Action]:
    """A new student: the catalog, a course card, Enroll, two lessons, a two-question quiz."""
    reading = [Action("Complete", "Complete", True), Action("Next lesson", "Next lesson", True)]
    return [
        Action("/courses", "/courses"),
        Action("open card", title, True),
        Action("Enroll", "Enroll", True),
        Action("Continue", "Continue", True),
        *reading,
        *reading,
        Action("quiz intro", "Start quiz", True),
        Action("quiz start", "Start quiz", True),
        Action("quiz answer", "x = 4", True),
        Action("quiz toggle", "my_var", True),
        Action("quiz toggle", "_x", True),
        Action("quiz submit", "Submit", True),
        Action("/mycourses", "/mycourses"),
        Action("/progress", "/progress"),
    ]


JOURNEY_LENGTH = len(journey(TITLES[0]))


def key_guesses(course_id: int) -> list[Action]:
    """A new account asks for the keyed course and guesses its key wrong until locked out."""
    return [
        Action("key: card", f"/start course-{course_id}"),
        Action("key: Enroll", "Enroll", True),
        *(Action("key: wrong key", f"open sesame {n}") for n in range(WRONG_GUESSES)),
    ]


def course_draft(title: str) -> CourseDraft:
    quiz = QuizDraft(
        "Check yourself",
        passing_score=100,
        max_attempts=3,
        questions=[
            QuestionDraft(
                "Which line assigns 4 to x?",
                QuestionType.single_choice,
                [OptionDraft("x == 4"), OptionDraft("x = 4", True)],
                "One = assigns, two compare.",
            ),
            QuestionDraft(
                "Pick the valid names",
                QuestionType.multiple_choice,
                [OptionDraft("my_var", True), OptionDraft("2var"), OptionDraft("_x", True)],
            ),
        ],
    )
    paragraph = "A lesson of a few paragraphs, with <b>bold</b> and <i>italic</i> words. " * 6
    return CourseDraft(
        title,
        description=f"All about {title.lower()}.",
        category="Science",
        duration_minutes=60,
        published=True,
        lessons=[
            LessonDraft("Reading 1", paragraph),
            LessonDraft("Reading 2", paragraph),
            LessonDraft("Quiz time", "Time for a quiz.", quiz=quiz),
        ],
    )


# -- the store -----------------------------------------------------------------------------------


async def prepare_store(url: str) -> dict[str, int]:
    """An empty, migrated store (PostgreSQL wiped as tests/conftest.py does) with the courses;
    returns their ids by title."""
    if not url.startswith("sqlite"):
        database = Database(url)
        async with database.engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await database.dispose()
    await upgrade(url)
    database = Database(url)
    ids = {}
    async with database.session() as session:
        owner, _ = await raise_role(session, TEACHER_ID, Role.instructor)
        for title in TITLES:
            ids[title] = (await create_course(session, owner, course_draft(title))).id
        keyed = course_draft(KEYED_TITLE)
        keyed.enrollment_key = KEY
        ids[KEYED_TITLE] = (await create_course(session, owner, keyed)).id
    await database.dispose()
    return ids


# -- measuring -----------------------------------------------------------------------------------


class Replies:
    """Watches the emulator: the bot's requests, and per chat its successful sends and edits
    (what the user sees), so that an action ends when its reply is visible."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.requests = 0
        self.visible: Counter[int] = Counter()
        self._waiting: dict[int, asyncio.Event] = {}
        self.stop = emulator.observe(self._seen)

    def _seen(self, kind: str, record: Any) -> None:
        if kind != "request":
            return
        self.requests += 1
        chat_id = record.params.get("chat_id")
        if record.ok and record.method.startswith(VISIBLE) and isinstance(chat_id, int):
            self.visible[chat_id] += 1
            event = self._waiting.pop(chat_id, None)
            if event is not None:
                event.set()

    async def wait(self, user: TestUser, seen: int) -> None:
        """Until the chat changed beyond ``seen`` (TimeoutError after ``REPLY_GRACE``)."""
        async with asyncio.timeout(REPLY_GRACE):
            while self.visible[user.id] <= seen:
                await self._waiting.setdefault(user.id, asyncio.Event()).wait()


@dataclass
class Samples:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    actions: int = 0  # that succeeded
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def fail(self, name: str, why: str) -> None:
        self.failures[name] += 1
        if len(self.examples) < 3:
            self.examples.append(why)


@dataclass
class Round:
    seconds: float
    actions: int
    bot_cpu: float  # seconds
    bot_updates: int
    load_cpu: float
    requests: int  # Bot API requests other than getUpdates
    samples: Samples
    extra: dict[str, Samples] = field(default_factory=dict)


class Side:
    """One bot as its users see it."""

    def __init__(self, bot: BotProcess, replies: Replies, emulator: BotApiEmulator, first: int):
        self.bot = bot
        self.replies = replies
        self.emulator = emulator
        self._ids = itertools.count(first)
        self.warnings: list[str] = []

    @property
    def kind(self) -> str:
        return self.bot.kind

    def new_user(self, name: str) -> TestUser:
        return self.emulator.user(next(self._ids), name)

    async def act(self, user: TestUser, action: Action, samples: Samples | None) -> bool:
        """Send or press, and wait until the bot processed it and its reply is visible.

        An action fails (False, counted, the run goes on) when its button is missing, the bot
        does not process it within ``REPLY_TIMEOUT``, or no reply shows within ``REPLY_GRACE``
        after (an error alert alone is no reply: the journey cannot go on from it).
        """
        seen = self.replies.visible[user.id]
        requests = self.replies.requests
        start = time.perf_counter()
        answer = None
        try:
            if action.press:
                answer = await user.press(action.text if self.kind == LEARNBOT else ECHO_BUTTON)
            else:
                await user.send(action.text)
            if self.replies.visible[user.id] <= seen:
                await self.replies.wait(user, seen)
        except (AssertionError, TimeoutError) as error:
            why = str(error).splitlines()[0] if str(error) else "no reply after processing"
            if answer is not None and answer.text:
                why += f" (the bot answered {answer.text!r})"
            why = f"{action.text!r} from {user!r}: {why}"
            if samples is not None:
                samples.fail(action.name, why)
            else:
                self.warnings.append(f"{self.kind}, unmeasured: {why}")
            return False
        if samples is not None:
            samples.latency[action.name].append(time.perf_counter() - start)
            samples.calls[action.name].append(self.replies.requests - requests)
            samples.actions += 1
        return True

    async def run(self, user: TestUser, actions: Iterable[Action], samples: Samples | None) -> None:
        """The actions in order; a failed one ends the run (what came next needs its reply)."""
        for action in actions:
            if not await self.act(user, action, samples):
                return

    async def measured(self, work: Callable[[Samples], Awaitable[float | None]]) -> Round:
        """One round of ``work`` with the bot polling; ``work`` may return its own duration
        (when it waits for stragglers that are not part of the figure)."""
        await self.bot.resume()
        cpu, updates = await self.bot.cpu()
        load, requests = time.process_time(), self.replies.requests
        samples = Samples()
        start = time.perf_counter()
        seconds = await work(samples)
        elapsed = time.perf_counter() - start
        end_cpu, end_updates = await self.bot.cpu()
        result = Round(
            seconds=elapsed if seconds is None else seconds,
            actions=samples.actions,
            bot_cpu=end_cpu - cpu,
            bot_updates=end_updates - updates,
            load_cpu=time.process_time() - load,
            requests=self.replies.requests - requests,
            samples=samples,
        )
        await self.bot.pause()
        self.check_emulator()
        return result

    def check_emulator(self) -> None:
        """Keep what the real server would have refused (a benchmark of wrong answers is
        worthless), then forget the round's records."""
        emulator = self.emulator
        for record in emulator.refused[:3]:
            self.warnings.append(f"{self.kind}: the emulator refused {record}")
        self.warnings.extend(f"{self.kind}: {problem}" for problem in emulator.problems[:3])
        emulator.reset_records()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1), interpolated between the closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def pooled(rounds: list[Round], extra: str | None = None) -> Samples:
    merged = Samples()
    for result in rounds:
        samples = result.samples if extra is None else result.extra[extra]
        for name, values in samples.latency.items():
            merged.latency[name].extend(values)
        for name, counts in samples.calls.items():
            merged.calls[name].extend(counts)
        merged.actions += samples.actions
        merged.failures.update(samples.failures)
        merged.examples.extend(samples.examples[: 3 - len(merged.examples)])
    return merged


def every_latency(samples: Samples) -> list[float]:
    return [value for values in samples.latency.values() for value in values]


# -- the scenarios -------------------------------------------------------------------------------


@dataclass
class Setup:
    course_ids: dict[str, int]
    command_users: int
    students: list[int]
    solo_journeys: int
    solo_commands: int
    slow_students: int
    slow_seconds: float


async def warm_up(side: Side, setup: Setup) -> list[TestUser]:
    """Users for the commands (each has an account and one enrollment), and two journeys to fill
    the bot's caches; none of it is measured."""
    users = [side.new_user(f"Reader {n}") for n in range(setup.command_users)]
    course = setup.course_ids[TITLES[0]]
    await side.bot.resume()
    await asyncio.gather(
        *(
            side.run(
                user, [Action("", f"/start course-{course}"), Action("", "Enroll", True)], None
            )
            for user in users
        )
    )
    for n in range(2):
        await side.run(side.new_user("Warm"), journey(TITLES[n % len(TITLES)]), None)
    await side.bot.pause()
    side.check_emulator()
    return users


async def commands_round(side: Side, users: list[TestUser]) -> Round:
    """Open loop: every user sends each one-reply command at once."""

    async def work(samples: Samples) -> None:
        await asyncio.gather(
            *(side.act(user, Action(c, c), samples) for c in COMMANDS for user in users)
        )

    return await side.measured(work)


async def journeys_round(side: Side, students: int) -> Round:
    """Closed loop: ``students`` new students at once, each taking the whole journey."""

    async def work(samples: Samples) -> None:
        await asyncio.gather(
            *(
                side.run(side.new_user(f"Student {n}"), journey(TITLES[n % len(TITLES)]), samples)
                for n in range(students)
            )
        )

    return await side.measured(work)


async def solo_round(side: Side, setup: Setup, reader: TestUser) -> Round:
    """One user at a time: whole journeys, then each command a few times."""

    async def work(samples: Samples) -> None:
        for n in range(setup.solo_journeys):
            await side.run(side.new_user(f"Solo {n}"), journey(TITLES[n % len(TITLES)]), samples)
        for _ in range(setup.solo_commands):
            await side.run(reader, [Action(c, c) for c in COMMANDS], samples)

    return await side.measured(work)


async def slow_round(side: Side, setup: Setup, disturbance: str) -> Round:
    """``slow_students`` on the journey (closed loop) while one user disturbs: ``none``,
    ``keys`` (wrong enrollment keys, a new account every five), ``server`` (the emulator answers
    that user's chat ``slow_seconds`` late; they send one-reply commands)."""
    done = asyncio.Event()
    disturber = Samples()

    async def disturb() -> None:
        if disturbance == "keys":
            while True:
                user = side.new_user("Guesser")
                for action in key_guesses(setup.course_ids[KEYED_TITLE]):
                    if done.is_set():
                        return
                    if not await side.act(user, action, disturber):
                        break
        elif disturbance == "server":
            user = side.new_user("Far away")
            stop = side.emulator.delay_answers(setup.slow_seconds, chat_id=user.id)
            try:
                for command in itertools.cycle(COMMANDS):
                    if done.is_set():
                        return
                    await side.act(user, Action(f"slow chat: {command}", command), disturber)
            finally:
                stop()

    async def work(samples: Samples) -> float:
        disturbing = asyncio.create_task(disturb())
        start = time.perf_counter()
        await asyncio.gather(
            *(
                side.run(side.new_user(f"Other {n}"), journey(TITLES[n % len(TITLES)]), samples)
                for n in range(setup.slow_students)
            )
        )
        seconds = time.perf_counter() - start
        done.set()
        await disturbing
        return seconds

    result = await side.measured(work)
    result.extra["disturber"] = disturber
    return result


async def statement_counts(side: Side, setup: Setup) -> dict[str, Any]:
    """learnbot with BotWatch: one journey, the commands, and a wrong key, one at a time."""
    await side.bot.resume()
    await side.run(side.new_user("Counted"), journey(TITLES[0]), None)
    await side.run(side.new_user("Counted reader"), [Action(c, c) for c in COMMANDS], None)
    guesses = key_guesses(setup.course_ids[KEYED_TITLE])[:3]
    await side.run(side.new_user("Counted guesser"), guesses, None)
    await side.bot.pause()
    side.check_emulator()
    return await side.bot.stats()


# -- running -------------------------------------------------------------------------------------


@dataclass
class Results:
    backend: str
    rounds: dict[tuple[str, str], list[Round]] = field(default_factory=lambda: defaultdict(list))
    statements: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


async def run_backend(
    backend: str, url: str, setup: Setup, args: argparse.Namespace, profile: str = ""
) -> Results:
    """Every scenario on one store, the two bots alternating round by round; with ``profile``,
    learnbot's event loop is profiled into that file while it polls."""
    results = Results(backend)
    async with BotApiEmulator(token=TOKEN) as emulator:
        emulator.update_timeout = REPLY_TIMEOUT
        replies = Replies(emulator)
        urls = (TOKEN, emulator.base_url, emulator.base_file_url, url)
        specs = [BotSpec(ECHO, *urls), BotSpec(LEARNBOT, *urls, profile=profile)]
        if "statements" in args.scenarios:
            specs.append(BotSpec(LEARNBOT, *urls, watch=True))
        bots = [BotProcess(spec, emulator) for spec in specs]
        try:
            for bot in bots:
                bot.launch()
            setup.course_ids = await prepare_store(url)
            progress(f"{backend}: the store is migrated and has its courses")
            await asyncio.gather(*(bot.start() for bot in bots))
            progress(f"{backend}: {len(bots)} bot processes started")
            echo, learnbot, *watched = (
                Side(bot, replies, emulator, first)
                for bot, first in zip(bots, (1_000_000, 5_000_000, 9_000_000), strict=False)
            )
            sides = [echo, learnbot]
            readers = {side.kind: await warm_up(side, setup) for side in sides}
            progress(f"{backend}: both bots warmed up")

            async def alternate(scenario: str, play: Callable[[Side], Awaitable[Round]]) -> None:
                for number in range(args.rounds):
                    for side in sides if number % 2 == 0 else sides[::-1]:
                        results.rounds[scenario, side.kind].append(await play(side))
                    progress(f"{backend}: {scenario}, round {number + 1} of {args.rounds}")

            if "commands" in args.scenarios:
                await alternate("commands", lambda s: commands_round(s, readers[s.kind]))
            if "solo" in args.scenarios:
                await alternate("solo", lambda s: solo_round(s, setup, readers[s.kind][0]))
            for students in setup.students if "journeys" in args.scenarios else []:
                await alternate(f"journeys {students}", lambda s, n=students: journeys_round(s, n))
            for disturbance in DISTURBANCES if "slow" in args.scenarios else []:
                await alternate(
                    f"slow {disturbance}", lambda s, d=disturbance: slow_round(s, setup, d)
                )
            for side in watched:
                results.statements = await statement_counts(side, setup)
            for side in (*sides, *watched):
                results.warnings.extend(side.warnings)
        finally:
            for bot in bots:
                await bot.stop()
    return results


STARTED = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - STARTED:5.0f} s] {message}", flush=True)


# -- printing ------------------------------------------------------------------------------------

ACTION_ORDER = list(dict.fromkeys([a.name for a in journey(TITLES[0])] + list(COMMANDS)))


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f}"


def ratio(value: float, reference: float) -> float:
    return value / reference if reference else float("nan")


def verdict(value: float, goal: float, *, at_least: bool) -> str:
    met = value >= goal if at_least else value <= goal
    return f"{'≥' if at_least else '≤'} {goal:g}: {'met' if met else 'NOT met'}"


def throughput(rounds: list[Round]) -> list[float]:
    return [r.actions / r.seconds for r in rounds]


def per_update(rounds: list[Round], what: Callable[[Round], float]) -> float:
    """The median over rounds of ``what`` per update the bot processed."""
    return median(what(r) / r.bot_updates for r in rounds if r.bot_updates)


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print("  " + "  ".join(cells).rstrip())


@dataclass
class Overview:
    """The figures of one scenario, both bots (medians of the rounds)."""

    echo_rate: float
    rate: float
    echo_cpu: float
    cpu: float

    @property
    def share(self) -> float:
        return ratio(self.rate, self.echo_rate)


def print_overview(results: Results, scenario: str, title: str) -> Overview:
    """Throughput, CPU and Bot API requests per update of both bots."""
    echo, learn = results.rounds[scenario, ECHO], results.rounds[scenario, LEARNBOT]
    rates = throughput(echo), throughput(learn)
    overview = Overview(
        median(rates[0]),
        median(rates[1]),
        per_update(echo, lambda r: r.bot_cpu),
        per_update(learn, lambda r: r.bot_cpu),
    )

    def spread(values: list[float]) -> str:
        return f"{median(values):.1f} [{min(values):.0f}-{max(values):.0f}]"

    print(f"\n{title}")
    print_failures(results, scenario)
    table(
        ["", "echo", "learnbot", "learnbot / echo"],
        [
            [
                "updates/s (median [min-max])",
                spread(rates[0]),
                spread(rates[1]),
                f"{overview.share:.2f}",
            ],
            [
                "bot CPU per update (ms)",
                ms(overview.echo_cpu),
                ms(overview.cpu),
                f"{ratio(overview.cpu, overview.echo_cpu):.2f}",
            ],
            [
                "emulator + users CPU per update (ms)",
                ms(per_update(echo, lambda r: r.load_cpu)),
                ms(per_update(learn, lambda r: r.load_cpu)),
                "",
            ],
            [
                "Bot API requests per update",
                f"{per_update(echo, lambda r: r.requests):.2f}",
                f"{per_update(learn, lambda r: r.requests):.2f}",
                "",
            ],
        ],
    )
    return overview


def print_failures(results: Results, scenario: str) -> None:
    """Actions that got no reply (they count in no figure), with examples; see Side.act."""
    for kind in (ECHO, LEARNBOT):
        samples = pooled(results.rounds[scenario, kind])
        failed = samples.failures.total()
        if failed:
            where = ", ".join(f"{name} {count}" for name, count in samples.failures.most_common())
            print(f"  ⚠ {kind}: {failed} action(s) FAILED ({where}); the run went on without them")
            for example in samples.examples:
                print(f"      e.g. {example[:300]}")
            results.warnings.append(f"{kind}: {failed} action(s) failed in {scenario}")


@dataclass
class Tail:
    """learnbot's p95 latency against the echo bot's: over all actions, and the worst action."""

    echo_p95: float
    p95: float
    worst: float
    worst_action: str

    @property
    def overall(self) -> float:
        return ratio(self.p95, self.echo_p95)


def print_latencies(results: Results, scenario: str, *, requests: bool = False) -> Tail:
    """p50/p95 per action type; with ``requests`` (one user at a time), the Bot API requests
    each action caused."""
    echo, learn = pooled(results.rounds[scenario, ECHO]), pooled(results.rounds[scenario, LEARNBOT])
    rows = []
    worst, worst_action = 0.0, ""
    for name in [n for n in ACTION_ORDER if n in learn.latency]:
        values, reference = learn.latency[name], echo.latency.get(name, [])
        p95, echo_p95 = percentile(values, 0.95), percentile(reference, 0.95)
        if ratio(p95, echo_p95) > worst:
            worst, worst_action = ratio(p95, echo_p95), name
        row = [name, str(len(values)), ms(percentile(reference, 0.5)), ms(echo_p95)]
        row += [ms(percentile(values, 0.5)), ms(p95), f"{ratio(p95, echo_p95):.2f}"]
        if requests:
            row.append(f"{median(echo.calls[name]):g} / {median(learn.calls[name]):g}")
        rows.append(row)
    every, every_echo = every_latency(learn), every_latency(echo)
    tail = Tail(percentile(every_echo, 0.95), percentile(every, 0.95), worst, worst_action)
    row = ["all actions", str(len(every)), ms(percentile(every_echo, 0.5)), ms(tail.echo_p95)]
    row += [ms(percentile(every, 0.5)), ms(tail.p95), f"{tail.overall:.2f}"]
    rows.append([*row, ""] if requests else row)
    header = ["latency (ms)", "n", "echo p50", "echo p95", "learnbot p50", "learnbot p95"]
    header.append("p95 ratio")
    if requests:
        header.append("requests echo / learnbot")
    table(header, rows)
    return tail


DISTURBANCES = ("none", "keys", "server")


def print_slow(results: Results, setup: Setup) -> dict[str, tuple[float, float]]:
    """The students' latency with and without a disturbing user; returns each disturbance's
    p95 (echo, learnbot)."""
    print(
        f"\nSlow steps: {setup.slow_students} students on the journey (closed loop) while one "
        "more user disturbs; latency (ms) of the students' actions"
    )
    labels = {
        "none": "alone",
        "keys": "+ one user entering wrong keys",
        "server": f"+ one chat answered {setup.slow_seconds:g} s late",
    }
    p95s: dict[str, tuple[float, float]] = {}
    rows = []
    for disturbance in DISTURBANCES:
        print_failures(results, f"slow {disturbance}")
        row = [labels[disturbance]]
        pair = []
        for kind in (ECHO, LEARNBOT):
            rounds = results.rounds[f"slow {disturbance}", kind]
            every = every_latency(pooled(rounds))
            p95 = percentile(every, 0.95)
            alone = p95s["none"][len(pair)] if p95s else p95
            row += [ms(percentile(every, 0.5)), ms(p95), f"{ratio(p95, alone):.2f}"]
            row.append(f"{median(throughput(rounds)):.1f}")
            pair.append(p95)
        p95s[disturbance] = (pair[0], pair[1])
        slow = every_latency(pooled(results.rounds[f"slow {disturbance}", LEARNBOT], "disturber"))
        row.append(f"{len(slow)} × {ms(percentile(slow, 0.5))}" if slow else "")
        rows.append(row)
    header = ["", "echo p50", "echo p95", "× alone", "echo/s"]
    header += ["learnbot p50", "learnbot p95", "× alone", "learnbot/s", "the user's steps, n × p50"]
    table(header, rows)
    print(
        "  (wrong keys: learnbot checks each with argon2, ~0.4 s, and locks an account after "
        f"{WRONG_GUESSES}; the user then starts again with a new one)"
    )
    return p95s


def print_statements(stats: dict[str, Any]) -> None:
    by_kind: dict[str, list[int]] = defaultdict(list)
    for update_id, count in stats["statements"].items():
        by_kind[stats["kinds"][update_id]].append(count)
    print("\nlearnbot: SQL statements per update (tests/e2e/watch.py's BotWatch, one at a time)")
    rows = [
        [kind, str(len(c)), f"{median(c):g}", str(max(c))] for kind, c in sorted(by_kind.items())
    ]
    table(["update", "n", "median", "max"], rows)
    if stats["calls_in_transaction"]:
        print(f"  Telegram calls made inside a transaction: {stats['calls_in_transaction']}")


def report(results: Results, setup: Setup, args: argparse.Namespace) -> None:
    """The detailed tables, then a summary with the issue's targets."""
    print(f"\n=== {results.backend}: {args.rounds} round(s) per bot, echo and learnbot alternating")
    summary: list[list[str]] = []

    def cpu(overview: Overview) -> str:
        return f"{ms(overview.echo_cpu)} / {ms(overview.cpu)}"

    if "commands" in args.scenarios:
        title = (
            f"One-reply commands, open loop: {setup.command_users} users send "
            f"{', '.join(COMMANDS)} all at once"
        )
        overview = print_overview(results, "commands", title)
        summary.append(
            [
                "one-reply commands, open loop: updates/s",
                f"{overview.echo_rate:.0f}",
                f"{overview.rate:.0f}",
                f"{overview.share:.2f}",
                verdict(overview.share, COMMANDS_THROUGHPUT, at_least=True),
                cpu(overview),
            ]
        )
    for students in setup.students if "journeys" in args.scenarios else []:
        scenario = f"journeys {students}"
        title = (
            f"Closed-loop journey: {students} new students at once, {JOURNEY_LENGTH} actions each"
            " (catalog, card, Enroll, Continue, Complete, Next lesson …, a quiz, /mycourses…)"
        )
        overview = print_overview(results, scenario, title)
        tail = print_latencies(results, scenario)
        summary.append(
            [
                f"journey, {students} at once: actions/s",
                f"{overview.echo_rate:.1f}",
                f"{overview.rate:.1f}",
                f"{overview.share:.2f}",
                verdict(overview.share, JOURNEY_THROUGHPUT, at_least=True),
                cpu(overview),
            ]
        )
        summary.append(
            [
                f"journey, {students} at once: p95 per action (ms)",
                ms(tail.echo_p95),
                ms(tail.p95),
                f"{tail.overall:.2f} (worst {tail.worst:.2f}: {tail.worst_action})",
                verdict(tail.overall, JOURNEY_P95, at_least=False),
                "",
            ]
        )
    if "solo" in args.scenarios:
        title = (
            f"One user at a time: {setup.solo_journeys} journey(s), then each command "
            f"{setup.solo_commands} time(s)"
        )
        overview = print_overview(results, "solo", title)
        tail = print_latencies(results, "solo", requests=True)
        summary.append(
            [
                "one at a time: p95 per action (ms)",
                ms(tail.echo_p95),
                ms(tail.p95),
                f"{tail.overall:.2f} (worst {tail.worst:.2f}: {tail.worst_action})",
                verdict(tail.overall, SOLO_P95, at_least=False),
                cpu(overview),
            ]
        )
    if "slow" in args.scenarios:
        p95s = print_slow(results, setup)
        for disturbance, label in (("keys", "wrong keys"), ("server", "a slow chat")):
            echo_p95, p95 = p95s[disturbance]
            summary.append(
                [
                    f"others' p95 (ms) beside {label}, × alone",
                    f"{ms(echo_p95)}, {ratio(echo_p95, p95s['none'][0]):.1f}×",
                    f"{ms(p95)}, {ratio(p95, p95s['none'][1]):.1f}×",
                    "",
                    "× alone ≈ 1",
                    "",
                ]
            )
    if results.statements:
        print_statements(results.statements)
    for warning in results.warnings:
        print(f"  warning: {warning[:300]}")
    if summary:
        print(f"\nSummary ({results.backend}), learnbot against the echo bot in the same run:\n")
        header = [
            "workload",
            "echo bot",
            "learnbot",
            "learnbot / echo",
            "target",
            "bot CPU per update, ms (echo / learnbot)",
        ]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in summary:
            print("| " + " | ".join(row) + " |")


def print_profile(path: str, backend: str) -> None:
    print(f"\nlearnbot's event loop under cProfile, every round ({backend}; the figures above are")
    print("inflated by the profiler; aiosqlite's and argon2's threads are not in it)")
    stats = pstats.Stats(path)
    shares = Counter[str]()
    for (filename, _line, name), (*_counts, own, _cumulative, _callers) in stats.stats.items():
        shares[origin(filename, name)] += own
    busy = sum(seconds for what, seconds in shares.items() if what != IDLE)
    print(f"  {busy:.1f} s busy (own time by origin), {shares[IDLE]:.1f} s waiting in epoll:")
    for what, seconds in shares.most_common():
        if what != IDLE and seconds >= 0.005 * busy:
            print(f"    {100 * seconds / busy:5.1f} %  {what}")
    stats.sort_stats("tottime").print_stats(25)
    print("learnbot's own functions (a coroutine's cumulative time includes its waits)")
    stats.sort_stats("cumulative").print_stats(r"/(bot|db|handlers)/", 30)


IDLE = "waiting for I/O (epoll)"


def origin(filename: str, name: str) -> str:
    """Who spends the time: a third-party package, the standard library, learnbot, C code."""
    if filename == "~":
        if "epoll" in name:
            return IDLE
        return "C functions and methods (sockets, queues, builtins)"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    root = str(Path(__file__).resolve().parents[2])
    if filename.startswith(root):
        return "learnbot: " + filename[len(root) + 1 :].split("/", 1)[0] + "/"
    if "/asyncio/" in filename:
        return "asyncio (the event loop)"
    return "the rest of the standard library"


# -- command line --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="small sizes, one round: a smoke test (< 1 min)")
    add("--backends", help="sqlite,postgresql (default: sqlite, and postgresql given a URL)")
    add(
        "--postgres-url",
        default=os.environ.get("LEARNBOT_TEST_POSTGRES_URL"),
        help="a PostgreSQL database the benchmark may wipe (default: LEARNBOT_TEST_POSTGRES_URL)",
    )
    add("--scenarios", default="commands,solo,journeys,slow,statements")
    add("--rounds", type=int, help="rounds per bot and scenario (default 3; quick 1)")
    add("--students", help="closed-loop students at once, comma-separated (default 50,200)")
    add("--command-users", type=int, help="users sending the commands (default 100)")
    add("--solo-journeys", type=int, help="journeys per round, one at a time (default 5)")
    add("--slow-students", type=int, help="students beside the slow user (default 10)")
    add("--slow-seconds", type=float, help="how late the slow chat is answered (default 1)")
    add("--profile", action="store_true", help="profile learnbot (cProfile) and print the top")
    add("--profile-file", help="with --profile: keep the raw profile there (for pstats)")
    args = parser.parse_args()
    quick = args.quick
    args.rounds = args.rounds or (1 if quick else 3)
    args.students = [int(n) for n in (args.students or ("6" if quick else "50,200")).split(",")]
    args.command_users = args.command_users or (10 if quick else 100)
    args.solo_journeys = args.solo_journeys or (1 if quick else 5)
    args.slow_students = args.slow_students or (3 if quick else 10)
    args.slow_seconds = args.slow_seconds or (0.25 if quick else 1.0)
    args.scenarios = set(args.scenarios.split(","))
    args.backends = (
        args.backends or ("sqlite,postgresql" if args.postgres_url else "sqlite")
    ).split(",")
    if "postgresql" in args.backends and not args.postgres_url:
        parser.error("postgresql needs --postgres-url (or LEARNBOT_TEST_POSTGRES_URL)")
    return args


async def main() -> None:
    args = parse_args()
    print(
        f"bench_load: Python {platform.python_version()}, "
        f"python-telegram-bot {telegram.__version__}, {os.cpu_count()} CPU(s); each bot in a "
        "process of its own, the emulator and the users in this one",
        flush=True,
    )
    for backend in args.backends:
        setup = Setup(
            course_ids={},
            command_users=args.command_users,
            students=args.students,
            solo_journeys=args.solo_journeys,
            solo_commands=1 if args.quick else 5,
            slow_students=args.slow_students,
            slow_seconds=args.slow_seconds,
        )
        with tempfile.TemporaryDirectory() as folder:
            url = args.postgres_url
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            profile = str(Path(folder) / "learnbot.prof") if args.profile else ""
            results = await run_backend(backend, url, setup, args, profile)
            report(results, setup, args)
            if profile:
                print_profile(profile, backend)
                if args.profile_file:
                    shutil.copy(profile, args.profile_file)


if __name__ == "__main__":
    asyncio.run(main())

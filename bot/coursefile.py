"""Course files (SPEC §6): parse, validate, import and export whole courses as YAML or JSON.

A file is validated completely before anything touches the database, so an import is
all-or-nothing, and every error names its place (``lessons[2].quiz.questions[0]: …``) because
the author has to find it in a file that may be long.

Every value is bounded, so nothing out of range reaches the database (or overflows PostgreSQL's
columns), and numbers must be whole numbers, never floats or booleans. The bounds are
``db.limits``, shared with chat authoring; they are:

- ``duration_minutes`` 0 to 100000; ``passing_score`` 0 to 100; ``max_attempts`` 0 to 1000
  (0 means unlimited);
- text, in characters: course and lesson titles 200 (the columns' length), ``description`` 4000,
  ``category`` 100, ``enrollment_key`` 128, lesson ``content`` 50000, media ``file_id`` 255,
  quiz ``title`` 200, question ``text`` 300 and option ``text`` 100 (Telegram's poll limits),
  ``explanation`` 1000; no text may hold a NUL character or an unpaired surrogate (written as
  ``\0`` or ``\ud800`` escapes), which PostgreSQL can't store;
- 1 or more lessons, 1 to 50 questions a quiz, 2 to 10 options a choice question; 1 MB a file;
- a lesson's optional ``id`` 1 to ``db.models.MAX_ID``, used by one lesson of the file only.

An export writes each lesson's database id as its ``id``. Importing as a new course ignores it;
replacing a course in place (``--replace``, or 📥 Replace from file in the chat) uses it to find
the lesson an edited one is, so that students keep their completion of it (``db.replacing``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from db.accounts import raise_role
from db.authoring import (
    CourseDraft,
    LessonDraft,
    OptionDraft,
    QuestionDraft,
    QuizDraft,
    course_draft,
    create_course,
)
from db.engine import Database
from db.errors import Invalid, Reason
from db.limits import (
    MAX_CATEGORY_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_DURATION_MINUTES,
    MAX_ENROLLMENT_KEY_LENGTH,
    MAX_EXPLANATION_LENGTH,
    MAX_LESSON_CONTENT_LENGTH,
    MAX_MEDIA_FILE_ID_LENGTH,
    MAX_OPTION_TEXT_LENGTH,
    MAX_OPTIONS_PER_QUESTION,
    MAX_PASSING_SCORE,
    MAX_QUESTION_TEXT_LENGTH,
    MAX_QUESTIONS_PER_QUIZ,
    MAX_QUIZ_ATTEMPTS,
    MAX_TITLE_LENGTH,
    MIN_OPTIONS_PER_QUESTION,
    UNSTORABLE_CHARACTERS,
)
from db.models import MAX_ID, Course, Difficulty, MediaKind, QuestionType, Role
from db.replacing import ReplacementSummary, replace_course_as

__all__ = [
    "MAX_FILE_BYTES",
    "CourseFileError",
    "check_html",
    "dump_course",
    "export_course_file",
    "import_course_file",
    "inferred_type",
    "parse_course",
    "replace_course_file",
]

MAX_FILE_BYTES = 1024 * 1024

COURSE_FIELDS = (
    "title",
    "description",
    "category",
    "difficulty",
    "duration_minutes",
    "published",
    "enrollment_key",
    "lessons",
)
LESSON_FIELDS = ("title", "id", "content", "media", "quiz")
MEDIA_FIELDS = ("kind", "file_id")
QUIZ_FIELDS = ("title", "passing_score", "max_attempts", "questions")
QUESTION_FIELDS = ("text", "type", "options", "explanation")
OPTION_FIELDS = ("text", "correct")


class CourseFileError(Invalid):
    """An unusable course file; ``place`` is where in the file (``None`` for the whole file).

    The detail is worded here, not by its own ``Reason``: every place and problem in a file is
    different, and what it names is the file's own words.
    """

    def __init__(self, message: str, *, place: str | None = None) -> None:
        super().__init__(Reason.course_file, detail=message)
        self.message = message
        self.place = place


def _fail(place: str, detail: str) -> CourseFileError:
    return CourseFileError(f"{place}: {detail}", place=place)


# --- Telegram HTML -------------------------------------------------------------------------------

_ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "span"}
    | {"a", "code", "pre", "blockquote"}
)
_NAMED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})
# Telegram reads an unquoted attribute value as a name token: letters, digits, "." and "-".
_ATTRIBUTE = re.compile(r"""([^\s=>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]*))?""")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.-]+")
_NAMED_ENTITY = re.compile(r"&([A-Za-z]+);")
# An end tag as Telegram reads it: "</", a name, optional spaces, ">". HTMLParser is laxer.
_BAD_END_TAG = re.compile(r"</(?![A-Za-z][^\s>]*\s*>)")
_CODE_CLASS = re.compile(r"language-[\w+#.-]+")
# HTMLParser stops reading at an "&#" it can't decode, such as "&#x" or "&#65a" (Telegram shows
# the first as text and reads the second as "Aa"), so outside tags every "&" becomes a space for
# it: entities are checked on their own.
_TAG_OR_AMPERSAND = re.compile(r"""<(?:"[^"]*"|'[^']*'|[^<>"'])*>|&""")
_TAG_HINTS = {
    "br": "; write a line break instead",
    "p": "; separate paragraphs with an empty line",
    "div": "; separate paragraphs with an empty line",
    "ul": "; write list items as lines starting with •",
    "ol": "; write list items as lines starting with 1., 2., …",
    "li": "; write list items as lines starting with •",
    **{f"h{level}": "; use <b> for headings" for level in range(1, 7)},
}


class _TelegramHtmlChecker(HTMLParser):
    """Walks the markup with a stack of open tags; raises ValueError on the first problem."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[tuple[str, tuple[int, int]]] = []
        self.multiline = False

    def where(self, position: tuple[int, int] | None = None) -> str:
        line, _ = position or self.getpos()
        return f" (line {line} of the text)" if self.multiline else ""

    def broken(self, detail: str, position: tuple[int, int] | None = None) -> ValueError:
        return ValueError(f"can't parse HTML: {detail}{self.where(position)}")

    def unsupported(self, tag: str) -> ValueError:
        return ValueError(f"unsupported tag <{tag}>{self.where()}{_TAG_HINTS.get(tag, '')}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            raise self.unsupported(tag)
        raw = (self.get_starttag_text() or "").removesuffix(">")[1 + len(tag) :]
        for _, value in _ATTRIBUTE.findall(raw):
            if value and value[0] not in "\"'" and not _NAME_TOKEN.fullmatch(value):
                raise self.broken(f"put the attribute value {value} of <{tag}> in quotes")
        self.check_attributes(tag, dict(attrs))
        self.check_nesting(tag)
        self.stack.append((tag, self.getpos()))

    def check_attributes(self, tag: str, attrs: dict[str, str | None]) -> None:
        allowed: dict[str, Callable[[str | None], bool]] = {}
        if tag == "a":
            allowed["href"] = lambda value: bool(value and value.strip())
        elif tag == "span":
            allowed["class"] = lambda value: value == "tg-spoiler"
        elif tag == "code":
            allowed["class"] = lambda value: bool(value and _CODE_CLASS.fullmatch(value))
        elif tag == "blockquote":
            allowed["expandable"] = lambda value: value is None or value == ""
        for name, value in attrs.items():
            if name not in allowed:
                raise ValueError(f"unsupported attribute {name} in <{tag}>{self.where()}")
            if not allowed[name](value):
                raise ValueError(f"invalid {name}={value!r} in <{tag}>{self.where()}")
        if tag == "a" and "href" not in attrs:
            raise ValueError(f'<a> needs an href="…"{self.where()}')
        if tag == "span" and "class" not in attrs:
            raise ValueError(f'<span> is only supported as <span class="tg-spoiler">{self.where()}')

    def check_nesting(self, tag: str) -> None:
        """Formatting inside code is silently dropped by Telegram and quotes can't nest: say so."""
        parent = self.stack[-1][0] if self.stack else None
        if parent == "pre" and tag == "code":
            return
        if parent in ("pre", "code"):
            raise ValueError(f"<{tag}> inside <{parent}>: code is shown as it is{self.where()}")
        if tag == "blockquote" and any(name == "blockquote" for name, _ in self.stack):
            raise ValueError(f"<blockquote> inside <blockquote>: quotes can't nest{self.where()}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            raise self.unsupported(tag)
        raise self.broken(f"self-closing tag <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise self.broken(f"</{tag}> closes nothing")
        name, opened = self.stack.pop()
        if name != tag:
            where = f" (opened on line {opened[0]} of the text)" if self.multiline else ""
            raise self.broken(f"</{tag}> found where </{name}> was expected{where}")

    def handle_data(self, data: str) -> None:
        if "<" in data:
            line, column = self.getpos()
            position = (line + data.count("\n", 0, data.index("<")), column)
            raise self.broken('a bare "<"; write &lt; for a less-than sign', position)

    def handle_comment(self, data: str) -> None:
        raise self.broken("comments <!-- --> are not supported")

    def handle_decl(self, decl: str) -> None:
        raise self.broken(f"declarations <!{decl}> are not supported")

    def unknown_decl(self, data: str) -> None:
        raise self.broken(f"<![{data}]> is not supported")

    def handle_pi(self, data: str) -> None:
        raise self.broken(f"processing instructions <?{data}> are not supported")


def check_html(text: str) -> None:
    """Accept only the Telegram HTML the Bot API renders (SPEC §6), or raise ValueError(detail).

    Telegram refuses a whole message for one bad tag, so an imported lesson must be rejected at
    import time rather than fail later in front of a student.
    """

    def where(index: int) -> str:
        return f" (line {text.count(chr(10), 0, index) + 1} of the text)" if "\n" in text else ""

    for match in _NAMED_ENTITY.finditer(text):
        if match.group(1) not in _NAMED_ENTITIES:
            raise ValueError(
                f"unsupported entity {match.group()}; Telegram knows only &lt; &gt; &amp; "
                f"&quot; and numeric ones like &#160;{where(match.start())}"
            )
    bad_end = _BAD_END_TAG.search(text)
    if bad_end:
        raise ValueError(f'can\'t parse HTML: malformed end tag after "</"{where(bad_end.start())}')
    checker = _TelegramHtmlChecker()
    checker.multiline = "\n" in text
    try:
        checker.feed(_TAG_OR_AMPERSAND.sub(lambda m: " " if m.group() == "&" else m.group(), text))
        checker.close()
    except AssertionError as error:  # HTMLParser's own guard on malformed markup
        raise ValueError(f"can't parse HTML: {error}") from None
    if checker.stack:
        name, opened = checker.stack[-1]
        raise checker.broken(f"<{name}> is never closed", opened)


# --- Reading YAML and JSON -----------------------------------------------------------------------


class _SourcedInt(int):
    """An int that remembers how it was written, so ``text: 3.10`` can stay the text "3.10"."""

    source: str


class _SourcedFloat(float):
    source: str


class _LongNumber(str):
    """A number with more digits than any field takes, kept as the text written.

    Never converted: Python refuses to turn more than 4300 digits into an int, and an error
    message can't show it either. Where text is expected it is that text, as other numbers are.
    """


_LONGEST_NUMBER = 40


def _construct_int(loader: SafeConstructor, node: yaml.ScalarNode) -> int | str:
    if len(node.value) > _LONGEST_NUMBER:
        return _LongNumber(node.value)
    value = _SourcedInt(loader.construct_yaml_int(node))
    value.source = node.value
    return value


def _construct_float(loader: SafeConstructor, node: yaml.ScalarNode) -> float:
    value = _SourcedFloat(loader.construct_yaml_float(node))
    value.source = node.value
    return value


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no surprises for course authors.

    ``yes``, ``no``, ``on``, ``off`` stay text (an option may well read "No"), dates stay text,
    duplicate keys are errors instead of silently overwriting, and aliases are refused: they
    are never needed here and would let a tiny file expand into a huge one.
    """

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, re.Pattern[str]]]]] = {
        first: [
            (tag, regexp)
            for tag, regexp in resolvers
            if tag
            not in (
                "tag:yaml.org,2002:bool",
                "tag:yaml.org,2002:timestamp",
                "tag:yaml.org,2002:value",
                "tag:yaml.org,2002:merge",
            )
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not supported", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # unhashable: SafeConstructor reports it with its position
            if duplicate:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _load_yaml(text: str, filename: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        context = ""
        if error.context and error.problem and error.context_mark is not None:
            context = f" ({error.context} on line {error.context_mark.line + 1})"
        raise CourseFileError(f"{filename}: invalid YAML at {where}: {problem}{context}") from None
    except yaml.YAMLError as error:
        raise CourseFileError(f"{filename}: invalid YAML: {error}") from None


def _json_int(source: str) -> int | str:
    if len(source) > _LONGEST_NUMBER:
        return _LongNumber(source)
    value = _SourcedInt(source)
    value.source = source
    return value


def _json_float(source: str) -> float:
    value = _SourcedFloat(source)
    value.source = source
    return value


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a course file can use")


def _load_json(text: str, filename: str) -> Any:
    try:
        return json.loads(
            text,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
            object_pairs_hook=_json_object,
        )
    except json.JSONDecodeError as error:
        raise CourseFileError(
            f"{filename}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except ValueError as error:
        raise CourseFileError(f"{filename}: invalid JSON: {error}") from None


# --- Validation ----------------------------------------------------------------------------------

T = TypeVar("T")
_MISSING: Any = object()


def _shorten(text: str) -> str:
    return text if len(text) <= 30 else text[:29] + "…"


def _number(value: int | float | _LongNumber) -> str:
    """A number as the author wrote it (``0x10``, ``1_000``), shortened for a message."""
    return _shorten(getattr(value, "source", str(value)))


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | _LongNumber):
        return f"the number {_number(value)}"
    if isinstance(value, str):
        return f"the text {json.dumps(_shorten(value), ensure_ascii=False)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


class _Fields:
    """One mapping of the file at ``path``: typed, range-checked access to its fields."""

    def __init__(self, value: Any, path: str, fields: tuple[str, ...]) -> None:
        if not isinstance(value, dict):
            raise _fail(
                path or "top level",
                f"must be a mapping of fields ({', '.join(fields)}), not {_describe(value)}",
            )
        for key in value:
            if key not in fields:
                raise _fail(
                    self._place_in(path, str(key)),
                    f"unknown field (expected one of {', '.join(fields)})",
                )
        self.value: dict[str, Any] = value
        self.path = path

    @staticmethod
    def _place_in(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def place(self, key: str) -> str:
        return self._place_in(self.path, key)

    def get(self, key: str) -> Any:
        """The raw value, or _MISSING when absent; an explicit null counts as absent."""
        value = self.value.get(key)
        return _MISSING if value is None else value

    def text(
        self,
        key: str,
        *,
        max_length: int,
        required: bool = False,
        default: Any = "",
        html: bool = False,
    ) -> Any:
        value = self.get(key)
        if value is _MISSING:
            if required:
                raise _fail(self.place(key), "is required")
            return default
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = getattr(value, "source", str(value))
        if not isinstance(value, str):
            raise _fail(self.place(key), f"must be text, not {_describe(value)}")
        if required and not value.strip():
            raise _fail(self.place(key), "must not be empty")
        # Only escapes ("\0", "\ud800") can put these in a file.
        if unstorable := UNSTORABLE_CHARACTERS.search(value):
            char = unstorable.group()
            what = "a NUL character" if char == "\0" else f"an unpaired surrogate \\u{ord(char):x}"
            raise _fail(
                self.place(key),
                f"character {unstorable.start() + 1} is {what}, which can't be stored",
            )
        if len(value) > max_length:
            raise _fail(
                self.place(key),
                f"is too long: {len(value)} characters, at most {max_length}",
            )
        if html:
            try:
                check_html(value)
            except ValueError as error:
                raise _fail(self.place(key), str(error)) from None
        return value

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        value = self.get(key)
        if value is _MISSING:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            shown = _describe(value)
        elif not low <= value <= high:
            shown = _number(value)
        else:
            return int(value)
        raise _fail(self.place(key), f"must be a whole number from {low} to {high}, not {shown}")

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self.get(key)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise _fail(self.place(key), f"must be true or false, not {_describe(value)}")
        return value

    def choice(self, key: str, choices: Callable[[str], T], names: list[str]) -> T | None:
        value = self.get(key)
        if value is _MISSING:
            return None
        if isinstance(value, str) and value.strip().lower() in names:
            return choices(value.strip().lower())
        raise _fail(self.place(key), f"must be one of {', '.join(names)}, not {_describe(value)}")

    def items(self, key: str) -> list[Any] | None:
        value = self.get(key)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            raise _fail(self.place(key), f"must be a list, not {_describe(value)}")
        return value


def _names(enum_type: type[Difficulty] | type[MediaKind] | type[QuestionType]) -> list[str]:
    return [member.value for member in enum_type]


def _parse_option(value: Any, path: str) -> OptionDraft:
    if not isinstance(value, dict):
        raise _fail(
            path, f'must be a mapping like {{text: "…", correct: true}}, not {_describe(value)}'
        )
    fields = _Fields(value, path, OPTION_FIELDS)
    return OptionDraft(
        text=fields.text("text", max_length=MAX_OPTION_TEXT_LENGTH, required=True),
        correct=fields.boolean("correct", default=False),
    )


def inferred_type(options: list[OptionDraft]) -> QuestionType | None:
    """What the options say the question is; None when they can't say (no correct option)."""
    if not options:
        return QuestionType.text
    correct = sum(option.correct for option in options)
    if correct == 0:
        return None
    return QuestionType.single_choice if correct == 1 else QuestionType.multiple_choice


def _parse_question(value: Any, path: str) -> QuestionDraft:
    fields = _Fields(value, path, QUESTION_FIELDS)
    text = fields.text("text", max_length=MAX_QUESTION_TEXT_LENGTH, required=True)
    explicit = fields.choice("type", QuestionType, _names(QuestionType))
    raw_options = fields.items("options") or []
    if raw_options and not MIN_OPTIONS_PER_QUESTION <= len(raw_options) <= MAX_OPTIONS_PER_QUESTION:
        raise _fail(
            fields.place("options"),
            f"needs {MIN_OPTIONS_PER_QUESTION} to {MAX_OPTIONS_PER_QUESTION} options, "
            f"not {len(raw_options)}",
        )
    options = [
        _parse_option(option, f"{fields.place('options')}[{index}]")
        for index, option in enumerate(raw_options)
    ]
    seen: dict[str, int] = {}
    for index, option in enumerate(options):
        key = option.text.strip()
        if key in seen:
            raise _fail(
                f"{fields.place('options')}[{index}].text",
                f"repeats option {seen[key]}: options must differ",
            )
        seen[key] = index
    correct = sum(option.correct for option in options)
    if explicit is QuestionType.text and options:
        raise _fail(
            fields.place("type"), "a text question has no options: remove the options or the type"
        )
    if explicit in (QuestionType.single_choice, QuestionType.multiple_choice) and not options:
        raise _fail(
            path,
            f"a {explicit.value} question needs "
            f"{MIN_OPTIONS_PER_QUESTION} to {MAX_OPTIONS_PER_QUESTION} options",
        )
    if options and correct == 0:
        raise _fail(path, "no correct option")
    if explicit is QuestionType.single_choice and correct > 1:
        raise _fail(
            fields.place("type"),
            f"a single_choice question has exactly one correct option, not {correct}",
        )
    question_type = explicit or inferred_type(options)
    assert question_type is not None  # options without a correct one were refused above
    return QuestionDraft(
        text=text,
        type=question_type,
        options=options,
        explanation=fields.text("explanation", max_length=MAX_EXPLANATION_LENGTH, default=None),
    )


def _parse_quiz(value: Any, path: str) -> QuizDraft:
    fields = _Fields(value, path, QUIZ_FIELDS)
    title = fields.text("title", max_length=MAX_TITLE_LENGTH, required=True)
    passing_score = fields.integer("passing_score", default=70, low=0, high=MAX_PASSING_SCORE)
    max_attempts = fields.integer("max_attempts", default=0, low=0, high=MAX_QUIZ_ATTEMPTS)
    questions = fields.items("questions") or []
    if not questions:
        raise _fail(fields.place("questions"), "a quiz needs at least one question")
    if len(questions) > MAX_QUESTIONS_PER_QUIZ:
        raise _fail(
            fields.place("questions"),
            f"at most {MAX_QUESTIONS_PER_QUIZ} questions, not {len(questions)}",
        )
    return QuizDraft(
        title=title,
        passing_score=passing_score,
        max_attempts=max_attempts,
        questions=[
            _parse_question(question, f"{fields.place('questions')}[{index}]")
            for index, question in enumerate(questions)
        ],
    )


def _parse_lesson(value: Any, path: str) -> LessonDraft:
    fields = _Fields(value, path, LESSON_FIELDS)
    lesson = LessonDraft(
        title=fields.text("title", max_length=MAX_TITLE_LENGTH, required=True),
        content=fields.text("content", max_length=MAX_LESSON_CONTENT_LENGTH, html=True),
    )
    if fields.get("id") is not _MISSING:
        lesson.key = fields.integer("id", default=0, low=1, high=MAX_ID)
    media = fields.get("media")
    if media is not _MISSING:
        media_fields = _Fields(media, fields.place("media"), MEDIA_FIELDS)
        kind = media_fields.choice("kind", MediaKind, _names(MediaKind))
        if kind is None:
            raise _fail(media_fields.place("kind"), "is required")
        lesson.media_kind = kind
        lesson.media_file_id = media_fields.text(
            "file_id", max_length=MAX_MEDIA_FILE_ID_LENGTH, required=True
        )
    quiz = fields.get("quiz")
    if quiz is not _MISSING:
        lesson.quiz = _parse_quiz(quiz, fields.place("quiz"))
    return lesson


def parse_course(text: str, *, filename: str = "course.yaml") -> CourseDraft:
    """Read a course file (SPEC §6) into a draft, or raise CourseFileError naming the place.

    ``filename`` only chooses the parser (``.json`` gets JSON's own error messages; JSON is
    YAML too, so a ``.yaml`` file may hold JSON) and prefixes syntax errors.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise CourseFileError(f"{filename}: the file is larger than 1 MB")
    text = text.removeprefix("\ufeff")
    try:
        if filename.lower().endswith(".json"):
            data = _load_json(text, filename)
        else:
            data = _load_yaml(text, filename)
    except RecursionError:
        raise CourseFileError(f"{filename}: the file is nested too deeply") from None
    if data is None:
        raise CourseFileError(f"{filename}: the file is empty")
    fields = _Fields(data, "", COURSE_FIELDS)
    title = fields.text("title", max_length=MAX_TITLE_LENGTH, required=True)
    description = fields.text("description", max_length=MAX_DESCRIPTION_LENGTH, html=True)
    category = fields.text("category", max_length=MAX_CATEGORY_LENGTH)
    difficulty = fields.choice("difficulty", Difficulty, _names(Difficulty))
    duration = fields.integer("duration_minutes", default=0, low=0, high=MAX_DURATION_MINUTES)
    published = fields.boolean("published", default=False)
    key = fields.text("enrollment_key", max_length=MAX_ENROLLMENT_KEY_LENGTH, default=None)
    if key is not None:
        key = key.strip()  # students type the key; stray spaces in the file must not lock them out
        if not key:
            raise _fail("enrollment_key", "must not be empty (leave it out for an open course)")
    lessons = fields.items("lessons")
    if not lessons:
        raise _fail("lessons", "a course needs at least one lesson")
    drafts: list[LessonDraft] = []
    keys: dict[int, int] = {}  # a lesson's id → the index of the lesson that has it
    for index, lesson in enumerate(lessons):
        draft = _parse_lesson(lesson, f"lessons[{index}]")
        if draft.key is not None:
            if draft.key in keys:
                raise _fail(
                    f"lessons[{index}].id", f"{draft.key} is used by lessons[{keys[draft.key]}] too"
                )
            keys[draft.key] = index
        drafts.append(draft)
    return CourseDraft(
        title=title,
        description=description,
        category=category,
        difficulty=difficulty or Difficulty.beginner,
        duration_minutes=duration,
        published=published,
        enrollment_key=key,
        lessons=drafts,
    )


# --- Writing YAML --------------------------------------------------------------------------------


class _Flow(dict[str, Any]):
    """A mapping written on one line: ``{text: x = 4, correct: true}``."""


class _Dumper(yaml.SafeDumper):
    """Readable output: indented lists, ``|`` blocks for multi-line text, one-line options."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # The emitter falls back to a quoted style by itself when a block can't hold the text
    # exactly (trailing spaces, tabs, inside a flow mapping), so this never loses a character.
    # Text ending in blank lines is quoted too: a keeping block (``|+``) would swallow the blank
    # line that dump_course puts between lessons.
    # NEL and the Unicode line separators would be read back as line breaks unless escaped.
    if any(ch in data for ch in "\x85\u2028\u2029"):
        style: str | None = '"'
    else:
        block = "\n" in data and data.strip("\n") != "" and not data.endswith("\n\n")
        style = "|" if block else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Flow, _represent_flow)

_LINE_START = re.compile(r"^(?=.)", re.MULTILINE)
_HEADER = (
    "# learnbot course file (YAML). Import it with: learnbot import FILE --owner TELEGRAM_ID\n"
    "# (add --replace COURSE_ID to replace that course in place). Lesson content is Telegram\n"
    "# HTML. A lesson's id ties it to the same lesson when a course is replaced from this\n"
    "# file: keep the id while you edit the lesson and students keep its completion; a lesson\n"
    "# without an id is new, and a lesson of the course missing from the file is deleted.\n"
)


def _dump_question(question: QuestionDraft) -> dict[str, Any]:
    data: dict[str, Any] = {"text": question.text}
    question_type = QuestionType(question.type)
    if inferred_type(question.options) is not question_type:
        data["type"] = question_type.value
    if question.options:
        data["options"] = [
            _Flow(text=option.text, correct=True) if option.correct else _Flow(text=option.text)
            for option in question.options
        ]
    if question.explanation is not None:
        data["explanation"] = question.explanation
    return data


def _dump_lesson(lesson: LessonDraft) -> dict[str, Any]:
    data: dict[str, Any] = {"title": lesson.title}
    if lesson.key is not None:
        data["id"] = lesson.key
    if lesson.content:
        data["content"] = lesson.content
    if lesson.media_kind is not None and lesson.media_file_id is not None:
        data["media"] = _Flow(kind=MediaKind(lesson.media_kind).value, file_id=lesson.media_file_id)
    if lesson.quiz is not None:
        data["quiz"] = {
            "title": lesson.quiz.title,
            "passing_score": lesson.quiz.passing_score,
            "max_attempts": lesson.quiz.max_attempts,
            "questions": [_dump_question(question) for question in lesson.quiz.questions],
        }
    return data


def dump_course(draft: CourseDraft) -> str:
    """The draft as a course file that ``parse_course`` reads back to the same draft.

    The enrollment key is never written: the database only has its hash, and a file is
    easily shared.
    """
    data: dict[str, Any] = {"title": draft.title}
    if draft.description:
        data["description"] = draft.description
    if draft.category:
        data["category"] = draft.category
    data["difficulty"] = Difficulty(draft.difficulty).value
    data["duration_minutes"] = draft.duration_minutes
    data["published"] = draft.published
    if not draft.lessons:
        return _HEADER + _to_yaml(data) + "lessons: []\n"
    # Each lesson is written on its own and indented under "lessons:", with a blank line
    # between lessons so that a long file stays easy to edit by hand.
    # Only "\n" ends a line here: str.splitlines (and so textwrap) would also split on
    # characters that YAML keeps inside a line.
    lessons = [_LINE_START.sub("  ", _to_yaml([_dump_lesson(lesson)])) for lesson in draft.lessons]
    return _HEADER + _to_yaml(data) + "lessons:\n" + "\n".join(lessons)


def _to_yaml(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


# --- Database ------------------------------------------------------------------------------------


def _read_file(path: Path) -> str:
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CourseFileError(f"{path.name}: can't read the file: {error.strerror}") from None
    return decode_course_file(raw, path.name)


def decode_course_file(raw: bytes, filename: str) -> str:
    """A course file's bytes (from disk or sent in the chat) as text: at most 1 MB of UTF-8."""
    if len(raw) > MAX_FILE_BYTES:
        raise CourseFileError(f"{filename}: the file is larger than 1 MB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise CourseFileError(
            f"{filename}: not UTF-8 text (line {line}); save the file as UTF-8"
        ) from None


async def import_course_file(database: Database, path: Path, owner_telegram_id: int) -> Course:
    """Create the course in one transaction, the owner made at least an instructor.

    The file is read and validated before the transaction opens, so an invalid file changes
    nothing, not even the owner's account.
    """
    text = await asyncio.to_thread(_read_file, path)
    draft = parse_course(text, filename=path.name)
    async with database.session() as session:
        owner, _ = await raise_role(session, owner_telegram_id, Role.instructor)
        return await create_course(session, owner, draft)


async def replace_course_file(
    database: Database, path: Path, owner_telegram_id: int, course_id: int
) -> tuple[str, ReplacementSummary]:
    """Replace the course in place from the file, in one transaction (``db.replacing``); its
    new title and what was done.

    The file is read and validated before the transaction opens, as for an import. The owner
    must manage the course (its instructor, or an admin); nobody is created or promoted.
    """
    text = await asyncio.to_thread(_read_file, path)
    draft = parse_course(text, filename=path.name)
    async with database.session() as session:
        summary = await replace_course_as(session, owner_telegram_id, course_id, draft)
    return draft.title, summary


async def export_course_file(database: Database, course_id: int) -> str:
    """The course as YAML; ``db.errors.NotFound`` when there is no such course."""
    async with database.session() as session:
        draft = await course_draft(session, course_id)
    return dump_course(draft)

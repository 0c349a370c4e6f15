"""Course files: the format of SPEC §6, its errors, and all-or-nothing import on a real database."""

from __future__ import annotations

import copy
import dataclasses
import html
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.coursefile import (
    MAX_FILE_BYTES,
    CourseFileError,
    check_html,
    dump_course,
    export_course_file,
    import_course_file,
    parse_course,
)
from bot.emulator.tghtml import parse_html
from db.authoring import (
    CourseDraft,
    LessonDraft,
    OptionDraft,
    QuestionDraft,
    QuizDraft,
    course_draft,
)
from db.engine import Database
from db.errors import Invalid, NotFound, Reason
from db.models import (
    MAX_ID,
    Course,
    Difficulty,
    Lesson,
    MediaKind,
    Question,
    QuestionType,
    Quiz,
    Role,
    User,
)
from db.security import verify_secret
from tests.conftest import make_user

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-basics.yaml"

BASE: dict[str, Any] = {
    "title": "Python Basics",
    "description": "Your first steps in <b>Python</b>.",
    "category": "Programming",
    "difficulty": "beginner",
    "duration_minutes": 90,
    "published": True,
    "lessons": [
        {"title": "Intro", "content": "Hello <i>there</i>.\n"},
        {
            "title": "Variables",
            "content": "A <b>variable</b> names a value.\n",
            "media": {"kind": "photo", "file_id": "AgACAgIAAxk"},
            "quiz": {
                "title": "Variables check",
                "passing_score": 70,
                "max_attempts": 0,
                "questions": [
                    {
                        "text": "Which line assigns 4 to x?",
                        "options": [{"text": "x == 4"}, {"text": "x = 4", "correct": True}],
                        "explanation": "One = assigns, two compare.",
                    },
                    {
                        "text": "Pick the valid names",
                        "options": [
                            {"text": "my_var", "correct": True},
                            {"text": "2var"},
                            {"text": "_x", "correct": True},
                        ],
                    },
                    {"text": "In your own words, what is a variable?"},
                ],
            },
        },
        {"title": "Loops", "content": "for x in y"},
    ],
}


def course_yaml(**changes: Any) -> str:
    """BASE with top-level changes (None removes a field), as YAML."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def with_question(**question: Any) -> str:
    data = copy.deepcopy(BASE)
    data["lessons"][1]["quiz"]["questions"][0] = question
    return yaml.safe_dump(data, sort_keys=False)


def error_of(text: str, filename: str = "course.yaml") -> str:
    with pytest.raises(CourseFileError) as caught:
        parse_course(text, filename=filename)
    return caught.value.message


def without_keys(draft: CourseDraft) -> CourseDraft:
    """The draft as a file without lesson ids reads: what a new import makes of any file."""
    return dataclasses.replace(
        draft, lessons=[dataclasses.replace(lesson, key=None) for lesson in draft.lessons]
    )


async def count(database: Database, model: type[Any]) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


# --- parsing ---------------------------------------------------------------------------------


def test_the_example_course_parses_and_every_lesson_is_valid_telegram_html() -> None:
    draft = parse_course(EXAMPLE.read_text(encoding="utf-8"), filename=EXAMPLE.name)

    assert draft.title == "Python Basics"
    assert draft.published is True
    assert draft.enrollment_key is None
    assert 5 <= len(draft.lessons) <= 6
    assert all(lesson.media_kind is None for lesson in draft.lessons)
    quizzes = [lesson.quiz for lesson in draft.lessons if lesson.quiz]
    assert len(quizzes) == 3
    types = {question.type for quiz in quizzes for question in quiz.questions}
    assert types == {QuestionType.single_choice, QuestionType.multiple_choice, QuestionType.text}
    for text in [draft.description, *(lesson.content for lesson in draft.lessons)]:
        parse_html(text)  # the emulator's Telegram parser agrees with check_html


def test_the_spec_example_parses_with_types_from_the_options() -> None:
    draft = parse_course(course_yaml(enrollment_key="open-sesame"))

    assert draft.difficulty is Difficulty.beginner
    assert draft.enrollment_key == "open-sesame"
    lesson = draft.lessons[1]
    assert (lesson.media_kind, lesson.media_file_id) == (MediaKind.photo, "AgACAgIAAxk")
    assert lesson.quiz is not None
    assert [q.type for q in lesson.quiz.questions] == [
        QuestionType.single_choice,
        QuestionType.multiple_choice,
        QuestionType.text,
    ]
    first = lesson.quiz.questions[0]
    assert first.options == [OptionDraft("x == 4", False), OptionDraft("x = 4", True)]
    assert first.explanation == "One = assigns, two compare."
    assert lesson.quiz.questions[2].options == []


def test_defaults_fill_what_the_file_leaves_out() -> None:
    draft = parse_course(
        "title: T\nlessons:\n  - title: Only\n    quiz:\n      title: Q\n"
        "      questions:\n        - text: Why?\n"
    )
    assert draft == CourseDraft(
        title="T",
        lessons=[
            LessonDraft(
                "Only", quiz=QuizDraft("Q", 70, 0, [QuestionDraft("Why?", QuestionType.text)])
            )
        ],
    )


def test_json_input_works() -> None:
    text = json.dumps(BASE)
    assert parse_course(text, filename="course.json") == parse_course(course_yaml())
    assert parse_course(text, filename="course.yaml") == parse_course(course_yaml())


def test_json_syntax_errors_say_where() -> None:
    message = error_of('{"title": "T",\n "lessons": [}', filename="course.json")
    assert message.startswith("course.json: invalid JSON at line 2, column")


def test_scalars_that_look_like_numbers_or_booleans_stay_the_text_written() -> None:
    text = (
        "title: 2024\nenrollment_key: 0042\nlessons:\n  - title: 3.10\n    quiz:\n"
        "      title: Versions\n      questions:\n        - text: Is Python 3.10 newer than 3.9?\n"
        "          options:\n            - {text: yes, correct: true}\n            - {text: no}\n"
        "            - {text: 1:30}\n            - {text: 2024-01-01}\n"
    )
    draft = parse_course(text)
    assert draft.title == "2024"
    assert draft.enrollment_key == "0042"
    assert draft.lessons[0].title == "3.10"
    assert draft.lessons[0].quiz is not None
    options = [option.text for option in draft.lessons[0].quiz.questions[0].options]
    assert options == ["yes", "no", "1:30", "2024-01-01"]


def test_explicit_type_that_agrees_is_accepted() -> None:
    text = with_question(
        text="Select all that apply",
        type="multiple_choice",
        options=[{"text": "a", "correct": True}, {"text": "b"}],
    )
    question = parse_course(text).lessons[1].quiz.questions[0]  # type: ignore[union-attr]
    assert question.type is QuestionType.multiple_choice
    text = with_question(type="text", text="Explain")
    question = parse_course(text).lessons[1].quiz.questions[0]  # type: ignore[union-attr]
    assert question.type is QuestionType.text


def test_a_lesson_id_is_read_as_its_key() -> None:
    data = copy.deepcopy(BASE)
    data["lessons"][0]["id"] = 17
    data["lessons"][2] = {"id": MAX_ID, **data["lessons"][2]}  # before the title is fine too
    draft = parse_course(yaml.safe_dump(data, sort_keys=False))
    assert [lesson.key for lesson in draft.lessons] == [17, None, MAX_ID]
    assert parse_course(json.dumps(data), filename="course.json") == draft


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0", "0"),
        ("-3", "-3"),
        (str(MAX_ID + 1), str(MAX_ID + 1)),
        ('"17"', 'the text "17"'),
        ("1.5", "the number 1.5"),
        ("true", "true"),
        ("[1]", "a list"),
    ],
)
def test_a_lesson_id_is_a_positive_whole_number(value: str, shown: str) -> None:
    text = f"title: T\nlessons:\n  - title: A\n  - title: B\n    id: {value}\n"
    assert error_of(text) == (
        f"lessons[1].id: must be a whole number from 1 to {MAX_ID}, not {shown}"
    )


def test_a_lesson_id_used_twice_names_both_places() -> None:
    lessons = "".join(
        f"  - title: L{index}\n" + (f"    id: {key}\n" if key else "")
        for index, key in enumerate([5, 17, None, 17, 5])
    )
    assert (
        error_of(f"title: T\nlessons:\n{lessons}") == "lessons[3].id: 17 is used by lessons[1] too"
    )


QUESTION = "lessons[1].quiz.questions[0]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (course_yaml(title=None), "title: is required"),
        (course_yaml(title="   "), "title: must not be empty"),
        (course_yaml(title="x" * 201), "title: is too long: 201 characters, at most 200"),
        (course_yaml(title=["a"]), "title: must be text, not a list"),
        (
            course_yaml(difficulty="expert"),
            "difficulty: must be one of beginner, intermediate, advanced",
        ),
        (course_yaml(duration_minutes=-5), "duration_minutes: must be a whole number from 0"),
        (course_yaml(duration_minutes="90"), "duration_minutes: must be a whole number"),
        (course_yaml(duration_minutes=1.5), "duration_minutes: must be a whole number"),
        (course_yaml(published="yes"), 'published: must be true or false, not the text "yes"'),
        (course_yaml(published=1), "published: must be true or false, not the number 1"),
        (course_yaml(description="x" * 4001), "description: is too long"),
        (course_yaml(category="c" * 101), "category: is too long"),
        (course_yaml(enrollment_key="k" * 129), "enrollment_key: is too long"),
        (course_yaml(enrollment_key="  "), "enrollment_key: must not be empty"),
        (course_yaml(lessons=[]), "lessons: a course needs at least one lesson"),
        (course_yaml(lessons=None), "lessons: a course needs at least one lesson"),
        (course_yaml(lessons="Intro"), "lessons: must be a list"),
        (course_yaml(lesson=[]), "lesson: unknown field (expected one of title,"),
        (
            course_yaml(lessons=[{"title": "A", "vidoe": "x"}]),
            "lessons[0].vidoe: unknown field",
        ),
        (course_yaml(lessons=["Intro"]), "lessons[0]: must be a mapping of fields"),
        (course_yaml(lessons=[{"content": "x"}]), "lessons[0].title: is required"),
        (course_yaml(lessons=[{"title": "t" * 201}]), "lessons[0].title: is too long"),
        (
            course_yaml(lessons=[{"title": "A", "content": "x" * 50_001}]),
            "lessons[0].content: is too long: 50001 characters, at most 50000",
        ),
        (
            course_yaml(lessons=[{"title": "A", "content": "Hi <script>alert(1)</script>"}]),
            "lessons[0].content: unsupported tag <script>",
        ),
        (
            course_yaml(lessons=[{"title": "A"}, {"title": "B", "content": "<b>bold"}]),
            "lessons[1].content: can't parse HTML: <b> is never closed",
        ),
        (
            course_yaml(lessons=[{"title": "A", "content": "<b>x</i>"}]),
            "lessons[0].content: can't parse HTML: </i> found where </b> was expected",
        ),
        (
            course_yaml(lessons=[{"title": "A", "content": "if a < b:"}]),
            'lessons[0].content: can\'t parse HTML: a bare "<"',
        ),
        (course_yaml(description="<p>x</p>"), "description: unsupported tag <p>"),
        (
            course_yaml(lessons=[{"title": "A", "media": {"kind": "gif", "file_id": "x"}}]),
            "lessons[0].media.kind: must be one of photo, video, document, audio",
        ),
        (
            course_yaml(lessons=[{"title": "A", "media": {"kind": "photo"}}]),
            "lessons[0].media.file_id: is required",
        ),
        (
            course_yaml(lessons=[{"title": "A", "media": {"kind": "photo", "file_id": "f" * 256}}]),
            "lessons[0].media.file_id: is too long",
        ),
        (
            course_yaml(lessons=[{"title": "A", "media": "AgAC"}]),
            "lessons[0].media: must be a mapping of fields (kind, file_id)",
        ),
        (
            course_yaml(lessons=[{"title": "A", "quiz": {"title": "Q", "questions": []}}]),
            "lessons[0].quiz.questions: a quiz needs at least one question",
        ),
        (
            course_yaml(lessons=[{"title": "A", "quiz": {"questions": [{"text": "Why?"}]}}]),
            "lessons[0].quiz.title: is required",
        ),
        (
            course_yaml(
                lessons=[
                    {
                        "title": "A",
                        "quiz": {"title": "Q", "questions": [{"text": "Why?"} for _ in range(51)]},
                    }
                ]
            ),
            "lessons[0].quiz.questions: at most 50 questions, not 51",
        ),
        (
            course_yaml(
                lessons=[
                    {
                        "title": "A",
                        "quiz": {"title": "Q", "passing_score": 101, "questions": [{"text": "?"}]},
                    }
                ]
            ),
            "lessons[0].quiz.passing_score: must be a whole number from 0 to 100, not 101",
        ),
        (
            course_yaml(
                lessons=[
                    {
                        "title": "A",
                        "quiz": {"title": "Q", "max_attempts": -1, "questions": [{"text": "?"}]},
                    }
                ]
            ),
            "lessons[0].quiz.max_attempts: must be a whole number from 0 to 1000, not -1",
        ),
        (
            with_question(text="Which?", options=[{"text": "a"}, {"text": "b"}]),
            f"{QUESTION}: no correct option",
        ),
        (
            with_question(
                text="Which?", type="text", options=[{"text": "a", "correct": True}, {"text": "b"}]
            ),
            f"{QUESTION}.type: a text question has no options",
        ),
        (
            with_question(
                text="Which?",
                type="single_choice",
                options=[{"text": "a", "correct": True}, {"text": "b", "correct": True}],
            ),
            f"{QUESTION}.type: a single_choice question has exactly one correct option, not 2",
        ),
        (
            with_question(text="Which?", type="multiple_choice"),
            f"{QUESTION}: a multiple_choice question needs 2 to 10 options",
        ),
        (with_question(text="Which?", type="essay"), f"{QUESTION}.type: must be one of"),
        (
            with_question(text="Which?", options=[{"text": "a", "correct": "yes"}, {"text": "b"}]),
            f'{QUESTION}.options[0].correct: must be true or false, not the text "yes"',
        ),
        (
            with_question(text="Which?", options=[{"text": "a", "correct": 1}, {"text": "b"}]),
            f"{QUESTION}.options[0].correct: must be true or false, not the number 1",
        ),
        (
            with_question(
                text="Which?",
                options=[{"text": "a", "correct": True}, {"text": "b"}, {"text": "a "}],
            ),
            f"{QUESTION}.options[2].text: repeats option 0",
        ),
        (
            with_question(text="Which?", options=[{"text": "a", "correct": True}]),
            f"{QUESTION}.options: needs 2 to 10 options, not 1",
        ),
        (
            with_question(
                text="Which?",
                options=[{"text": str(n), "correct": n == 0} for n in range(11)],
            ),
            f"{QUESTION}.options: needs 2 to 10 options, not 11",
        ),
        (
            with_question(text="Which?", options=["a", "b"]),
            f"{QUESTION}.options[0]: must be a mapping like",
        ),
        (
            with_question(
                text="Which?", options=[{"text": "o" * 101, "correct": True}, {"text": "b"}]
            ),
            f"{QUESTION}.options[0].text: is too long: 101 characters, at most 100",
        ),
        (with_question(text="q" * 301), f"{QUESTION}.text: is too long"),
        (with_question(options=[]), f"{QUESTION}.text: is required"),
        (
            with_question(text="Why?", explanation="e" * 1001),
            f"{QUESTION}.explanation: is too long",
        ),
        (with_question(text="Why?", hint="no"), f"{QUESTION}.hint: unknown field"),
        ("- title: A\n- title: B\n", "top level: must be a mapping of fields (title,"),
        ("just a sentence\n", "top level: must be a mapping of fields"),
        ("", "course.yaml: the file is empty"),
        (
            "title: A\ntitle: B\nlessons: []\n",
            "course.yaml: invalid YAML at line 2, column 1: duplicate key 'title'",
        ),
        (
            "x: &a [1, 2]\ny: *a\n",
            "course.yaml: invalid YAML at line 2, column 4: aliases (*name) are not supported",
        ),
    ],
)
def test_errors_name_the_place(text: str, expected: str) -> None:
    assert expected in error_of(text)


def quiz_yaml(setting: str) -> str:
    """A one-lesson course whose quiz has ``setting`` written as is, e.g. ``max_attempts: 1e3``."""
    return (
        "title: T\nlessons:\n  - title: A\n    quiz:\n      title: Q\n"
        f"      {setting}\n      questions:\n        - text: Why?\n"
    )


def quiz_json(setting: str) -> str:
    return (
        '{"title": "T", "lessons": [{"title": "A", "quiz": {"title": "Q", '
        f'{setting}, "questions": [{{"text": "Why?"}}]}}}}]}}'
    )


HUGE = "9" * 5000  # more digits than Python converts to an int
QUIZ = "lessons[0].quiz"


@pytest.mark.parametrize(
    ("text", "filename", "expected"),
    [
        (
            quiz_yaml("max_attempts: 99999999999999999999"),
            "c.yaml",
            f"{QUIZ}.max_attempts: must be a whole number from 0 to 1000, not 99999999999999999999",
        ),
        (
            quiz_yaml("max_attempts: 1001"),
            "c.yaml",
            f"{QUIZ}.max_attempts: must be a whole number from 0 to 1000, not 1001",
        ),
        (
            quiz_yaml("max_attempts: 0x7fffffffffff"),
            "c.yaml",
            f"{QUIZ}.max_attempts: must be a whole number from 0 to 1000, not 0x7fffffffffff",
        ),
        (
            quiz_yaml(f"max_attempts: {HUGE}"),
            "c.yaml",
            f"{QUIZ}.max_attempts: must be a whole number from 0 to 1000, "
            f"not the number {'9' * 29}…",
        ),
        (
            quiz_yaml("max_attempts: 0x" + "f" * 5000),
            "c.yaml",
            f"{QUIZ}.max_attempts: must be a whole number from 0 to 1000, "
            f"not the number 0x{'f' * 27}…",
        ),
        (
            quiz_json(f'"max_attempts": {HUGE}'),
            "c.json",
            f"{QUIZ}.max_attempts: must be a whole number from 0 to 1000, "
            f"not the number {'9' * 29}…",
        ),
        (
            quiz_json('"passing_score": 1e30'),
            "c.json",
            f"{QUIZ}.passing_score: must be a whole number from 0 to 100, not the number 1e30",
        ),
        (
            quiz_json('"passing_score": 1e400'),
            "c.json",
            f"{QUIZ}.passing_score: must be a whole number from 0 to 100, not the number 1e400",
        ),
        (
            quiz_yaml("passing_score: 1.0e+30"),
            "c.yaml",
            f"{QUIZ}.passing_score: must be a whole number from 0 to 100, not the number 1.0e+30",
        ),
        (
            quiz_yaml("passing_score: 70.0"),
            "c.yaml",
            f"{QUIZ}.passing_score: must be a whole number from 0 to 100, not the number 70.0",
        ),
        (
            quiz_yaml("passing_score: true"),
            "c.yaml",
            f"{QUIZ}.passing_score: must be a whole number from 0 to 100, not true",
        ),
        (
            quiz_json('"max_attempts": false'),
            "c.json",
            f"{QUIZ}.max_attempts: must be a whole number from 0 to 1000, not false",
        ),
        (
            course_yaml(duration_minutes=10**12),
            "c.yaml",
            "duration_minutes: must be a whole number from 0 to 100000, not 1000000000000",
        ),
        (
            course_yaml(duration_minutes=-5),
            "c.yaml",
            "duration_minutes: must be a whole number from 0 to 100000, not -5",
        ),
        (
            course_yaml(duration_minutes=0).replace(
                "duration_minutes: 0", f"duration_minutes: {HUGE}"
            ),
            "c.yaml",
            "duration_minutes: must be a whole number from 0 to 100000, "
            f"not the number {'9' * 29}…",
        ),
        (
            course_yaml(published=0).replace("published: 0", f"published: {HUGE}"),
            "c.yaml",
            f"published: must be true or false, not the number {'9' * 29}…",
        ),
    ],
)
def test_every_number_is_bounded_and_errors_name_the_place(
    text: str, filename: str, expected: str
) -> None:
    assert error_of(text, filename) == expected


def test_a_long_number_where_text_is_expected_stays_the_text_written() -> None:
    digits = "1234567890" * 10
    draft = parse_course(f"title: {digits}\nlessons:\n  - title: A\n    content: {HUGE}\n")
    assert (draft.title, draft.lessons[0].content) == (digits, HUGE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'title: "Intro\\0"\nlessons:\n  - title: A\n',
            "title: character 6 is a NUL character, which can't be stored",
        ),
        (
            'title: T\nlessons:\n  - title: A\n    content: "\\ud83d oops"\n',
            "lessons[0].content: character 1 is an unpaired surrogate \\ud83d, "
            "which can't be stored",
        ),
        (
            with_question(text="Which?", options=[{"text": "a\0", "correct": True}, {"text": "b"}]),
            f"{QUESTION}.options[0].text: character 2 is a NUL character",
        ),
    ],
)
def test_text_a_database_cannot_store_is_refused(text: str, expected: str) -> None:
    assert expected in error_of(text)


def test_an_invalid_yaml_syntax_error_says_line_and_column() -> None:
    text = "title: Python\nlessons:\n  - title: A\n   content: [oops\n"
    message = error_of(text, filename="python.yaml")
    assert message.startswith("python.yaml: invalid YAML at line 4, column")
    text = 'title: "unterminated\nlessons: []\n'
    assert "(while scanning a quoted scalar on line 1)" in error_of(text)


def test_errors_are_domain_errors_with_the_place() -> None:
    with pytest.raises(Invalid) as caught:
        parse_course(with_question(text="Which?", options=[{"text": "a"}, {"text": "b"}]))
    assert isinstance(caught.value, CourseFileError)
    assert caught.value.place == QUESTION


def test_plain_text_fields_keep_markup_literally() -> None:
    text = with_question(
        text="Is <b> a tag?", options=[{"text": "<b>", "correct": True}, {"text": "x < y"}]
    )
    draft = parse_course(text.replace("title: Python Basics", "title: <b>Python</b> & more"))
    assert draft.title == "<b>Python</b> & more"
    assert draft.lessons[1].quiz.questions[0].options[0].text == "<b>"  # type: ignore[union-attr]


def test_a_file_over_one_megabyte_is_refused() -> None:
    text = course_yaml() + "#" * MAX_FILE_BYTES
    assert "larger than 1 MB" in error_of(text)


# --- HTML ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "plain text, AT&T and 3 > 2 &amp; 1 &lt; 2 &#128512; &quot;",
        "<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <ins>n</ins>",
        "<s>s</s> <strike>k</strike> <del>d</del> <tg-spoiler>x</tg-spoiler>",
        '<span class="tg-spoiler">hidden</span> <a href="https://example.com/?a=1&amp;b=2">x</a>',
        '<pre><code class="language-python">if a &lt; b:\n    pass</code></pre> <pre>x</pre>',
        "<blockquote>quote <b>bold</b></blockquote> <blockquote expandable>long</blockquote>",
        "<B>upper</B> <b><i>nested</i></b>",
        # entities Python's HTMLParser can't read, though Telegram can: "Aa", then literal text
        "<b>&#65a</b>",
        "hex escapes look like &#x41; and a bare &#x is text: <i>see?</i>",
        "&# <b>x</b>",
    ],
)
def test_check_html_accepts_what_telegram_renders(text: str) -> None:
    check_html(text)
    parse_html(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<script>x</script>", "unsupported tag <script>"),
        ("a<br>b", "unsupported tag <br>; write a line break instead"),
        ("<img src='x'/>", "unsupported tag <img>"),
        ("<b>open", "can't parse HTML: <b> is never closed"),
        ("text\nmore <i>x\n", "can't parse HTML: <i> is never closed (line 2 of the text)"),
        ("<b><i>x</b></i>", "can't parse HTML: </b> found where </i> was expected"),
        ("x</b>", "can't parse HTML: </b> closes nothing"),
        ("<b>x</ b>", 'can\'t parse HTML: malformed end tag after "</"'),
        ("<b>x</>", 'can\'t parse HTML: malformed end tag after "</"'),
        ("a < b", 'can\'t parse HTML: a bare "<"'),
        ("ends with <b", 'can\'t parse HTML: a bare "<"'),
        ("<b/>", "can't parse HTML: self-closing tag <b/>"),
        ("<!-- note -->", "can't parse HTML: comments"),
        ("<a>x</a>", '<a> needs an href="…"'),
        ('<a href="">x</a>', "invalid href=''"),
        ("<a href=https://x.y/z>x</a>", "put the attribute value https://x.y/z of <a> in quotes"),
        ('<b class="x">y</b>', "unsupported attribute class in <b>"),
        ("<span>x</span>", '<span> is only supported as <span class="tg-spoiler">'),
        ('<span class="red">x</span>', "invalid class='red' in <span>"),
        ("<pre><b>x</b></pre>", "<b> inside <pre>: code is shown as it is"),
        ("<code><i>x</i></code>", "<i> inside <code>"),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "quotes can't nest"),
        ("caf&eacute;&nbsp;", "unsupported entity &eacute;"),
    ],
)
def test_check_html_refuses_what_telegram_would_refuse(text: str, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_html(text)
    assert expected in str(caught.value)


def test_whatever_check_html_accepts_the_telegram_parser_accepts_too() -> None:
    """Seeded random markup: the import check may be stricter than Telegram, never laxer."""
    tokens = [
        *("<b>", "</b>", "<i>", "</i>", "<pre>", "</pre>", "<code>", "</code>", "</>", "</ b>"),
        *('<a href="https://x.y">', "<a href=x>", "<a href=https://x>", "</a>", "<B>", "</B>"),
        *('<span class="tg-spoiler">', "</span>", "<blockquote expandable>", "</blockquote>"),
        *("x", " ", "\n", "&", "&amp;", "&lt;", "&nbsp;", "&#65;", "&#0;", "<", ">", "<br>"),
        *("<b/>", "<b\n>", "'", '"', '<code class="language-py">', "<a href='&quot;'>"),
    ]
    generator = random.Random(20240601)
    accepted = 0
    for _ in range(5000):
        text = "".join(generator.choice(tokens) for _ in range(generator.randint(1, 8)))
        try:
            check_html(text)
        except ValueError:
            continue
        parse_html(text)
        accepted += 1
    assert accepted > 100


# --- dumping ---------------------------------------------------------------------------------


TRICKY = [
    "yes",
    "no",
    "null",
    "~",
    "3.10",
    "007",
    "1:30",
    "2024-01-01",
    "true",
    "=",
    "<<",
    "- dash",
    "# hash",
    "key: value",
    "  leading and trailing  ",
    "quote ' and \" both",
    "tab\tinside",
    "ünïcödé ✓ 🐍",
    "{braces}",
    "[brackets]",
    "@at",
    "%percent",
    "!bang",
    "&amp",
    "*star",
]
TRICKY_CONTENT = [
    "one line",
    "two\nlines",
    "trailing newline\n",
    "two trailing newlines\n\n",
    "\nleading newline",
    "  indented first line\nsecond",
    "trailing spaces   \nnext",
    "windows\r\nline ends",
    "tab\tin\nblock",
    "\n",
    "\n\n\nthree leading blank lines",
    "blank line with spaces\n   \nbetween",
    "ends with spaces\n  ",
    "ends in a blank line\n\n",
    "- looks like\n- a list\n",
    "  - title: looks like a lesson\n",
    '<pre><code class="language-python">def f():\n    return 1 &lt; 2</code></pre>\n',
    "🐍 " + "long line " * 60 + "\nend",
    "",
]


def tricky_draft() -> CourseDraft:
    return CourseDraft(
        title="yes",
        description="Line one\nline <b>two</b>\n",
        category="3.10",
        difficulty=Difficulty.advanced,
        duration_minutes=0,
        published=False,
        lessons=[
            LessonDraft(
                title=TRICKY[index % len(TRICKY)],
                content=content,
                media_kind=MediaKind.document if index == 1 else None,
                media_file_id="BQACAgIAAxkBAAI" if index == 1 else None,
                quiz=QuizDraft(
                    title=TRICKY[(index + 1) % len(TRICKY)],
                    passing_score=index * 5,
                    max_attempts=index,
                    questions=[
                        QuestionDraft(
                            text=TRICKY[(index + 2) % len(TRICKY)] + "?\nsecond line",
                            type=QuestionType.single_choice,
                            options=[
                                OptionDraft(TRICKY[(index + 3) % len(TRICKY)], True),
                                OptionDraft(TRICKY[(index + 4) % len(TRICKY)]),
                                OptionDraft("multi\nline option"),
                            ],
                            explanation="" if index == 2 else TRICKY[index % len(TRICKY)],
                        ),
                        QuestionDraft(
                            "Select all that apply",
                            QuestionType.multiple_choice,
                            [OptionDraft("only", True), OptionDraft("other")],
                        ),
                        QuestionDraft("Explain", QuestionType.text),
                    ],
                )
                if index % 2 == 0
                else None,
                key=None if index % 3 == 0 else MAX_ID - index,
            )
            for index, content in enumerate(TRICKY_CONTENT)
        ],
    )


def test_dump_then_parse_round_trips_even_tricky_text() -> None:
    draft = tricky_draft()
    assert parse_course(dump_course(draft)) == draft


def test_dump_then_parse_round_trips_random_text() -> None:
    """Seeded random strings full of YAML's special characters and odd line breaks."""
    alphabet = [*"ab Z09:#-?'\"\n\r\t \\{}[]|>&*!%@`,.=<~", "é", "🐍", "\x85", "\u2028", "\xa0"]
    generator = random.Random(1)

    def text(longest: int, *, required: bool = True) -> str:
        while True:
            value = "".join(
                generator.choice(alphabet) for _ in range(generator.randint(0, longest))
            )
            if value.strip() or not required:
                return value

    for _ in range(300):
        first, second = text(8), text(8)
        if first.strip() == second.strip():
            continue
        draft = CourseDraft(
            title=text(20),
            description=html.escape(text(300, required=False), quote=False),
            category=text(10, required=False),
            lessons=[
                LessonDraft(
                    text(20),
                    html.escape(text(400, required=False), quote=False),
                    quiz=QuizDraft(
                        text(20),
                        questions=[
                            QuestionDraft(
                                text(50),
                                QuestionType.single_choice,
                                [OptionDraft(first, True), OptionDraft(second)],
                                explanation=text(50, required=False),
                            )
                        ],
                    ),
                    key=generator.choice([None, 1, generator.randint(1, MAX_ID), MAX_ID]),
                )
            ],
        )
        assert parse_course(dump_course(draft)) == draft


def test_dump_is_readable_and_in_the_spec_order() -> None:
    draft = parse_course(course_yaml(enrollment_key="secret-key"))
    text = dump_course(draft)

    assert "secret-key" not in text
    assert "enrollment_key" not in text
    keys = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
    assert keys == [
        "title",
        "description",
        "category",
        "difficulty",
        "duration_minutes",
        "published",
        "lessons",
    ]
    assert "    content: |\n      A <b>variable</b> names a value.\n" in text
    assert "    media: {kind: photo, file_id: AgACAgIAAxk}\n" in text
    assert "- {text: x = 4, correct: true}" in text
    assert "- {text: 2var}" in text
    assert "correct: false" not in text
    assert "type:" not in text  # every type here follows from the options
    assert "explanation: One = assigns, two compare.\n" in text
    assert "      - text: In your own words, what is a variable?\n\n  - title: Loops\n" in text
    draft.enrollment_key = None
    assert parse_course(text) == draft


def test_dump_writes_each_lessons_id_right_after_its_title() -> None:
    draft = parse_course(course_yaml())
    for index, lesson in enumerate(draft.lessons):
        lesson.key = 100 + index
    text = dump_course(draft)
    assert "  - title: Intro\n    id: 100\n    content: |\n" in text
    assert "  - title: Variables\n    id: 101\n" in text
    assert "  - title: Loops\n    id: 102\n" in text
    assert parse_course(text) == draft
    draft.lessons[1].key = None
    assert "  - title: Variables\n    content: |\n" in dump_course(draft), "no id, no line"


def test_dump_writes_the_type_only_when_the_options_do_not_say_it() -> None:
    draft = tricky_draft()
    text = dump_course(draft)
    assert text.count("type: multiple_choice") == sum(1 for lesson in draft.lessons if lesson.quiz)
    assert "type: single_choice" not in text
    assert "type: text" not in text


# --- import and export -----------------------------------------------------------------------


async def test_import_example_makes_owner_instructor_and_stores_the_whole_course(
    database: Database,
) -> None:
    course = await import_course_file(database, EXAMPLE, owner_telegram_id=501)

    expected = parse_course(EXAMPLE.read_text(encoding="utf-8"))
    async with database.session() as session:
        owner = await session.scalar(select(User).where(User.telegram_id == 501))
        assert owner is not None and owner.role is Role.instructor
        stored = await session.get(Course, course.id)
        assert stored is not None
        assert stored.instructor_id == owner.id
        assert stored.is_published is True
        assert stored.enrollment_key_hash is None
        lessons = await session.scalar(
            select(func.count()).select_from(Lesson).where(Lesson.course_id == course.id)
        )
        assert lessons == len(expected.lessons)
        types = (
            await session.scalars(
                select(Question.type)
                .join(Quiz)
                .join(Lesson)
                .where(Lesson.course_id == course.id)
                .order_by(Lesson.order_index, Question.order_index)
            )
        ).all()
        assert types == [
            question.type
            for lesson in expected.lessons
            if lesson.quiz
            for question in lesson.quiz.questions
        ]
        stored_draft = await course_draft(session, course.id)
        lesson_ids = await session.scalars(
            select(Lesson.id).where(Lesson.course_id == course.id).order_by(Lesson.order_index)
        )
        assert [lesson.key for lesson in stored_draft.lessons] == list(lesson_ids)
        assert without_keys(stored_draft) == expected


async def test_import_as_a_new_course_ignores_the_lesson_ids(
    database: Database, tmp_path: Path
) -> None:
    first = await import_course_file(database, EXAMPLE, owner_telegram_id=501)
    exported = await export_course_file(database, first.id)
    source = tmp_path / "copy.yaml"
    source.write_text(exported.replace("title: Python Basics", "title: Copy", 1), "utf-8")
    copy_ = await import_course_file(database, source, owner_telegram_id=502)
    async with database.session() as session:
        original, again = (
            (await course_draft(session, first.id)),
            await course_draft(session, copy_.id),
        )
    assert without_keys(again) == dataclasses.replace(without_keys(original), title="Copy")
    assert not {lesson.key for lesson in again.lessons} & {
        lesson.key for lesson in original.lessons
    }, "new lessons, the original's untouched"
    assert parse_course(exported) == original


async def test_import_keeps_an_admin_an_admin(database: Database) -> None:
    await make_user(database, 600, Role.admin)
    await import_course_file(database, EXAMPLE, owner_telegram_id=600)
    async with database.session() as session:
        owner = await session.scalar(select(User).where(User.telegram_id == 600))
    assert owner is not None and owner.role is Role.admin


async def test_export_reimports_to_the_same_draft_without_the_key(
    database: Database, tmp_path: Path
) -> None:
    source = tmp_path / "keyed.yaml"
    source.write_text(course_yaml(enrollment_key="open-sesame"), encoding="utf-8")
    course = await import_course_file(database, source, owner_telegram_id=700)

    exported = await export_course_file(database, course.id)
    assert "open-sesame" not in exported
    assert "enrollment_key" not in exported
    draft = parse_course(exported)
    original = parse_course(source.read_text(encoding="utf-8"))
    original.enrollment_key = None
    assert without_keys(draft) == original
    assert all(lesson.key for lesson in draft.lessons), "every exported lesson has its id"

    target = tmp_path / "exported.yaml"
    target.write_text(exported, encoding="utf-8")
    again = await import_course_file(database, target, owner_telegram_id=700)
    reexported = await export_course_file(database, again.id)
    assert without_keys(parse_course(reexported)) == without_keys(draft)
    ids = re.compile(r"^    id: \d+\n", re.MULTILINE)
    assert ids.sub("", reexported) == ids.sub("", exported), "the same file but for the ids"


async def test_the_enrollment_key_is_stored_hashed(database: Database, tmp_path: Path) -> None:
    source = tmp_path / "keyed.yaml"
    source.write_text(course_yaml(enrollment_key="open-sesame"), encoding="utf-8")
    course = await import_course_file(database, source, owner_telegram_id=701)
    async with database.session() as session:
        stored = await session.get(Course, course.id)
    assert stored is not None and stored.enrollment_key_hash
    assert "open-sesame" not in stored.enrollment_key_hash
    assert verify_secret("open-sesame", stored.enrollment_key_hash)
    assert not verify_secret("open-sesame!", stored.enrollment_key_hash)


async def test_export_of_an_unknown_course_is_not_found(database: Database) -> None:
    with pytest.raises(NotFound) as caught:
        await export_course_file(database, 999)
    assert (caught.value.reason, caught.value.data) == (Reason.no_such_course, {"course_id": 999})


def test_the_exported_header_says_only_what_works() -> None:
    text = dump_course(parse_course(course_yaml()))
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header == [
        "# learnbot course file (YAML). Import it with: learnbot import FILE --owner TELEGRAM_ID",
        "# (add --replace COURSE_ID to replace that course in place). Lesson content is Telegram",
        "# HTML. A lesson's id ties it to the same lesson when a course is replaced from this",
        "# file: keep the id while you edit the lesson and students keep its completion; a lesson",
        "# without an id is new, and a lesson of the course missing from the file is deleted.",
    ]


def longest_course() -> CourseDraft:
    """Every text at its longest, in characters that take several bytes, every number at its
    bound: what the validation lets through must fit the database's columns."""
    emoji = "🐍"

    options = [OptionDraft(str(n) + emoji * 99, n == 0) for n in range(10)]
    question = QuestionDraft("?" * 300, QuestionType.single_choice, options, "é" * 1000)

    return CourseDraft(
        title=emoji * 200,
        description="<b>" + "d" * 3993 + "</b>",
        category="ü" * 100,
        difficulty=Difficulty.advanced,
        duration_minutes=100_000,
        published=True,
        lessons=[
            LessonDraft(
                "ж" * 200,
                "中" * 50_000,
                MediaKind.video,
                "f" * 255,
                QuizDraft("q" * 200, 100, 1000, [question] * 50),
            )
        ],
    )


async def test_the_longest_valid_course_fits_the_database(
    database: Database, tmp_path: Path
) -> None:
    draft = longest_course()
    text = dump_course(draft)
    assert parse_course(text) == draft
    source = tmp_path / "longest.yaml"
    source.write_text(text, encoding="utf-8")
    course = await import_course_file(database, source, owner_telegram_id=2**52 - 1)
    assert without_keys(parse_course(await export_course_file(database, course.id))) == draft


async def test_out_of_range_values_are_refused_before_the_database(
    database: Database, tmp_path: Path
) -> None:
    source = tmp_path / "bad.yaml"
    for text, expected in [
        ('title: "Nul\\0"\nlessons:\n  - title: A\n', "title: character 4 is a NUL"),
        (quiz_yaml("max_attempts: 2147483648"), "max_attempts: must be a whole number"),
        (course_yaml(duration_minutes=2**63), "duration_minutes: must be a whole number"),
    ]:
        source.write_text(text, encoding="utf-8")
        with pytest.raises(CourseFileError, match=expected):
            await import_course_file(database, source, owner_telegram_id=1)
    for model in (Course, Lesson, Quiz, User):
        assert await count(database, model) == 0


async def test_an_invalid_file_changes_nothing_not_even_the_owner(
    database: Database, tmp_path: Path
) -> None:
    data = copy.deepcopy(BASE)
    data["lessons"][2]["quiz"] = {
        "title": "Loops check",
        "questions": [{"text": "Which?", "options": [{"text": "a"}, {"text": "b"}]}],
    }
    source = tmp_path / "broken.yaml"
    source.write_text(yaml.safe_dump(data), encoding="utf-8")

    with pytest.raises(CourseFileError, match=r"lessons\[2\]\.quiz\.questions\[0\]: no correct"):
        await import_course_file(database, source, owner_telegram_id=800)

    for model in (Course, Lesson, Quiz, User):
        assert await count(database, model) == 0


async def test_import_accepts_json_files(database: Database, tmp_path: Path) -> None:
    source = tmp_path / "course.json"
    source.write_text(json.dumps(BASE, indent=2), encoding="utf-8")
    course = await import_course_file(database, source, owner_telegram_id=900)
    assert await count(database, Lesson) == len(BASE["lessons"])
    assert course.title == "Python Basics"


async def test_unreadable_files_are_clear_errors(database: Database, tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(CourseFileError, match=r"missing\.yaml: can't read the file"):
        await import_course_file(database, missing, owner_telegram_id=1)

    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("title: Café\nlessons: []\n".encode("latin-1"))
    with pytest.raises(CourseFileError, match=r"latin1\.yaml: not UTF-8 text \(line 1\)"):
        await import_course_file(database, latin1, owner_telegram_id=1)

    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(CourseFileError, match=r"huge\.yaml: the file is larger than 1 MB"):
        await import_course_file(database, huge, owner_telegram_id=1)

    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + course_yaml().encode())
    await import_course_file(database, bom, owner_telegram_id=1)
    assert await count(database, Course) == 1

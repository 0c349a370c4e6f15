"""Questions typed in chat and quiz polls as drafts: the compact format, its errors, and polls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.coursefile import CourseFileError, parse_course
from bot.quizformat import (
    EXAMPLE,
    QuizFormatError,
    parse_questions,
    question_from_poll,
    render_questions,
)
from db.authoring import OptionDraft, QuestionDraft
from db.errors import Invalid, Reason
from db.limits import (
    MAX_EXPLANATION_LENGTH,
    MAX_OPTION_TEXT_LENGTH,
    MAX_OPTIONS_PER_QUESTION,
    MAX_QUESTION_TEXT_LENGTH,
)
from db.models import QuestionType

EXAMPLE_DRAFTS = [
    QuestionDraft(
        text="Which line assigns 4 to x?",
        type=QuestionType.single_choice,
        options=[OptionDraft("x == 4", False), OptionDraft("x = 4", True)],
        explanation="One = assigns, two compare.",
    ),
    QuestionDraft(
        text="Pick the valid names",
        type=QuestionType.multiple_choice,
        options=[OptionDraft("my_var", True), OptionDraft("2var", False), OptionDraft("_x", True)],
    ),
    QuestionDraft(text="In your own words, what is a variable?", type=QuestionType.text),
]


def error_of(text: str) -> str:
    with pytest.raises(QuizFormatError) as caught:
        parse_questions(text)
    return caught.value.message


def test_the_example_parses_to_its_three_questions() -> None:
    assert parse_questions(EXAMPLE) == EXAMPLE_DRAFTS


def test_rendering_the_example_gives_the_example() -> None:
    assert render_questions(EXAMPLE_DRAFTS) == EXAMPLE


def test_errors_are_course_file_errors_worded_by_their_detail() -> None:
    with pytest.raises(QuizFormatError) as caught:
        parse_questions("Q\n- a\n- b")
    error = caught.value
    assert isinstance(error, CourseFileError)
    assert isinstance(error, Invalid)
    assert error.reason is Reason.course_file
    assert error.data == {"detail": "question 1 (line 1): needs at least one correct option (+)"}
    assert error.place == "question 1 (line 1)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "Q1\n+ a\n- b\n\n\n\nQ2\n- c\n- d",
            "question 2 (line 7): needs at least one correct option (+)",
            id="no-correct-option",
        ),
        pytest.param(
            "\n\n+ x = 4\n- x == 4",
            "question 1 (line 3): an option before the question text",
            id="option-first",
        ),
        pytest.param(
            "Q1\n+ a\n- b\n\n+ c\n- d",
            "question 2 (line 5): an option before the question text",
            id="block-of-only-options",
        ),
        pytest.param(
            "Q1\n+ a\n- b\n\n> why",
            "question 2 (line 5): an explanation (>) before the question text",
            id="explanation-first",
        ),
        pytest.param(
            "Q1\n+ a\n> why\n- b",
            "question 1 (line 4): an option after the explanation; write the explanation (>) last",
            id="option-after-explanation",
        ),
        pytest.param(
            "Q1\n+ a\n- b\nQ2\n+ c\n- d",
            "question 1 (line 4): a line without +, - or > after the options; "
            "leave a blank line before the next question",
            id="missing-blank-line-after-options",
        ),
        pytest.param(
            "Q1\n> why\nQ2",
            "question 1 (line 3): a line without +, - or > after the explanation; "
            "leave a blank line before the next question",
            id="missing-blank-line-after-explanation",
        ),
        pytest.param(
            "Q1\n+ a\n- b\n\nQ2\n+ c\n- d\n\nQ3\n"
            + "\n".join(f"- {n}" for n in range(10))
            + "\n+ right",
            f"question 3: 11 options; at most {MAX_OPTIONS_PER_QUESTION}",
            id="eleven-options",
        ),
        pytest.param("Q1\n+ a", "question 1: 1 option; at least 2", id="one-option"),
        pytest.param(
            "Q1\n+ a\n-\n- c",
            "question 1 (line 3): the option is empty",
            id="empty-option",
        ),
        pytest.param(
            "Q1\n+ a\n- b\n-  a ",
            "question 1 (line 4): repeats option 1; options must differ",
            id="repeated-option",
        ),
        pytest.param(
            "Q1\n+ a\n- b\n\nQ2\n+ " + "o" * (MAX_OPTION_TEXT_LENGTH + 1) + "\n- b",
            "question 2 (line 6): the option is too long: 101 characters, at most 100",
            id="option-too-long",
        ),
        pytest.param(
            "Q" * 200 + "\n" + "q" * 100,
            "question 1 (line 1): the question is too long: 301 characters, at most 300",
            id="question-too-long-over-two-lines",
        ),
        pytest.param(
            "Q1\n+ a\n- b\n> " + "e" * 600 + "\n> " + "e" * 400,
            "question 1 (line 4): the explanation is too long: 1001 characters, at most 1000",
            id="explanation-too-long",
        ),
        pytest.param(
            "Q1\n+ a\0\n- b",
            "question 1 (line 2): the option holds a NUL character, which can't be stored",
            id="nul",
        ),
        pytest.param(
            "",
            "no question found: write the question, then options starting with + or -",
            id="empty",
        ),
        pytest.param(
            " \n\t\n\r\n  \r",
            "no question found: write the question, then options starting with + or -",
            id="whitespace-only",
        ),
    ],
)
def test_errors_name_the_question_and_line(text: str, message: str) -> None:
    assert error_of(text) == message


def test_the_first_error_wins_and_no_question_is_returned() -> None:
    text = "Fine\n+ a\n- b\n\nBroken\n- a\n- b\n\nAlso broken\n+ a"
    assert error_of(text) == "question 2 (line 5): needs at least one correct option (+)"


def test_lines_before_the_first_option_make_a_multi_line_question() -> None:
    [draft] = parse_questions("What does this print?\n  print(1 < 2)  \nx = 3\n+ True\n- False")
    assert draft.text == "What does this print?\nprint(1 < 2)\nx = 3"
    assert draft.type is QuestionType.single_choice


def test_crlf_and_mixed_line_endings_count_lines_alike() -> None:
    text = EXAMPLE.replace("\n", "\r\n")
    assert parse_questions(text) == EXAMPLE_DRAFTS
    assert error_of("Q1\r\n+ a\r- b\n\r\nQ2\r\n- c\n- d") == (
        "question 2 (line 5): needs at least one correct option (+)"
    )


def test_marks_take_an_optional_space_and_lines_are_stripped() -> None:
    [draft] = parse_questions(
        "   Is 1 < 2?\t\n+yes\n  -   no  \n>Because <b> is text.\n>\n>  Twice."
    )
    assert draft == QuestionDraft(
        text="Is 1 < 2?",
        type=QuestionType.single_choice,
        options=[OptionDraft("yes", True), OptionDraft("no", False)],
        explanation="Because <b> is text.\n\nTwice.",
    )


def test_option_texts_may_start_with_a_mark_after_their_own() -> None:
    [draft] = parse_questions("2 - 3 = ?\n+ -1\n- +1\n> > than zero? no")
    assert [option.text for option in draft.options] == ["-1", "+1"]
    assert draft.explanation == "> than zero? no"


def test_a_text_question_may_have_an_explanation() -> None:
    [draft] = parse_questions("Name a mutable type.\n> list, dict or set.")
    assert draft == QuestionDraft(
        text="Name a mutable type.", type=QuestionType.text, explanation="list, dict or set."
    )


def test_a_bare_explanation_mark_adds_no_explanation() -> None:
    [draft] = parse_questions("Q\n+ a\n- b\n>")
    assert draft.explanation is None


def test_ten_options_and_the_longest_texts_are_accepted() -> None:
    text = (
        "q" * MAX_QUESTION_TEXT_LENGTH
        + "\n+ "
        + "o" * MAX_OPTION_TEXT_LENGTH
        + "".join(f"\n- {n}" for n in range(MAX_OPTIONS_PER_QUESTION - 1))
        + "\n> "
        + "e" * MAX_EXPLANATION_LENGTH
    )
    [draft] = parse_questions(text)
    assert len(draft.options) == MAX_OPTIONS_PER_QUESTION


def _course_with(question: dict[str, Any]) -> str:
    quiz = {"title": "Quiz", "questions": [question]}
    return json.dumps({"title": "Course", "lessons": [{"title": "Lesson", "quiz": quiz}]})


AT_LIMIT: dict[str, Any] = {
    "text": "q" * MAX_QUESTION_TEXT_LENGTH,
    "options": [{"text": "o" * MAX_OPTION_TEXT_LENGTH, "correct": True}]
    + [{"text": str(n)} for n in range(MAX_OPTIONS_PER_QUESTION - 1)],
    "explanation": "e" * MAX_EXPLANATION_LENGTH,
}


@pytest.mark.parametrize(
    "over",
    [
        {"text": "q" * (MAX_QUESTION_TEXT_LENGTH + 1)},
        {"options": [{"text": "o" * (MAX_OPTION_TEXT_LENGTH + 1), "correct": True}, {"text": "x"}]},
        {"options": [*AT_LIMIT["options"], {"text": "one more"}]},
        {"explanation": "e" * (MAX_EXPLANATION_LENGTH + 1)},
    ],
    ids=["question", "option", "option-count", "explanation"],
)
def test_the_limits_are_the_course_files(over: dict[str, Any]) -> None:
    """A question accepted in chat must survive an export and re-import of its course."""
    parse_course(_course_with(AT_LIMIT), filename="course.json")
    question = AT_LIMIT | over
    with pytest.raises(CourseFileError):
        parse_course(_course_with(question), filename="course.json")
    draft = QuestionDraft(
        text=question["text"],
        type=QuestionType.single_choice,
        options=[OptionDraft(o["text"], o.get("correct", False)) for o in question["options"]],
        explanation=question["explanation"],
    )
    with pytest.raises(QuizFormatError):
        parse_questions(render_questions([draft]))


# --- Round trip ----------------------------------------------------------------------------------

_TEXT = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Zl", "Zp")), max_size=30)
    .map(str.strip)
    .filter(bool)
)
_QUESTION_LINE = _TEXT.filter(lambda line: line[0] not in "+->")


@st.composite
def compact_questions(draw: st.DrawFn) -> QuestionDraft:
    """A question the compact format can hold, in the form parse_questions returns it."""
    text = "\n".join(draw(st.lists(_QUESTION_LINE, min_size=1, max_size=3)))
    texts = draw(st.one_of(st.just([]), st.lists(_TEXT, min_size=2, max_size=10, unique=True)))
    correct = draw(st.lists(st.booleans(), min_size=len(texts), max_size=len(texts)))
    if texts and not any(correct):
        correct[draw(st.integers(0, len(texts) - 1))] = True
    explanation_lines = draw(st.lists(st.one_of(_TEXT, st.just("")), max_size=4))
    explanation = "\n".join(explanation_lines).strip() or None
    kind = {0: QuestionType.text, 1: QuestionType.single_choice}.get(
        sum(correct), QuestionType.multiple_choice
    )
    return QuestionDraft(
        text=text,
        type=kind,
        options=[OptionDraft(t, c) for t, c in zip(texts, correct, strict=True)],
        explanation=explanation,
    )


@given(st.lists(compact_questions(), min_size=1, max_size=5))
def test_rendered_questions_parse_back_to_the_same_drafts(drafts: list[QuestionDraft]) -> None:
    assert parse_questions(render_questions(drafts)) == drafts


# --- Quiz polls ----------------------------------------------------------------------------------


def test_a_quiz_poll_with_one_correct_option_is_single_choice() -> None:
    draft = question_from_poll(
        "Which line assigns 4 to x?", ["x == 4", "x = 4"], [1], "One = assigns.", False
    )
    assert draft == QuestionDraft(
        text="Which line assigns 4 to x?",
        type=QuestionType.single_choice,
        options=[OptionDraft("x == 4", False), OptionDraft("x = 4", True)],
        explanation="One = assigns.",
    )


def test_a_quiz_poll_with_several_correct_options_is_multiple_choice() -> None:
    draft = question_from_poll("Valid names?", ("my_var", "2var", "_x"), (0, 2), None, True)
    assert draft.type is QuestionType.multiple_choice
    assert [option.correct for option in draft.options] == [True, False, True]
    assert draft.explanation is None


def test_a_multiple_answer_quiz_with_one_correct_option_stays_multiple_choice() -> None:
    draft = question_from_poll("Even numbers?", ["1", "2", "3"], [1], "", True)
    assert draft.type is QuestionType.multiple_choice
    assert draft.explanation is None


@pytest.mark.parametrize("correct_option_ids", [None, [], ()])
def test_a_poll_without_a_known_correct_option_is_refused(
    correct_option_ids: list[int] | None,
) -> None:
    with pytest.raises(QuizFormatError) as caught:
        question_from_poll("Lunch?", ["Pizza", "Soup"], correct_option_ids, None, False)
    assert caught.value.message == (
        "send a quiz poll (Telegram's quiz mode) so I know the correct answer"
    )


def test_a_quiz_poll_must_fit_a_question() -> None:
    options = [str(n) for n in range(12)]
    with pytest.raises(QuizFormatError) as caught:
        question_from_poll("Pick one", options, [0], None, False)
    assert caught.value.message == "the quiz: 12 options; at most 10"

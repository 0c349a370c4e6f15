"""Questions an instructor types in chat (the compact format) or sends as a Telegram quiz poll.

One message may hold many questions, so every error names the question and the line
(``question 2 (line 7): …``): the author has to find the spot in a long message. Parsing is
all or nothing, like a course file's import.

The limits are ``db.limits``, shared with course files: a question accepted in chat must
survive an export and a re-import of its course. Explanations are shown in the bot's own
messages, so Telegram's 200 characters for a quiz poll's explanation do not apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.coursefile import CourseFileError, inferred_type
from db.authoring import OptionDraft, QuestionDraft
from db.limits import (
    MAX_EXPLANATION_LENGTH,
    MAX_OPTION_TEXT_LENGTH,
    MAX_OPTIONS_PER_QUESTION,
    MAX_QUESTION_TEXT_LENGTH,
    MIN_OPTIONS_PER_QUESTION,
    UNSTORABLE_CHARACTERS,
)
from db.models import QuestionType

__all__ = [
    "EXAMPLE",
    "QuizFormatError",
    "parse_questions",
    "question_from_poll",
    "render_questions",
]

EXAMPLE = """\
Which line assigns 4 to x?
- x == 4
+ x = 4
> One = assigns, two compare.

Pick the valid names
+ my_var
- 2var
+ _x

In your own words, what is a variable?"""

_CORRECT = "+"
_WRONG = "-"
_EXPLANATION = ">"

# A line's number in the message (None for a poll) and what it holds.
_Numbered = tuple[int | None, str]
_NumberedOption = tuple[int | None, OptionDraft]


class QuizFormatError(CourseFileError):
    """Questions that can't be used as written; a CourseFileError, so CLI and chat word it alike."""


@dataclass(frozen=True)
class _Place:
    """Where a problem is, in the author's terms: a question of the message, or the quiz poll."""

    question: int | None

    def error(self, line: int | None, detail: str) -> QuizFormatError:
        if self.question is None:
            place = "the quiz"
        elif line is None:
            place = f"question {self.question}"
        else:
            place = f"question {self.question} (line {line})"
        return QuizFormatError(f"{place}: {detail}", place=place)


def _checked(place: _Place, line: int | None, what: str, text: str, limit: int) -> str:
    if not text:
        raise place.error(line, f"the {what} is empty")
    if unstorable := UNSTORABLE_CHARACTERS.search(text):
        char = unstorable.group()
        kind = "a NUL character" if char == "\0" else f"an unpaired surrogate \\u{ord(char):x}"
        raise place.error(line, f"the {what} holds {kind}, which can't be stored")
    if len(text) > limit:
        raise place.error(line, f"the {what} is too long: {len(text)} characters, at most {limit}")
    return text


def _draft(
    place: _Place,
    text: _Numbered,
    options: list[_NumberedOption],
    explanation: _Numbered | None,
    *,
    multiple: bool,
) -> QuestionDraft:
    """One validated question, checked in the order the author wrote it.

    The type is the course file's reading of the options; ``multiple`` makes a choice question
    multiple_choice even with one correct option.
    """
    _checked(place, text[0], "question", text[1], MAX_QUESTION_TEXT_LENGTH)
    first_of: dict[str, int] = {}
    for index, (line, option) in enumerate(options, start=1):
        _checked(place, line, "option", option.text, MAX_OPTION_TEXT_LENGTH)
        if option.text in first_of:
            raise place.error(line, f"repeats option {first_of[option.text]}; options must differ")
        first_of[option.text] = index
    if explanation is not None:
        _checked(place, explanation[0], "explanation", explanation[1], MAX_EXPLANATION_LENGTH)
    if len(options) > MAX_OPTIONS_PER_QUESTION:
        raise place.error(None, f"{len(options)} options; at most {MAX_OPTIONS_PER_QUESTION}")
    if 0 < len(options) < MIN_OPTIONS_PER_QUESTION:
        raise place.error(None, f"{len(options)} option; at least {MIN_OPTIONS_PER_QUESTION}")
    drafts = [option for _, option in options]
    question_type = inferred_type(drafts)
    if question_type is None:
        raise place.error(text[0], f"needs at least one correct option ({_CORRECT})")
    if multiple and drafts:
        question_type = QuestionType.multiple_choice
    return QuestionDraft(
        text=text[1],
        type=question_type,
        options=drafts,
        explanation=None if explanation is None else explanation[1],
    )


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    """Non-blank lines, stripped and numbered from 1, grouped by the blank lines between them."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(lines, start=1):
        if line := raw.strip():
            current.append((number, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _parse_block(place: _Place, lines: list[tuple[int, str]]) -> QuestionDraft:
    first_line, first = lines[0]
    if first[0] in (_CORRECT, _WRONG):
        raise place.error(first_line, "an option before the question text")
    if first[0] == _EXPLANATION:
        raise place.error(first_line, f"an explanation ({_EXPLANATION}) before the question text")
    text: list[str] = []
    options: list[_NumberedOption] = []
    explanation: list[str] = []
    explanation_line: int | None = None
    for number, line in lines:
        mark, rest = line[0], line[1:].lstrip()
        if mark in (_CORRECT, _WRONG):
            if explanation:
                raise place.error(
                    number,
                    f"an option after the explanation; write the explanation ({_EXPLANATION}) last",
                )
            options.append((number, OptionDraft(rest, correct=mark == _CORRECT)))
        elif mark == _EXPLANATION:
            explanation_line = explanation_line or number
            explanation.append(rest)
        elif options or explanation:
            after = "explanation" if explanation else "options"
            raise place.error(
                number,
                f"a line without {_CORRECT}, {_WRONG} or {_EXPLANATION} after the {after}; "
                "leave a blank line before the next question",
            )
        else:
            text.append(line)
    joined = "\n".join(explanation).strip()
    return _draft(
        place,
        (first_line, "\n".join(text)),
        options,
        (explanation_line, joined) if joined else None,
        multiple=False,
    )


def parse_questions(text: str) -> list[QuestionDraft]:
    """The questions of an instructor's message (see ``EXAMPLE``), or QuizFormatError.

    Questions are separated by blank lines. In each, the first lines are the question, then
    ``+`` marks a correct option, ``-`` a wrong one and ``>`` the explanation (several ``>``
    lines make several lines). No options make a text question, one correct option a
    single_choice and more a multiple_choice one. Texts are plain: they are escaped when shown.
    """
    blocks = _blocks(text)
    if not blocks:
        raise QuizFormatError(
            f"no question found: write the question, then options starting with "
            f"{_CORRECT} or {_WRONG}"
        )
    return [_parse_block(_Place(number), block) for number, block in enumerate(blocks, start=1)]


def _render(draft: QuestionDraft) -> str:
    lines = [draft.text]
    lines += [f"{_CORRECT if o.correct else _WRONG} {o.text}" for o in draft.options]
    if draft.explanation:
        lines += [f"{_EXPLANATION} {line}".rstrip() for line in draft.explanation.split("\n")]
    return "\n".join(lines)


def render_questions(drafts: Iterable[QuestionDraft]) -> str:
    """The drafts in the compact format, for the instructor to read, copy, edit and send back.

    ``parse_questions`` reads it back to equal drafts whenever it could have returned them. The
    format has no word for the type, so a multiple_choice question with one correct option comes
    back single_choice; text the format can't hold (a blank line, a line starting with ``+``,
    ``-`` or ``>``, spaces around a line) comes back changed or refused.
    """
    return "\n\n".join(_render(draft) for draft in drafts)


def question_from_poll(
    question: str,
    options: Sequence[str],
    correct_option_ids: Sequence[int] | None,
    explanation: str | None,
    allows_multiple_answers: bool,
) -> QuestionDraft:
    """A quiz poll the instructor made with Telegram's own editor, as one question.

    From shared/telegram/botapi-spec.json (Bot API 10.1): ``Poll`` has ``correct_option_ids``
    (0-based, optional; there is no ``correct_option_id`` any more), "available only for polls
    in quiz mode which are closed or were sent (not forwarded) by the bot or to the private chat
    with the bot": a regular poll never has one. ``question`` is 1-300
    characters, options are 1-100 characters and 1-12 of them (more than a question here
    takes), ``explanation`` 0-200 characters. PTB 22.8 gives ``Poll.correct_option_ids`` as a
    tuple, empty when unknown; pass it as it is.

    A poll that allows several answers stays multiple_choice even with one correct option: the
    instructor asked students to pick each right answer, not one.
    """
    if not correct_option_ids:
        raise QuizFormatError(
            "send a quiz poll (Telegram's quiz mode) so I know the correct answer"
        )
    correct = set(correct_option_ids)
    hint = (explanation or "").strip()
    return _draft(
        _Place(None),
        (None, question.strip()),
        [
            (None, OptionDraft(text.strip(), correct=index in correct))
            for index, text in enumerate(options)
        ],
        (None, hint) if hint else None,
        multiple=allows_multiple_answers,
    )

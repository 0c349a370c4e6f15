"""Long lessons split into messages Telegram accepts, whatever the content, keeping every word.

Each part is checked with the emulator's independent Telegram-HTML parser: valid on its own,
within the limit, something visible, and together the same text with the same formatting.
"""

from __future__ import annotations

import operator
import re
from collections import Counter, defaultdict
from itertools import accumulate

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.coursefile import check_html
from bot.emulator.tghtml import parse_html, utf16_len
from bot.formatting import escape, progress_bar, split_html

Styled = list[tuple[str, frozenset[tuple[str, str]]]]


def styled(markup: str) -> Styled:
    """Each character Telegram shows, with the formatting (type, url or language) it has."""
    plain, entities = parse_html(markup)
    units = accumulate((2 if ord(char) > 0xFFFF else 1 for char in plain), initial=0)
    index_of_unit = {unit: index for index, unit in enumerate(units)}
    changes: dict[int, list[tuple[int, tuple[str, str]]]] = defaultdict(list)
    for entity in entities:
        style = (entity["type"], entity.get("url") or entity.get("language") or "")
        changes[index_of_unit[entity["offset"]]].append((1, style))
        changes[index_of_unit[entity["offset"] + entity["length"]]].append((-1, style))
    active: Counter[tuple[str, str]] = Counter()
    current: frozenset[tuple[str, str]] = frozenset()
    result: Styled = []
    for index, char in enumerate(plain):
        if index in changes:
            for change, style in changes[index]:
                active[style] += change
            current = frozenset(style for style, count in active.items() if count > 0)
        result.append((char, current))
    return result


def assert_good_split(text: str, parts: list[str], limit: int, *, same_format: bool) -> None:
    """The parts are what Telegram accepts and together show ``text``, less whitespace at cuts.

    ``same_format``: every character keeps exactly its formatting; otherwise it may lose some
    (a tag too long to repeat in every part under a small limit) but never gains any.
    """
    whole = styled(text)
    position = 0
    for part in parts:
        assert utf16_len(part) <= limit, part
        check_html(part)
        shown = styled(part)
        plain = "".join(char for char, _ in shown)
        lead = len(plain) - len(plain.lstrip())
        core = shown[lead : lead + len(plain.strip())]
        assert core, f"nothing visible in {part!r}"
        while position < len(whole) and whole[position][0].isspace():
            position += 1
        expected = whole[position : position + len(core)]
        assert [char for char, _ in core] == [char for char, _ in expected], part
        for (_, got), (_, want) in zip(core, expected, strict=True):
            if same_format:
                assert got == want, part
            else:
                assert {kind for kind, _ in got} <= {kind for kind, _ in want}, part
        position += len(core)
    assert "".join(char for char, _ in whole[position:]).strip() == ""


def test_short_text_is_one_part():
    assert split_html("Hello <b>world</b>") == ["Hello <b>world</b>"]


def test_splits_on_paragraphs_and_keeps_every_word():
    paragraphs = [f"Paragraph {i} " + "word " * 150 for i in range(20)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_html(text)
    assert len(parts) > 1
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert all(p.startswith("Paragraph") for p in parts)
    assert " ".join(parts).split() == text.split()


def test_line_breaks_come_before_spaces():
    text = "\n".join(f"line {i} " + "word " * 10 for i in range(10))
    parts = split_html(text, 200)
    assert len(parts) > 1
    assert all(part.startswith("line ") for part in parts)
    assert_good_split(text, parts, 200, same_format=True)


def test_tags_open_at_a_cut_are_closed_and_reopened():
    text = "<b>" + "\n\n".join("bold " * 100 for _ in range(30)) + "</b>"
    parts = split_html(text)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith("<b>") and part.endswith("</b>")
        assert utf16_len(part) <= 4096


def test_one_huge_paragraph_falls_back_to_words_and_counts_emoji_twice():
    text = "😀 " * 5000
    parts = split_html(text)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


def test_entities_are_never_cut():
    text = "&amp;" * 3000
    parts = split_html(text)
    assert all(re.fullmatch(r"(&amp;)+", p) for p in parts)
    assert sum(p.count("&amp;") for p in parts) == 3000


MINIFIED = "f=function(a,b){return(a>b)?a:b};x=f(1,2);" * 300
UNBROKEN = {
    "a Chinese paragraph": "学而时习之，不亦说乎？有朋自远方来，不亦乐乎？" * 220,
    "3000 emoji": "😀" * 3000,
    "emoji with skin tones in bold": "<b>" + "👍🏽" * 1500 + "</b>",
    "a long link": '<a href="https://example.com/docs?page=1&amp;lang=en">'
    + "https://example.com/"
    + "very-long-path/" * 400
    + "</a>",
    "minified code": f'<pre><code class="language-javascript">{MINIFIED}</code></pre>',
    "entities without spaces": "&lt;&gt;&quot;&#128512;&#x1F600;&amp;" * 600,
    "a quote around a long word": "<blockquote expandable>" + "x" * 9000 + "</blockquote>",
}


@pytest.mark.parametrize("text", UNBROKEN.values(), ids=UNBROKEN.keys())
def test_any_unbroken_run_splits_into_valid_parts(text: str):
    check_html(text)
    parts = split_html(text)
    assert len(parts) > 1
    assert_good_split(text, parts, 4096, same_format=True)


def test_a_hard_cut_reopens_tags_with_their_attributes():
    text = f'<pre><code class="language-javascript">{MINIFIED}</code></pre>'
    parts = split_html(text)
    assert all(part.startswith('<pre><code class="language-javascript">') for part in parts)
    assert all(part.endswith("</code></pre>") for part in parts)
    assert all(parse_html(part)[1][0]["language"] == "javascript" for part in parts)


def test_a_hard_cut_falls_between_emoji_never_inside_one():
    parts = split_html("a" + "😀" * 20, 20)
    assert parts == ["a" + "😀" * 9, "😀" * 10, "😀"]


@pytest.mark.parametrize("grapheme", ["👨\u200d👩\u200d👧", "👍🏽", "e\u0301", "1\ufe0f\u20e3"])
@pytest.mark.parametrize("lead", [0, 1, 250, 255])
def test_a_hard_cut_keeps_an_emoji_or_accented_letter_whole(grapheme: str, lead: int):
    """Neither a family emoji nor a skin tone, keycap or combining accent is shown apart,
    wherever the limit or the reading in chunks falls."""
    text = "x" * lead + grapheme * 300
    for limit in (20, 21, 22, 23, 37, 4096):
        parts = split_html(text, limit)
        assert "".join(parts) == text
        assert all(part.lstrip("x").replace(grapheme, "") == "" for part in parts), limit


def test_a_cut_never_makes_an_entity_of_a_literal_ampersand():
    """Telegram reads "&#1234" as a character even without ";": an ampersand that starts no
    entity must stay an ampersand when a cut shortens the digits after it."""
    text = "&#12345678" * 10 + " AT&T"
    parts = split_html(text, 20)
    assert_good_split(text, parts, 20, same_format=True)
    assert "".join(parse_html(part)[0] for part in parts) == parse_html(text)[0]


def test_a_tag_too_long_to_repeat_loses_its_formatting_not_its_text():
    link = '<a href="https://example.com/' + "p" * 5000 + '">the link text</a>'
    text = f"See {link} for more, <b>bold</b> too."
    check_html(text)
    [part] = split_html(text)
    assert part == "See the link text for more, <b>bold</b> too."
    nested = "<b><i><u><s>deep</s></u></i></b> " * 10
    parts = split_html(nested, 20)
    assert_good_split(nested, parts, 20, same_format=False)
    assert all(part.count("<") >= 2 for part in parts), "the outer tags still fit"


def test_parts_with_nothing_visible_are_dropped():
    assert split_html("   \n\n  ") == []
    no_break_spaces = "<i>" + "&#160;" * 10 + "</i>\n\n"
    assert split_html(no_break_spaces + "x " * 10, 20) == ["x x x x x x x x x x"]


def test_a_limit_too_small_for_an_entity_is_refused():
    with pytest.raises(ValueError, match="under 10"):
        split_html("&#128512;", 9)


# --- property: any valid content, any limit ---------------------------------------------------

UNITS = [
    *("a", "Z", "7", ".", ",", "/", "-", "é", "e\u0301", "\xa0", "中", "文", "😀", "👍🏽"),
    "👨\u200d👩\u200d👧",
    *(" ", "  ", "\n", "\n\n", " \n \n"),
    *("&amp;", "&lt;", "&gt;", "&quot;", "&#128512;", "&#x1F600;", "&#65", "AT&T", "&#99999999"),
]
REPEATED = ["中", "😀", "x", "&amp;", "&#128512;", "a-b/", " ", "\n"]
TAGS = [
    ("<b>", "</b>"),
    ("<i>", "</i>"),
    ("<u>", "</u>"),
    ("<s>", "</s>"),
    ("<tg-spoiler>", "</tg-spoiler>"),
    ('<span class="tg-spoiler">', "</span>"),
    ('<a href="https://example.com/?q=1&amp;r=2">', "</a>"),
    ('<a href="https://example.com/😀">', "</a>"),
]
CODE = [
    ("<code>", "</code>"),
    ("<pre>", "</pre>"),
    ('<pre><code class="language-python">', "</code></pre>"),
]
QUOTES = [("<blockquote>", "</blockquote>"), ("<blockquote expandable>", "</blockquote>")]


def runs(longest: int) -> st.SearchStrategy[str]:
    """Text of any kind, up to runs of ``longest`` characters without a break."""
    return st.one_of(
        st.lists(st.sampled_from(UNITS), min_size=1, max_size=30).map("".join),
        st.builds(operator.mul, st.sampled_from(REPEATED), st.integers(1, longest)),
    )


def wrapped(tags: list[tuple[str, str]], inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda tag, body: tag[0] + body + tag[1], st.sampled_from(tags), inner)


def content(depth: int, longest: int, quoted: bool = False) -> st.SearchStrategy[str]:
    """Valid lesson content: allowed tags nested as Telegram allows, around text of any kind."""
    text = runs(longest)
    if depth == 0:
        return text
    children = st.lists(content(depth - 1, longest, quoted), min_size=1, max_size=4)
    choices = [text, wrapped(TAGS, children.map("".join)), wrapped(CODE, text)]
    if not quoted:
        quoted_children = st.lists(content(depth - 1, longest, True), min_size=1, max_size=4)
        choices.append(wrapped(QUOTES, quoted_children.map("".join)))
    return st.one_of(choices)


# Runs a little longer than the limit, without making small-limit cases needlessly long.
lessons = st.one_of(
    st.tuples(st.lists(content(3, longest=500), min_size=1, max_size=6), st.integers(20, 400)),
    st.tuples(st.lists(content(3, longest=4200), min_size=1, max_size=6), st.just(4096)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lessons)
def test_any_valid_content_splits_into_valid_parts_under_any_limit(
    lesson: tuple[list[str], int],
):
    pieces, limit = lesson
    text = "".join(pieces)
    check_html(text)
    parts = split_html(text, limit)
    # Under 300 units a part may not hold a link, a quote and code at once: formatting may go.
    assert_good_split(text, parts, limit, same_format=limit >= 300)


def test_escape_and_progress_bar():
    assert escape("<b> & co") == "&lt;b&gt; &amp; co"
    assert progress_bar(0) == "░░░░░░░░░░ 0%"
    assert progress_bar(100) == "▓▓▓▓▓▓▓▓▓▓ 100%"
    assert progress_bar(67).startswith("▓▓▓▓▓▓▓░░░")

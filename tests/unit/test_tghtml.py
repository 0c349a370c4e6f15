"""The emulator's Telegram-HTML parser: plain text, entities and Telegram's error details."""

from __future__ import annotations

import pytest

from bot.emulator.tghtml import TelegramHtmlError, parse_html, utf16_len


def test_plain_text_passes_through() -> None:
    assert parse_html("Hello, world > 3") == ("Hello, world > 3", [])


def test_simple_tags_and_synonyms() -> None:
    text, entities = parse_html("<b>a</b><strong>b</strong><i>c</i><em>d</em><u>e</u><ins>f</ins>")
    assert text == "abcdef"
    assert [e["type"] for e in entities] == [
        "bold",
        "bold",
        "italic",
        "italic",
        "underline",
        "underline",
    ]
    text, entities = parse_html("<s>x</s><strike>y</strike><del>z</del>")
    assert [e["type"] for e in entities] == ["strikethrough"] * 3


def test_nested_tags_have_utf16_offsets() -> None:
    text, entities = parse_html("Hi <b>bold <i>both</i></b>!")
    assert text == "Hi bold both!"
    assert entities == [
        {"offset": 3, "length": 9, "type": "bold"},
        {"offset": 8, "length": 4, "type": "italic"},
    ]


def test_tag_names_are_case_insensitive() -> None:
    assert parse_html("<B>x</b>") == ("x", [{"offset": 0, "length": 1, "type": "bold"}])


def test_html_entities() -> None:
    text, _ = parse_html("&lt;tag&gt; &amp; &quot;q&quot; &#65;&#x42; &#128512;")
    assert text == '<tag> & "q" AB 😀'


def test_bare_ampersand_is_literal() -> None:
    assert parse_html("Tom & Jerry, a&b, &#;")[0] == "Tom & Jerry, a&b, &#;"
    # an unknown name without ";" is shown literally, like Telegram does
    assert parse_html("AT&T")[0] == "AT&T"


def test_unknown_named_entity_is_an_error_when_strict() -> None:
    with pytest.raises(TelegramHtmlError, match=r'Unsupported HTML entity "&nbsp;"'):
        parse_html("a&nbsp;b")
    assert parse_html("a&nbsp;b", strict_entities=False)[0] == "a&nbsp;b"


def test_links_spoilers_quotes_code() -> None:
    text, entities = parse_html(
        '<a href="https://example.com/?a=1&amp;b=2">site</a> '
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler> '
        "<blockquote>q</blockquote><blockquote expandable>e</blockquote> "
        "<code>c</code>"
    )
    assert text == "site st qe c"
    by_type = {e["type"]: e for e in entities}
    assert by_type["text_link"]["url"] == "https://example.com/?a=1&b=2"
    assert [e["type"] for e in entities].count("spoiler") == 2
    assert by_type["blockquote"]["offset"] == 8
    assert by_type["expandable_blockquote"]["offset"] == 9
    assert by_type["code"] == {"offset": 11, "length": 1, "type": "code"}


def test_pre_with_language() -> None:
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert entities == [{"offset": 0, "length": 5, "type": "pre", "language": "python"}]
    assert parse_html("<pre>y</pre>")[1] == [{"offset": 0, "length": 1, "type": "pre"}]


def test_custom_emoji_and_empty_tags() -> None:
    text, entities = parse_html('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji><b></b>')
    assert text == "👍"
    assert entities == [
        {"offset": 0, "length": 2, "type": "custom_emoji", "custom_emoji_id": "5368324170671202286"}
    ]


def test_end_tag_without_name_closes_current() -> None:
    assert parse_html("<b>x</>")[1] == [{"offset": 0, "length": 1, "type": "bold"}]


@pytest.mark.parametrize(
    ("markup", "detail"),
    [
        ("Hi <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 3'),
        ("line<br>next", 'Unsupported start tag "br" at byte offset 4'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        (
            "<b><i>x</b></i>",
            'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"',
        ),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("text </b>", "Unexpected end tag at byte offset 5"),
        ("ends with <b", "Unclosed start tag at byte offset 10"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        # byte offsets count UTF-8 bytes: "é" is two bytes
        ("é<x>", 'Unsupported start tag "x" at byte offset 2'),
    ],
)
def test_errors(markup: str, detail: str) -> None:
    with pytest.raises(TelegramHtmlError) as caught:
        parse_html(markup)
    assert caught.value.detail == detail


def test_utf16_length() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("привет") == 6
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b") == 4


def test_entity_offsets_after_astral_characters() -> None:
    text, entities = parse_html("😀😀<u>x</u>")
    assert text == "😀😀x"
    assert entities == [{"offset": 4, "length": 1, "type": "underline"}]

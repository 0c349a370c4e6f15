"""What the sandbox page is given to show: Telegram's text + entities as safe HTML, and each
message, button and refused request as the page's JavaScript reads it."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from bot.emulator import BotApiEmulator, RecordedRequest, parse_html
from bot.sandbox.render import entities_to_html, message_view, refusal_view


def rendered(markup: str) -> str:
    """What the page shows of what a bot sends with parse_mode=HTML (through the emulator's
    own parser, as Telegram delivers it)."""
    return entities_to_html(*parse_html(markup))


class _Balance(HTMLParser):
    """Checks that every tag closes in order; collects the text and the links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing open"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(markup: str) -> _Balance:
    parser = _Balance()
    parser.feed(markup)
    parser.close()
    assert parser.open == [], f"unclosed {parser.open}"
    return parser


def test_plain_text_is_escaped():
    assert entities_to_html('<b>Tom & "Jerry"</b>\'', []) == (
        '&lt;b&gt;Tom &amp; "Jerry"&lt;/b&gt;\''
    )
    assert entities_to_html("", None) == ""


def test_each_formatting_becomes_its_tag():
    assert rendered("<b>b</b> <i>i</i> <u>u</u> <s>s</s> <code>c</code>") == (
        "<b>b</b> <i>i</i> <u>u</u> <s>s</s> <code>c</code>"
    )
    assert rendered("<tg-spoiler>secret</tg-spoiler>") == (
        '<span class="tg-spoiler" title="Spoiler: click to show">secret</span>'
    )
    assert rendered("<blockquote>q</blockquote>") == "<blockquote>q</blockquote>"
    assert rendered("<blockquote expandable>long</blockquote>") == (
        '<blockquote class="expandable" title="Click to expand">long</blockquote>'
    )


def test_code_blocks_keep_their_language_and_escape_their_code():
    assert rendered('<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>') == (
        '<pre data-language="python"><code class="language-python">if a &lt; b:\n    pass'
        "</code></pre>"
    )
    assert rendered("<pre>x</pre>") == "<pre>x</pre>"


def test_a_newline_right_after_a_block_is_not_an_empty_line():
    assert rendered("Run:\n\n<pre>go</pre>\n\nDone.\n") == "Run:\n\n<pre>go</pre>\nDone.\n"
    assert rendered("<blockquote>q</blockquote>\nnext") == "<blockquote>q</blockquote>next"


def test_links_are_followed_only_to_safe_schemes():
    assert rendered('<a href="https://example.com/?a=1&amp;b=&quot;2&quot;">docs</a>') == (
        '<a href="https://example.com/?a=1&amp;b=&quot;2&quot;" target="_blank" '
        'rel="noopener noreferrer">docs</a>'
    )
    entity = {"type": "text_link", "offset": 0, "length": 5, "url": "javascript:alert(1)"}
    assert entities_to_html("click", [entity]) == '<span class="tg-link">click</span>'
    url = {"type": "url", "offset": 4, "length": 11}
    assert entities_to_html("see example.com", [url]) == (
        'see <a href="http://example.com" target="_blank" rel="noopener noreferrer">example.com</a>'
    )
    not_a_url = {"type": "url", "offset": 0, "length": 8}
    assert entities_to_html("http://[", [not_a_url]) == '<span class="tg-link">http://[</span>'
    email = {"type": "email", "offset": 0, "length": 7}
    assert 'href="mailto:a@b.io"' in entities_to_html("a@b.io!", [email | {"length": 6}])


def test_commands_mentions_and_hashtags():
    text = "/start@learnbot_test_bot @ann #python"
    entities = [
        {"type": "bot_command", "offset": 0, "length": 24},
        {"type": "mention", "offset": 25, "length": 4},
        {"type": "hashtag", "offset": 30, "length": 7},
    ]
    assert entities_to_html(text, entities) == (
        '<span class="tg-command" data-command="/start">/start@learnbot_test_bot</span> '
        '<span class="tg-mention">@ann</span> <span class="tg-hashtag">#python</span>'
    )


def test_offsets_count_utf16_code_units():
    text = "😀 bold 😀 end"
    entities = [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "code", "offset": 11, "length": 3},
    ]
    assert entities_to_html(text, entities) == "😀 <b>bold</b> 😀 <code>end</code>"


def test_nested_entities_nest_and_crossing_ones_stay_well_formed():
    assert rendered("<b>bold <i>both</i></b>") == "<b>bold <i>both</i></b>"
    crossing = [
        {"type": "bold", "offset": 0, "length": 6},
        {"type": "italic", "offset": 3, "length": 6},
    ]
    assert entities_to_html("abcdefghi", crossing) == "<b>abc<i>def</i></b><i>ghi</i>"


def test_entities_outside_the_text_are_clipped_or_ignored():
    entities = [
        {"type": "bold", "offset": 2, "length": 99},
        {"type": "italic", "offset": 0, "length": 0},
        {"type": "underline", "offset": "x", "length": 1},
        {"type": "custom_emoji", "offset": 0, "length": 1, "custom_emoji_id": "1"},
    ]
    assert entities_to_html("abcd", entities) == "ab<b>cd</b>"


KINDS = ["bold", "italic", "underline", "strikethrough", "spoiler", "code", "text_link", "url"]
# Text without control characters (but with newlines) inside the BMP; UTF-16 offsets across
# emoji are covered above, and Telegram never splits a surrogate pair.
CHARACTERS = st.characters(max_codepoint=0xFFFF, exclude_categories=("Cc", "Cs")) | st.just("\n")


@st.composite
def text_with_entities(draw: st.DrawFn) -> tuple[str, list[dict[str, object]]]:
    text = draw(st.text(alphabet=CHARACTERS, max_size=40))
    entities = []
    for _ in range(draw(st.integers(0, 6))):
        entity: dict[str, object] = {
            "type": draw(st.sampled_from(KINDS)),
            "offset": draw(st.integers(0, len(text) + 2)),
            "length": draw(st.integers(-1, len(text) + 2)),
        }
        if entity["type"] == "text_link":
            entity["url"] = draw(st.sampled_from(["https://x.org/?a=<b>&c", ' javascript:"x"']))
        entities.append(entity)
    return text, entities


@given(text_with_entities())
def test_any_entities_give_well_formed_html_showing_exactly_the_text(case):
    text, entities = case
    result = parsed(entities_to_html(text, entities))
    assert "".join(result.text) == text
    for href in result.hrefs:
        assert href.startswith(("https://", "http://")), href


# ------------------------------------------------------------------------------ messages
def test_a_bot_message_with_buttons_and_an_edit():
    emulator = BotApiEmulator()
    ann = emulator.user(1, "Ann")
    text, entities = parse_html("Pick <b>one</b>")
    message = ann.add_message(
        True,
        text=text,
        entities=entities,
        reply_markup={
            "inline_keyboard": [
                [{"text": "A", "callback_data": "q:1:a"}, {"text": "Docs", "url": "https://x.org"}],
                [{"text": "Bad", "url": "javascript:alert(1)"}, {"text": "Copy", "copy_text": {}}],
            ]
        },
    )
    message.edited = 1
    view = message_view(emulator, message)
    assert view == {
        "id": 1,
        "from_bot": True,
        "date": message.date,
        "edited": 1,
        "html": "Pick <b>one</b>",
        "media": None,
        "buttons": [
            [
                {"text": "A", "kind": "callback"},
                {"text": "Docs", "kind": "url", "url": "https://x.org"},
            ],
            [{"text": "Bad", "kind": "url", "url": None}, {"text": "Copy", "kind": "copy_text"}],
        ],
    }


def test_media_with_and_without_content():
    emulator = BotApiEmulator()
    ann = emulator.user(1, "Ann")
    known = emulator.store_file("document", b"title: x\n", "course.yaml", "application/x-yaml")
    document = ann.add_message(
        False,
        media="document",
        file_id=known.file_id,
        caption="My <course>",
        media_payload={"file_id": known.file_id, "file_name": "course.yaml", "file_size": 9},
    )
    view = message_view(emulator, document)
    assert view["html"] == "My &lt;course&gt;"
    assert view["media"]["url"] == f"api/file/{known.file_id}"
    assert (view["media"]["kind"], view["media"]["file_name"]) == ("document", "course.yaml")
    assert view["edited"] == 0

    by_url = emulator.store_file("photo", None, "diagram.png")
    photo = ann.add_message(
        True,
        media="photo",
        file_id=by_url.file_id,
        media_payload=[{"file_id": by_url.file_id, "width": 1280, "height": 720}],
    )
    view = message_view(emulator, photo)
    assert view["media"]["url"] is None  # the page shows a placeholder
    assert (view["media"]["width"], view["html"]) == (1280, "")

    poll = ann.add_message(
        False,
        media="poll",
        media_payload={
            "question": "2 + 2?",
            "options": [{"text": "3"}, {"text": "4"}],
            "correct_option_ids": [1],
        },
    )
    assert message_view(emulator, poll)["media"] == {
        "kind": "poll",
        "question": "2 + 2?",
        "options": [{"text": "3", "correct": False}, {"text": "4", "correct": True}],
    }

    nothing = ann.add_message(True)  # e.g. a sendDice the sandbox does not draw
    assert "cannot show" in message_view(emulator, nothing)["html"]


def test_a_refusal_names_the_chat_and_what_was_refused():
    record = RecordedRequest(
        "sendMessage",
        {"chat_id": 1, "text": "x" * 5000, "parse_mode": "HTML"},
        error_code=400,
        description="Bad Request: message is too long",
    )
    view = refusal_view(3, record, {1: "Ann"})
    assert view["chat"] == "Ann" and view["number"] == 3
    assert view["detail"] == "x" * 299 + "…"
    assert (view["method"], view["error_code"]) == ("sendMessage", 400)
    other = RecordedRequest("getFile", {"file_id": "nope"}, error_code=400, description="bad")
    assert refusal_view(1, other, {})["chat"] is None

"""Text helpers for Telegram HTML: escaping, progress bars, and splitting long lessons."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024


def escape(value: object) -> str:
    """Escape anything a user typed or the database holds before it goes into HTML text."""
    return html.escape(str(value), quote=False)


def utf16_len(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def progress_bar(percentage: int, width: int = 10) -> str:
    percentage = max(0, min(100, percentage))
    filled = round(percentage * width / 100)
    return "▓" * filled + "░" * (width - filled) + f" {percentage}%"


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """A trend in one line of text: ▁ for nothing, then up to █ for the largest value."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    steps = len(SPARKS) - 1
    return "".join(SPARKS[0 if v <= 0 else max(1, round(v * steps / top))] for v in values)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- Splitting ----------------------------------------------------------------------------------

# The longest piece that can never be cut: an entity such as "&#1114110;" (a character is 1 or 2).
_LONGEST_ATOM = 10
# Long unbroken runs (CJK, URLs, minified code) are read in chunks, so that a hard cut inside one
# costs at most a chunk's work: splitting stays linear in the length of the text.
_CHUNK = 256
_SPACE = " \t\n\r\f\v"
# Entities exactly as Telegram decodes them (the ";" is optional there, and a numeric one may
# have at most 7 digits, or 6 hex digits after a lowercase "x"). Cutting inside one would change
# what it means; anything else starting with "&" is a literal ampersand.
_PIECE = re.compile(
    r"""(?P<tag><(?:"[^"]*"|'[^']*'|[^<>"'])*>)"""
    r"|(?P<entity>&(?:(?:lt|gt|amp|quot)(?![A-Za-z])|#[0-9]{1,7}(?![0-9])"
    r"|#x[0-9A-Fa-f]{1,6}(?![0-9A-Fa-f]));?)"
    rf"|(?P<space>[{_SPACE}]+)"
    rf"|(?P<word>[^<&{_SPACE}]{{1,{_CHUNK}}})"
    r"|(?P<other>[<&])"
)
_TAG_NAME = re.compile(r"<\s*([^\s>]*)")
_ZWJ = "\u200d"
# The joiner, variation selectors, skin tones, the keycap and the tags of subdivision flags
# belong to the character before them.
_JOINING = re.compile("[\u200d\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


class _Kind(Enum):
    OPEN = "open"
    CLOSE = "close"
    SPACE = "space"  # a run of whitespace: where a part may end, dropped at the cut
    WORD = "word"  # a chunk of other text, which a hard cut may divide
    ATOM = "atom"  # an entity or an escaped literal "&" or "<": never divided


class _Piece(NamedTuple):
    kind: _Kind
    markup: str  # what goes into a part: the raw tag, the text, "&amp;" for a literal "&"
    size: int  # UTF-16 length of ``markup``
    visible: bool = False  # shows something besides whitespace
    rank: int = 0  # of a space: 3 paragraph break, 2 line break, 1 between words


@dataclass(frozen=True, slots=True)
class _Open:
    """An open tag on a persistent stack: sharing parents makes saving the stack at a cut free.

    A tag that could leave no room for text in a part (a very long link, deep nesting under a
    small limit) is dropped (``markup`` and ``closing`` empty): its text stays, its formatting
    goes, which beats a message Telegram refuses.
    """

    markup: str  # the opening tag
    closing: str  # "</name>"
    parent: _Open | None
    closing_size: int  # UTF-16 length of the closing tags of this tag and all enclosing ones
    cost: int  # the same for the opening and closing tags: what a part pays to carry them


class _Cut(NamedTuple):
    """Where the current part may end; ``resume`` is the piece the next part starts with."""

    visible: bool  # the part before the cut shows something
    rank: int  # a space's, else 0 between characters, -1 inside a grapheme (an emoji's parts)
    count: int  # how many pieces of the part's body come before the cut
    stack: _Open | None
    resume: int


def _size(text: str) -> int:
    return len(text) if text.isascii() else utf16_len(text)


def _pieces(text: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    position = 0
    while position < len(text):
        match = _PIECE.match(text, position)
        assert match is not None  # "word" and "other" together match any character
        kind, value = match.lastgroup, match.group()
        if kind == "entity" and not _is_character(value):
            kind, value = "other", value[0]
        elif kind == "word" and len(value) == _CHUNK:  # a chunk ends between graphemes too
            value = value[: _grapheme_end(text[position : match.end() + 1], _CHUNK)] or value
        position += len(value)
        if kind == "word":
            pieces.append(_Piece(_Kind.WORD, value, _size(value), not value.isspace()))
        elif kind == "space":
            rank = 3 if value.count("\n") >= 2 else 2 if "\n" in value else 1
            pieces.append(_Piece(_Kind.SPACE, value, len(value), rank=rank))
        elif kind == "tag":
            closing = value.startswith("</")
            pieces.append(_Piece(_Kind.CLOSE if closing else _Kind.OPEN, value, _size(value)))
        else:
            markup = escape(value) if kind == "other" else value
            visible = not html.unescape(value).isspace()
            pieces.append(_Piece(_Kind.ATOM, markup, len(markup), visible))
    while pieces and pieces[-1].kind is _Kind.SPACE:
        pieces.pop()
    return pieces


def _is_character(entity: str) -> bool:
    """Whether Telegram decodes this numeric entity (named ones always decode)."""
    digits = entity[1:].rstrip(";")
    if not digits.startswith("#"):
        return True
    code = int(digits[2:], 16) if digits.startswith("#x") else int(digits[1:])
    return 0 < code < 0x10FFFF and not 0xD800 <= code <= 0xDFFF


def _push(stack: _Open | None, tag: str, limit: int) -> _Open:
    match = _TAG_NAME.match(tag)
    closing = f"</{match.group(1).lower() if match else ''}>"
    below_cost = stack.cost if stack else 0
    below_closing = stack.closing_size if stack else 0
    cost = below_cost + _size(tag) + len(closing)
    if cost + _LONGEST_ATOM > limit:
        return _Open("", "", stack, below_closing, below_cost)
    return _Open(tag, closing, stack, below_closing + len(closing), cost)


def _chain(stack: _Open | None) -> list[_Open]:
    chain: list[_Open] = []
    while stack is not None:
        chain.append(stack)
        stack = stack.parent
    return chain


def _joins(before: str, char: str) -> bool:
    """Whether a cut between these would show ``char`` apart from what it belongs to: an accent,
    an emoji's skin tone or variation, or either side of the joiner in a family emoji."""
    return bool(_JOINING.match(char)) or before == _ZWJ or unicodedata.combining(char) > 0


def _fitting_prefix(text: str, budget: int) -> int:
    """How many characters of ``text`` fit in ``budget`` UTF-16 units."""
    used = count = 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            break
        count += 1
    return count


def _grapheme_end(text: str, end: int) -> int:
    """The last place at or before ``end`` where a cut shows nothing apart (0 if none)."""
    while 0 < end < len(text) and _joins(text[end - 1], text[end]):
        end -= 1
    return end


def _better(cut: _Cut, best: _Cut | None) -> bool:
    """Visible text before the cut first, then the break's rank; among equals the later cut."""
    return best is None or (cut.visible, cut.rank) >= (best.visible, best.rank)


def _next_part(
    pieces: list[_Piece], start: int, stack: _Open | None, limit: int
) -> tuple[str | None, int, _Open | None]:
    """One part from ``pieces[start]`` on: (its markup, None if invisible; resume; stack).

    The part ends at the best cut (see _better) before the limit. A hard cut inside a word
    chunk replaces that chunk in ``pieces`` by its rest, where the next part starts.
    """
    prefix = "".join(tag.markup for tag in reversed(_chain(stack)))
    size = _size(prefix)
    body: list[str] = []
    visible = False
    best: _Cut | None = None
    for index in range(start, len(pieces)):
        piece = pieces[index]
        cut: _Cut | None = None
        after, markup, growth = stack, piece.markup, piece.size
        if piece.kind is _Kind.SPACE:
            cut = _Cut(visible, piece.rank, len(body), stack, index + 1)
        elif piece.kind is not _Kind.CLOSE and index > start:
            cut = _Cut(visible, 0, len(body), stack, index)
        if cut is not None and _better(cut, best):
            best = cut
        if piece.kind is _Kind.OPEN:
            after = _push(stack, piece.markup, limit)
            markup, growth = after.markup, piece.size if after.markup else 0
        elif piece.kind is _Kind.CLOSE:
            after = stack.parent if stack else None
            markup = stack.closing if stack else ""
            growth = len(markup)
        room = limit - size - (after.closing_size if after else 0)
        if growth > room:
            fits = _fitting_prefix(markup, room) if piece.kind is _Kind.WORD else 0
            end = _grapheme_end(markup, fits)
            head = markup[: end or fits]
            hard = _Cut(
                visible or not head.isspace(), 0 if end else -1, len(body) + 1, stack, index
            )
            if head and _better(hard, best):
                body.append(head)
                rest = markup[len(head) :]
                pieces[index] = _Piece(_Kind.WORD, rest, _size(rest), not rest.isspace())
                best = hard
            break
        body.append(markup)
        size += growth
        stack = after
        visible = visible or piece.visible
    else:
        best = _Cut(visible, 0, len(body), stack, len(pieces))
    assert best is not None  # the first piece of a part always fits: see _push
    closing = "".join(tag.closing for tag in _chain(best.stack))
    part = prefix + "".join(body[: best.count]) + closing
    return (part if best.visible else None), best.resume, best.stack


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split Telegram HTML into messages of at most ``limit`` UTF-16 units, markup included.

    Any valid content splits, however long its unbroken runs (a Chinese paragraph, a URL,
    minified code): cuts prefer paragraph breaks, then line breaks, then spaces, and only then
    fall between characters, never inside a tag or an entity. Tags open at a cut are closed at
    the end of one part and reopened, attributes and all, at the start of the next, so every
    part is valid HTML on its own. Whitespace at a cut is dropped, and so are parts with nothing
    visible. The work is linear in the length of the text.
    """
    if limit < _LONGEST_ATOM:
        raise ValueError(f"a message limit under {_LONGEST_ATOM} can't hold every entity")
    pieces = _pieces(text)
    parts: list[str] = []
    index, stack = 0, None
    while True:
        while index < len(pieces) and pieces[index].kind is _Kind.SPACE:
            index += 1
        if index == len(pieces):
            return parts
        part, index, stack = _next_part(pieces, index, stack, limit)
        if part is not None:
            parts.append(part)

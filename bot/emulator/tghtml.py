"""Telegram-flavoured HTML parser (``parse_mode=HTML``), modelled on tdlib's ``parse_html``.

``parse_html`` turns the markup a bot sends into the plain text a user sees plus the list of
Bot API ``MessageEntity`` dicts (offsets and lengths in UTF-16 code units), or raises
:class:`TelegramHtmlError` with the same detail text Telegram puts after
``Bad Request: can't parse entities: ``.

This module deliberately shares no code with the bot (``bot.formatting``, ``bot.coursefile``):
its HTML parsing, UTF-16 counting and limits are an independent check of what the bot sends,
so a mistake in the bot's own helpers cannot hide itself from the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TelegramHtmlError", "parse_html", "utf16_len"]

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "code",
        "pre",
        "blockquote",
    }
)

_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

# tdlib's is_space(); NUL counts as the end of the string there.
_SPACES = frozenset(" \t\r\n\v\0")


class TelegramHtmlError(ValueError):
    """Markup Telegram would reject; ``detail`` is the text after ``can't parse entities: ``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (characters outside the BMP count as 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@dataclass
class _OpenTag:
    name: str
    begin_byte: int
    utf16_offset: int
    char_index: int
    argument: str = ""
    expandable: bool = False
    attrs: dict[str, str] = field(default_factory=dict)


class _Parser:
    def __init__(self, text: str, strict_entities: bool) -> None:
        self.s = text
        self.n = len(text)
        self.strict = strict_entities
        self.out: list[str] = []
        self.u16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    # -- helpers -------------------------------------------------------------------------------
    def byte_offset(self, index: int) -> int:
        return len(self.s[:index].encode("utf-8"))

    def at(self, i: int) -> str:
        return self.s[i] if i < self.n else "\0"

    def emit(self, ch: str) -> None:
        self.out.append(ch)
        self.u16 += 2 if ord(ch) > 0xFFFF else 1

    def decode_entity(self, i: int) -> tuple[str | None, int]:
        """Decode an HTML entity at ``s[i] == '&'``; return (char or None, index after it)."""
        s, end = self.s, i + 1
        code = 0
        if self.at(end) == "#":
            end += 1
            if self.at(end) == "x":
                end += 1
                while self.at(end) in "0123456789abcdefABCDEF":
                    code = code * 16 + int(s[end], 16)
                    end += 1
                    if code >= 0x10FFFF:
                        return None, i
            else:
                while self.at(end).isascii() and self.at(end).isdigit():
                    code = code * 10 + int(s[end])
                    end += 1
                    if code >= 0x10FFFF:
                        return None, i
            if code == 0 or end - i >= 10 or 0xD800 <= code <= 0xDFFF:
                return None, i
            char = chr(code)
        else:
            while self.at(end).isascii() and self.at(end).isalpha():
                end += 1
            name = s[i + 1 : end]
            if name not in _NAMED_ENTITIES:
                if self.strict and name and self.at(end) == ";":
                    raise TelegramHtmlError(
                        f'Unsupported HTML entity "&{name};" at byte offset {self.byte_offset(i)}'
                    )
                return None, i
            char = _NAMED_ENTITIES[name]
        if self.at(end) == ";":
            end += 1
        return char, end

    # -- main loop -----------------------------------------------------------------------------
    def run(self) -> tuple[str, list[dict[str, Any]]]:
        i = 0
        while i < self.n:
            c = self.s[i]
            if c == "&":
                char, nxt = self.decode_entity(i)
                if char is not None:
                    self.emit(char)
                    i = nxt
                    continue
            if c != "<":
                self.emit(c)
                i += 1
                continue
            i = self.end_tag(i) if self.at(i + 1) == "/" else self.start_tag(i)
        if self.stack:
            raise TelegramHtmlError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.at(i) not in _SPACES and self.at(i) != ">":
            i += 1
        if i >= self.n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        tag = self.s[begin + 1 : i].lower()
        if tag not in SUPPORTED_TAGS:
            raise TelegramHtmlError(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        open_tag = _OpenTag(tag, self.byte_offset(begin), self.u16, len(self.out))
        while self.at(i) != ">":
            while i < self.n and self.at(i) in _SPACES:
                i += 1
            if self.at(i) == ">":
                break
            if i >= self.n:
                raise TelegramHtmlError(
                    f'Unclosed start tag "{tag}" at byte offset {open_tag.begin_byte}'
                )
            name_begin = i
            while self.at(i) not in _SPACES and self.at(i) not in "=>":
                i += 1
            attr = self.s[name_begin:i].lower()
            if not attr:
                raise TelegramHtmlError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {open_tag.begin_byte}'
                )
            while i < self.n and self.at(i) in _SPACES:
                i += 1
            if self.at(i) != "=":
                if tag == "blockquote" and attr == "expandable":
                    open_tag.expandable = True
                    continue
                raise TelegramHtmlError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {open_tag.begin_byte}'
                )
            i += 1
            while i < self.n and self.at(i) in _SPACES:
                i += 1
            if i >= self.n:
                raise TelegramHtmlError(
                    f'Unclosed start tag "{tag}" at byte offset {open_tag.begin_byte}'
                )
            value, i = self.attribute_value(i)
            if i >= self.n:
                raise TelegramHtmlError(f"Unclosed start tag at byte offset {open_tag.begin_byte}")
            open_tag.attrs[attr] = value
            self.apply_attribute(open_tag, attr, value)
        if tag == "span" and open_tag.argument != "spoiler":
            raise TelegramHtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {open_tag.begin_byte}'
            )
        self.stack.append(open_tag)
        return i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in "'\"":
            begin = i
            while (self.at(i).isascii() and self.at(i).isalnum()) or self.at(i) in ".-":
                i += 1
            if self.at(i) not in _SPACES and self.at(i) != ">":
                raise TelegramHtmlError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(begin)}"
                )
            return self.s[begin:i].lower(), i
        i += 1
        value: list[str] = []
        while i < self.n and self.s[i] != quote:
            if self.s[i] == "&":
                char, nxt = self.decode_entity(i)
                if char is not None:
                    value.append(char)
                    i = nxt
                    continue
            value.append(self.s[i])
            i += 1
        if i < self.n:
            i += 1  # closing quote
        return "".join(value), i

    @staticmethod
    def apply_attribute(tag: _OpenTag, attr: str, value: str) -> None:
        if tag.name == "a" and attr == "href":
            tag.argument = value
        elif tag.name == "code" and attr == "class" and value.startswith("language-"):
            tag.argument = value[len("language-") :]
        elif tag.name == "span" and attr == "class" and value.startswith("tg-"):
            tag.argument = value[len("tg-") :]
        elif tag.name == "tg-emoji" and attr == "emoji-id":
            tag.argument = value
        elif tag.name == "blockquote" and attr == "expandable":
            tag.expandable = True

    def end_tag(self, begin: int) -> int:
        if not self.stack:
            raise TelegramHtmlError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        i = begin + 2
        while self.at(i) not in _SPACES and self.at(i) != ">":
            i += 1
        name = self.s[begin + 2 : i].lower()
        while i < self.n and self.at(i) in _SPACES:
            i += 1
        if self.at(i) != ">":
            raise TelegramHtmlError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        top = self.stack[-1]
        if name and name != top.name:
            raise TelegramHtmlError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{top.name}>", found "</{name}>"'
            )
        self.close(top)
        self.stack.pop()
        return i + 1

    def close(self, tag: _OpenTag) -> None:
        offset = tag.utf16_offset
        length = self.u16 - offset
        if length <= 0:
            return
        entity: dict[str, Any] = {"offset": offset, "length": length}
        name = tag.name
        if name in _SIMPLE_ENTITY_TYPES:
            entity["type"] = _SIMPLE_ENTITY_TYPES[name]
        elif name == "a":
            url = tag.argument or "".join(self.out[tag.char_index :])
            entity.update(type="text_link", url=url)
        elif name == "code":
            entity["type"] = "code"
            parent = self.stack[-2] if len(self.stack) >= 2 else None
            if parent is not None and parent.name == "pre" and tag.argument:
                entity["language"] = tag.argument
        elif name == "pre":
            last = self.entities[-1] if self.entities else None
            if (
                last is not None
                and last["type"] == "code"
                and last["offset"] == offset
                and last["length"] == length
                and last.get("language")
            ):
                last["type"] = "pre"
                return
            entity["type"] = "pre"
        elif name == "blockquote":
            entity["type"] = "expandable_blockquote" if tag.expandable else "blockquote"
        elif name == "tg-emoji":
            if not tag.argument:
                return
            entity.update(type="custom_emoji", custom_emoji_id=tag.argument)
        elif name == "tg-time":
            unix = tag.attrs.get("unix", "")
            if not unix.isdigit():
                return
            entity.update(type="date_time", unix_time=int(unix))
            if tag.attrs.get("format"):
                entity["date_time_format"] = tag.attrs["format"]
        else:  # pragma: no cover - SUPPORTED_TAGS and this chain are kept in sync
            return
        self.entities.append(entity)


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into ``(plain_text, entities)``.

    Raises :class:`TelegramHtmlError` for markup Telegram rejects. With ``strict_entities``
    (the default) an unknown named entity such as ``&nbsp;`` is an error too: Telegram itself
    would show it literally, which is never what the bot meant.
    """
    return _Parser(text, strict_entities).run()

"""Text helpers for Telegram HTML: escaping, progress bars, and splitting long lessons."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

_TOKEN = re.compile(r"<[^<>]*>|&#?[0-9A-Za-z]+;|[^<&\n ]+|\n\n|.", re.DOTALL)
_TAG = re.compile(r"<\s*(/)?\s*([A-Za-z][A-Za-z0-9-]*)")


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


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class _Cut:
    """A place where the text may be cut, with the tags open there and how good a cut it is."""

    position: int
    open_tags: tuple[tuple[str, str], ...]  # (name, raw opening tag)
    rank: int  # 3 paragraph, 2 line, 1 word, 0 anywhere outside tags and entities


def _cuts(text: str) -> list[_Cut]:
    cuts: list[_Cut] = []
    stack: list[tuple[str, str]] = []
    position = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        tag = _TAG.match(token) if token.startswith("<") else None
        if tag:
            name = tag.group(2).lower()
            if tag.group(1):
                for index in range(len(stack) - 1, -1, -1):
                    if stack[index][0] == name:
                        del stack[index:]
                        break
            else:
                stack.append((name, token))
        position = match.end()
        rank = {"\n\n": 3, "\n": 2, " ": 1}.get(token, 0)
        cuts.append(_Cut(position, tuple(stack), rank))
    return cuts


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split HTML into messages of at most ``limit`` UTF-16 units, preferring paragraph breaks.

    Tags open at a cut are closed at the end of one part and reopened at the start of the next,
    so every part is valid HTML on its own. Parts with nothing visible are dropped.
    """
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if text else []
    cuts = _cuts(text)
    parts: list[str] = []
    start, prefix_tags, index = 0, (), 0
    while index < len(cuts):
        prefix = "".join(raw for _, raw in prefix_tags)
        best, best_rank = -1, -1
        for candidate in range(index, len(cuts)):
            cut = cuts[candidate]
            body = text[start : cut.position]
            if utf16_len(prefix + body + _closing(cut.open_tags)) > limit:
                break
            if cut.rank >= best_rank or candidate == len(cuts) - 1:
                best, best_rank = candidate, cut.rank
        if best < 0:
            raise ValueError("a single tag or entity is longer than a message")
        cut = cuts[best]
        part = (prefix + text[start : cut.position] + _closing(cut.open_tags)).strip()
        if re.sub(r"<[^>]*>", "", part).strip():
            parts.append(part)
        start, prefix_tags, index = cut.position, cut.open_tags, best + 1
    return parts


def _closing(open_tags: tuple[tuple[str, str], ...]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(open_tags))

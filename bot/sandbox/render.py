"""What the sandbox page shows of a chat: Telegram's text + entities as safe HTML, and each
message, button and refused request as a plain dict for the page's JavaScript.

The page renders what the emulator holds (the text a user sees and the ``MessageEntity`` list
Telegram would deliver), not the HTML the bot sent: so what the page shows is what a Telegram
client would draw. Everything outside the entities is escaped here; the page inserts the result
as it is.
"""

from __future__ import annotations

import html
import itertools
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bot.emulator.server import BotApiEmulator, RecordedRequest
    from bot.emulator.users import ChatMessage

__all__ = ["entities_to_html", "message_view", "refusal_view"]

# Entity type -> (opening tag, closing tag) for those without data of their own.
_SIMPLE_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="tg-spoiler" title="Spoiler: click to show">', "</span>"),
    "code": ("<code>", "</code>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": (
        '<blockquote class="expandable" title="Click to expand">',
        "</blockquote>",
    ),
    "mention": ('<span class="tg-mention">', "</span>"),
    "hashtag": ('<span class="tg-hashtag">', "</span>"),
    "cashtag": ('<span class="tg-hashtag">', "</span>"),
    "text_mention": ('<span class="tg-mention">', "</span>"),
}
_BLOCK_ENDS = ("</pre>", "</blockquote>")
_LINK_SCHEMES = frozenset({"http", "https", "tg", "mailto", "tel"})


def _scheme(url: str) -> str | None:
    """The URL's scheme ("" for none); None when it is no URL at all (``http://[``)."""
    try:
        return urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None


def _safe_href(url: str) -> str | None:
    """A link the page may follow: http(s), tg, mailto and tel only (never ``javascript:``)."""
    return url.strip() if _scheme(url) in _LINK_SCHEMES else None


def _link(href: str | None) -> tuple[str, str]:
    if href is None:
        return '<span class="tg-link">', "</span>"
    quoted = html.escape(href, quote=True)
    return f'<a href="{quoted}" target="_blank" rel="noopener noreferrer">', "</a>"


def _tags(entity: dict[str, Any], covered: str) -> tuple[str, str]:
    """Opening and closing HTML of one entity; ``covered`` is the text it spans."""
    kind = entity.get("type")
    if kind in _SIMPLE_TAGS:
        return _SIMPLE_TAGS[kind]
    if kind == "pre":
        language = entity.get("language")
        if language:
            quoted = html.escape(str(language), quote=True)
            opening = f'<pre data-language="{quoted}"><code class="language-{quoted}">'
            return opening, "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return _link(_safe_href(str(entity.get("url", ""))))
    if kind == "url":
        scheme = _scheme(covered)
        if scheme is None:
            return _link(None)
        return _link(_safe_href(covered if scheme else f"http://{covered}"))
    if kind == "email":
        return _link(f"mailto:{covered}")
    if kind == "phone_number":
        return _link(f"tel:{covered}")
    if kind == "bot_command":
        quoted = html.escape(covered.split("@", 1)[0], quote=True)
        return f'<span class="tg-command" data-command="{quoted}">', "</span>"
    return "", ""  # custom_emoji, date_time, unknown types: the text as it is


def entities_to_html(text: str, entities: list[dict[str, Any]] | None) -> str:
    """``text`` with its entities (UTF-16 offsets, as the Bot API counts) as HTML.

    Entities nest as Telegram nests them (the one starting first, else the longer, outside); one
    that crosses another's end, which Telegram never sends, is closed and opened again, so the
    result is always well-formed. Text outside tags is escaped; newlines stay newlines (the page
    shows messages with ``white-space: pre-wrap``), except the one right after a code block or a
    quote, which ends the block's line in the text but would add an empty line after a block.
    """
    units = text.encode("utf-16-le")
    size = len(units) // 2

    def piece(start: int, end: int) -> str:
        return units[2 * start : 2 * end].decode("utf-16-le", errors="replace")

    spans = []
    for index, entity in enumerate(entities or []):
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or length <= 0:
            continue
        start, end = max(offset, 0), min(offset + length, size)
        if start < end:
            spans.append((start, end, index, _tags(entity, piece(start, end))))
    spans.sort(key=lambda span: (span[0], -span[1], span[2]))
    bounds = sorted({0, size, *(s[0] for s in spans), *(s[1] for s in spans)})
    out: list[str] = []
    stack: list[tuple[int, int, int, tuple[str, str]]] = []
    for start, end in itertools.pairwise(bounds):
        active = [span for span in spans if span[0] <= start and span[1] >= end]
        keep = 0
        while keep < min(len(stack), len(active)) and stack[keep] is active[keep]:
            keep += 1
        closed = [span[3][1] for span in reversed(stack[keep:])]
        out.extend(closed)
        out.extend(span[3][0] for span in active[keep:])
        stack = active
        text_piece = piece(start, end)
        if closed and closed[-1].endswith(_BLOCK_ENDS) and text_piece.startswith("\n"):
            text_piece = text_piece[1:]
        out.append(html.escape(text_piece, quote=False))
    for span in reversed(stack):
        out.append(span[3][1])
    return "".join(out)


def _buttons(message: ChatMessage) -> list[list[dict[str, Any]]]:
    """Inline keyboard rows: a label and what pressing does (the data stays on the server)."""
    rows = []
    for row in message.buttons:
        shown = []
        for button in row:
            label = str(button.get("text", ""))
            if "callback_data" in button:
                shown.append({"text": label, "kind": "callback"})
            elif "url" in button:
                shown.append({"text": label, "kind": "url", "url": _safe_href(str(button["url"]))})
            else:
                kind = next((key for key in button if key != "text"), "unknown")
                shown.append({"text": label, "kind": kind})
        rows.append(shown)
    return rows


def _media(emulator: BotApiEmulator, message: ChatMessage) -> dict[str, Any] | None:
    kind = message.media
    if kind is None:
        return None
    payload = message.media_payload
    if kind == "poll" and isinstance(payload, dict):
        correct = set(payload.get("correct_option_ids") or [])
        return {
            "kind": "poll",
            "question": str(payload.get("question", "")),
            "options": [
                {"text": str(option.get("text", "")), "correct": index in correct}
                for index, option in enumerate(payload.get("options", []))
            ],
        }
    info = payload[-1] if isinstance(payload, list) and payload else payload
    info = info if isinstance(info, dict) else {}
    file_id = message.file_id or info.get("file_id")
    try:
        stored = emulator.file(file_id) if file_id else None
    except KeyError:
        stored = None
    has_content = stored is not None and stored.content is not None
    return {
        "kind": kind,
        "url": f"api/file/{file_id}" if has_content else None,
        "file_name": info.get("file_name") or (stored.file_name if stored else None),
        "mime_type": info.get("mime_type") or (stored.mime_type if stored else None),
        "file_size": info.get("file_size"),
        "duration": info.get("duration"),
        "title": info.get("title"),
        "performer": info.get("performer"),
        "width": info.get("width"),
        "height": info.get("height"),
    }


def message_view(emulator: BotApiEmulator, message: ChatMessage) -> dict[str, Any]:
    """One message as the page draws it (``html`` is safe to insert)."""
    if message.text is not None:
        body = entities_to_html(message.text, message.entities)
    elif message.caption:
        body = entities_to_html(message.caption, message.caption_entities)
    else:
        body = ""
    media = _media(emulator, message)
    if message.text is None and media is None:
        body = '<span class="tg-unsupported">(a message the sandbox cannot show)</span>'
    return {
        "id": message.message_id,
        "from_bot": message.from_bot,
        "date": message.date,
        "edited": message.edited if message.from_bot else int(message.edit_date is not None),
        "html": body,
        "media": media,
        "buttons": _buttons(message),
    }


def refusal_view(number: int, record: RecordedRequest, names: dict[int, str]) -> dict[str, Any]:
    """A request the emulator refused, as the side panel lists it."""
    params = record.params
    chat_id = params.get("chat_id")
    detail = next(
        (
            str(params[key])
            for key in ("text", "caption", "callback_query_id", "message_id")
            if params.get(key) not in (None, "")
        ),
        "",
    )
    if len(detail) > 300:
        detail = detail[:299] + "…"
    return {
        "number": number,
        "method": record.method,
        "error_code": record.error_code,
        "description": record.description or "",
        "chat": names.get(chat_id, str(chat_id)) if isinstance(chat_id, int) else None,
        "detail": detail,
    }

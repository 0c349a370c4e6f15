"""The chat model and the test-user API: what a Telegram user sees and does in a private chat
(and, to check that the bot keeps out of them, in a group)."""

from __future__ import annotations

import itertools
import mimetypes
import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.emulator.tghtml import utf16_len

if TYPE_CHECKING:
    from bot.emulator.server import BotApiEmulator

__all__ = [
    "SAMPLE_AUDIO",
    "SAMPLE_PHOTO",
    "SAMPLE_VIDEO",
    "CallbackAnswer",
    "ChatMessage",
    "GroupChat",
    "StoredFile",
    "TestUser",
    "check_entities",
    "image_size",
    "png_image",
]

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")
_query_ids = itertools.count(7_000_000_000_000_000_001)
_poll_ids = itertools.count(5_300_000_000_000_000_001)

# What a Telegram client lets a user send (the Bot API's limits; see botapi-spec.json).
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_POLL_QUESTION = 300  # Poll.question: 1-300 characters
MAX_POLL_OPTION = 100  # PollOption.text: 1-100 characters
MAX_POLL_OPTIONS = 12  # sendPoll.options: "a JSON-serialized list of 1-12 answer options"
MAX_POLL_EXPLANATION = 200  # 0-200 characters with at most 2 line feeds
MAX_EXPLANATION_LINE_FEEDS = 2
# Telegram's photo sizes: thumbnails fitted into these boxes, the largest no wider/higher than 1280.
_PHOTO_BOXES = (90, 320, 800, 1280)

# MessageEntity: type -> the extra fields it must carry / may carry (spec: Bot API 10.1).
_ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)
_ENTITY_REQUIRED = {
    "text_link": {"url"},
    "text_mention": {"user"},
    "custom_emoji": {"custom_emoji_id"},
    "date_time": {"unix_time"},
}
_ENTITY_OPTIONAL = {"pre": {"language"}, "date_time": {"date_time_format"}}


def png_image(width: int, height: int) -> bytes:
    """A valid grey PNG of this size (for tests that need a real picture)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )


SAMPLE_PHOTO = png_image(400, 300)
"""A 400x300 PNG: Telegram makes a 90x68, a 320x240 and a 400x300 PhotoSize of it."""
SAMPLE_VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free"
"""The start of an MP4 file (an ``ftyp`` and a ``free`` box)."""
SAMPLE_AUDIO = b"ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64" + b"\x00" * 64
"""An ID3 header and one MPEG audio frame header (an MP3 file's first bytes)."""


def image_size(content: bytes) -> tuple[int, int, str] | None:
    """(width, height, mime type) of a PNG or JPEG picture; None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        width, height = struct.unpack(">II", content[16:24])
        return (width, height, "image/png") if width and height else None
    if not content.startswith(b"\xff\xd8"):
        return None
    index = 2
    while index + 9 < len(content):
        if content[index] != 0xFF:
            return None
        marker = content[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            index += 2
            continue
        (length,) = struct.unpack(">H", content[index + 2 : index + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            height, width = struct.unpack(">HH", content[index + 5 : index + 9])
            return (width, height, "image/jpeg") if width and height else None
        index += 2 + length
    return None


def _photo_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The (width, height) of each PhotoSize Telegram makes of a picture, smallest first."""

    def fit(box: int) -> tuple[int, int]:
        scale = min(1.0, box / max(width, height))
        return max(1, round(width * scale)), max(1, round(height * scale))

    largest = fit(_PHOTO_BOXES[-1])
    sizes = [fit(box) for box in _PHOTO_BOXES[:-1] if box < max(largest)]
    if not sizes:  # a tiny picture still gets its thumbnail
        sizes = [largest]
    return [*sizes, largest]


def check_entities(
    text: str, entities: list[dict[str, Any]] | None, what: str = "text"
) -> list[dict[str, Any]]:
    """Check MessageEntity dicts against ``text`` as Telegram would deliver them (known type,
    UTF-16 offset/length inside the text and not splitting a surrogate pair, the type's own
    fields and no others); return copies sorted as Telegram sorts them (offset, longer first).
    Misuse raises AssertionError."""
    if not entities:
        return []
    units = text.encode("utf-16-le")
    size = len(units) // 2
    low_surrogates = {
        i
        for i in range(size)
        if 0xDC00 <= int.from_bytes(units[2 * i : 2 * i + 2], "little") < 0xE000
    }
    checked = []
    for entity in entities:
        if not isinstance(entity, dict):
            raise AssertionError(f"{what} entity {entity!r} is not a MessageEntity dict")
        kind = entity.get("type")
        if kind not in _ENTITY_TYPES:
            raise AssertionError(f"{what} entity {entity!r}: unknown type {kind!r}")
        offset, length = entity.get("offset"), entity.get("length")
        if not (isinstance(offset, int) and isinstance(length, int)):
            raise AssertionError(f"{what} entity {entity!r} needs integer offset and length")
        if offset < 0 or length <= 0 or offset + length > size:
            raise AssertionError(
                f"{what} entity {entity!r} is outside the {size} UTF-16 code units of the {what}"
            )
        if offset in low_surrogates or (offset + length) in low_surrogates:
            raise AssertionError(f"{what} entity {entity!r} splits a surrogate pair")
        required = _ENTITY_REQUIRED.get(kind, set())
        allowed = {"type", "offset", "length"} | required | _ENTITY_OPTIONAL.get(kind, set())
        missing = required - entity.keys()
        extra = entity.keys() - allowed
        if missing or extra:
            raise AssertionError(
                f"{what} entity {entity!r}: a {kind!r} entity needs {sorted(required)} and "
                f"may not carry {sorted(extra)}"
                if extra
                else f"{what} entity {entity!r}: a {kind!r} entity needs {sorted(missing)}"
            )
        checked.append(dict(entity))
    return sorted(checked, key=lambda e: (e["offset"], -e["length"]))


@dataclass
class StoredFile:
    """A file known to the emulator (uploaded by the bot or a user, or sent by URL)."""

    file_id: str
    file_unique_id: str
    kind: str
    content: bytes | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_path: str = ""
    # What the sender's client reported (None: unknown, the server answers with defaults).
    width: int | None = None
    height: int | None = None
    duration: int | None = None
    performer: str | None = None
    title: str | None = None
    # For a photo: all PhotoSize objects of the picture this file is one size of.
    sizes: list[dict[str, Any]] | None = None

    @property
    def file_size(self) -> int | None:
        """Size in bytes, if the content is known."""
        return None if self.content is None else len(self.content)


@dataclass
class CallbackAnswer:
    """What the bot answered to a callback query (``answerCallbackQuery``)."""

    query_id: str
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None


@dataclass
class ChatMessage:
    """One message in a private chat, as the user sees it (kept up to date by edits)."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str | None = None
    html: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    media: str | None = None
    file_id: str | None = None
    caption: str | None = None
    caption_html: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    edited: int = 0
    edit_date: int | None = None
    deleted: bool = False
    media_payload: Any = None

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        """Rows of inline keyboard buttons (InlineKeyboardButton dicts); empty if none."""
        if not self.reply_markup:
            return []
        return self.reply_markup.get("inline_keyboard", [])

    @property
    def labels(self) -> list[str]:
        """Texts of all inline buttons, row by row."""
        return [button.get("text", "") for row in self.buttons for button in row]

    @property
    def content(self) -> str:
        """The text, or the caption for media messages ("" when there is neither)."""
        return self.text if self.text is not None else (self.caption or "")

    def to_api(self, sender: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
        """The Bot API ``Message`` object for this message."""
        result: dict[str, Any] = {
            "message_id": self.message_id,
            "from": sender,
            "chat": chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            result["edit_date"] = self.edit_date
        if self.text is not None:
            result["text"] = self.text
            if self.entities:
                result["entities"] = self.entities
        if self.media is not None:
            result[self.media] = self.media_payload
            if self.caption:
                result["caption"] = self.caption
                if self.caption_entities:
                    result["caption_entities"] = self.caption_entities
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            result["reply_markup"] = self.reply_markup
        return result

    def __str__(self) -> str:
        who = "bot" if self.from_bot else "user"
        extra = f" [{self.media}]" if self.media else ""
        buttons = f" buttons={self.labels}" if self.buttons else ""
        gone = " (deleted)" if self.deleted else ""
        return f"#{self.message_id} {who}{extra}: {self.content!r}{buttons}{gone}"


@dataclass
class _PendingQuery:
    query_id: str
    user: TestUser
    message_id: int
    data: str
    answer: CallbackAnswer | None = None


class _ChatLog:
    """The messages of one chat, numbered as Telegram numbers them, and ways to read them."""

    id: int
    messages: list[ChatMessage]
    _next_message_id: int

    def add_message(self, from_bot: bool, **fields: Any) -> ChatMessage:
        """Append a message to the chat, assigning the next message id."""
        message = ChatMessage(
            message_id=self._next_message_id,
            chat_id=self.id,
            from_bot=from_bot,
            date=int(time.time()),
            **fields,
        )
        self._next_message_id += 1
        self.messages.append(message)
        return message

    def find_message(self, message_id: int) -> ChatMessage | None:
        """The message with this id, deleted or not."""
        return next((m for m in self.messages if m.message_id == message_id), None)

    @property
    def bot_messages(self) -> list[ChatMessage]:
        """The bot's messages in the chat (not deleted), oldest first; live objects."""
        return [m for m in self.messages if m.from_bot and not m.deleted]

    def texts(self) -> list[str]:
        """Texts (or captions) of all visible bot messages, oldest first."""
        return [m.content for m in self.bot_messages]

    def mark(self) -> int:
        """A bookmark for :meth:`since`: the highest message id in the chat so far."""
        return self._next_message_id - 1

    def since(self, mark: int) -> list[ChatMessage]:
        """Visible bot messages sent after ``mark`` (see :meth:`mark`)."""
        return [m for m in self.bot_messages if m.message_id > mark]


class TestUser(_ChatLog):
    """A Telegram user talking to the bot in a private chat (chat id == user id).

    Obtain instances with :meth:`BotApiEmulator.user`; the same id gives the same object.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        emulator: BotApiEmulator,
        user_id: int,
        first_name: str = "Ann",
        username: str | None = None,
        language_code: str | None = "en",
        last_name: str | None = None,
    ) -> None:
        self.emulator = emulator
        self.id = user_id
        self.first_name = first_name
        self.username = username
        self.language_code = language_code
        self.last_name = last_name
        self.messages: list[ChatMessage] = []
        self.started = False
        self.blocked = False
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[str] = []
        self.reply_keyboard: list[list[str]] | None = None
        self.menu_button: dict[str, Any] | None = None
        self._next_message_id = 1

    # -- Bot API shapes --------------------------------------------------------------------------
    def to_api_user(self) -> dict[str, Any]:
        """The Bot API ``User`` object of this user."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def to_api_chat(self) -> dict[str, Any]:
        """The Bot API ``Chat`` object of the private chat with this user."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    def message_to_api(self, message: ChatMessage) -> dict[str, Any]:
        """Serialise a message of this chat as a Bot API ``Message``."""
        sender = self.emulator.bot_user if message.from_bot else self.to_api_user()
        return message.to_api(sender, self.to_api_chat())

    # -- acting ----------------------------------------------------------------------------------
    def _check_can_act(self) -> None:
        if self.blocked:
            raise AssertionError(
                f"{self.first_name} ({self.id}) has blocked the bot; call unblock() first"
            )

    @staticmethod
    def _text_entities(text: str, entities: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        """Checked entities of a text the user typed, plus the bot_command entity Telegram adds
        to a leading ``/command``."""
        if not text.strip():
            raise AssertionError("Telegram does not send an empty message")
        if utf16_len(text) > MAX_TEXT:
            raise AssertionError(
                f"a message holds at most {MAX_TEXT} UTF-16 code units ({utf16_len(text)} given)"
            )
        checked = check_entities(text, entities)
        match = _COMMAND_RE.match(text)
        if match and not any(e["type"] == "bot_command" and e["offset"] == 0 for e in checked):
            command = {"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}
            checked = sorted([command, *checked], key=lambda e: (e["offset"], -e["length"]))
        return checked

    async def _deliver(self, message: ChatMessage, kind: str, description: str) -> None:
        update_id = self.emulator.enqueue_update(
            {kind: self.message_to_api(message)},
            f"{description} from {self.first_name} ({self.id})",
        )
        await self.emulator.wait_update(update_id)

    async def send(
        self, text: str, entities: list[dict[str, Any]] | None = None
    ) -> list[ChatMessage]:
        """Send a text message; return after the bot processed it, with the bot's new messages.

        ``entities`` are the Bot API ``MessageEntity`` dicts of formatted text (bold, italic,
        text_link, code, pre, ...: offsets and lengths in UTF-16 code units), delivered as
        Telegram delivers them: checked against the text and sorted by offset. A leading
        ``/command`` gets a ``bot_command`` entity, like in Telegram.
        """
        self._check_can_act()
        mark = self.mark()
        checked = self._text_entities(text, entities)
        self.started = True
        message = self.add_message(False, text=text, entities=checked)
        await self._deliver(message, "message", f"message {text[:40]!r}")
        return self.since(mark)

    async def edit(
        self, message: ChatMessage, text: str, entities: list[dict[str, Any]] | None = None
    ) -> list[ChatMessage]:
        """Edit one of this user's own text messages, as Telegram allows: an ``edited_message``
        update carrying the same message id and the new text (and ``entities``, checked as in
        :meth:`send`). Returns the bot's new messages."""
        self._check_can_act()
        if message.from_bot or message.chat_id != self.id or message.text is None:
            raise AssertionError("a user can only edit their own text messages")
        if not text.strip() or utf16_len(text) > MAX_TEXT:
            raise AssertionError(f"an edited text must have 1-{MAX_TEXT} UTF-16 code units")
        checked = check_entities(text, entities)
        if text == message.text and (not entities or checked == message.entities):
            raise AssertionError("Telegram sends no update for an edit that changes nothing")
        mark = self.mark()
        message.text = text
        message.entities = checked
        message.edit_date = int(time.time())
        await self._deliver(
            message, "edited_message", f"edit of #{message.message_id} to {text[:40]!r}"
        )
        return self.since(mark)

    async def _send_media(
        self,
        kind: str,
        stored: StoredFile,
        payload: Any,
        caption: str | None,
        caption_entities: list[dict[str, Any]] | None,
        description: str,
    ) -> list[ChatMessage]:
        mark = self.mark()
        if caption and utf16_len(caption) > MAX_CAPTION:
            raise AssertionError(
                f"a caption holds at most {MAX_CAPTION} UTF-16 code units "
                f"({utf16_len(caption)} given)"
            )
        if caption_entities and not caption:
            raise AssertionError("caption entities need a caption")
        checked = check_entities(caption or "", caption_entities, "caption")
        self.started = True
        message = self.add_message(
            False,
            media=kind,
            file_id=stored.file_id,
            caption=caption or None,
            caption_entities=checked,
            media_payload=payload,
        )
        await self._deliver(message, "message", description)
        return self.since(mark)

    async def send_document(
        self,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
    ) -> list[ChatMessage]:
        """Send a document; the bot can download it with getFile. Returns the bot's replies."""
        self._check_can_act()
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self.emulator.store_file("document", content, filename, mime)
        payload = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime,
            "file_size": len(content),
        }
        return await self._send_media(
            "document", stored, payload, caption, caption_entities, f"document {filename!r}"
        )

    async def send_photo(
        self,
        content: bytes = SAMPLE_PHOTO,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
    ) -> list[ChatMessage]:
        """Send a picture (PNG or JPEG bytes) as a photo; returns the bot's replies.

        ``message.photo`` lists the PhotoSizes Telegram makes (thumbnails fitted into 90, 320
        and 800 pixels, the largest fitted into 1280; at least two), each with its own file_id:
        the bot can send any of them again with sendPhoto and download it with getFile (the
        emulator does not resize: every size's file holds ``content``).
        """
        self._check_can_act()
        info = image_size(content)
        if info is None:
            raise AssertionError("a photo must be a PNG or JPEG picture")
        width, height, mime = info
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise AssertionError(
                f"Telegram does not take a {width}x{height} photo (width + height at most "
                "10000, sides at most 20:1)"
            )
        sizes: list[dict[str, Any]] = []
        for size_width, size_height in _photo_sizes(width, height):
            stored = self.emulator.store_file("photo", content, None, mime)
            stored.width, stored.height, stored.sizes = size_width, size_height, sizes
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(content),
                    "width": size_width,
                    "height": size_height,
                }
            )
        return await self._send_media(
            "photo",
            stored,
            [dict(size) for size in sizes],
            caption,
            caption_entities,
            f"photo {width}x{height}",
        )

    async def send_video(
        self,
        content: bytes = SAMPLE_VIDEO,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        *,
        width: int = 640,
        height: int = 360,
        duration: int = 5,
        file_name: str | None = "video.mp4",
        mime_type: str | None = "video/mp4",
    ) -> list[ChatMessage]:
        """Send a video (the sizes and duration are what the user's client reports); the bot
        can send it again with sendVideo and download it with getFile. Returns the bot's
        replies."""
        self._check_can_act()
        if width <= 0 or height <= 0 or duration < 0:
            raise AssertionError("a video has a positive width and height and a duration >= 0")
        stored = self.emulator.store_file("video", content, file_name, mime_type)
        stored.width, stored.height, stored.duration = width, height, duration
        payload: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "duration": duration,
        }
        if file_name:
            payload["file_name"] = file_name
        if mime_type:
            payload["mime_type"] = mime_type
        payload["file_size"] = len(content)
        return await self._send_media(
            "video", stored, payload, caption, caption_entities, f"video {width}x{height}"
        )

    async def send_audio(
        self,
        content: bytes = SAMPLE_AUDIO,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        *,
        duration: int = 3,
        title: str | None = None,
        performer: str | None = None,
        file_name: str | None = "audio.mp3",
        mime_type: str | None = "audio/mpeg",
    ) -> list[ChatMessage]:
        """Send a music file (an Audio, with what its tags or the client report); the bot can
        send it again with sendAudio and download it with getFile. Returns the bot's replies."""
        self._check_can_act()
        if duration < 0:
            raise AssertionError("an audio's duration is >= 0")
        stored = self.emulator.store_file("audio", content, file_name, mime_type)
        stored.duration, stored.title, stored.performer = duration, title, performer
        payload: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
        }
        for key, value in (
            ("performer", performer),
            ("title", title),
            ("file_name", file_name),
            ("mime_type", mime_type),
        ):
            if value:
                payload[key] = value
        payload["file_size"] = len(content)
        return await self._send_media(
            "audio", stored, payload, caption, caption_entities, f"audio {title or file_name!r}"
        )

    async def send_quiz_poll(
        self,
        question: str,
        options: list[str],
        correct_option_ids: list[int],
        explanation: str | None = None,
        allows_multiple_answers: bool = False,
        *,
        explanation_entities: list[dict[str, Any]] | None = None,
        is_anonymous: bool = True,
    ) -> list[ChatMessage]:
        """Send a poll in quiz mode made in the Telegram client (not forwarded); returns the
        bot's replies.

        The update's ``message.poll`` is a Bot API 10.1 ``Poll``: type "quiz", open, no votes,
        and, because it was sent to the private chat with the bot, ``correct_option_ids``.
        Telegram's limits hold: question 1-300 characters, 1-12 distinct options of 1-100
        characters, correct ids increasing and in range, explanation 0-200 characters with at
        most 2 line feeds.
        """
        self._check_can_act()
        if not question.strip() or utf16_len(question) > MAX_POLL_QUESTION:
            raise AssertionError(
                f"a poll question has 1-{MAX_POLL_QUESTION} characters "
                f"({utf16_len(question.strip())} given)"
            )
        if not 1 <= len(options) <= MAX_POLL_OPTIONS:
            raise AssertionError(
                f"a poll has 1-{MAX_POLL_OPTIONS} answer options ({len(options)} given)"
            )
        for option in options:
            if not isinstance(option, str) or not option.strip():
                raise AssertionError(f"poll option {option!r} is empty")
            if utf16_len(option) > MAX_POLL_OPTION:
                raise AssertionError(
                    f"poll option {option[:20]!r}... has more than {MAX_POLL_OPTION} characters"
                )
        if len(set(options)) != len(options):
            raise AssertionError(f"poll options must differ: {options}")
        ids = list(correct_option_ids)
        if not ids:
            raise AssertionError("a quiz needs at least one correct option id")
        if any(not isinstance(i, int) or not 0 <= i < len(options) for i in ids):
            raise AssertionError(
                f"correct option ids {ids} are not 0-based ids of the {len(options)} options"
            )
        if ids != sorted(set(ids)):
            raise AssertionError(f"correct option ids must increase monotonically: {ids}")
        poll: dict[str, Any] = {
            "id": str(next(_poll_ids)),
            "question": question,
            "options": [
                {"persistent_id": str(index), "text": text, "voter_count": 0}
                for index, text in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": is_anonymous,
            "type": "quiz",
            "allows_multiple_answers": allows_multiple_answers,
            "allows_revoting": False,  # sendPoll: "defaults to False for quizzes"
            "members_only": False,  # for channel chats only
            "correct_option_ids": ids,
        }
        if explanation_entities and not explanation:
            raise AssertionError("explanation entities need an explanation")
        if explanation:
            if utf16_len(explanation) > MAX_POLL_EXPLANATION:
                raise AssertionError(
                    f"a quiz explanation has at most {MAX_POLL_EXPLANATION} characters"
                )
            if explanation.count("\n") > MAX_EXPLANATION_LINE_FEEDS:
                raise AssertionError(
                    f"a quiz explanation has at most {MAX_EXPLANATION_LINE_FEEDS} line feeds"
                )
            poll["explanation"] = explanation
            checked = check_entities(explanation, explanation_entities, "explanation")
            if checked:
                poll["explanation_entities"] = checked
        self.started = True
        mark = self.mark()
        message = self.add_message(False, media="poll", media_payload=poll)
        await self._deliver(message, "message", f"quiz poll {question[:40]!r}")
        return self.since(mark)

    async def press(
        self, label: str, *, message: ChatMessage | None = None
    ) -> CallbackAnswer | None:
        """Press the inline button whose text contains ``label``.

        Searches the given message, or the bot's messages newest first (an exact text match in
        a message wins over a substring match). Returns the bot's answerCallbackQuery answer,
        or None if it did not answer.
        """
        self._check_can_act()
        candidates = [message] if message is not None else list(reversed(self.bot_messages))
        for candidate in candidates:
            buttons = [b for row in candidate.buttons for b in row]
            match = next((b for b in buttons if b.get("text") == label), None) or next(
                (b for b in buttons if label in b.get("text", "")), None
            )
            if match is None:
                continue
            if "callback_data" not in match:
                kind = next((k for k in match if k != "text"), "unknown")
                raise AssertionError(
                    f"button {match.get('text')!r} in message #{candidate.message_id} is a "
                    f"{kind} button, not a callback button; it cannot be pressed"
                )
            return await self._callback(candidate, match["callback_data"])
        visible = [f"#{m.message_id}: {m.labels}" for m in reversed(self.bot_messages) if m.buttons]
        where = f"message #{message.message_id}" if message is not None else "any bot message"
        raise AssertionError(
            f"no inline button containing {label!r} in {where} for {self.first_name}; "
            f"visible buttons (newest first): {visible or 'none'}"
        )

    async def press_data(self, data: str, message_id: int | None = None) -> CallbackAnswer | None:
        """Send a callback query with arbitrary (possibly forged) data from a bot message."""
        self._check_can_act()
        if message_id is None:
            message = self.last
        else:
            found = self.find_message(message_id)
            if found is None:
                raise AssertionError(f"no message #{message_id} in the chat with {self.id}")
            message = found
        return await self._callback(message, data)

    async def _callback(self, message: ChatMessage, data: str) -> CallbackAnswer | None:
        query = _PendingQuery(str(next(_query_ids)), self, message.message_id, data)
        self.emulator.register_query(query)
        payload = {
            "id": query.query_id,
            "from": self.to_api_user(),
            "message": self.message_to_api(message),
            "chat_instance": str(-(10**12) - self.id),
            "data": data,
        }
        update_id = self.emulator.enqueue_update(
            {"callback_query": payload},
            f"callback {data!r} from {self.first_name} ({self.id}) on #{message.message_id}",
        )
        await self.emulator.wait_update(update_id)
        return query.answer

    def block(self) -> int | None:
        """Block the bot (its sends now fail with 403); emits a my_chat_member update.

        Returns that update's id (None if the user never talked to the bot or the bot does not
        receive my_chat_member updates), which can be awaited with ``emulator.wait_processed``
        when the bot's reaction matters.
        """
        self.blocked = True
        return self._member_update("member", "kicked")

    def unblock(self) -> int | None:
        """Unblock the bot; emits a my_chat_member update (see :meth:`block`)."""
        self.blocked = False
        return self._member_update("kicked", "member")

    def _member_update(self, old: str, new: str) -> int | None:
        if not self.started or not self.emulator.accepts("my_chat_member"):
            return None
        bot = self.emulator.bot_user

        def member(status: str) -> dict[str, Any]:
            result: dict[str, Any] = {"status": status, "user": bot}
            if status == "kicked":
                result["until_date"] = 0
            return result

        payload = {
            "chat": self.to_api_chat(),
            "from": self.to_api_user(),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self.emulator.enqueue_update(
            {"my_chat_member": payload}, f"my_chat_member {old}->{new} from {self.id}"
        )

    # -- reading -------------------------------------------------------------------------------
    @property
    def last(self) -> ChatMessage:
        """The newest visible bot message (AssertionError if there is none)."""
        messages = self.bot_messages
        if not messages:
            raise AssertionError(f"the bot has sent no (visible) message to {self.first_name}")
        return messages[-1]

    def buttons(self, msg: ChatMessage | None = None) -> list[str]:
        """Labels of the inline buttons of ``msg`` (default: the newest bot message)."""
        return (msg or self.last).labels

    @property
    def alerts(self) -> list[CallbackAnswer]:
        """Callback answers that showed the user something (a toast or an alert)."""
        return [a for a in self.callback_answers if a.text]

    def commands(self) -> list[dict[str, str]]:
        """The command menu this user sees (chat → all_private_chats → default scope)."""
        return self.emulator.commands_for_user(self)

    def transcript(self) -> str:
        """The whole chat as readable lines (for assertion messages and debugging)."""
        return "\n".join(str(m) for m in self.messages)

    def __repr__(self) -> str:
        return f"TestUser(id={self.id}, first_name={self.first_name!r})"


class GroupChat(_ChatLog):
    """A group the bot is a member of, where test users write and press buttons.

    ``GroupChat(emulator, -100123, "Study group")`` registers the group under its (negative)
    chat id, so the bot's sends to that id land in :attr:`messages` (other unknown chats stay
    "chat not found"). The bot has privacy mode on, as getMe says: it receives commands and
    button presses, never the members' other chatter.
    """

    def __init__(
        self, emulator: BotApiEmulator, chat_id: int, title: str, kind: str = "supergroup"
    ) -> None:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if kind not in ("group", "supergroup"):
            raise ValueError(f"a group chat is a 'group' or a 'supergroup', not {kind!r}")
        if chat_id in emulator.users:
            raise ValueError(f"chat {chat_id} already exists")
        self.emulator = emulator
        self.id = chat_id
        self.title = title
        self.kind = kind
        self.messages: list[ChatMessage] = []
        self.started = True  # what the server checks before sending: the bot is a member
        self.blocked = False
        self.chat_actions: list[str] = []
        self.reply_keyboard: list[list[str]] | None = None
        self._senders: dict[int, TestUser] = {}
        self._next_message_id = 1
        # The server finds the chat of a chat_id in ``users``; a group answers the same calls.
        emulator.users[chat_id] = self  # type: ignore[assignment]

    def to_api_chat(self) -> dict[str, Any]:
        """The Bot API ``Chat`` object of this group."""
        return {"id": self.id, "type": self.kind, "title": self.title}

    def message_to_api(self, message: ChatMessage) -> dict[str, Any]:
        """Serialise a message of this group as a Bot API ``Message``."""
        if message.from_bot:
            sender = self.emulator.bot_user
        else:
            sender = self._senders[message.message_id].to_api_user()
        return message.to_api(sender, self.to_api_chat())

    def _member(self, member: TestUser) -> TestUser:
        if self.emulator.users.get(member.id) is not member:
            raise AssertionError(f"{member!r} is not a user of this emulator")
        return member

    async def send(self, member: TestUser, text: str) -> list[ChatMessage]:
        """``member`` writes ``text`` here; returns the bot's new messages in the group.

        Only a leading ``/command`` (or ``/command@<this bot>``) reaches the bot; other text is
        shown in the group but, with privacy mode on, not delivered.
        """
        self._member(member)
        mark = self.mark()
        match = _COMMAND_RE.match(text)
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(match.group())}] if match else []
        )
        message = self.add_message(False, text=text, entities=entities)
        self._senders[message.message_id] = member
        addressee = match.group().partition("@")[2].lower() if match else None
        if addressee is None or addressee not in ("", self.emulator.bot_username.lower()):
            return []
        update_id = self.emulator.enqueue_update(
            {"message": self.message_to_api(message)},
            f"message {text[:40]!r} from {member.first_name} ({member.id}) in {self.title!r}",
        )
        await self.emulator.wait_update(update_id)
        return self.since(mark)

    async def press_data(
        self, member: TestUser, data: str, message_id: int | None = None
    ) -> CallbackAnswer | None:
        """``member`` presses a button with this (possibly forged) data on a bot message here
        (default: the newest); returns the answer, which only ``member`` sees."""
        self._member(member)
        candidates = [
            m for m in self.bot_messages if message_id is None or m.message_id == message_id
        ]
        if not candidates:
            raise AssertionError(f"no bot message #{message_id} to press in {self.title!r}")
        message = candidates[-1]
        query = _PendingQuery(str(next(_query_ids)), member, message.message_id, data)
        self.emulator.register_query(query)
        payload = {
            "id": query.query_id,
            "from": member.to_api_user(),
            "message": self.message_to_api(message),
            "chat_instance": str(-(10**12) + self.id),
            "data": data,
        }
        update_id = self.emulator.enqueue_update(
            {"callback_query": payload},
            f"callback {data!r} from {member.first_name} ({member.id}) in {self.title!r}",
        )
        await self.emulator.wait_update(update_id)
        return query.answer

    def __repr__(self) -> str:
        return f"GroupChat(id={self.id}, title={self.title!r})"

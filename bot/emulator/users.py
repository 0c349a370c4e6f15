"""The chat model and the test-user API: what a Telegram user sees and does in a private chat
(and, to check that the bot keeps out of them, in a group)."""

from __future__ import annotations

import itertools
import mimetypes
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.emulator.server import BotApiEmulator

__all__ = ["CallbackAnswer", "ChatMessage", "GroupChat", "StoredFile", "TestUser"]

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")
_query_ids = itertools.count(7_000_000_000_000_000_001)


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

    async def send(self, text: str) -> list[ChatMessage]:
        """Send a text message; return after the bot processed it, with the bot's new messages.

        A leading ``/command`` gets a ``bot_command`` entity, like in Telegram.
        """
        self._check_can_act()
        mark = self.mark()
        entities: list[dict[str, Any]] = []
        match = _COMMAND_RE.match(text)
        if match:
            entities.append({"type": "bot_command", "offset": 0, "length": len(match.group())})
        self.started = True
        message = self.add_message(False, text=text, entities=entities)
        update_id = self.emulator.enqueue_update(
            {"message": self.message_to_api(message)},
            f"message {text[:40]!r} from {self.first_name} ({self.id})",
        )
        await self.emulator.wait_update(update_id)
        return self.since(mark)

    async def edit(self, message: ChatMessage, text: str) -> list[ChatMessage]:
        """Edit one of this user's own text messages, as Telegram allows: an ``edited_message``
        update carrying the same message id and the new text. Returns the bot's new messages."""
        self._check_can_act()
        if message.from_bot or message.chat_id != self.id or message.text is None:
            raise AssertionError("a user can only edit their own text messages")
        if text == message.text:
            raise AssertionError("Telegram sends no update for an edit that changes nothing")
        mark = self.mark()
        message.text = text
        message.entities = []
        message.edit_date = int(time.time())
        update_id = self.emulator.enqueue_update(
            {"edited_message": self.message_to_api(message)},
            f"edit of #{message.message_id} to {text[:40]!r} by {self.first_name} ({self.id})",
        )
        await self.emulator.wait_update(update_id)
        return self.since(mark)

    async def send_document(
        self,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> list[ChatMessage]:
        """Send a document; the bot can download it with getFile. Returns the bot's replies."""
        self._check_can_act()
        mark = self.mark()
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self.emulator.store_file("document", content, filename, mime)
        payload = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime,
            "file_size": len(content),
        }
        self.started = True
        message = self.add_message(
            False,
            media="document",
            file_id=stored.file_id,
            caption=caption,
            media_payload=payload,
        )
        update_id = self.emulator.enqueue_update(
            {"message": self.message_to_api(message)},
            f"document {filename!r} from {self.first_name} ({self.id})",
        )
        await self.emulator.wait_update(update_id)
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

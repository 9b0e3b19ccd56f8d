"""The bot's gateway: the few Bot API calls the bot face makes, and what it receives, as a
protocol.

The real implementation is `telethon_bot.TelethonBotGateway` (Telethon in bot mode); tests use
`tests.fakes.telegram_bot.FakeBotGateway`. Both speak in the records below, so the bot's logic
never sees a Telethon object. Telegram's own words: a message, a callback query (an inline
keyboard button pressed), an upload in parts, FLOOD_WAIT as `FloodWait`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from audiofetch_app.sources.telegram.gateway import FloodWait, TelegramError, Unreachable

__all__ = ["MAX_ALBUM", "UPLOAD_LIMIT", "AudioItem", "BotAccount", "BotGateway",
           "BotGatewayFactory", "CallbackQuery", "Chat", "FloodWait", "InlineButton",
           "Keyboard", "Message", "Sender", "TelegramError", "TokenRefused", "Unreachable",
           "Upload", "UploadCut"]

UPLOAD_LIMIT = 2000 * 1024 * 1024  # bytes: the largest file a bot may send (Bot API, 2,000 MB)
MAX_ALBUM = 10  # files in one album (messages.sendMultiMedia)
PART_SIZE = 512 * 1024  # bytes per uploaded part (upload.saveBigFilePart's largest)


class TokenRefused(TelegramError):
    default = ("Telegram refused the bot token; copy it again from @BotFather "
               "(/mybots → API Token) and enter it in Settings → Telegram bot.")


@dataclass(frozen=True)
class Sender:
    """Who wrote: a Telegram user id, their @username (None when they have none), a name."""

    user_id: int
    username: str | None
    name: str

    @property
    def label(self) -> str:
        """"Ada Lovelace (@ada)", or whichever of the two is known."""
        at = f"@{self.username}" if self.username else ""
        if self.name and at:
            return f"{self.name} ({at})"
        return self.name or at or f"user {self.user_id}"


@dataclass(frozen=True)
class Chat:
    """Where a message was written: the chat's peer id, its title, private or a group."""

    id: int
    title: str
    private: bool


@dataclass(frozen=True)
class Message:
    """A text message to the bot. `urls`: the links Telegram marked in it (its url and
    text_url entities), in order."""

    chat: Chat
    sender: Sender
    id: int
    text: str
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallbackQuery:
    """An inline keyboard button pressed: its `data` (at most 64 bytes) on message `message_id`.
    Each one must be answered (`BotGateway.answer`)."""

    id: int
    chat: Chat
    sender: Sender
    message_id: int
    data: bytes


@dataclass(frozen=True)
class InlineButton:
    """A callback button: `text` shown, `data` (≤ 64 bytes) sent back when pressed."""

    text: str
    data: bytes


Keyboard = list[list[InlineButton]]  # rows of buttons


@dataclass(frozen=True)
class BotAccount:
    id: int
    username: str


@dataclass
class Upload:
    """A file being uploaded in parts of `PART_SIZE` bytes under Telegram's random `file_id`.
    `parts_done` parts have arrived; an upload cut half-way is continued from there with
    the same `file_id` (Telegram keeps the parts it has)."""

    path: Path
    name: str
    size: int  # bytes
    file_id: int
    parts_done: int = 0
    part_size: int = PART_SIZE  # bytes

    @property
    def parts(self) -> int:
        return max(1, -(-self.size // self.part_size))

    @property
    def complete(self) -> bool:
        return self.parts_done >= self.parts


class UploadCut(TelegramError):
    """The connection dropped during an upload; `upload` says how far it got."""

    default = "The upload to Telegram was cut off."

    def __init__(self, upload: Upload, message: str | None = None) -> None:
        self.upload = upload
        super().__init__(message)


@dataclass
class AudioItem:
    """One audio file to send, as Telegram's player shows it: title, performer, duration in
    whole seconds, and a JPEG thumbnail (≤ 320 px) or None. `upload` is complete."""

    upload: Upload
    title: str
    performer: str
    duration: int
    mime_type: str
    thumb: Path | None = None
    caption: str = ""
    extra: dict[str, str] = field(default_factory=dict)


MessageHandler = Callable[[Message], Awaitable[None]]
CallbackHandler = Callable[[CallbackQuery], Awaitable[None]]


class BotGateway(Protocol):
    """What the bot needs from Telegram. Errors are `TelegramError`s: `FloodWait(seconds)`,
    `TokenRefused`, `Unreachable`, `UploadCut`; message ids are ints."""

    part_size: int  # bytes per uploaded part

    async def start(self, on_message: MessageHandler, on_callback: CallbackHandler
                    ) -> BotAccount:
        """Log in with the token and deliver updates to the two handlers until `stop`."""
        ...

    async def stop(self) -> None: ...

    async def send_message(self, chat_id: int, text: str,
                           buttons: Keyboard | None = None) -> int:
        """Send `text` (plain, ≤ 4,096 characters); the new message's id."""
        ...

    async def send_photo(self, chat_id: int, photo: Path, caption: str,
                         buttons: Keyboard | None = None) -> int:
        """A picture with a caption (≤ 1,024 characters) and buttons; the message's id."""
        ...

    async def edit_message(self, chat_id: int, message_id: int, text: str,
                           buttons: Keyboard | None = None) -> None:
        """Replace a message's text (or a photo's caption) and its buttons."""
        ...

    async def answer(self, query: CallbackQuery, text: str = "") -> None:
        """Answer a callback query (a short notice over the chat when `text` is given)."""
        ...

    async def upload(self, upload: Upload,
                     progress: Callable[[int, int], None] | None = None) -> Upload:
        """Send the parts of `upload` from `parts_done` on; the complete upload. UploadCut
        (with how far it got) when the connection drops; `progress(bytes_done, size)`."""
        ...

    async def send_audio(self, chat_id: int, items: list[AudioItem]) -> list[int]:
        """One audio message, or an album of up to MAX_ALBUM in this order; their ids."""
        ...

    async def send_document(self, chat_id: int, upload: Upload, caption: str = "") -> int:
        """A file sent as a document (a ZIP); the message's id."""
        ...


BotGatewayFactory = Callable[[str, int, str], BotGateway]
"""(bot token, api_id, api_hash) -> a gateway, not yet started."""

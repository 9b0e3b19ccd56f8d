"""A fake Telegram for the bot face: `FakeBotWorld` plays the people writing to the bot and
Telegram's side of the Bot API; `FakeBotGateway` is the `BotGateway` the bot gets from it.

Every message, photo, edit, button, answer and file the bot sends is recorded, in Telethon's
real types where the adapter (audiofetch_app.bot.telethon_bot) would hand them over: buttons
as `Button.inline` rows, audio as `InputMediaUploadedDocument` with `DocumentAttributeAudio`.
Incoming messages are real `telethon.tl.types.Message`s with url entities, mapped by the
adapter's own `message_of`. Uploaded parts are kept, and each sent file is put together from
them on disk, so a test decodes what reached the chat. FLOOD_WAIT can be injected on edits,
and an upload can be cut half-way.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telethon.tl import types

from audiofetch_app.bot.gateway import (
    AudioItem,
    BotAccount,
    CallbackHandler,
    Chat,
    FloodWait,
    Keyboard,
    MessageHandler,
    Sender,
    TokenRefused,
    Upload,
    UploadCut,
)
from audiofetch_app.bot.telethon_bot import (
    audio_media,
    inline_keyboard,
    input_file,
    message_of,
    query_of,
)

BOT = BotAccount(7000001, "audiofetch_test_bot")
_URL = re.compile(r"https?://\S+")


@dataclass
class Sent:
    """One thing the bot sent: kind is message, photo, audio or document."""

    kind: str
    chat_id: int
    message_id: int
    text: str = ""
    buttons: list[list[Any]] | None = None  # Telethon KeyboardInlineButton rows
    media: Any = None  # Telethon InputMediaUploadedDocument
    path: Path | None = None  # the file as put together from its uploaded parts
    thumb: bytes | None = None
    album: int | None = None  # grouped id of an album
    at: float = field(default_factory=time.monotonic)

    @property
    def button_data(self) -> list[bytes]:
        return [b.type.data for row in self.buttons or [] for b in row]

    @property
    def button_texts(self) -> list[str]:
        return [b.text for row in self.buttons or [] for b in row]

    @property
    def audio(self) -> types.DocumentAttributeAudio | None:
        for attribute in getattr(self.media, "attributes", []):
            if isinstance(attribute, types.DocumentAttributeAudio):
                return attribute
        return None


@dataclass
class Edit:
    chat_id: int
    message_id: int
    text: str
    buttons: list[list[Any]] | None
    refused: bool = False  # answered with FLOOD_WAIT
    at: float = field(default_factory=time.monotonic)


class FakeBotWorld:
    """Telegram as the bot sees it, and the people in its chats."""

    part_size = 16 * 1024  # bytes: small parts, so that real test files come in many

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.sent: list[Sent] = []
        self.edits: list[Edit] = []
        self.answers: list[tuple[int, str]] = []  # (query id, text)
        self.texts: dict[tuple[int, int], str] = {}  # the current text of each message
        self.parts: dict[int, dict[int, bytes]] = {}  # file id -> part -> bytes
        self.part_requests = 0
        self.tokens: list[str] = []
        self.refused_tokens: set[str] = set()
        self.gateway: FakeBotGateway | None = None
        self._ids = itertools.count(100)
        self._queries = itertools.count(1)
        self._floods: list[int] = []  # seconds of the next edits' FLOOD_WAITs
        self._cuts: list[tuple[float, str]] = []  # (fraction, name part) of uploads to cut
        self.cuts_made = 0

    # -- what tests arrange -----------------------------------------------------------------

    def factory(self, token: str, api_id: int, api_hash: str) -> FakeBotGateway:
        self.tokens.append(token)
        self.gateway = FakeBotGateway(self, token)
        return self.gateway

    def flood_edits(self, seconds: int, times: int = 1) -> None:
        """The next `times` edits are refused with FLOOD_WAIT of `seconds`."""
        self._floods += [seconds] * times

    def cut_uploads(self, at: float = 0.5, times: int = 1, name: str = "") -> None:
        """The next `times` uploads (of files whose name holds `name`) lose their connection
        after `at` of their parts."""
        self._cuts += [(at, name)] * times

    # -- people -----------------------------------------------------------------------------

    async def write(self, sender: Sender, text: str, chat: Chat | None = None) -> None:
        """`sender` writes `text` (links marked as Telegram marks them) to the bot."""
        chat = chat or Chat(sender.user_id, sender.label, True)
        entities = [types.MessageEntityUrl(offset=m.start(), length=len(m.group()))
                    for m in _URL.finditer(text)]
        raw = types.Message(id=next(self._ids), peer_id=types.PeerUser(sender.user_id),
                            date=None, message=text, entities=entities or None)
        assert self.gateway is not None and self.gateway.on_message is not None
        await self.gateway.on_message(message_of(raw, chat, sender))

    async def press(self, sender: Sender, sent: Sent, data: bytes,
                    chat: Chat | None = None) -> int:
        """`sender` presses the button with `data` under message `sent`; the query id."""
        assert data in sent.button_data, f"no button {data!r} on {sent.text!r}"
        chat = chat or Chat(sent.chat_id, sender.label, True)
        update = types.UpdateBotCallbackQuery(
            query_id=next(self._queries), user_id=sender.user_id,
            peer=types.PeerUser(sender.user_id), msg_id=sent.message_id, chat_instance=1,
            data=data)
        assert self.gateway is not None and self.gateway.on_callback is not None
        await self.gateway.on_callback(query_of(update, chat, sender))
        return update.query_id

    # -- what tests read --------------------------------------------------------------------

    def in_chat(self, chat_id: int, kind: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id and (kind is None or s.kind == kind)]

    def edits_of(self, chat_id: int, message_id: int) -> list[Edit]:
        return [e for e in self.edits if (e.chat_id, e.message_id) == (chat_id, message_id)]

    def text_of(self, chat_id: int, message_id: int) -> str:
        return self.texts.get((chat_id, message_id), "")

    def transcript(self) -> list[str]:
        """Everything in order, one line each (for reading a conversation)."""
        events = [(s.at, f"bot → {s.chat_id} [{s.kind} #{s.message_id}] "
                         f"{(s.text or (s.path.name if s.path else '')).splitlines()[0:1]}"
                         f"{' buttons ' + str(s.button_texts) if s.buttons else ''}")
                  for s in self.sent]
        events += [(e.at, f"bot edits #{e.message_id}: {e.text!r}"
                          f"{' (FLOOD_WAIT)' if e.refused else ''}") for e in self.edits]
        return [line for _, line in sorted(events, key=lambda x: x[0])]

    def _record(self, sent: Sent) -> Sent:
        self.sent.append(sent)
        self.texts[(sent.chat_id, sent.message_id)] = sent.text
        return sent

    def _assemble(self, upload: Upload, message_id: int) -> Path:
        parts = self.parts.get(upload.file_id, {})
        assert sorted(parts) == list(range(upload.parts)), "a part is missing"
        path = self.folder / f"{message_id}-{upload.name}"
        path.write_bytes(b"".join(parts[i] for i in range(upload.parts)))
        assert path.stat().st_size == upload.size
        return path


class FakeBotGateway:
    """The `BotGateway` on a FakeBotWorld."""

    def __init__(self, world: FakeBotWorld, token: str) -> None:
        self.world = world
        self.token = token
        self.part_size = world.part_size
        self.on_message: MessageHandler | None = None
        self.on_callback: CallbackHandler | None = None
        self.started = False

    async def start(self, on_message: MessageHandler, on_callback: CallbackHandler
                    ) -> BotAccount:
        if self.token in self.world.refused_tokens:
            raise TokenRefused()
        self.on_message, self.on_callback = on_message, on_callback
        self.started = True
        return BOT

    async def stop(self) -> None:
        self.started = False

    async def send_message(self, chat_id: int, text: str,
                           buttons: Keyboard | None = None) -> int:
        return self.world._record(Sent("message", chat_id, next(self.world._ids), text,
                                       inline_keyboard(buttons))).message_id

    async def send_photo(self, chat_id: int, photo: Path, caption: str,
                         buttons: Keyboard | None = None) -> int:
        return self.world._record(Sent("photo", chat_id, next(self.world._ids), caption,
                                       inline_keyboard(buttons),
                                       thumb=photo.read_bytes())).message_id

    async def edit_message(self, chat_id: int, message_id: int, text: str,
                           buttons: Keyboard | None = None) -> None:
        await asyncio.sleep(0)
        edit = Edit(chat_id, message_id, text, inline_keyboard(buttons))
        self.world.edits.append(edit)
        if self.world._floods:
            edit.refused = True
            raise FloodWait(self.world._floods.pop(0))
        self.world.texts[(chat_id, message_id)] = text

    async def answer(self, query: Any, text: str = "") -> None:
        self.world.answers.append((query.id, text))

    async def upload(self, upload: Upload, progress=None) -> Upload:
        world = self.world
        cut_at = None
        chosen = next((c for c in world._cuts if c[1] in upload.name), None)
        if chosen is not None and upload.parts > 1:
            world._cuts.remove(chosen)
            # Half-way through the parts, or (a continued upload past that) at once.
            cut_at = max(upload.parts_done, int(upload.parts * chosen[0]))
        with open(upload.path, "rb") as source:
            while not upload.complete:
                part = upload.parts_done
                if cut_at is not None and part == cut_at:
                    world.cuts_made += 1
                    raise UploadCut(upload)
                source.seek(part * upload.part_size)
                world.parts.setdefault(upload.file_id, {})[part] = source.read(upload.part_size)
                world.part_requests += 1
                upload.parts_done += 1
                if progress:
                    progress(min(upload.size, upload.parts_done * upload.part_size), upload.size)
                await asyncio.sleep(0)
        return upload

    async def send_audio(self, chat_id: int, items: list[AudioItem]) -> list[int]:
        album = next(self.world._ids) if len(items) > 1 else None
        ids = []
        for item in items:
            thumb = item.thumb.read_bytes() if item.thumb else None
            thumb_file = types.InputFile(id=0, parts=1, name="thumb.jpg", md5_checksum="") \
                if thumb else None
            message_id = next(self.world._ids)
            self.world._record(Sent("audio", chat_id, message_id, item.caption,
                                    media=audio_media(item, thumb_file),
                                    path=self.world._assemble(item.upload, message_id),
                                    thumb=thumb, album=album))
            ids.append(message_id)
        return ids

    async def send_document(self, chat_id: int, upload: Upload, caption: str = "") -> int:
        message_id = next(self.world._ids)
        self.world._record(Sent("document", chat_id, message_id, caption,
                                media=input_file(upload),
                                path=self.world._assemble(upload, message_id)))
        return message_id

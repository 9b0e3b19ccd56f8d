"""The real `BotGateway` on Telethon in bot mode: `TelegramClient(...).start(bot_token=...)`,
events.NewMessage and events.CallbackQuery in, `Button.inline` keyboards, audio as
`InputMediaUploadedDocument` with `DocumentAttributeAudio` and a thumbnail, uploads in parts
that resume after a cut, and Telethon's errors mapped to ours (FloodWaitError -> FloodWait).

The functions that turn our records into Telethon's types (`inline_keyboard`, `audio_media`,
`input_file`) and Telethon's into ours (`message_of`, `query_of`) are shared with the fake
gateway in tests, so that what the tests record is what Telegram would be sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from telethon import Button, TelegramClient, errors, events
from telethon.sessions import StringSession
from telethon.tl import functions, types

from audiofetch_app.bot.gateway import (
    PART_SIZE,
    AudioItem,
    BotAccount,
    CallbackHandler,
    CallbackQuery,
    Chat,
    FloodWait,
    Keyboard,
    Message,
    MessageHandler,
    Sender,
    TelegramError,
    TokenRefused,
    Unreachable,
    Upload,
    UploadCut,
)
from audiofetch_app.core.logs import register_secret

log = logging.getLogger(__name__)

BIG_FILE = 10 * 1024 * 1024  # bytes: larger files go up as upload.saveBigFilePart


def map_error(exc: BaseException) -> TelegramError | None:
    """Our error for a Telethon (or connection) error; None when it is not one we know."""
    if isinstance(exc, TelegramError):
        return exc
    if isinstance(exc, errors.FloodWaitError | errors.FloodPremiumWaitError):
        return FloodWait(exc.seconds)
    if isinstance(exc, errors.AccessTokenInvalidError | errors.AccessTokenExpiredError
                  | errors.AuthKeyUnregisteredError):
        return TokenRefused()
    if isinstance(exc, ConnectionError | TimeoutError | OSError | EOFError):
        return Unreachable()
    return None


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except errors.MessageNotModifiedError:
        return  # the same text again: nothing to change, not a failure
    except Exception as exc:
        ours = map_error(exc)
        if ours is None or ours is exc:
            raise
        raise ours from exc


def inline_keyboard(buttons: Keyboard | None) -> list[list[Any]] | None:
    """Rows of `Button.inline` (Telethon's KeyboardInlineButton with callback data)."""
    if not buttons:
        return None
    return [[Button.inline(b.text, b.data) for b in row] for row in buttons]


def input_file(upload: Upload) -> Any:
    """The uploaded file as Telegram names it: InputFileBig over 10 MiB, else InputFile."""
    if upload.size > BIG_FILE:
        return types.InputFileBig(id=upload.file_id, parts=upload.parts, name=upload.name)
    return types.InputFile(id=upload.file_id, parts=upload.parts, name=upload.name,
                           md5_checksum="")


def audio_media(item: AudioItem, thumb: Any | None) -> types.InputMediaUploadedDocument:
    """The audio as a document Telegram's player shows properly: DocumentAttributeAudio
    (duration in seconds, title, performer), its file name, and the thumbnail `thumb`
    (an uploaded InputFile, or None)."""
    return types.InputMediaUploadedDocument(
        file=input_file(item.upload), mime_type=item.mime_type,
        attributes=[types.DocumentAttributeAudio(duration=max(0, int(item.duration)),
                                                 voice=False, title=item.title[:256] or None,
                                                 performer=item.performer[:256] or None),
                    types.DocumentAttributeFilename(file_name=item.upload.name)],
        thumb=thumb)


def sender_of(user: Any, fallback_id: int) -> Sender:
    """A `Sender` for a Telethon User (or None when Telegram did not send one)."""
    if user is None:
        return Sender(fallback_id, None, "")
    name = " ".join(p for p in (getattr(user, "first_name", None),
                                getattr(user, "last_name", None)) if p).strip()
    return Sender(int(user.id), getattr(user, "username", None), name)


def chat_of(entity: Any, chat_id: int, private: bool, sender: Sender) -> Chat:
    """A `Chat`: a private chat is titled by the person, a group by its title."""
    if private:
        return Chat(chat_id, sender.label, True)
    return Chat(chat_id, getattr(entity, "title", None) or str(chat_id), False)


def message_of(message: Any, chat: Chat, sender: Sender) -> Message:
    """Our `Message` for a Telethon Message: its text and the links Telegram marked (url and
    text_url entities, whose offsets count UTF-16 units; Telethon resolves them)."""
    urls: list[str] = []
    for entity, text in message.get_entities_text() if message.entities else ():
        if isinstance(entity, types.MessageEntityTextUrl):
            urls.append(entity.url)
        elif isinstance(entity, types.MessageEntityUrl):
            urls.append(text)
    return Message(chat, sender, int(message.id), message.message or "", tuple(urls))


def query_of(query: Any, chat: Chat, sender: Sender) -> CallbackQuery:
    """Our `CallbackQuery` for Telethon's UpdateBotCallbackQuery."""
    return CallbackQuery(int(query.query_id), chat, sender, int(query.msg_id),
                         bytes(query.data or b""))


class TelethonBotGateway:
    """`BotGateway` on a Telethon client logged in as a bot (nothing on disk)."""

    part_size = PART_SIZE

    def __init__(self, token: str, api_id: int, api_hash: str, client: Any = None) -> None:
        register_secret(token)
        register_secret(api_hash)
        self._token = token
        # flood_sleep_threshold=0: every FLOOD_WAIT reaches the bot, which slows its edits
        # itself instead of Telethon sleeping while a job waits for an answer.
        self.client = client or TelegramClient(StringSession(), int(api_id), api_hash,
                                               flood_sleep_threshold=0)
        self._queries: dict[int, Any] = {}  # query id -> the event, until answered

    async def start(self, on_message: MessageHandler, on_callback: CallbackHandler
                    ) -> BotAccount:
        with _mapped():
            await self.client.start(bot_token=self._token)
            me = await self.client.get_me()

        async def new_message(event: Any) -> None:
            sender = sender_of(await event.get_sender(), int(event.sender_id or 0))
            chat = chat_of(await event.get_chat(), int(event.chat_id), event.is_private, sender)
            await on_message(message_of(event.message, chat, sender))

        async def callback(event: Any) -> None:
            sender = sender_of(await event.get_sender(), int(event.sender_id or 0))
            chat = chat_of(await event.get_chat(), int(event.chat_id), event.is_private, sender)
            self._queries[int(event.query.query_id)] = event
            await on_callback(query_of(event.query, chat, sender))

        self.client.add_event_handler(new_message, events.NewMessage(incoming=True))
        self.client.add_event_handler(callback, events.CallbackQuery())
        return BotAccount(int(me.id), me.username or "")

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.disconnect()

    async def send_message(self, chat_id: int, text: str,
                           buttons: Keyboard | None = None) -> int:
        with _mapped():
            sent = await self.client.send_message(chat_id, text[:4096],
                                                  buttons=inline_keyboard(buttons),
                                                  link_preview=False)
        return int(sent.id)

    async def send_photo(self, chat_id: int, photo: Path, caption: str,
                         buttons: Keyboard | None = None) -> int:
        with _mapped():
            sent = await self.client.send_file(chat_id, str(photo), caption=caption[:1024],
                                               buttons=inline_keyboard(buttons))
        return int(sent.id)

    async def edit_message(self, chat_id: int, message_id: int, text: str,
                           buttons: Keyboard | None = None) -> None:
        with _mapped():
            await self.client.edit_message(chat_id, message_id, text[:4096],
                                           buttons=inline_keyboard(buttons),
                                           link_preview=False)

    async def answer(self, query: CallbackQuery, text: str = "") -> None:
        event = self._queries.pop(query.id, None)
        if event is not None:
            with _mapped():
                await event.answer(text[:200] or None)

    async def upload(self, upload: Upload,
                     progress: Callable[[int, int], None] | None = None) -> Upload:
        big = upload.size > BIG_FILE
        with open(upload.path, "rb") as source:
            while not upload.complete:
                part = upload.parts_done
                source.seek(part * upload.part_size)
                data = await asyncio.to_thread(source.read, upload.part_size)
                if big:
                    request: Any = functions.upload.SaveBigFilePartRequest(
                        upload.file_id, part, upload.parts, data)
                else:
                    request = functions.upload.SaveFilePartRequest(upload.file_id, part, data)
                try:
                    with _mapped():
                        if not await self.client(request):
                            raise UploadCut(upload, "Telegram did not keep a part of the file.")
                except Unreachable as exc:
                    raise UploadCut(upload) from exc
                upload.parts_done += 1
                if progress:
                    progress(min(upload.size, upload.parts_done * upload.part_size), upload.size)
        return upload

    async def _thumb(self, path: Path | None) -> Any | None:
        if path is None:
            return None
        with _mapped():
            return await self.client.upload_file(str(path))

    async def send_audio(self, chat_id: int, items: list[AudioItem]) -> list[int]:
        media = [audio_media(item, await self._thumb(item.thumb)) for item in items]
        with _mapped():
            if len(media) == 1:
                sent = await self.client.send_file(chat_id, media[0], caption=items[0].caption)
                return [int(sent.id)]
            sent_all = await self.client.send_file(chat_id, media,
                                                   caption=[i.caption for i in items])
        return [int(m.id) for m in sent_all]

    async def send_document(self, chat_id: int, upload: Upload, caption: str = "") -> int:
        media = types.InputMediaUploadedDocument(
            file=input_file(upload), mime_type="application/zip", force_file=True,
            attributes=[types.DocumentAttributeFilename(file_name=upload.name)])
        with _mapped():
            sent = await self.client.send_file(chat_id, media, caption=caption,
                                               force_document=True)
        return int(sent.id)


def telethon_bot_factory(token: str, api_id: int, api_hash: str) -> TelethonBotGateway:
    return TelethonBotGateway(token, api_id, api_hash)


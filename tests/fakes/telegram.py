"""A fake Telegram for tests: a `FakeTelegram` world and `FakeGateway` clients on it.

Everything it hands out is a real `telethon.tl.types` object, so code under test meets the
same shapes it meets on Telethon. Errors are ours (the gateway protocol's), as the Telethon
adapter would raise them.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import itertools
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from telethon import utils
from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.tl import types

from audiofetch_app.sources.telegram.gateway import (
    Account,
    BadSession,
    Channel,
    ChannelNotFound,
    ChannelRef,
    CodeExpired,
    FileReferenceExpired,
    InvalidPhone,
    InviteInvalid,
    NoAccess,
    NotAuthorized,
    PasswordNeeded,
    Progress,
    TelegramError,
    Topic,
    Unreachable,
    WrongCode,
    WrongPassword,
)
from audiofetch_app.sources.telegram.telethon_gateway import account_of, channel_of

DC_ADDRESS = "149.154.167.51"
EPOCH = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
_ids = itertools.count(1000)


@dataclass
class FakeAccount:
    phone: str
    code: str
    password: str | None = None
    user_id: int = 0
    first_name: str = "Ada"
    last_name: str | None = "Lovelace"
    username: str | None = None

    def user(self) -> types.User:
        return types.User(id=self.user_id, first_name=self.first_name, last_name=self.last_name,
                          username=self.username, phone=self.phone.lstrip("+"))


def _document(doc_id: int, mime: str, size: int, attributes: list[Any]) -> types.Document:
    return types.Document(id=doc_id, access_hash=doc_id * 7, file_reference=b"ref0",
                          date=EPOCH, mime_type=mime, size=size, dc_id=2, attributes=attributes)


def _message(chat_id: int, msg_id: int, media: Any = None, text: str = "",
             topic: int | None = None) -> types.Message:
    reply = (types.MessageReplyHeader(reply_to_msg_id=topic, reply_to_top_id=topic,
                                      forum_topic=True) if topic else None)
    return types.Message(id=msg_id, peer_id=types.PeerChannel(chat_id), message=text,
                         date=EPOCH + dt.timedelta(minutes=msg_id), media=media, reply_to=reply)


def music(chat_id: int, msg_id: int, *, title: str = "Song", performer: str = "Band",
          file_name: str = "song.mp3", size: int = 10_000, topic: int | None = None
          ) -> types.Message:
    """A music file: DocumentAttributeAudio(voice=False) and a file name."""
    attrs = [types.DocumentAttributeAudio(duration=180, voice=False, title=title,
                                          performer=performer),
             types.DocumentAttributeFilename(file_name=file_name)]
    media = types.MessageMediaDocument(document=_document(next(_ids), "audio/mpeg", size, attrs))
    return _message(chat_id, msg_id, media, topic=topic)


def voice(chat_id: int, msg_id: int, *, size: int = 3_000) -> types.Message:
    """A voice note: DocumentAttributeAudio(voice=True), no file name."""
    attrs = [types.DocumentAttributeAudio(duration=12, voice=True, waveform=b"\x00\x01")]
    media = types.MessageMediaDocument(
        document=_document(next(_ids), "audio/ogg", size, attrs), voice=True)
    return _message(chat_id, msg_id, media)


def round_video(chat_id: int, msg_id: int, *, size: int = 5_000) -> types.Message:
    """A round video message."""
    attrs = [types.DocumentAttributeVideo(duration=9, w=384, h=384, round_message=True)]
    media = types.MessageMediaDocument(
        document=_document(next(_ids), "video/mp4", size, attrs), round=True)
    return _message(chat_id, msg_id, media)


def document(chat_id: int, msg_id: int, *, mime: str, file_name: str,
             size: int = 4_000) -> types.Message:
    """A plain document (audio by MIME type, or not audio at all)."""
    attrs = [types.DocumentAttributeFilename(file_name=file_name)]
    media = types.MessageMediaDocument(document=_document(next(_ids), mime, size, attrs))
    return _message(chat_id, msg_id, media)


def text(chat_id: int, msg_id: int, body: str = "hello") -> types.Message:
    return _message(chat_id, msg_id, None, body)


def content_of(doc_id: int, size: int) -> bytes:
    """The deterministic bytes of a fake document."""
    out = bytearray()
    block = 0
    while len(out) < size:
        out += hashlib.sha256(f"{doc_id}:{block}".encode()).digest()
        block += 1
    return bytes(out[:size])


class FakeTelegram:
    """The fake Telegram servers: accounts, codes, logged-in keys, chats and their messages."""

    def __init__(self) -> None:
        self.accounts: dict[str, FakeAccount] = {}
        self.codes: dict[str, tuple[str, bytes]] = {}  # phone_code_hash -> (phone, auth key)
        self.expired_hashes: set[str] = set()
        self.authorized: dict[bytes, str] = {}  # auth key -> phone
        self.awaiting_password: dict[bytes, str] = {}
        self.logged_out: list[bytes] = []
        self.failures: dict[str, list[Exception]] = defaultdict(list)
        self.chats: list[types.Channel | types.Chat] = []
        self.messages: dict[int, list[types.Message]] = defaultdict(list)
        self.file_refs: dict[int, bytes] = {}
        self.qr_scans: dict[str, str] = {}  # token -> phone that scanned it
        self.sent_codes: list[str] = []
        self.unreachable = False
        self.topics: dict[int, list[Topic]] = defaultdict(list)
        self.invites: dict[str, int] = {}  # invite hash -> peer id of a private channel
        self.hidden: set[int] = set()  # private chats the account has not joined yet
        self.joined: list[int] = []
        self.downloads: list[tuple[int, int]] = []  # (message id, offset) of every download
        self.cut_after: dict[int, int] = {}  # message id -> byte at which the next download dies
        self.broken: set[int] = set()  # message ids whose downloads always fail
        self.download_delay = 0.0  # seconds per 4 KiB block, to watch a sync in flight
        self._keys = itertools.count(1)
        self._hashes = itertools.count(1)

    # ---------------------------------------------------------------- setting the scene

    def add_account(self, phone: str, code: str = "12345", password: str | None = None,
                    **kw: Any) -> FakeAccount:
        account = FakeAccount(phone=phone, code=code, password=password,
                              user_id=kw.pop("user_id", 500 + len(self.accounts)), **kw)
        self.accounts[phone] = account
        return account

    def add_channel(self, channel_id: int, title: str, username: str | None = None, *,
                    group: bool = False, forum: bool = False) -> int:
        """A channel (or supergroup, or forum); returns its peer id (-100…)."""
        entity = types.Channel(id=channel_id, title=title, photo=types.ChatPhotoEmpty(),
                               date=EPOCH, access_hash=channel_id * 3, username=username,
                               megagroup=group or forum, broadcast=not (group or forum),
                               forum=forum)
        self.chats.append(entity)
        return utils.get_peer_id(entity)

    def add_private_channel(self, channel_id: int, title: str, invite: str) -> int:
        """A private channel, reachable only through its invite until joined."""
        peer = self.add_channel(channel_id, title)
        self.invites[invite] = peer
        self.hidden.add(peer)
        return peer

    def add_topic(self, peer: int, topic_id: int, title: str) -> None:
        self.topics[peer].append(Topic(topic_id, title))

    def chat(self, peer: int) -> types.Channel | types.Chat:
        for chat in self.chats:
            if utils.get_peer_id(chat) == peer:
                return chat
        raise KeyError(peer)

    def add_basic_group(self, chat_id: int, title: str) -> int:
        entity = types.Chat(id=chat_id, title=title, photo=types.ChatPhotoEmpty(),
                            participants_count=3, date=EPOCH, version=1)
        self.chats.append(entity)
        return utils.get_peer_id(entity)

    def post(self, message: types.Message) -> types.Message:
        peer = utils.get_peer_id(message.peer_id)
        self.messages[peer].append(message)
        doc = getattr(message.media, "document", None)
        if doc is not None:
            self.file_refs[doc.id] = doc.file_reference
        return message

    def expire_file_reference(self, message: types.Message) -> None:
        """Later downloads of this message's old object fail until it is fetched again."""
        doc = message.media.document
        fresh = bytes(self.file_refs[doc.id]) + b"+"
        self.file_refs[doc.id] = fresh
        peer = utils.get_peer_id(message.peer_id)
        for i, stored in enumerate(self.messages[peer]):
            if stored.id == message.id:
                new_doc = _document(doc.id, doc.mime_type, doc.size, doc.attributes)
                new_doc.file_reference = fresh
                self.messages[peer][i] = _message(
                    peer_id_channel(stored), stored.id,
                    types.MessageMediaDocument(document=new_doc, voice=stored.media.voice,
                                               round=stored.media.round), stored.message)

    def fail(self, method: str, error: Exception) -> None:
        """The next call of `method` raises `error`."""
        self.failures[method].append(error)

    def expire_codes(self) -> None:
        self.expired_hashes.update(self.codes)

    def scan_qr(self, url: str, phone: str) -> None:
        """An already logged-in app of `phone` scans the QR code shown for `url`."""
        self.qr_scans[url.rsplit("token=", 1)[1]] = phone

    def factory(self, session: str | None, api_id: int, api_hash: str) -> FakeGateway:
        """A `GatewayFactory`."""
        return FakeGateway(self, session, api_id, api_hash)

    def new_key(self) -> bytes:
        n = next(self._keys)
        return hashlib.sha256(f"key{n}".encode()).digest() * 8

    def new_hash(self) -> str:
        return f"hash{next(self._hashes):04d}"


def peer_id_channel(message: types.Message) -> int:
    return message.peer_id.channel_id


class FakeQr:
    def __init__(self, gateway: FakeGateway, token: str) -> None:
        self._gateway = gateway
        self._token = token
        self.expires = time.time() + 30
        self.renewals = 0

    @property
    def url(self) -> str:
        return f"tg://login?token={self._token}"

    @property
    def expires_at(self) -> float:
        return self.expires

    async def recreate(self) -> None:
        self.renewals += 1
        self._token = f"{self._token.split('.')[0]}.{self.renewals}"
        self.expires = time.time() + 30

    async def wait(self, timeout: float | None = None) -> types.User:
        world = self._gateway.world
        phone = world.qr_scans.pop(self._token, None)
        if phone is None:
            await asyncio.sleep(min(timeout or 0, 0.05))
            raise TimeoutError
        key = self._gateway.key
        if world.accounts[phone].password:
            world.awaiting_password[key] = phone
            raise PasswordNeeded()
        world.authorized[key] = phone
        return world.accounts[phone].user()


class FakeGateway:
    """A `TelegramGateway` talking to a `FakeTelegram`."""

    def __init__(self, world: FakeTelegram, session: str | None, api_id: int,
                 api_hash: str) -> None:
        self.world = world
        self.api_id = api_id
        self.api_hash = api_hash
        self.connected = False
        self.key: bytes = b""
        if session:
            try:
                parsed = StringSession(session)
            except Exception as exc:
                raise BadSession() from exc
            if parsed.auth_key is None:
                raise BadSession()
            self.key = parsed.auth_key.key

    def _check(self, method: str) -> None:
        if self.world.failures[method]:
            raise self.world.failures[method].pop(0)

    def _phone(self) -> str:
        phone = self.world.authorized.get(self.key)
        if phone is None:
            raise NotAuthorized()
        return phone

    async def connect(self) -> None:
        self._check("connect")
        if self.world.unreachable:
            raise Unreachable()
        if not self.key:
            self.key = self.world.new_key()
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False

    async def is_authorized(self) -> bool:
        return self.key in self.world.authorized

    async def send_code(self, phone: str) -> str:
        self._check("send_code")
        if phone not in self.world.accounts:
            raise InvalidPhone()
        code_hash = self.world.new_hash()
        self.world.codes[code_hash] = (phone, self.key)
        self.world.sent_codes.append(phone)
        return code_hash

    async def sign_in(self, phone: str, code: str, phone_code_hash: str) -> None:
        self._check("sign_in")
        issued = self.world.codes.get(phone_code_hash)
        if issued is None or issued != (phone, self.key):
            raise CodeExpired()
        if phone_code_hash in self.world.expired_hashes:
            raise CodeExpired()
        account = self.world.accounts[phone]
        if code != account.code:
            raise WrongCode()
        del self.world.codes[phone_code_hash]
        if account.password:
            self.world.awaiting_password[self.key] = phone
            raise PasswordNeeded()
        self.world.authorized[self.key] = phone

    async def check_password(self, password: str) -> None:
        self._check("check_password")
        phone = self.world.awaiting_password.get(self.key)
        if phone is None:
            raise TelegramError("No password was asked for.")
        if password != self.world.accounts[phone].password:
            raise WrongPassword()
        del self.world.awaiting_password[self.key]
        self.world.authorized[self.key] = phone

    async def qr_login(self) -> FakeQr:
        self._check("qr_login")
        return FakeQr(self, base64.urlsafe_b64encode(self.key[:12]).decode())

    async def export_session(self) -> str:
        session = StringSession()
        session.set_dc(2, DC_ADDRESS, 443)
        session.auth_key = AuthKey(self.key)
        return session.save()

    async def me(self) -> Account:
        self._check("me")
        return account_of(self.world.accounts[self._phone()].user())

    async def dialogs(self) -> list[Channel]:
        self._check("dialogs")
        self._phone()
        return [c for c in (channel_of(e) for e in self.world.chats)
                if c is not None and c.id not in self.world.hidden]

    async def resolve(self, ref: ChannelRef) -> Channel:
        self._check("resolve")
        self._phone()
        world = self.world
        if ref.kind == "invite":
            peer = world.invites.get(str(ref.value))
            if peer is None:
                raise InviteInvalid()
            if peer in world.hidden:
                world.hidden.discard(peer)
                world.joined.append(peer)
            return channel_of(world.chat(peer))
        for chat in world.chats:
            channel = channel_of(chat)
            if ref.kind == "username" and (channel.username or "").lower() == ref.value:
                return channel
            if ref.kind == "id" and channel.id == ref.value:
                if channel.id in world.hidden:
                    raise NoAccess()
                return channel
        raise ChannelNotFound()

    async def topics(self, channel: Channel) -> list[Topic]:
        self._check("topics")
        return list(self.world.topics.get(channel.id, [])) if channel.is_forum else []

    async def get_message(self, channel: Channel, message_id: int) -> Any | None:
        self._check("get_message")
        self._phone()
        for message in self.world.messages[channel.id]:
            if message.id == message_id:
                return message
        return None

    def _peer(self, entity: Any) -> int:
        if isinstance(entity, Channel):
            return entity.id
        if isinstance(entity, str):
            for chat in self.world.chats:
                if getattr(chat, "username", None) == entity.lstrip("@"):
                    return utils.get_peer_id(chat)
            raise TelegramError(f"There is no channel called {entity}.")
        return int(entity)

    async def iter_messages(self, entity: Any, *, min_id: int = 0, reverse: bool = True,
                            limit: int | None = None, reply_to: int | None = None
                            ) -> AsyncIterator[types.Message]:
        self._check("iter_messages")
        self._phone()
        found = sorted((m for m in self.world.messages[self._peer(entity)] if m.id > min_id),
                       key=lambda m: m.id, reverse=not reverse)
        if reply_to is not None:
            found = [m for m in found
                     if m.reply_to is not None and m.reply_to.reply_to_top_id == reply_to]
        for message in found[:limit] if limit is not None else found:
            yield message

    async def download(self, message: Any, dest: BinaryIO, *, offset: int = 0,
                       progress: Progress | None = None) -> int:
        self._check("download")
        self._phone()
        self.world.downloads.append((message.id, offset))
        if message.id in self.world.broken:
            raise Unreachable()
        doc = message.media.document
        if self.world.file_refs.get(doc.id) != doc.file_reference:
            raise FileReferenceExpired()
        data = content_of(doc.id, doc.size)
        written = offset
        cut = self.world.cut_after.pop(message.id, None)
        for start in range(offset, len(data), 4096):
            chunk = data[start:start + 4096]
            if cut is not None and start + len(chunk) > cut:
                dest.write(chunk[:max(0, cut - start)])
                raise Unreachable()
            if self.world.download_delay:
                await asyncio.sleep(self.world.download_delay)
            dest.write(chunk)
            written += len(chunk)
            if progress is not None:
                progress(written, doc.size)
            await asyncio.sleep(0)
        return written

    async def log_out(self) -> None:
        self._check("log_out")
        self._phone()
        del self.world.authorized[self.key]
        self.world.logged_out.append(self.key)

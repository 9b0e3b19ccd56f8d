"""A fake Telegram for tests: a `FakeTelegram` world and `FakeGateway` clients on it.

Everything it hands out is a real `telethon.tl.types` object, so code under test meets the
same shapes it meets on Telethon. Errors are ours (the gateway protocol's), as the Telethon
adapter would raise them. What real Telegram does that a sync must live with, the world can
do too: fail a download part-way (a dropped connection or a FLOOD_WAIT after some parts),
edit a post's media, delete a post, upgrade a basic group to a supergroup, take a channel's
access away (checked on every call, as Telegram does), and serve documents of any size
without holding them (see telegram_posts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from telethon import utils
from telethon.tl import types

from audiofetch_app.sources.telegram.gateway import Topic
from audiofetch_app.sources.telegram.telethon_gateway import channel_of  # noqa: F401
from tests.fakes.telegram_gateway import DC_ADDRESS, PART, FakeGateway, FakeQr  # noqa: F401
from tests.fakes.telegram_posts import (  # noqa: F401 - the builders tests use
    BLOCK,
    EPOCH,
    content_of,
    content_range,
    document,
    document_of,
    give_content,
    in_basic_group,
    music,
    new_document_id,
    round_video,
    service,
    text,
    voice,
)


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


@dataclass
class Generated:
    """A long history made on demand: `make(id)` is the message with that id (or None for a
    hole), for ids 1..count. Nothing is held, so a 200,000-message channel costs no memory."""

    count: int
    make: Callable[[int], types.Message | None]

    def from_id(self, min_id: int) -> Iterator[types.Message]:
        for msg_id in range(max(min_id, 0) + 1, self.count + 1):
            made = self.make(msg_id)
            if made is not None:
                yield made


@dataclass
class Interruption:
    """A download of message `message_id` that dies once `at` bytes of it are written."""

    at: int
    error: Exception
    message_id: int = 0
    fired: bool = field(default=False)


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
        self.generated: dict[int, Generated] = {}
        self.file_refs: dict[int, bytes] = {}
        self.qr_scans: dict[str, str] = {}  # token -> phone that scanned it
        self.sent_codes: list[str] = []
        self.unreachable = False
        self.topics: dict[int, list[Topic]] = defaultdict(list)
        self.invites: dict[str, int] = {}  # invite hash -> peer id of a private channel
        self.hidden: set[int] = set()  # private chats the account is not (or no more) in
        self.joined: list[int] = []
        self.downloads: list[tuple[int, int]] = []  # (message id, offset) of every download
        self.interruptions: dict[int, list[Interruption]] = defaultdict(list)
        self.broken: set[int] = set()  # message ids whose downloads always fail
        self.download_delay = 0.0  # seconds per part, to watch a sync in flight
        self.part_size = PART  # bytes per part (Telethon's request size)
        self.on_part: Callable[[int, int], None] | None = None  # (message id, bytes written)
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

    def generate(self, peer: int, count: int,
                 make: Callable[[int], types.Message | None]) -> None:
        """Give `peer` a history of `count` messages made on demand by `make(id)`."""
        self.generated[peer] = Generated(count, make)

    def find(self, peer: int, message_id: int) -> types.Message | None:
        if peer in self.generated:
            made = self.generated[peer].make(message_id) \
                if 0 < message_id <= self.generated[peer].count else None
            if made is not None:
                doc = getattr(made.media, "document", None)
                if doc is not None:
                    self.file_refs.setdefault(doc.id, doc.file_reference)
            return made
        for stored in self.messages[peer]:
            if stored.id == message_id:
                return stored
        return None

    def history(self, peer: int, min_id: int = 0) -> Iterator[types.Message]:
        """`peer`'s messages above `min_id`, oldest first."""
        if peer in self.generated:
            for made in self.generated[peer].from_id(min_id):
                doc = getattr(made.media, "document", None)
                if doc is not None:
                    self.file_refs.setdefault(doc.id, doc.file_reference)
                yield made
            return
        yield from sorted((m for m in self.messages[peer] if m.id > min_id), key=lambda m: m.id)

    def _replace(self, peer: int, message_id: int, new: types.Message | None) -> types.Message:
        for i, stored in enumerate(self.messages[peer]):
            if stored.id == message_id:
                if new is None:
                    del self.messages[peer][i]
                else:
                    self.messages[peer][i] = new
                return stored
        raise KeyError(message_id)

    def edit(self, new: types.Message, *, when: dt.datetime | None = None) -> types.Message:
        """Edit a post: `new` (same peer and id) replaces it, with `edit_date` set. A file
        reference taken from the post before the edit stops working, as Telegram's do when the
        context they came from changes (a download of it then gets FILE_REFERENCE_EXPIRED)."""
        peer = utils.get_peer_id(new.peer_id)
        old = self._replace(peer, new.id, new)
        new.date = old.date
        new.edit_date = when or (old.date + dt.timedelta(hours=1))
        old_doc = getattr(old.media, "document", None)
        new_doc = getattr(new.media, "document", None)
        if old_doc is not None and (new_doc is None or new_doc.id != old_doc.id):
            self.file_refs[old_doc.id] = b"stale"
        if new_doc is not None:
            self.file_refs[new_doc.id] = new_doc.file_reference
        return new

    def delete(self, peer: int, message_id: int) -> None:
        """Delete a post; its file reference dies with it."""
        old = self._replace(peer, message_id, None)
        doc = getattr(old.media, "document", None)
        if doc is not None:
            self.file_refs[doc.id] = b"deleted"

    def expire_file_reference(self, message: types.Message) -> None:
        """Later downloads of this message's old object fail until it is fetched again."""
        doc = message.media.document
        fresh = bytes(self.file_refs[doc.id]) + b"+"
        self.file_refs[doc.id] = fresh
        peer = utils.get_peer_id(message.peer_id)
        for i, stored in enumerate(self.messages[peer]):
            if stored.id == message.id:
                new_doc = document_of(doc.id, doc.mime_type, doc.size, doc.attributes,
                                      file_reference=fresh)
                self.messages[peer][i] = types.Message(
                    id=stored.id, peer_id=stored.peer_id, message=stored.message,
                    date=stored.date, reply_to=stored.reply_to,
                    media=types.MessageMediaDocument(document=new_doc, voice=stored.media.voice,
                                                     round=stored.media.round))

    def migrate(self, chat_peer: int, channel_id: int) -> int:
        """Upgrade a basic group to a supergroup, as messages.migrateChat does: the old `Chat`
        is deactivated with `migrated_to`, its history ends with MessageActionChatMigrateTo,
        the new `Channel` (megagroup) starts at message 1 with
        MessageActionChannelMigrateFrom. Returns the supergroup's peer id."""
        old = self.chat(chat_peer)
        assert isinstance(old, types.Chat)
        new_peer = self.add_channel(channel_id, old.title, group=True)
        new = self.chat(new_peer)
        new.access_hash = channel_id * 3
        old.deactivated = True
        old.migrated_to = types.InputChannel(channel_id=channel_id, access_hash=new.access_hash)
        last = max((m.id for m in self.messages[chat_peer]), default=0)
        self.messages[chat_peer].append(service(
            types.PeerChat(old.id), last + 1, types.MessageActionChatMigrateTo(channel_id)))
        self.messages[new_peer].append(service(
            types.PeerChannel(channel_id), 1,
            types.MessageActionChannelMigrateFrom(title=old.title, chat_id=old.id)))
        return new_peer

    def revoke(self, peer: int) -> None:
        """The account loses access (kicked, banned, or the chat went private)."""
        self.hidden.add(peer)

    def interrupt(self, message_id: int, at: int, error: Exception) -> None:
        """The next download of `message_id` that gets past byte `at` dies there with `error`
        (after the whole parts before `at` are written, as Telethon hands them over)."""
        self.interruptions[message_id].append(Interruption(at, error, message_id))

    @property
    def cut_after(self) -> _CutAfter:
        """`world.cut_after[id] = n`: the next download of `id` drops its connection at n."""
        return _CutAfter(self)

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


class _CutAfter:
    def __init__(self, world: FakeTelegram) -> None:
        self.world = world

    def __setitem__(self, message_id: int, at: int) -> None:
        from audiofetch_app.sources.telegram.gateway import Unreachable

        self.world.interrupt(message_id, at, Unreachable())





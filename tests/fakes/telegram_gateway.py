"""The fake Telegram's client side: `FakeGateway`, a `TelegramGateway` on a `FakeTelegram`
(tests.fakes.telegram), and its QR login."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, BinaryIO

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
from tests.fakes.telegram_posts import content_range

if TYPE_CHECKING:
    from tests.fakes.telegram import FakeTelegram

DC_ADDRESS = "149.154.167.51"
PART = 512 * 1024  # Telethon's iter_download request size (MAX_CHUNK_SIZE)
BATCH = 100  # ids per channels.getMessages, Telegram's limit


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

    def _readable(self, peer: int) -> None:
        """Telegram checks membership on every call: a chat the account left, was removed
        from or that went private answers CHANNEL_PRIVATE."""
        self._phone()
        if peer in self.world.hidden:
            raise NoAccess()

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
        self._readable(channel.id)
        return list(self.world.topics.get(channel.id, [])) if channel.is_forum else []

    async def get_message(self, channel: Channel, message_id: int) -> Any | None:
        self._check("get_message")
        self._readable(channel.id)
        return self.world.find(channel.id, message_id)

    async def get_messages(self, channel: Channel, ids: list[int]) -> list[Any | None]:
        self._check("get_messages")
        self._readable(channel.id)
        if len(ids) > BATCH:
            raise TelegramError("LIMIT_INVALID")
        return [self.world.find(channel.id, i) for i in ids]

    async def migrated_to(self, channel: Channel) -> Channel | None:
        self._check("migrated_to")
        self._phone()
        entity = self.world.chat(channel.id)
        moved = getattr(entity, "migrated_to", None)
        if not isinstance(entity, types.Chat) or not isinstance(moved, types.InputChannel):
            return None
        peer = utils.get_peer_id(types.PeerChannel(moved.channel_id))
        self._readable(peer)
        return channel_of(self.world.chat(peer))

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
        peer = self._peer(entity)
        self._readable(peer)
        found = self.world.history(peer, min_id)
        if not reverse:
            found = iter(sorted(found, key=lambda m: m.id, reverse=True))
        given = 0
        for message in found:
            if reply_to is not None and not _in_thread(message, reply_to):
                continue
            if limit is not None and given >= limit:
                return
            given += 1
            yield message
            if given % BATCH == 0:  # one GetHistory page at a time, as Telethon asks
                self._readable(peer)
                await asyncio.sleep(0)

    async def download(self, message: Any, dest: BinaryIO, *, offset: int = 0,
                       progress: Progress | None = None) -> int:
        self._check("download")
        world = self.world
        peer = utils.get_peer_id(message.peer_id)
        self._readable(peer)
        world.downloads.append((message.id, offset))
        if message.id in world.broken:
            raise Unreachable()
        doc = message.media.document
        written = offset
        while written < doc.size:
            self._readable(peer)  # both are checked at each upload.getFile
            if world.file_refs.get(doc.id) != doc.file_reference:
                raise FileReferenceExpired()
            end = min(written + world.part_size, doc.size)
            pending = world.interruptions.get(message.id) or []
            cut = next((i for i in pending if i.at < end), None)
            if cut is not None:
                pending.remove(cut)
                raise cut.error
            if world.download_delay:
                await asyncio.sleep(world.download_delay)
            dest.write(content_range(doc.id, written, end))
            written = end
            if progress is not None:
                progress(written, doc.size)
            if world.on_part is not None:
                world.on_part(message.id, written)
            await asyncio.sleep(0)
        return written

    async def log_out(self) -> None:
        self._check("log_out")
        self._phone()
        del self.world.authorized[self.key]
        self.world.logged_out.append(self.key)


def _in_thread(message: Any, top: int) -> bool:
    """Whether `message` is in the thread of `top` (a forum topic's id), as
    messages.getReplies / iter_messages(reply_to=top) answer."""
    reply = getattr(message, "reply_to", None)
    if reply is None:
        return False
    return (reply.reply_to_top_id or reply.reply_to_msg_id) == top

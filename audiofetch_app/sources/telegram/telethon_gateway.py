"""The real `TelegramGateway` on Telethon: a thin layer that turns Telethon's errors into ours."""

from __future__ import annotations

import binascii
import contextlib
import struct
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO

from telethon import TelegramClient, errors, utils
from telethon.sessions import StringSession
from telethon.tl import functions, types

from audiofetch_app.core.logs import register_secret
from audiofetch_app.sources.telegram.gateway import (
    Account,
    BadSession,
    Channel,
    ChannelNotFound,
    ChannelRef,
    CodeExpired,
    FileReferenceExpired,
    FloodWait,
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
    mask_phone,
)

_NOT_AUTHORIZED = (
    errors.AuthKeyUnregisteredError, errors.SessionRevokedError, errors.SessionExpiredError,
    errors.UserDeactivatedError, errors.UserDeactivatedBanError, errors.AuthKeyDuplicatedError,
)


def map_error(exc: BaseException) -> TelegramError | None:
    """Our error for a Telethon (or connection) error, or None when it is not one we know."""
    if isinstance(exc, TelegramError):
        return exc
    if isinstance(exc, errors.FloodWaitError | errors.FloodPremiumWaitError):
        return FloodWait(exc.seconds)
    if isinstance(exc, errors.SessionPasswordNeededError):
        return PasswordNeeded()
    if isinstance(exc, errors.PhoneCodeInvalidError | errors.PhoneCodeEmptyError):
        return WrongCode()
    if isinstance(exc, errors.PhoneCodeExpiredError | errors.PhoneCodeHashEmptyError):
        return CodeExpired()
    if isinstance(exc, errors.PasswordHashInvalidError | errors.PasswordEmptyError):
        return WrongPassword()
    if isinstance(exc, errors.PhoneNumberInvalidError):
        return InvalidPhone()
    if isinstance(exc, errors.PhoneNumberUnoccupiedError):
        return InvalidPhone("There is no Telegram account with this phone number.")
    if isinstance(exc, errors.PhoneNumberBannedError):
        return NotAuthorized("Telegram has banned this phone number.")
    if isinstance(exc, errors.ChannelPrivateError):
        return NoAccess()
    if isinstance(exc, errors.UsernameNotOccupiedError | errors.UsernameInvalidError
                  | errors.ChannelInvalidError):
        return ChannelNotFound()
    if isinstance(exc, errors.InviteHashExpiredError | errors.InviteHashInvalidError
                  | errors.InviteHashEmptyError):
        return InviteInvalid()
    if isinstance(exc, errors.FileReferenceExpiredError):
        return FileReferenceExpired()
    if isinstance(exc, _NOT_AUTHORIZED):
        return NotAuthorized()
    if isinstance(exc, ConnectionError | TimeoutError | OSError | EOFError):
        # EOFError: asyncio.IncompleteReadError, when something that is not Telegram (a
        # proxy, a captive portal) answers and hangs up.
        return Unreachable()
    return None


@contextlib.contextmanager
def _mapped(keep: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Raise our error for a Telethon one; `keep` passes through unchanged."""
    try:
        yield
    except keep:
        raise
    except Exception as exc:
        ours = map_error(exc)
        if ours is None or ours is exc:
            raise
        raise ours from exc


def channel_of(entity: Any) -> Channel | None:
    """A `Channel` for a Telethon channel or group entity; None for users and bots."""
    if isinstance(entity, types.Channel):
        return Channel(id=utils.get_peer_id(entity), title=entity.title or "",
                       username=entity.username, is_group=bool(entity.megagroup),
                       is_forum=bool(entity.forum), access_hash=entity.access_hash)
    if isinstance(entity, types.Chat):
        return Channel(id=utils.get_peer_id(entity), title=entity.title or "", username=None,
                       is_group=True, is_forum=False)
    return None


def input_peer(channel: Channel) -> Any:
    """The peer Telethon needs to address `channel` without a cached entity."""
    real_id, kind = utils.resolve_id(int(channel.id))
    if kind is types.PeerChat:
        return types.InputPeerChat(chat_id=real_id)
    if channel.access_hash is not None:
        return types.InputPeerChannel(channel_id=real_id, access_hash=channel.access_hash)
    if channel.username:
        return channel.username
    return int(channel.id)


def account_of(user: Any) -> Account:
    """An `Account` for a Telethon `User`; the phone is masked here and nowhere kept whole."""
    if user is None:
        raise NotAuthorized()
    if user.phone:
        register_secret(user.phone)
    name = " ".join(p for p in (user.first_name, user.last_name) if p).strip()
    return Account(id=user.id, display_name=name or user.username or "Telegram user",
                   masked_phone=mask_phone(user.phone))


def document_size(message: Any) -> int | None:
    """The size in bytes of a message's document, if it has one."""
    media = getattr(message, "media", None)
    document = getattr(media, "document", None)
    return getattr(document, "size", None)


class _QrLogin:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def url(self) -> str:
        return self._inner.url

    @property
    def expires_at(self) -> float:
        return self._inner.expires.timestamp()

    async def wait(self, timeout: float | None = None) -> Any:
        with _mapped(keep=(TimeoutError,)):  # nobody scanned yet: not a lost connection
            return await self._inner.wait(timeout)

    async def recreate(self) -> None:
        with _mapped():
            await self._inner.recreate()


class TelethonGateway:
    """`TelegramGateway` on a Telethon client kept in a StringSession (nothing on disk)."""

    def __init__(self, session: str | None, api_id: int, api_hash: str,
                 client: Any = None) -> None:
        register_secret(api_hash)
        if session:
            register_secret(session)
        if client is None:
            try:
                # flood_sleep_threshold=0: every FLOOD_WAIT reaches us, so that the job can
                # show its countdown or pause instead of Telethon sleeping silently.
                client = TelegramClient(StringSession(session or ""), int(api_id), api_hash,
                                        flood_sleep_threshold=0)
            except (ValueError, TypeError, struct.error, binascii.Error) as exc:
                raise BadSession() from exc
        self.client = client

    async def connect(self) -> None:
        with _mapped():
            await self.client.connect()

    async def disconnect(self) -> None:
        with _mapped():
            await self.client.disconnect()

    async def is_authorized(self) -> bool:
        with _mapped():
            return bool(await self.client.is_user_authorized())

    async def send_code(self, phone: str) -> str:
        register_secret(phone)
        with _mapped():
            sent = await self.client.send_code_request(phone)
        return sent.phone_code_hash

    async def sign_in(self, phone: str, code: str, phone_code_hash: str) -> None:
        register_secret(code)
        with _mapped():
            result = await self.client.sign_in(phone=phone, code=code,
                                               phone_code_hash=phone_code_hash)
        if not isinstance(result, types.User):  # terms of service: the number is not signed up
            raise InvalidPhone("There is no Telegram account with this phone number.")

    async def check_password(self, password: str) -> None:
        register_secret(password)
        with _mapped():
            await self.client.sign_in(password=password)

    async def qr_login(self) -> _QrLogin:
        with _mapped():
            return _QrLogin(await self.client.qr_login())

    async def export_session(self) -> str:
        value = self.client.session.save()
        register_secret(value)
        return value

    async def me(self) -> Account:
        with _mapped():
            return account_of(await self.client.get_me())

    async def dialogs(self) -> list[Channel]:
        found: list[Channel] = []
        with _mapped():
            async for dialog in self.client.iter_dialogs():
                channel = channel_of(dialog.entity)
                if channel is not None:
                    found.append(channel)
        return found

    async def resolve(self, ref: ChannelRef) -> Channel:
        with _mapped():
            if ref.kind == "invite":
                entity = await self._join(str(ref.value))
            elif ref.kind == "username":
                try:
                    entity = await self.client.get_entity(str(ref.value))
                except ValueError as exc:  # "No user has ... as username"
                    raise ChannelNotFound() from exc
            else:
                entity = await self._find_in_dialogs(int(ref.value))
        channel = channel_of(entity)
        if channel is None:
            raise ChannelNotFound("That is a person or a bot, not a channel or group.")
        return channel

    async def _join(self, invite_hash: str) -> Any:
        invite = await self.client(functions.messages.CheckChatInviteRequest(invite_hash))
        if isinstance(invite, types.ChatInviteAlready | types.ChatInvitePeek):
            return invite.chat
        if getattr(invite, "request_needed", False):
            raise NoAccess("This invite needs an admin's approval; ask to join in Telegram "
                           "first.")
        updates = await self.client(functions.messages.ImportChatInviteRequest(invite_hash))
        chats = getattr(updates, "chats", None) or []
        if not chats:
            raise ChannelNotFound()
        return chats[0]

    async def _find_in_dialogs(self, wanted: int) -> Any:
        """A channel by id: only those the account has joined can be read without a hash."""
        async for dialog in self.client.iter_dialogs():
            if utils.get_peer_id(dialog.entity) == wanted:
                return dialog.entity
        raise NoAccess("This session is not a member of that channel; join it first or "
                       "use an invite link.")

    async def topics(self, channel: Channel) -> list[Topic]:
        if not channel.is_forum:
            return []
        found: list[Topic] = []
        offset_date, offset_id, offset_topic = None, 0, 0
        with _mapped():
            while True:
                result = await self.client(functions.messages.GetForumTopicsRequest(
                    peer=input_peer(channel), offset_date=offset_date, offset_id=offset_id,
                    offset_topic=offset_topic, limit=100))
                page = [t for t in result.topics if isinstance(t, types.ForumTopic)]
                found.extend(Topic(id=t.id, title=t.title) for t in page)
                if len(page) < 100 or len(found) >= result.count:
                    break
                last = page[-1]
                offset_date, offset_id, offset_topic = last.date, last.top_message, last.id
        return found

    async def get_message(self, channel: Channel, message_id: int) -> Any | None:
        with _mapped():
            return await self.client.get_messages(input_peer(channel), ids=message_id)

    async def get_messages(self, channel: Channel, ids: list[int]) -> list[Any | None]:
        with _mapped():
            found = await self.client.get_messages(input_peer(channel), ids=list(ids))
        return list(found)

    async def migrated_to(self, channel: Channel) -> Channel | None:
        real_id, kind = utils.resolve_id(int(channel.id))
        if kind is not types.PeerChat:
            return None
        with _mapped():
            chats = await self.client(functions.messages.GetChatsRequest(id=[real_id]))
            chat = next((c for c in chats.chats if c.id == real_id), None)
            moved = getattr(chat, "migrated_to", None)
            if not isinstance(moved, types.InputChannel):
                return None
            found = await self.client(functions.channels.GetChannelsRequest(id=[moved]))
        entity = next((c for c in found.chats if c.id == moved.channel_id), None)
        if not isinstance(entity, types.Channel) or getattr(entity, "left", False):
            raise NoAccess("This group was upgraded to a supergroup that this session is "
                           "not a member of.")
        return channel_of(entity)

    async def iter_messages(self, entity: Channel, *, min_id: int = 0, reverse: bool = True,
                            limit: int | None = None, reply_to: int | None = None
                            ) -> AsyncIterator[Any]:
        peer = input_peer(entity) if isinstance(entity, Channel) else entity
        with _mapped():
            async for message in self.client.iter_messages(
                    peer, min_id=min_id, reverse=reverse, limit=limit, reply_to=reply_to):
                yield message

    async def download(self, message: Any, dest: BinaryIO, *, offset: int = 0,
                       progress: Progress | None = None) -> int:
        total = document_size(message)
        written = offset
        with _mapped():
            async for chunk in self.client.iter_download(message.media, offset=offset):
                dest.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(written, total)
        return written

    async def log_out(self) -> None:
        with _mapped():
            await self.client.log_out()


def telethon_factory(session: str | None, api_id: int, api_hash: str) -> TelethonGateway:
    """The `GatewayFactory` the app uses."""
    return TelethonGateway(session, api_id, api_hash)

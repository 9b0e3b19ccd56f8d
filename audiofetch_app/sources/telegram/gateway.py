"""The Telegram gateway: the few calls AudioFetch makes, and the errors it can meet, as a protocol.

The real implementation is `telethon_gateway.TelethonGateway`; tests use `tests.fakes.telegram`.
Messages and media are passed through as Telethon's own `telethon.tl.types` objects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from audiofetch_app.core.job_context import JobError

Progress = Callable[[int, int | None], None]
"""Called with (bytes written so far including the offset, total size or None)."""


class TelegramError(JobError):
    """A Telegram failure; the message is the one sentence to show the user."""

    default = "Telegram refused the request."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default)


class WrongCode(TelegramError):
    default = "The code is not correct; check it and try again."


class CodeExpired(TelegramError):
    default = "The code has expired; ask for a new one."


class PasswordNeeded(TelegramError):
    default = "This account has two-step verification; enter its password."


class WrongPassword(TelegramError):
    default = "The two-step verification password is not correct; try again."


class InvalidPhone(TelegramError):
    default = "Telegram does not know this phone number; write it with its country code."


class FloodWait(TelegramError):
    """Telegram asks us to wait `seconds` before the next request."""

    def __init__(self, seconds: int) -> None:
        self.seconds = int(seconds)
        super().__init__(f"Telegram asks to wait {describe_wait(self.seconds)} "
                         "before trying again.")


class FileReferenceExpired(TelegramError):
    default = "The file reference has expired; the message must be fetched again."


class NotAuthorized(TelegramError):
    default = "This Telegram session is no longer logged in; log in again."


class BadSession(TelegramError):
    default = "This is not a valid Telegram session."


class Unreachable(TelegramError):
    default = "Telegram could not be reached; check the internet connection."


class ChannelNotFound(TelegramError):
    default = "There is no channel or group with that name or link."


class NoAccess(TelegramError):
    default = ("This channel is private and this session is not a member; "
               "add it with an invite link.")


class InviteInvalid(TelegramError):
    default = "This invite link has expired or is not valid."


def describe_wait(seconds: int) -> str:
    """"42 seconds", "3 minutes", "2 hours" — rounded up, for a sentence."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 2 * 3600:
        return f"{-(-seconds // 60)} minutes"
    return f"{-(-seconds // 3600)} hours"


def mask_phone(phone: str | None) -> str:
    """"+44 •••• ••12": the first two digits and the last two, nothing else."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    if len(digits) < 6:
        return "•••• ••"
    return f"+{digits[:2]} •••• ••{digits[-2:]}"


@dataclass(frozen=True)
class Account:
    """Who a session is logged in as; the phone is only ever kept masked."""

    id: int
    display_name: str
    masked_phone: str


@dataclass(frozen=True)
class Channel:
    """A channel or group a session can read."""

    id: int
    title: str
    username: str | None
    is_group: bool
    is_forum: bool
    access_hash: int | None = None  # lets a fresh client address a channel by id


@dataclass(frozen=True)
class Topic:
    """A forum topic of a group."""

    id: int
    title: str


@dataclass(frozen=True)
class ChannelRef:
    """What a user typed to name a channel, parsed: by username, invite hash or numeric id."""

    kind: str  # "username" | "invite" | "id"
    value: str | int
    message_id: int | None = None  # a t.me link to one post or topic names it here


class QrLogin(Protocol):
    """A pending QR login: show `url` as a QR code, then await `wait(timeout)`.

    `wait` raises TimeoutError when nobody scanned in time, PasswordNeeded for 2FA.
    """

    @property
    def url(self) -> str: ...

    @property
    def expires_at(self) -> float:
        """When the token in `url` stops working (time.time() seconds)."""

    def wait(self, timeout: float | None = None) -> Awaitable[Any]: ...

    def recreate(self) -> Awaitable[Any]:
        """Get a fresh token (and so a new `url`) after the old one expired."""


class TelegramGateway(Protocol):
    """One Telegram client on one (possibly not yet authorized) session."""

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def is_authorized(self) -> bool: ...

    async def send_code(self, phone: str) -> str:
        """Ask Telegram to send a login code; returns the phone_code_hash."""

    async def sign_in(self, phone: str, code: str, phone_code_hash: str) -> None:
        """Raises PasswordNeeded when the account has two-step verification."""

    async def check_password(self, password: str) -> None: ...

    async def qr_login(self) -> QrLogin: ...

    async def export_session(self) -> str:
        """The session as a Telethon StringSession string."""

    async def me(self) -> Account: ...

    async def dialogs(self) -> list[Channel]: ...

    async def resolve(self, ref: ChannelRef) -> Channel:
        """The channel `ref` names; joins it when `ref` is an invite the account has not used."""

    async def topics(self, channel: Channel) -> list[Topic]:
        """A forum's topics (empty for anything that is not a forum)."""

    async def get_message(self, channel: Channel, message_id: int) -> Any | None:
        """One message fetched again (for a fresh file reference), or None if deleted."""

    async def get_messages(self, channel: Channel, ids: list[int]) -> list[Any | None]:
        """Up to 100 messages by id (`channels.getMessages`), in the order asked; None for
        each that was deleted."""

    async def migrated_to(self, channel: Channel) -> Channel | None:
        """The supergroup a basic group was upgraded to (`Chat.migrated_to`), or None.
        Raises NoAccess when this session cannot read the supergroup."""

    def iter_messages(self, entity: Channel, *, min_id: int = 0, reverse: bool = True,
                      limit: int | None = None, reply_to: int | None = None
                      ) -> AsyncIterator[Any]: ...

    async def download(self, message: Any, dest: BinaryIO, *, offset: int = 0,
                       progress: Progress | None = None) -> int:
        """Write the message's file from byte `offset` on to `dest`; returns the total size."""

    async def log_out(self) -> None: ...


GatewayFactory = Callable[[str | None, int, str], TelegramGateway]
"""Builds a gateway from (session string or None, api_id, api_hash)."""

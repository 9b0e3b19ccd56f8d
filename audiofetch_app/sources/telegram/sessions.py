"""Logged-in Telegram sessions: the string encrypted in the vault, a masked record in TinyDB."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tinydb import Query

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.logs import register_secret
from audiofetch_app.sources.telegram.credentials import ApiCredentials
from audiofetch_app.sources.telegram.gateway import (
    Channel,
    GatewayFactory,
    NotAuthorized,
    TelegramError,
    TelegramGateway,
)

if TYPE_CHECKING:
    from audiofetch_app.core.store import Store
    from audiofetch_app.core.vault import Vault

TABLE = "telegram"
SECRET_PREFIX = "telegram_session:"
_KIND = "session"


@dataclass(frozen=True)
class SessionRecord:
    """What may be shown about a session: never the session string nor the whole phone."""

    id: str
    name: str
    display_name: str
    masked_phone: str
    user_id: int
    created_at: str


class SessionNotFound(JobError):
    """No session with that id."""


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise JobError("Give the session a name.")
    if len(name) > 64:
        raise JobError("A session name can be at most 64 characters long.")
    return name


class TelegramSessions:
    """List, add, rename and delete sessions; open a connected gateway on one."""

    def __init__(self, store: Store, vault: Vault, factory: GatewayFactory,
                 credentials: ApiCredentials | None = None) -> None:
        self.store = store
        self.vault = vault
        self.factory = factory
        self.credentials = credentials or ApiCredentials(vault)

    # ---------------------------------------------------------------- records

    async def list_all(self) -> list[SessionRecord]:
        docs = await self.store.arun(lambda db: db.table(TABLE).search(Query().kind == _KIND))
        records = [_record(d) for d in docs]
        return sorted(records, key=lambda r: (r.created_at, r.name))

    async def get(self, session_id: str) -> SessionRecord:
        doc = await self.store.arun(lambda db: db.table(TABLE).get(
            (Query().kind == _KIND) & (Query().id == session_id)))
        if doc is None:
            raise SessionNotFound("There is no Telegram session with that id.")
        return _record(doc)

    async def rename(self, session_id: str, name: str) -> SessionRecord:
        await self.get(session_id)
        name = clean_name(name)
        await self.store.arun(lambda db: db.table(TABLE).update(
            {"name": name}, (Query().kind == _KIND) & (Query().id == session_id)))
        return await self.get(session_id)

    async def add(self, name: str | None, session_string: str) -> SessionRecord:
        """Check that `session_string` is logged in, then keep it under `name` (default: the
        account's name)."""
        if name is not None and name.strip():
            name = clean_name(name)
        register_secret(session_string)
        async with self._connected(session_string) as gateway:
            if not await gateway.is_authorized():
                raise NotAuthorized("This session is not logged in to Telegram.")
            account = await gateway.me()
        name = clean_name(name or account.display_name)
        record = SessionRecord(
            id=uuid.uuid4().hex[:12], name=name, display_name=account.display_name,
            masked_phone=account.masked_phone, user_id=account.id,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        # The secret first: a record without its secret would be a session that cannot work.
        await asyncio.to_thread(self.vault.set, SECRET_PREFIX + record.id, session_string)
        await self.store.arun(lambda db: db.table(TABLE).insert({"kind": _KIND,
                                                                 **asdict(record)}))
        return record

    async def delete(self, session_id: str) -> bool:
        """Forget the session; log it out on Telegram first when possible. True if logged out."""
        await self.get(session_id)
        logged_out = False
        with contextlib.suppress(TelegramError, JobError):
            async with self.open(session_id) as gateway:
                await gateway.log_out()
                logged_out = True
        await asyncio.to_thread(self.vault.delete, SECRET_PREFIX + session_id)
        await self.store.arun(lambda db: db.table(TABLE).remove(
            (Query().kind == _KIND) & (Query().id == session_id)))
        return logged_out

    async def channels(self, session_id: str) -> list[Channel]:
        """The channels and groups this session can read, by title."""
        async with self.open(session_id) as gateway:
            found = await gateway.dialogs()
        return sorted(found, key=lambda c: c.title.casefold())

    # ---------------------------------------------------------------- gateways

    async def session_string(self, session_id: str) -> str:
        await self.get(session_id)
        value = await asyncio.to_thread(self.vault.get, SECRET_PREFIX + session_id)
        if not value:
            raise NotAuthorized("This session's secret is missing; log in again.")
        return value

    @contextlib.asynccontextmanager
    async def open(self, session_id: str) -> AsyncIterator[TelegramGateway]:
        """A connected gateway on a stored session, disconnected afterwards."""
        session_string = await self.session_string(session_id)
        async with self._connected(session_string) as gateway:
            yield gateway

    @contextlib.asynccontextmanager
    async def _connected(self, session_string: str | None) -> AsyncIterator[TelegramGateway]:
        api_id, api_hash = await self.credentials.get()
        gateway = self.factory(session_string, api_id, api_hash)
        await gateway.connect()
        try:
            yield gateway
        finally:
            with contextlib.suppress(Exception):
                await gateway.disconnect()


def _record(doc: dict[str, Any]) -> SessionRecord:
    return SessionRecord(id=doc["id"], name=doc["name"], display_name=doc["display_name"],
                         masked_phone=doc["masked_phone"], user_id=doc["user_id"],
                         created_at=doc["created_at"])

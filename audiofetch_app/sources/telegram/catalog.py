"""Telegram sources (channels to keep synced) and their sync state, in TinyDB."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from tinydb import Query

from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.telegram.gateway import Channel
from audiofetch_app.sources.telegram.sessions import TABLE

if TYPE_CHECKING:
    from audiofetch_app.core.store import Store

_KIND = "source"


class SourceNotFound(JobError):
    """No source with that id."""


@dataclass
class TelegramSource:
    """A channel or group to keep synced, how, where to, and how far it got."""

    session_id: str
    channel_id: int
    title: str
    username: str | None = None
    access_hash: int | None = None
    is_group: bool = False
    is_forum: bool = False
    ref: str = ""  # what the user typed
    keep: dict[str, Any] = field(default_factory=dict)  # media.Keep.to_dict()
    topics: list[int] | None = None  # None: every topic
    template: str = ""
    target: dict[str, Any] = field(default_factory=dict)  # targets.check_spec()
    interval_hours: float = 0.0  # 0: only when asked
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_at: float = field(default_factory=time.time)
    # sync state
    last_id: int = 0  # every message up to this id is handled
    files: int = 0
    bytes: int = 0
    last_sync_at: float | None = None
    last_result: str | None = None  # None: fine; else the sentence of the last failure
    last_notice: str | None = None  # what the last sync had to say besides (a moved group)
    next_run_at: float | None = None
    last_job_id: str | None = None  # its newest sync job: found without searching history
    migrated_from: int | None = None  # the basic group this supergroup was upgraded from

    @property
    def channel(self) -> Channel:
        return Channel(id=self.channel_id, title=self.title, username=self.username,
                       is_group=self.is_group, is_forum=self.is_forum,
                       access_hash=self.access_hash)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TelegramSource:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class SourceCatalog:
    """CRUD of sources; sync progress is saved with `advance` (about once a second)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def list_all(self) -> list[TelegramSource]:
        docs = await self.store.arun(lambda db: db.table(TABLE).search(Query().kind == _KIND))
        return sorted((TelegramSource.from_dict(d) for d in docs),
                      key=lambda s: (s.title.casefold(), s.created_at))

    async def get(self, source_id: str) -> TelegramSource:
        doc = await self.store.arun(lambda db: db.table(TABLE).get(
            (Query().kind == _KIND) & (Query().id == source_id)))
        if doc is None:
            raise SourceNotFound("There is no Telegram source with that id.")
        return TelegramSource.from_dict(doc)

    async def add(self, source: TelegramSource) -> TelegramSource:
        def insert(db: Any) -> None:
            table = db.table(TABLE)
            q = Query()
            clash = table.get((q.kind == _KIND) & (q.channel_id == source.channel_id)
                              & (q.session_id == source.session_id))
            if clash is not None:
                raise JobError(f"“{source.title}” is already a source.")
            table.insert({"kind": _KIND, **source.to_dict()})

        await self.store.arun(insert)
        return source

    async def update(self, source_id: str, **changes: Any) -> TelegramSource:
        known = {f.name for f in fields(TelegramSource)} - {"id", "created_at"}
        unknown = set(changes) - known
        if unknown:
            raise JobError(f"Unknown source field: {', '.join(sorted(unknown))}.")
        await self.get(source_id)
        await self.store.arun(lambda db: db.table(TABLE).update(
            changes, (Query().kind == _KIND) & (Query().id == source_id)))
        return await self.get(source_id)

    def sync_state(self, source_id: str) -> dict[str, Any]:
        """The source's `last_job_id` and `last_sync_at` ({} if there is no such source); a
        read of memory, safe on the loop."""
        doc = self.store.run(lambda db: db.table(TABLE).get(
            (Query().kind == _KIND) & (Query().id == source_id)))
        return {} if doc is None else {k: doc.get(k) for k in ("last_job_id", "last_sync_at")}

    async def advance(self, source_id: str, last_id: int, *, files: int = 0,
                      size: int = 0) -> None:
        """Record that every message up to `last_id` is handled, with files/bytes it added."""
        def apply(doc: dict[str, Any]) -> None:
            doc["last_id"] = max(int(doc.get("last_id", 0)), int(last_id))
            doc["files"] = int(doc.get("files", 0)) + files
            doc["bytes"] = int(doc.get("bytes", 0)) + size

        await self.store.arun(lambda db: db.table(TABLE).update(
            apply, (Query().kind == _KIND) & (Query().id == source_id)))

    async def delete(self, source_id: str) -> None:
        await self.get(source_id)
        await self.store.arun(lambda db: db.table(TABLE).remove(
            (Query().kind == _KIND) & (Query().id == source_id)))

    async def using_session(self, session_id: str) -> list[TelegramSource]:
        return [s for s in await self.list_all() if s.session_id == session_id]

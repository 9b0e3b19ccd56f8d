"""What the bot remembers on disk: which chat asked for which job, its status message, the
files already sent for it (so a retried or resumed delivery never sends one twice), and each
person's default format. One TinyDB table in the app's database; written on changes only."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tinydb import Query

if TYPE_CHECKING:
    from audiofetch_app.core.store import Store

TABLE = "telegram_bot"


@dataclass
class BotJob:
    """A job asked for in a chat: where its status message is and what was sent for it
    (file path -> the ids of the messages that carry it)."""

    job_id: str
    chat_id: int
    user_id: int
    chat_title: str
    status_message_id: int
    sent: dict[str, list[int]] = field(default_factory=dict)
    delivered: bool = False
    created: float = field(default_factory=time.time)

    def to_doc(self) -> dict[str, Any]:
        return {"type": "job", "job_id": self.job_id, "chat_id": self.chat_id,
                "user_id": self.user_id, "chat_title": self.chat_title,
                "status_message_id": self.status_message_id, "sent": dict(self.sent),
                "delivered": self.delivered, "created": self.created}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> BotJob:
        return cls(doc["job_id"], int(doc["chat_id"]), int(doc["user_id"]),
                   doc.get("chat_title", ""), int(doc.get("status_message_id", 0)),
                   {k: list(v) for k, v in (doc.get("sent") or {}).items()},
                   bool(doc.get("delivered")), float(doc.get("created", 0.0)))


class BotLedger:
    """The bot's table; every method runs off the event loop (Store.arun)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, record: BotJob) -> None:
        doc = record.to_doc()
        await self.store.arun(lambda db: db.table(TABLE).upsert(
            doc, (Query().type == "job") & (Query().job_id == record.job_id)))

    async def get(self, job_id: str) -> BotJob | None:
        doc = await self.store.arun(lambda db: db.table(TABLE).get(
            (Query().type == "job") & (Query().job_id == job_id)))
        return BotJob.from_doc(doc) if doc else None

    async def mark_sent(self, job_id: str, sent: dict[str, list[int]]) -> None:
        """Record files as sent (path -> message ids), added to what was sent before."""
        def write(db: Any) -> None:
            table = db.table(TABLE)
            where = (Query().type == "job") & (Query().job_id == job_id)
            doc = table.get(where)
            if doc is not None:
                table.update({"sent": {**(doc.get("sent") or {}), **sent}}, where)

        await self.store.arun(write)

    async def set_delivered(self, job_id: str, delivered: bool = True) -> None:
        await self.store.arun(lambda db: db.table(TABLE).update(
            {"delivered": delivered}, (Query().type == "job") & (Query().job_id == job_id)))

    async def jobs_of(self, user_id: int, limit: int = 10) -> list[BotJob]:
        """A person's jobs, newest first."""
        docs = await self.store.arun(lambda db: db.table(TABLE).search(
            (Query().type == "job") & (Query().user_id == user_id)))
        records = sorted((BotJob.from_doc(d) for d in docs), key=lambda r: -r.created)
        return records[:limit]

    async def pending(self) -> list[BotJob]:
        """Jobs whose files were not all delivered yet (to pick up after a restart)."""
        docs = await self.store.arun(lambda db: db.table(TABLE).search(
            (Query().type == "job") & (Query().delivered == False)))  # noqa: E712 - TinyDB
        return [BotJob.from_doc(d) for d in docs]

    async def audio_format(self, user_id: int) -> str | None:
        doc = await self.store.arun(lambda db: db.table(TABLE).get(
            (Query().type == "prefs") & (Query().user_id == user_id)))
        return (doc or {}).get("format")

    async def set_audio_format(self, user_id: int, fmt: str) -> None:
        await self.store.arun(lambda db: db.table(TABLE).upsert(
            {"type": "prefs", "user_id": user_id, "format": fmt},
            (Query().type == "prefs") & (Query().user_id == user_id)))

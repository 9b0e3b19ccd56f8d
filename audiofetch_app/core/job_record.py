"""The Job record: what a job is, what state it is in, and how it looks on disk."""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    PAUSED = "paused"  # waits until `resume_at`, then queues itself again


ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})
RESUMABLE_STATES = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.INTERRUPTED,
                              JobState.PAUSED})


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def dedupe_key(kind: str, url: str, options: dict[str, Any]) -> str:
    """Same kind, URL and options give the same key: used to refuse duplicate downloads."""
    payload = json.dumps([kind, url.strip(), options], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


@dataclass
class Job:
    """One download: its identity, its state, its counters and what it produced."""

    kind: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_job_id)
    title: str = ""
    state: JobState = JobState.QUEUED
    bytes_done: int = 0
    bytes_total: int | None = None
    items_done: int = 0
    items_total: int | None = None
    speed: float = 0.0  # bytes per second, recent average
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    output_path: str | None = None
    files: list[str] = field(default_factory=list)
    error: str | None = None
    status: str = ""  # what a running job is doing now ("waiting 25 s for Telegram")
    resume_at: float | None = None  # a paused job queues itself again at this time
    detail: dict[str, Any] = field(default_factory=dict)  # source-specific data to resume
    # Asked for by someone else on the network (a LAN client): the job may reach only the
    # addresses core.address_guard permits them.
    from_network: bool = False
    # Who asked, when it was not the person at this computer's window, CLI or REST: a face
    # names itself and its requester ("Telegram bot · Ada (@ada)"); "" for the usual faces.
    origin: str = ""

    @property
    def key(self) -> str:
        return dedupe_key(self.kind, self.url, self.options)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def worth_retrying(self) -> bool:
        """Whether running it again can help: an interrupted or cancelled job, or one that
        failed for a reason that may pass (a cut connection, a 5xx; `detail.resumable`, set
        from the error, is False for a 404, no replay, not audio, bad input)."""
        if self.state == JobState.FAILED:
            return bool(self.detail.get("resumable", True))
        return self.state in RESUMABLE_STATES

    @property
    def progress(self) -> float | None:
        """0..1 when it can be told (bytes first, then items), else None."""
        if self.state == JobState.DONE:
            return 1.0
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        if self.items_total:
            return min(1.0, self.items_done / self.items_total)
        return None

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: that deep-copies recursively, and this runs for every job
        # in every REST answer and UI event.
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        data["state"] = self.state.value
        data["options"] = _plain_copy(self.options)
        data["files"] = list(self.files)
        data["detail"] = _plain_copy(self.detail)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["state"] = JobState(values.get("state", JobState.QUEUED))
        return cls(**values)

    def copy(self) -> Job:
        twin = copy.copy(self)
        twin.options = _plain_copy(self.options)
        twin.files = list(self.files)
        twin.detail = _plain_copy(self.detail)
        return twin


_FIELD_NAMES = tuple(f.name for f in fields(Job))


def _plain_copy(value: Any) -> Any:
    """A copy of JSON-like data (dicts, lists, scalars), without deepcopy's bookkeeping."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    return value


@dataclass(frozen=True)
class JobEvent:
    """`type` is added, updated (state or facts changed), progress, or removed."""

    type: str
    job: Job

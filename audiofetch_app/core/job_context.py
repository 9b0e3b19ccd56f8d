"""What a running job's code sees: progress reporting, its output folder, its partial files."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audiofetch_app.core.job_record import Job
from audiofetch_app.settings import Settings

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault

_SPEED_WINDOW = 3.0  # seconds of samples the speed is averaged over
_EVENT_INTERVAL = 0.1  # at most ten progress events a second per job


class JobError(Exception):
    """A failure whose message is already the one sentence to show the user.

    `retryable`: whether resuming the job can help. Most of these say something about the
    link itself (no replay, no audio, a bad option), so the default is False; a source says
    True for a failure of the moment (a rate limit, some tracks of many that broke off)."""

    retryable = False

    def __init__(self, *args: object, retryable: bool | None = None) -> None:
        super().__init__(*args)
        if retryable is not None:
            self.retryable = retryable


class JobPaused(JobError):
    """Stop for now and queue the job again at `until` (a time.time() value)."""

    retryable = True

    def __init__(self, message: str, until: float) -> None:
        super().__init__(message)
        self.until = until


def user_message(exc: BaseException) -> str:
    """The one sentence a person sees for `exc`; tracebacks go to the log only."""
    if isinstance(exc, OSError) and not type(exc).__module__.startswith("audiofetch_app"):
        where = f" {exc.filename}" if exc.filename else ""
        return f"Could not use{where}: {exc.strerror or exc}."
    if type(exc).__module__.startswith("audiofetch_app") or isinstance(exc, JobError):
        text = str(exc).strip().splitlines()
        if text:
            return text[0]
    return f"Unexpected error ({type(exc).__name__}); the log file has the details."


def can_resume(exc: BaseException) -> bool:
    """Whether resuming a job that failed with `exc` can help: a cut, a timeout, a full disk
    or a server's bad moment can; a missing file (404), a refusal (403), no replay, a web page
    where audio was expected or a bad option cannot. Errors that carry `retryable` (JobError,
    NetError) say so themselves; an unexpected error may be of the moment, so it can."""
    retryable = getattr(exc, "retryable", None)
    return True if retryable is None else bool(retryable)


def failure_facts(exc: BaseException) -> dict[str, Any]:
    """What a face needs to advise on a failed job, kept in its `detail`: `resumable`
    (see can_resume) and `http_status` (the server's error status, or None)."""
    status = getattr(exc, "status", None)
    return {"resumable": can_resume(exc),
            "http_status": status if isinstance(status, int) else None}


def is_expected(exc: BaseException) -> bool:
    """A failure of the kind AudioFetch explains (no traceback in the log for these)."""
    return isinstance(exc, JobError | OSError) or type(exc).__module__.startswith(
        "audiofetch_app")


# A face that hands a job's output to someone: (job id, the output's blocks) -> when all sent.
StreamConsumer = Callable[[str, AsyncIterator[bytes]], Awaitable[None]]


class JobContext:
    """Handed to a source's runner. Progress stays in memory; the manager persists it."""

    def __init__(self, job: Job, output_dir: Path, settings: Settings,
                 on_change: Callable[[Job, bool], None], secrets: Vault | None = None,
                 stream_consumer: StreamConsumer | None = None) -> None:
        self.job = job
        self.output_dir = output_dir
        self.settings = settings
        self.secrets = secrets  # the Vault (get(name)), or None in bare tests
        self.log = logging.getLogger(f"audiofetch_app.job.{job.kind}")
        self._on_change = on_change
        self._stream_consumer = stream_consumer
        self._partials: set[Path] = set()
        self._samples: deque[tuple[float, int]] = deque()
        self._last_event = 0.0

    @property
    def options(self) -> dict[str, Any]:
        return self.job.options

    async def deliver(self, blocks: AsyncIterator[bytes]) -> None:
        """Hand the job's output (bytes, in order) to the face that collects it, and wait
        until it is all taken; JobError when no face here collects streams."""
        if self._stream_consumer is None:
            raise JobError("This download was to be collected over the REST API, which is "
                           "not running here.")
        await self._stream_consumer(self.job.id, blocks)

    def progress(self, *, bytes_done: int | None = None, bytes_total: int | None = None,
                 items_done: int | None = None, items_total: int | None = None,
                 force: bool = False) -> None:
        """Update the counters; any argument left out keeps its value."""
        job = self.job
        if bytes_total is not None:
            job.bytes_total = bytes_total
        if items_done is not None:
            job.items_done = items_done
        if items_total is not None:
            job.items_total = items_total
        now = time.monotonic()
        if bytes_done is not None:
            job.bytes_done = bytes_done
            self._samples.append((now, bytes_done))
            while len(self._samples) > 2 and now - self._samples[0][0] > _SPEED_WINDOW:
                self._samples.popleft()
            first_t, first_b = self._samples[0]
            job.speed = (bytes_done - first_b) / (now - first_t) if now > first_t else 0.0
        if force or now - self._last_event >= _EVENT_INTERVAL:
            self._last_event = now
            self._on_change(job, False)

    def add_bytes(self, delta: int) -> None:
        """Add to bytes_done; convenient for many parallel downloads."""
        self.progress(bytes_done=self.job.bytes_done + delta)

    def set_status(self, text: str) -> None:
        """Say what the job is doing now; shown next to its progress, never saved as an error."""
        if text != self.job.status:
            self.job.status = text
            self._on_change(self.job, False)

    def set_title(self, title: str) -> None:
        self.job.title = title
        self._on_change(self.job, True)

    def set_output(self, path: Path | str) -> None:
        """Record where the result goes; kept on disk so a resume finds it."""
        self.job.output_path = str(path)
        self._on_change(self.job, True)

    def add_file(self, path: Path | str) -> None:
        """Record a finished file this job produced (deleted with the job if asked)."""
        if str(path) not in self.job.files:
            self.job.files.append(str(path))
        self._on_change(self.job, True)

    def remember(self, **detail: Any) -> None:
        """Keep source-specific facts (e.g. a resolved stream URL) for a later resume."""
        self.job.detail.update(detail)
        self._on_change(self.job, True)

    def track_partial(self, path: Path) -> Path:
        """Note a file or folder that is removed if the user cancels the job."""
        self._partials.add(Path(path))
        return Path(path)

    def untrack_partial(self, path: Path) -> None:
        self._partials.discard(Path(path))

    @property
    def partials(self) -> set[Path]:
        return set(self._partials)

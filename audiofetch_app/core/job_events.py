"""Who hears about jobs: listeners called on the event loop for every job event."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from audiofetch_app.core.job_record import Job, JobEvent

log = logging.getLogger("audiofetch_app.core.jobs")


class JobEvents:
    """The listeners of a JobManager: `subscribe` for the faces, `_emit` for the manager."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[JobEvent], None]] = []

    def subscribe(self, listener: Callable[[JobEvent], None]) -> Callable[[], None]:
        """Call `listener` on the event loop for every job event (added, updated, progress,
        removed; a copy of the job each time); returns the call that unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, type_: str, job: Job) -> None:
        event = JobEvent(type_, job.copy())
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not break a download
                log.exception("A job event listener failed")

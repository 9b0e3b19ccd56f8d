"""The in-app schedule: each source with an interval syncs every N hours while the app runs.

The next run time is kept on the source in TinyDB, so runs missed while the app was closed
are noticed on start and run once (not once per missed interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from audiofetch_app.core.tasks import cancel_and_wait
from audiofetch_app.sources.telegram.catalog import SourceCatalog

log = logging.getLogger(__name__)

TICK = 60.0  # the longest sleep; a changed schedule pokes the loop awake sooner


class Syncs(Protocol):
    """What the scheduler needs of the Telegram service: its sources and a way to sync."""

    catalog: SourceCatalog

    async def sync_now(self, source_id: str) -> Any: ...


class SyncScheduler:
    def __init__(self, service: Syncs, *, clock: Callable[[], float],
                 tick: float = TICK) -> None:
        self.service = service
        self.clock = clock
        self.tick = tick
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="telegram-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def poke(self) -> None:
        """Look at the schedule again now (a source was added, changed or removed)."""
        self._wake.set()

    async def run_due(self) -> list[str]:
        """Queue a sync of every source whose time has come; returns their ids."""
        now = self.clock()
        started: list[str] = []
        for source in await self.service.catalog.list_all():
            if not source.interval_hours:
                continue
            if source.next_run_at is not None and source.next_run_at > now:
                continue
            try:
                await self.service.sync_now(source.id)
                started.append(source.id)
            except Exception:
                log.exception("Could not start the scheduled sync of %s", source.title)
            # However many runs were missed, the next one is a full interval from now.
            await self.service.catalog.update(
                source.id, next_run_at=now + source.interval_hours * 3600)
        return started

    async def _next_due_in(self) -> float:
        times = [s.next_run_at or 0.0 for s in await self.service.catalog.list_all()
                 if s.interval_hours]
        if not times:
            return self.tick
        return max(0.0, min(min(times) - self.clock(), self.tick))

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
                delay = await self._next_due_in()
            except Exception:
                log.exception("The Telegram schedule failed; trying again in a minute")
                delay = self.tick
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.5)):
                    await self._wake.wait()

"""JobManager: the queue, the running-jobs limit, cancel, retry, events and restart recovery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audiofetch_app.core import address_guard, job_targets, registry, transfer_limits
from audiofetch_app.core.history import JobHistory
from audiofetch_app.core.job_context import (
    JobContext,
    JobError,
    JobPaused,
    StreamConsumer,
    failure_facts,
    is_expected,
    user_message,
)
from audiofetch_app.core.job_events import JobEvents
from audiofetch_app.core.job_files import remove_paths, remove_saved
from audiofetch_app.core.job_record import ACTIVE_STATES, RESUMABLE_STATES, Job, JobEvent, JobState
from audiofetch_app.core.logs import current_job_id
from audiofetch_app.core.net_errors import strip_query
from audiofetch_app.core.store import Store, StoreError, history_dir
from audiofetch_app.core.tasks import cancel_and_wait
from audiofetch_app.settings import Settings, SettingsService

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault

__all__ = ["Job", "JobContext", "JobError", "JobEvent", "JobManager", "JobPaused", "JobState",
           "user_message"]

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0  # seconds between writes of progress counters to disk
INTERRUPTED_MESSAGE = "AudioFetch was closed before this job finished; resume it to continue."


class JobManager(JobEvents):
    """Owns every job. Runs at most `max_running` at once; everything else waits in order."""

    def __init__(self, store: Store, settings: SettingsService | None = None,
                 max_running: int = 3, default_output: Path | None = None,
                 secrets: Vault | None = None, history: Path | None = None) -> None:
        """`store`'s jobs table holds the hot jobs; `history` the archive and manifests."""
        self._secrets = secrets
        self._settings = settings  # SettingsService or None
        self._max_running = max_running
        self._default_output = default_output
        self._jobs: dict[str, Job] = {}
        self._doc_ids: dict[str, int] = {}
        self._history = JobHistory(store, history or history_dir(store.path), self._jobs,
                                   self._doc_ids)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._contexts: dict[str, JobContext] = {}
        self._done_events: dict[str, asyncio.Event] = {}
        self._cancel_requested: set[str] = set()
        self._dirty: set[str] = set()
        JobEvents.__init__(self)
        self._flusher: asyncio.Task[None] | None = None
        self._wakeups: dict[str, asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._started = False
        self._closing = False
        # Set by a face that collects streamed output (REST's /api/stream); see JobContext.
        self.stream_consumer: StreamConsumer | None = None
        self.allowed_networks: list[address_guard.IPNetwork] = []  # serve --allow-network
        if settings is not None:
            self._max_running = settings.get().max_running_jobs
            settings.subscribe(self._on_settings)

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Load history; jobs that were running or queued when the app died become interrupted."""
        if self._started:
            return
        await self._history.load()
        recovered = [job for job in self._jobs.values() if job.state in ACTIVE_STATES]
        for job in recovered:
            job.state = JobState.INTERRUPTED
            job.error = INTERRUPTED_MESSAGE
            job.speed = 0.0
        if recovered:
            await self._write(recovered)
        await self._history.archive_old()
        self._started = True
        for job in self._jobs.values():
            if job.state == JobState.PAUSED:
                self._arm_wakeup(job)
        self._flusher = asyncio.create_task(self._flush_loop(), name="audiofetch-job-flush")

    async def close(self) -> None:
        """Stop running jobs (they become interrupted and can be resumed) and flush to disk."""
        self._closing = True
        for handle in self._wakeups.values():
            handle.cancel()
        self._wakeups.clear()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        flusher, self._flusher = self._flusher, None
        await cancel_and_wait(flusher)
        await self._flush()
        await self._history.close()
        self._started = False
        self._closing = False

    def _on_settings(self, settings: Settings) -> None:
        self._max_running = settings.max_running_jobs
        with contextlib.suppress(RuntimeError):  # no running loop: applied on next submit
            asyncio.get_running_loop().call_soon(self._pump)

    # -- queries ----------------------------------------------------------------------------

    def get(self, job_id: str, *, whole: bool = True) -> Job | None:
        """The job, hot or archived; `whole`: with the files its manifest lists too."""
        job = self._jobs.get(job_id)
        job = job.copy() if job else self._history.archived(job_id)
        return self._history.whole(job) if whole else job

    def manifest_path(self, job_id: str) -> Path:
        """Where a job that saves many files lists them, instead of in its record."""
        return self._history.manifest_path(job_id)

    def list(self, *, states: Iterable[JobState] | None = None, kind: str | None = None,
             offset: int = 0, limit: int | None = None) -> list[Job]:
        """Jobs newest first, filtered and paginated."""
        return self.page(states=states, kind=kind, offset=offset, limit=limit)[0]

    def page(self, *, states: Iterable[JobState] | None = None, kind: str | None = None,
             offset: int = 0, limit: int | None = None) -> tuple[list[Job], int]:
        """One page of jobs, newest first, and how many match in all (hot and archived)."""
        return self._history.page(states, kind, max(0, offset), limit)

    def count(self) -> int:
        return self._history.count()

    # -- actions ----------------------------------------------------------------------------

    async def submit(self, kind: str, url: str, options: dict[str, Any] | None = None,
                     title: str = "", *, from_network: bool = False, origin: str = "") -> Job:
        """Queue a job; the same kind, URL and options while one is active returns that one.
        `from_network`: a LAN client asked (core.address_guard); `origin`: see Job.origin."""
        if not self._started:
            await self.start()
        registry.get(kind)  # unknown kinds fail here, before anything is stored
        job = Job(kind=kind, url=url.strip(), options=dict(options or {}), title=title,
                  from_network=from_network, origin=origin)
        for existing in self._jobs.values():
            if existing.active and existing.key == job.key and \
                    existing.from_network == from_network:
                return existing.copy()
        self._jobs[job.id] = job
        await self._write([job])
        self._emit("added", job)
        self._pump()
        return job.copy()

    async def cancel(self, job_id: str) -> Job:
        """Stop a job now; its partial files are removed."""
        job = self._require(job_id)
        if job.state in (JobState.QUEUED, JobState.PAUSED):
            self._disarm_wakeup(job_id)
            await self._finish(job, JobState.CANCELLED, None)
            return job.copy()
        task = self._tasks.get(job_id)
        if task is not None:
            self._cancel_requested.add(job_id)
            task.cancel()
            await asyncio.shield(self._done_events[job_id].wait())
        return job.copy()

    async def retry(self, job_id: str) -> Job:
        """Queue a failed, cancelled, interrupted or finished job again; resumes where it can."""
        job = await self._history.claim(job_id)  # an archived job comes back to the hot set
        if job is None:
            raise KeyError(f"There is no job {job_id}.")
        if job.active:
            return job.copy()
        if job.state not in RESUMABLE_STATES and job.state != JobState.DONE:
            raise JobError(f"This job cannot be retried from state {job.state.value}.")
        self._disarm_wakeup(job_id)
        job.state = JobState.QUEUED
        job.error = None
        job.finished_at = None
        job.resume_at = None
        job.speed = 0.0
        await self._write([job])
        await self._history.settle(job_id)
        self._emit("updated", job)
        self._pump()
        return job.copy()

    async def delete(self, job_id: str, *, with_files: bool = False) -> None:
        """Forget a job (cancelling it first); with_files also removes the files it saved
        (`job_files.saved_paths`; its output folder only once nothing else is in it)."""
        job = self._require(job_id)
        self._disarm_wakeup(job_id)
        if job.active:
            await self.cancel(job_id)
        whole = self._history.whole(job.copy()) or job
        if with_files:
            doomed = await self._history.deletable(whole)
            await asyncio.to_thread(remove_saved, doomed, whole.output_path)
        self._dirty.discard(job_id)
        await self._history.remove(job_id)
        self._emit("removed", job)

    async def deletable_files(self, job_id: str) -> list[Path]:
        """What `delete(job_id, with_files=True)` would remove (JobHistory.deletable)."""
        return await self._history.deletable(self._require(job_id))

    async def wait(self, job_id: str) -> Job:
        """Wait until the job is no longer queued or running, and return it."""
        job = self._require(job_id)
        while job.active:
            event = self._done_events.setdefault(job_id, asyncio.Event())
            await event.wait()
            job = self._require(job_id)
        return self._history.whole(job.copy()) or job

    def _require(self, job_id: str) -> Job:
        """The hot job itself, or a copy of an archived one."""
        job = self._jobs.get(job_id) or self._history.archived(job_id)
        if job is None:
            raise KeyError(f"There is no job {job_id}.")
        return job

    # -- running ----------------------------------------------------------------------------

    def address_policy(self) -> address_guard.AddressPolicy:
        """What a LAN client's job may reach (Settings, and `serve --allow-network`)."""
        saved = self._settings.get().allowed_networks if self._settings else ""
        return address_guard.policy_for(saved, self.allowed_networks)

    def _pump(self) -> None:
        if self._closing:
            return
        queued = sorted((j for j in self._jobs.values() if j.state == JobState.QUEUED),
                        key=lambda j: j.created_at)
        for job in queued:
            if len(self._tasks) >= self._max_running:
                break
            self._done_events.setdefault(job.id, asyncio.Event())
            job.state = JobState.RUNNING  # claimed now so a second pump cannot start it twice
            task = asyncio.create_task(self._run(job), name=f"job-{job.id}")
            task.add_done_callback(lambda t, job=job: self._task_done(job, t))
            self._tasks[job.id] = task

    def _output_dir(self, job: Job) -> Path:
        settings = self._settings.get() if self._settings else None
        return job_targets.output_dir(job, settings, self._default_output or Path.cwd())

    async def _run(self, job: Job) -> None:
        token = current_job_id.set(job.id)
        address_guard.current.set(self.address_policy() if job.from_network else None)
        transfer_limits.current.set(transfer_limits.for_job(
            job.options.get("max_filesize"), self._settings.get().max_filesize
            if self._settings else None))
        ctx = JobContext(job, self._output_dir(job),
                         self._settings.get() if self._settings else Settings(), self._changed,
                         secrets=self._secrets, stream_consumer=self.stream_consumer)
        self._contexts[job.id] = ctx
        try:
            job.started_at = time.time()
            job.bytes_done = 0
            job.items_done = 0
            await self._write([job])
            self._emit("updated", job)
            log.info("Started %s job for %s", job.kind, strip_query(job.url))
            source = registry.get(job.kind)
            if source.uses_output_folder:
                await asyncio.to_thread(job_targets.check_output, job, ctx.settings,
                                        ctx.output_dir)
            await source.run(ctx)
            await job_targets.deliver(job, ctx.settings, self._secrets)
        except JobPaused as paused:
            job.resume_at = paused.until
            await self._finish(job, JobState.PAUSED, user_message(paused))
            self._arm_wakeup(job)
        except asyncio.CancelledError:
            if job.id in self._cancel_requested:
                await asyncio.to_thread(remove_paths, sorted(ctx.partials))
                await self._finish(job, JobState.CANCELLED, None)
            else:
                await self._finish(job, JobState.INTERRUPTED, INTERRUPTED_MESSAGE)
        except Exception as exc:
            message = user_message(exc)
            log.warning("Job failed: %s", message, exc_info=not is_expected(exc))
            job.detail.update(failure_facts(exc))  # may a resume help? (faces advise on it)
            await self._finish(job, JobState.FAILED, message)
        else:
            await self._finish(job, JobState.DONE, None)
        finally:
            current_job_id.reset(token)
            self._contexts.pop(job.id, None)
            self._cancel_requested.discard(job.id)
            self._tasks.pop(job.id, None)
            self._pump()

    def _task_done(self, job: Job, task: asyncio.Task[None]) -> None:
        """A task cancelled before its first step never ran `_run`: settle its job here."""
        if self._tasks.get(job.id) is not task or job.state != JobState.RUNNING:
            return
        self._tasks.pop(job.id, None)
        cancelled = job.id in self._cancel_requested
        self._cancel_requested.discard(job.id)

        async def settle() -> None:
            if cancelled:
                await self._finish(job, JobState.CANCELLED, None)
            else:
                await self._finish(job, JobState.INTERRUPTED, INTERRUPTED_MESSAGE)
            self._pump()

        asyncio.get_running_loop().create_task(settle())

    async def _finish(self, job: Job, state: JobState, error: str | None) -> None:
        job.state = state
        job.error = error
        job.status = ""
        job.speed = 0.0
        job.finished_at = time.time()
        if state == JobState.DONE and job.bytes_total is None:
            job.bytes_total = job.bytes_done
        log.log(logging.DEBUG if state == JobState.FAILED else logging.INFO, "Job %s: %s%s",
                state.value, job.title or strip_query(job.url), f" ({error})" if error else "")
        try:
            await self._write([job])
        except StoreError:
            log.exception("Could not save the state of job %s", job.id)
        self._emit("updated", job)
        event = self._done_events.pop(job.id, None)
        if event:
            event.set()
        self._history.finished()

    def _arm_wakeup(self, job: Job) -> None:
        """Queue a paused job again when its time comes (at once if it already has)."""
        self._disarm_wakeup(job.id)
        delay = max(0.0, (job.resume_at or 0.0) - time.time())
        loop = asyncio.get_running_loop()

        def wake() -> None:
            self._wakeups.pop(job.id, None)
            if job.state == JobState.PAUSED and not self._closing:
                task = loop.create_task(self.retry(job.id))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

        self._wakeups[job.id] = loop.call_later(delay, wake)

    def _disarm_wakeup(self, job_id: str) -> None:
        handle = self._wakeups.pop(job_id, None)
        if handle is not None:
            handle.cancel()

    def _changed(self, job: Job, facts: bool) -> None:
        self._dirty.add(job.id)
        self._emit("updated" if facts else "progress", job)

    # -- persistence --------------------------------------------------------------------------

    async def _write(self, jobs: list[Job]) -> None:
        for job in jobs:
            self._dirty.discard(job.id)
        await self._history.write(jobs)

    async def _flush(self) -> None:
        dirty = [self._jobs[i] for i in list(self._dirty) if i in self._jobs]
        if dirty:
            await self._write(dirty)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                await self._flush()
            except StoreError:
                log.exception("Could not save job progress")

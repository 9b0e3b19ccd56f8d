"""Job history laid out so a write costs what it changes, not what the history holds.

Running, waiting and the newest finished jobs are "hot": they live in the store's `jobs`
table (a small TinyDB file of their own when the runtime opens it) and in memory. Once
ARCHIVE_BATCH more jobs have finished beyond the newest HOT_KEEP, the older finished ones
move, in one go, into the archive (core.history_archive): TinyDB files by month, written
once, read only when someone pages back to them, with an index for counts and paging.
A job write therefore rewrites a file of a few hundred jobs, whatever the history holds.

Moving is crash-safe in both directions: the copy is written first and the original
removed after, and a job found in both places at start keeps its hot copy.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from audiofetch_app.core.history_archive import Archive, Entry
from audiofetch_app.core.job_files import read_manifest, saved_paths, upsert_jobs
from audiofetch_app.core.job_record import ACTIVE_STATES, Job, JobState
from audiofetch_app.core.store import JOBS, Store, StoreError, parse_database

log = logging.getLogger("audiofetch_app.core.jobs")

HOT_KEEP = 100  # finished jobs that stay hot (the first pages of the Jobs view)
ARCHIVE_BATCH = 250  # how many more finish before a move: one archive write per batch
ARCHIVABLE = frozenset(JobState) - ACTIVE_STATES - {JobState.PAUSED}  # paused jobs wake up


def job_key(job: Job) -> tuple[float, str]:
    return job.created_at, job.id


class JobHistory:
    """Every job, hot or archived: loading, paging, and moving jobs between the two."""

    def __init__(self, store: Store, folder: Path, hot: dict[str, Job],
                 doc_ids: dict[str, int]) -> None:
        self.store = store
        self.folder = folder
        self.archive = Archive(folder / "archive")
        self.hot = hot  # JobManager's own dict: the hot jobs by id
        self.doc_ids = doc_ids  # and their document ids in the store's jobs table
        self.lock = asyncio.Lock()  # moves, retries and deletes of finished jobs take turns
        self._mover: asyncio.Task[int] | None = None

    def manifest_path(self, job_id: str) -> Path:
        """Where a job that saves many files lists them (see job_files.Manifest)."""
        return self.folder / "manifests" / f"{job_id}.txt"

    def whole(self, job: Job | None) -> Job | None:
        """`job` with the files its manifest lists added to `files`."""
        if job is not None and job.detail.get("manifest"):
            listed = read_manifest(self.manifest_path(job.id))
            job.files = list(dict.fromkeys(job.files + listed))
        return job

    async def deletable(self, job: Job) -> list[Path]:
        """What deleting `job` with its files removes: `job_files.saved_paths` of it, less any
        path another job, hot or archived, lists as its own file or output (a file saved
        again under a name a deleted one had, a track two page jobs saved to one folder).
        Reads every archive part, in a worker thread: for an explicit delete only."""
        job = self.whole(job.copy()) or job
        mine = saved_paths(job.files, job.output_path)
        if not mine:
            return []
        others = [j.copy() for j in self.hot.values() if j.id != job.id]
        parts = [self.archive.part_path(seq)
                 for seq in sorted({entry[4] for entry in self.archive.by_id.values()})]
        taken = await asyncio.to_thread(self._listed, {str(p) for p in mine}, job.id, others,
                                        parts)
        return [path for path in mine if str(path) not in taken]

    def _listed(self, wanted: set[str], job_id: str, hot: list[Job],
                parts: list[Path]) -> set[str]:
        """Which of `wanted` the other jobs list (blocking)."""
        taken: set[str] = set()

        def look(other_id: str, files: list[str], output: str | None, manifest: bool) -> None:
            listed = [*files, output or ""]
            if manifest:
                listed += read_manifest(self.manifest_path(other_id))
            taken.update(wanted.intersection(listed))

        for other in hot:
            look(other.id, other.files, other.output_path, bool(other.detail.get("manifest")))
        for part in parts:  # as stored (100,000 records made into Jobs take seconds), and
            # only read: read_database would also keep a good copy of each, with an fsync.
            try:
                tables = parse_database(part.read_bytes(), part)
            except (OSError, StoreError):
                continue  # an archive part gone or damaged meanwhile lists nothing here
            for doc in tables.get(JOBS, {}).values():
                if doc.get("id") not in (None, job_id):
                    look(doc["id"], doc.get("files") or [], doc.get("output_path"),
                         bool((doc.get("detail") or {}).get("manifest")))
        return taken

    async def write(self, jobs: list[Job]) -> None:
        """Save these hot jobs with one write of the hot file."""
        snapshot = [(job.id, self.doc_ids.get(job.id), job.to_dict()) for job in jobs]
        new_ids = await self.store.arun(lambda db: upsert_jobs(db, snapshot))
        self.doc_ids.update(new_ids)

    # ---------------------------------------------------------------- start and stop

    async def load(self) -> None:
        """Read the hot jobs into memory and the archive's index; settle an interrupted move."""
        docs = await self.store.arun(lambda db: [(d.doc_id, dict(d)) for d in db.table(JOBS)])
        shadowed = await asyncio.to_thread(self.archive.load)
        for doc_id, data in docs:
            job = _job(data)
            if job is not None:
                self.hot[job.id] = job
                self.doc_ids[job.id] = doc_id
        changes = self.archive.forget([i for i in self.hot if i in self.archive.by_id])
        for seq, job_id in shadowed:  # the hot copy, or the newer part's, is the one to keep
            changes.setdefault((seq, self.archive.month(seq)), set()).add(job_id)
        await self._rewrite(changes)

    async def close(self) -> None:
        if self._mover is not None:
            await asyncio.gather(self._mover, return_exceptions=True)
            self._mover = None

    # ---------------------------------------------------------------- queries

    def count(self) -> int:
        return len(self.hot) + self.archive.count()

    def archived(self, job_id: str) -> Job | None:
        doc = self.archive.get(job_id)
        return _job(doc) if doc is not None else None

    def page(self, states: Iterable[JobState] | None, kind: str | None, offset: int,
             limit: int | None) -> tuple[list[Job], int]:
        """Jobs newest first, filtered, from `offset`; and how many match in all."""
        wanted = frozenset(JobState(s) for s in states) if states else None
        hot = sorted((j for j in self.hot.values() if (wanted is None or j.state in wanted)
                      and (kind is None or j.kind == kind)), key=job_key, reverse=True)
        arch = [] if wanted is not None and not wanted & ARCHIVABLE else \
            self.archive.entries(frozenset(str(s) for s in wanted) if wanted else None, kind)
        total = len(hot) + len(arch)
        stop = total if limit is None else min(total, offset + max(0, limit))
        if offset >= stop:
            return [], total
        # Where each hot job falls among the archived ones; the rest of a page is archive.
        places = [i + self.archive.newer_than(arch, job_key(j)) for i, j in enumerate(hot)]
        picks: list[Job | Entry] = []
        for pos in range(offset, stop):
            k = bisect.bisect_left(places, pos)
            if k < len(places) and places[k] == pos:
                picks.append(hot[k])
            else:
                picks.append(arch[len(arch) - 1 - (pos - k)])
        docs = self.archive.read([p for p in picks if isinstance(p, tuple)])
        out: list[Job] = []
        for pick in picks:
            if isinstance(pick, Job):
                out.append(pick.copy())
            elif (job := _job(docs.get(pick[1]))) is not None:
                out.append(job)
        return out, total

    # ---------------------------------------------------------------- moves

    def finished(self) -> None:
        """A job has finished: start a move to the archive when a batch is due."""
        idle = self._mover is None or self._mover.done()
        if idle and sum(1 for j in self.hot.values() if j.state in ARCHIVABLE) >= \
                HOT_KEEP + ARCHIVE_BATCH:
            self._mover = asyncio.get_running_loop().create_task(
                self.archive_old(), name="audiofetch-job-archive")

    async def archive_old(self) -> int:
        """Move every finished job but the newest HOT_KEEP into the archive, if a batch is due;
        returns how many moved. Parts are written before the hot records are removed."""
        async with self.lock:
            done = sorted((j for j in self.hot.values() if j.state in ARCHIVABLE), key=job_key)
            if len(done) < HOT_KEEP + ARCHIVE_BATCH:
                return 0
            moving = done[:len(done) - HOT_KEEP]
            docs = [j.to_dict() for j in moving]
            parts = await asyncio.to_thread(self.archive.write_parts, docs,
                                            self.archive.next_seq)
            self.archive.adopt(parts)
            gone = [self.doc_ids.pop(j.id) for j in moving if j.id in self.doc_ids]
            for job in moving:
                self.hot.pop(job.id, None)
            await self.store.arun(lambda db: db.table(JOBS).remove(doc_ids=gone))
            log.info("Moved %d finished jobs to the archive", len(moving))
            return len(moving)

    async def claim(self, job_id: str) -> Job | None:
        """The hot job, or an archived one brought back to hot (the caller writes it, then
        calls `settle`). Holds off a move that would take it meanwhile."""
        async with self.lock:
            job = self.hot.get(job_id)
            if job is None and (job := self.archived(job_id)) is not None:
                self.hot[job_id] = job
            return job

    async def settle(self, job_id: str) -> None:
        """Drop the archived copy of a job that is hot again (after its hot write)."""
        async with self.lock:
            await self._rewrite(self.archive.forget([job_id]))

    async def remove(self, job_id: str) -> None:
        """Forget a job, hot or archived, and its manifest."""
        await asyncio.to_thread(self.manifest_path(job_id).unlink, True)
        async with self.lock:
            self.hot.pop(job_id, None)
            doc_id = self.doc_ids.pop(job_id, None)
            if doc_id is not None:
                await self.store.arun(lambda db: db.table(JOBS).remove(doc_ids=[doc_id]))
            await self._rewrite(self.archive.forget([job_id]))

    async def _rewrite(self, changes: dict[tuple[int, str], set[str]]) -> None:
        for (seq, month), drop in changes.items():
            await asyncio.to_thread(self.archive.rewrite, seq, month, drop)


def _job(doc: dict[str, Any] | None) -> Job | None:
    if doc is None:
        return None
    try:
        return Job.from_dict(doc)
    except (TypeError, ValueError):
        log.warning("Skipping an unreadable job record %s", doc.get("id"))
        return None

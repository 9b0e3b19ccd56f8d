"""Jobs that save to a storage target other than a local folder (S3, ...): the source writes
into a staging folder in the data folder as usual, and the finished files are uploaded when
the job is done. Sources know nothing of it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audiofetch_app import settings as settings_mod
from audiofetch_app.core import targets
from audiofetch_app.core.job_record import Job

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault
    from audiofetch_app.settings import Settings


def staging_dir(job: Job) -> Path:
    """Where a job bound for a remote target writes its files (kept for a resume)."""
    return settings_mod.data_dir() / "staging" / job.id


def target_of(job: Job, settings: Settings | None) -> dict[str, Any] | None:
    """The job's storage target: its own, else the Settings default; None for a folder
    (output_dir, a folder target, or the download folder)."""
    if job.options.get("output_dir"):
        return None
    spec = job.options.get("target")
    if spec is None and settings is not None:
        spec = settings.download_target or None
    return spec or None


def output_dir(job: Job, settings: Settings | None, fallback: Path) -> Path:
    """The folder the job's source writes into."""
    chosen = job.options.get("output_dir")
    if chosen:
        return Path(chosen).expanduser()
    spec = target_of(job, settings)
    if spec is not None:
        return Path(spec["path"]).expanduser() if targets.is_local(spec) else staging_dir(job)
    return settings.download_path() if settings is not None else fallback


def check_output(job: Job, settings: Settings | None, folder: Path) -> None:
    """Before a job writes into `folder` (its `output_dir`): a folder someone chose (`-o`,
    a folder target, Settings' download folder) must exist or have a parent that exists, as
    a folder target must: a missing parent usually means an unplugged drive or share, and a
    look-alike tree must not be made in its place. AudioFetch's own default folder and a
    remote target's staging folder are made as needed. JobError with one sentence; blocks
    (call it through to_thread)."""
    if job.options.get("stream"):  # a ZIP streamed to its REST caller keeps nothing here
        return
    if settings is not None and not settings.download_dir and not job.options.get(
            "output_dir") and folder == settings.download_path():
        folder.mkdir(parents=True, exist_ok=True)
        return
    if folder == staging_dir(job):
        folder.mkdir(parents=True, exist_ok=True)
        return
    targets.check_folder(folder)


async def deliver(job: Job, settings: Settings | None, secrets: Vault | None) -> None:
    """Upload a finished job's files to its remote target (nothing for a folder) and point
    `files` and `output_path` at where they now are; JobError says what went wrong."""
    spec = target_of(job, settings)
    if spec is None or targets.is_local(spec):
        return
    staging = staging_dir(job)
    target = targets.open_target(spec, staging=staging, secrets=secrets)
    await asyncio.to_thread(target.check)
    moved: dict[str, str] = {}
    for name in job.files:
        path = Path(name)
        if path.is_relative_to(staging) and path.is_file():
            rel = path.relative_to(staging).as_posix()
            moved[name] = await asyncio.to_thread(target.commit, path, rel)
    job.files = [moved.get(name, name) for name in job.files]
    if job.output_path and job.output_path in moved:
        job.output_path = moved[job.output_path]
    elif job.output_path and Path(job.output_path).is_relative_to(staging):
        rel = Path(job.output_path).relative_to(staging).as_posix()
        job.output_path = f"{target.label.rstrip('/')}/{rel}"
    await asyncio.to_thread(shutil.rmtree, staging, True)

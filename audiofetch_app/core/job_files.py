"""The disk side of jobs: one TinyDB write for many job records, and removing saved files."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from audiofetch_app.core.store import JOBS

log = logging.getLogger("audiofetch_app.core.jobs")


def upsert_jobs(db: Any, snapshot: list[tuple[str, int | None, dict[str, Any]]]) -> dict[str, int]:
    """Write several jobs with one file write; returns doc ids of jobs inserted now."""
    table = db.table(JOBS)
    new_ids: dict[str, int] = {}
    pending = [(job_id, doc_id, data) for job_id, doc_id, data in snapshot]
    for job_id, doc_id, data in pending:
        if doc_id is None:
            new_ids[job_id] = table.insert(data)
    updates = {doc_id: data for _, doc_id, data in pending if doc_id is not None}
    if updates:
        def apply(docs: dict[int, Any]) -> None:
            for doc_id, data in updates.items():
                docs[doc_id] = data

        table._update_table(apply)  # one write for many documents; TinyDB has no public way
    return new_ids


BOOKKEEPING_PREFIX = ".audiofetch"  # AudioFetch's own files in an output folder


def saved_paths(files: Iterable[str], output_path: str | None) -> list[Path]:
    """What "delete with files" removes for a job: every file it saved (`files`), and its
    output when that is a file (a Space, a ZIP). An output folder is never in the list: a
    folder can hold other jobs' files and the user's own, so only the files go."""
    paths = [Path(p) for p in files]
    if output_path and not Path(output_path).is_dir():
        paths.append(Path(output_path))
    return [path for path in dict.fromkeys(paths) if not path.is_dir()]


def remove_saved(paths: Iterable[Path], output_path: str | None) -> None:
    """Remove `paths` (a job's `saved_paths`, less those other jobs list); then the output
    folder too, if nothing is left in it but AudioFetch's own bookkeeping (a page folder's
    archive of saved tracks)."""
    remove_paths(paths)
    folder = Path(output_path) if output_path else None
    if folder is None or not folder.is_dir() or folder.is_symlink():
        return
    try:
        left = list(folder.iterdir())
        if any(not p.name.startswith(BOOKKEEPING_PREFIX) or not p.is_file() for p in left):
            return
        for path in left:
            path.unlink()
        folder.rmdir()
    except OSError:
        log.warning("Could not remove the folder %s", folder)


def remove_paths(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            log.warning("Could not remove %s", path)


class Manifest:
    """The files a job saved, one per line, appended as they are saved: a job that saves
    thousands keeps counts in its record and the list here, so its writes stay small."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def add(self, saved: str) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        self._handle.write(saved.replace("\n", " ") + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_manifest(path: Path) -> list[str]:
    """The files a manifest lists, in order, each once; [] when there is none. A line cut
    short by a crash is left out."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError:
        log.warning("Could not read %s", path)
        return []
    lines = text.split("\n")
    return list(dict.fromkeys(line for line in lines[:-1] if line))

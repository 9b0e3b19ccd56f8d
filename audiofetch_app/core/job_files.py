"""The disk side of jobs: one TinyDB write for many job records, and removing saved files."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


def remove_paths(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            log.warning("Could not remove %s", path)

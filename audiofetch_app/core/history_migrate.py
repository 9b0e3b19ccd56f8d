"""First start after the history layout changed: jobs leave the one database file.

Before, every job lived in the `jobs` table of audiofetch.json beside settings, secrets and
Telegram state. Now that file keeps only those, and jobs live in the history folder (a hot
TinyDB file and the archive). The move writes the new files first and removes the old table
last, so a crash at any point leaves the old table in place and the move starts over; a
marker names the parts an unfinished move wrote, so they are not kept twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from audiofetch_app.core.history import ARCHIVABLE, HOT_KEEP
from audiofetch_app.core.history_archive import Archive, plan_parts
from audiofetch_app.core.store import JOBS, Store, atomic_write_bytes, good_copy_path

log = logging.getLogger("audiofetch_app.core.jobs")

MARKER = "migration.json"


def migrate_jobs(old: Store, hot: Store, folder: Path) -> int:
    """Move the jobs table of `old` into `hot` and the archive under `folder` (blocking;
    run before the JobManager starts). Returns how many jobs moved."""
    marker = folder / MARKER
    docs = old.run(lambda db: [dict(d) for d in db.table(JOBS)] if JOBS in db.tables()
                   else None)
    if docs is None:
        marker.unlink(missing_ok=True)  # an earlier move ended after the table went
        return 0
    _undo_unfinished(folder)
    states = {str(s) for s in ARCHIVABLE}
    finished = sorted((d for d in docs if str(d.get("state")) in states and d.get("id")),
                      key=lambda d: (float(d.get("created_at") or 0), str(d["id"])))
    to_archive = finished[:max(0, len(finished) - HOT_KEEP)]
    archived_ids = {d["id"] for d in to_archive}
    stay_hot = [d for d in docs if d.get("id") not in archived_ids]
    archive = Archive(folder / "archive")
    archive.load()
    first = archive.next_seq
    plan = plan_parts(to_archive, first)
    names = [archive.part_path(seq, month).name for seq, month, _ in plan]
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(marker, json.dumps({"parts": names}).encode())
    archive.write_parts(to_archive, first, plan)
    hot.run(lambda db: _merge_hot(db, stay_hot))
    old.run(lambda db: db.drop_table(JOBS))
    marker.unlink(missing_ok=True)
    log.info("Moved %d jobs into the history folder (%d archived)", len(docs),
             len(to_archive))
    return len(docs)


def _undo_unfinished(folder: Path) -> None:
    """Remove the parts (and their indexes) of a move that did not finish."""
    marker = folder / MARKER
    try:
        names = json.loads(marker.read_text(encoding="utf-8")).get("parts", [])
    except (FileNotFoundError, ValueError, AttributeError):
        return
    archive_dir = folder / "archive"
    for name in names:
        if not isinstance(name, str) or "/" in name or not name.endswith(".json"):
            continue
        part = archive_dir / name
        for path in (part.with_name(name[:-len(".json")] + ".idx.json"), part):
            with contextlib.suppress(OSError):
                path.unlink()
            with contextlib.suppress(OSError):
                good_copy_path(path).unlink()
    marker.unlink(missing_ok=True)


def _merge_hot(db: Any, docs: list[dict[str, Any]]) -> None:
    """Put `docs` into the hot table in one write; a moved copy wins over one already there
    (the old table is what an older AudioFetch wrote last)."""
    table = db.table(JOBS)
    incoming = {d.get("id") for d in docs}

    def apply(current: dict[int, Any]) -> None:
        merged = [dict(d) for d in current.values() if d.get("id") not in incoming] + docs
        current.clear()
        current.update({i: d for i, d in enumerate(merged, 1)})

    table._update_table(apply)  # one file write; TinyDB has no public way
    table._next_id = None

"""The job archive: finished jobs in TinyDB files by month, written once, and a small index.

Each part is `YYYY-MM.NNNNNN.json` (a TinyDB file with a `jobs` table, at most PART_SIZE
jobs of one month) with `YYYY-MM.NNNNNN.idx.json` beside it: the ids, times, states and
kinds of its jobs, column by column. Only the index files are read at start; a part is
read when someone pages back to it (a few are kept in memory). A part is rewritten only
when one of its jobs is deleted or retried.

Order on disk keeps a crash harmless: a new part is written before its index (a part
without an index is an unfinished write and is removed at start); a smaller part is
written after its index (an index never names a job its part lacks... except for the
moment between, when the part still has a job nobody looks up).
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import os
import re
import time
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from audiofetch_app.core.store import (
    JOBS,
    DamagedStore,
    good_copy_path,
    read_database,
    write_database,
)

PART_SIZE = 500  # jobs per part: a part reads in a few milliseconds
CACHED_PARTS = 8
INDEX = "index"
_PART = re.compile(r"^(\d{4}-\d{2})\.(\d{6})\.json$")
_INDEX = re.compile(r"^(\d{4}-\d{2})\.(\d{6})\.idx\.json$")

# created_at, id, state, kind, part number: one archived job as the index knows it
Entry = tuple[float, str, str, str, int]
FilterKey = tuple[frozenset[str] | None, str | None]


def month_of(created_at: float) -> str:
    return _month_of_day(int(created_at // 86400))


@functools.lru_cache(maxsize=4096)
def _month_of_day(day: int) -> str:
    return time.strftime("%Y-%m", time.gmtime(day * 86400))


class Archive:
    """Archived jobs: the index in memory, the parts on disk.

    The in-memory index changes only on the event loop; file work (`write_parts`,
    `rewrite`, `load`) runs in a worker thread with data handed to it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.by_id: dict[str, Entry] = {}
        self._names: dict[int, str] = {}  # part number -> its month
        self._sorted: list[Entry] | None = None
        self._filtered: dict[FilterKey, list[Entry]] = {}
        self._cache: OrderedDict[int, dict[str, dict[str, Any]]] = OrderedDict()
        self.next_seq = 1

    # ---------------------------------------------------------------- files

    def part_path(self, seq: int, month: str | None = None) -> Path:
        return self.folder / f"{month or self._names[seq]}.{seq:06d}.json"

    def index_path(self, seq: int, month: str | None = None) -> Path:
        return self.folder / f"{month or self._names[seq]}.{seq:06d}.idx.json"

    def load(self) -> list[tuple[int, str]]:
        """Read every index (worker thread); returns (part, id) pairs shadowed by a newer
        part, which `rewrite` should drop. Unfinished writes are cleared away."""
        self.by_id.clear()
        self._names.clear()
        self._invalidate()
        if not self.folder.is_dir():
            return []
        for stale in self.folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
        names = {p.name for p in self.folder.iterdir()}
        indexed: list[tuple[int, str]] = []
        for name in names:
            found = _INDEX.match(name)
            if found:
                indexed.append((int(found.group(2)), found.group(1)))
            part = _PART.match(name)
            if part and f"{part.group(1)}.{part.group(2)}.idx.json" not in names:
                # A part whose index was never written: its jobs are still hot.
                with contextlib.suppress(OSError):
                    (self.folder / name).unlink()
                    good_copy_path(self.folder / name).unlink(missing_ok=True)
        shadowed: list[tuple[int, str]] = []
        for seq, month in sorted(indexed):
            self._names[seq] = month
            self.next_seq = max(self.next_seq, seq + 1)
            columns = _index_columns(read_database(self.index_path(seq, month)),
                                     self.index_path(seq, month))
            for job_id, created, state, kind in zip(columns["ids"], columns["created"],
                                                    columns["states"], columns["kinds"],
                                                    strict=True):
                old = self.by_id.get(job_id)
                if old is not None:
                    shadowed.append((old[4], job_id))
                self.by_id[job_id] = (float(created), job_id, state, kind, seq)
        return shadowed

    def write_parts(self, docs: list[dict[str, Any]], first_seq: int,
                    plan: list[tuple[int, str, list[dict[str, Any]]]] | None = None
                    ) -> list[list[Entry]]:
        """Write `docs` as new parts numbered from `first_seq` (worker thread): by month,
        at most PART_SIZE each, part before index. Returns each part's entries.

        Many parts at once (a first start) are flushed to disk together at the end rather
        than one by one; nothing points at them before that."""
        self.folder.mkdir(parents=True, exist_ok=True)
        plan = plan if plan is not None else plan_parts(docs, first_seq)
        together = len(plan) > 4 and hasattr(os, "sync")
        written: list[list[Entry]] = []
        for seq, month, chunk in plan:
            entries = [_entry(d, seq) for d in chunk]
            write_database(self.part_path(seq, month),
                           {JOBS: {str(i): d for i, d in enumerate(chunk, 1)}},
                           durable=not together)
            write_database(self.index_path(seq, month), _index_tables(entries),
                           durable=not together)
            written.append(entries)
        if together:
            os.sync()
        return written

    def rewrite(self, seq: int, month: str, drop: set[str]) -> None:
        """Remove jobs from one part (worker thread): the index first, then the part."""
        part = self.part_path(seq, month)
        docs = [d for d in read_database(part).get(JOBS, {}).values() if d.get("id") not in drop]
        if not docs:
            for path in (self.index_path(seq, month), part):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                with contextlib.suppress(FileNotFoundError):
                    good_copy_path(path).unlink()
            return
        write_database(self.index_path(seq, month), _index_tables([_entry(d, seq) for d in docs]))
        write_database(part, {JOBS: {str(i): d for i, d in enumerate(docs, 1)}})

    # ---------------------------------------------------------------- the index (event loop)

    def adopt(self, parts: Iterable[list[Entry]]) -> None:
        for entries in parts:
            for entry in entries:
                self.by_id[entry[1]] = entry
                self._names[entry[4]] = month_of_part(entry)
            self.next_seq = max(self.next_seq, *(e[4] + 1 for e in entries))
        self._invalidate()

    def forget(self, job_ids: Iterable[str]) -> dict[tuple[int, str], set[str]]:
        """Take jobs out of the index; returns the parts to rewrite and what to drop."""
        changes: dict[tuple[int, str], set[str]] = {}
        for job_id in job_ids:
            entry = self.by_id.pop(job_id, None)
            if entry is not None:
                changes.setdefault((entry[4], self._names[entry[4]]), set()).add(job_id)
                self._cache.pop(entry[4], None)
        if changes:
            self._invalidate()
        return changes

    def month(self, seq: int) -> str:
        return self._names[seq]

    def count(self) -> int:
        return len(self.by_id)

    def entries(self, states: frozenset[str] | None, kind: str | None) -> list[Entry]:
        """Archived jobs matching the filter, oldest first (kept until the archive changes)."""
        if self._sorted is None:
            self._sorted = sorted(self.by_id.values())  # ids are unique: (created, id) decides
        if states is None and kind is None:
            return self._sorted
        found = self._filtered.get((states, kind))
        if found is None:
            found = [e for e in self._sorted
                     if (states is None or e[2] in states) and (kind is None or e[3] == kind)]
            self._filtered[(states, kind)] = found
        return found

    def newer_than(self, entries: list[Entry], key: tuple[float, str]) -> int:
        """How many of `entries` (oldest first) sort after `key`."""
        return len(entries) - bisect.bisect_right(entries, key)  # (created, id) sorts first

    def read(self, wanted: list[Entry]) -> dict[str, dict[str, Any]]:
        """The records of these entries, by id; parts are read as needed (blocking, small)."""
        found: dict[str, dict[str, Any]] = {}
        for entry in wanted:
            docs = self._part(entry[4])
            doc = docs.get(entry[1])
            if doc is not None:
                found[entry[1]] = doc
        return found

    def get(self, job_id: str) -> dict[str, Any] | None:
        entry = self.by_id.get(job_id)
        return None if entry is None else self.read([entry]).get(job_id)

    def _part(self, seq: int) -> dict[str, dict[str, Any]]:
        docs = self._cache.get(seq)
        if docs is None:
            tables = read_database(self.part_path(seq))
            docs = {d["id"]: d for d in tables.get(JOBS, {}).values() if "id" in d}
            self._cache[seq] = docs
            while len(self._cache) > CACHED_PARTS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(seq)
        return docs

    def _invalidate(self) -> None:
        self._sorted = None
        self._filtered.clear()


def month_of_part(entry: Entry) -> str:
    return month_of(entry[0])


def plan_parts(docs: list[dict[str, Any]], first_seq: int
               ) -> list[tuple[int, str, list[dict[str, Any]]]]:
    """Split jobs into parts: oldest first, by month, at most PART_SIZE in each."""
    ordered = sorted(docs, key=lambda d: (float(d.get("created_at") or 0), str(d.get("id"))))
    parts: list[tuple[int, str, list[dict[str, Any]]]] = []
    seq = first_seq
    for doc in ordered:
        month = month_of(float(doc.get("created_at") or 0))
        if not parts or parts[-1][1] != month or len(parts[-1][2]) >= PART_SIZE:
            parts.append((seq, month, []))
            seq += 1
        parts[-1][2].append(doc)
    return parts


def _entry(doc: dict[str, Any], seq: int) -> Entry:
    return (float(doc.get("created_at") or 0), str(doc["id"]), str(doc.get("state", "")),
            str(doc.get("kind", "")), seq)


def _index_tables(entries: list[Entry]) -> dict[str, dict[str, Any]]:
    return {INDEX: {"1": {"ids": [e[1] for e in entries], "created": [e[0] for e in entries],
                          "states": [e[2] for e in entries], "kinds": [e[3] for e in entries]}}}


def _index_columns(tables: dict[str, dict[str, Any]], path: Path) -> dict[str, list[Any]]:
    try:
        columns = tables[INDEX]["1"]
        if len({len(columns[k]) for k in ("ids", "created", "states", "kinds")}) != 1:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise DamagedStore(path, "it is not a job archive index") from None
    return columns

"""TinyDB behind one lock, with atomic writes so a killed process never leaves a broken file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

T = TypeVar("T")

JOBS = "jobs"
SETTINGS = "settings"
SECRETS = "secrets"


class StoreError(Exception):
    """The database could not be read or written; the message says why in plain words."""


class DamagedStore(StoreError):
    """The database file is not AudioFetch's JSON; `good_copy` is the last copy that was."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        self.good_copy = good_copy_path(path) if good_copy_path(path).is_file() else None
        super().__init__(f"The database {path} is damaged ({why}), so AudioFetch did not "
                         "start; nothing in it was changed.")


def good_copy_path(path: Path) -> Path:
    """Where the last database that read cleanly is kept (made at each start)."""
    return path.with_name(path.name + ".good")


def parse_database(raw: bytes, path: Path) -> dict[str, dict[str, Any]]:
    """The tables in a database file's bytes; DamagedStore says what is wrong.

    An empty file is damage, not a new start: AudioFetch never writes one (a new database
    is no file at all), so an empty one means the disk or another program lost its data.
    """
    if not raw.strip():
        raise DamagedStore(path, "the file is empty")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DamagedStore(path, "the file is not text") from None
    except json.JSONDecodeError as exc:
        raise DamagedStore(path, f"{exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise DamagedStore(path, "the file holds JSON, but not AudioFetch's tables")
    return data


def history_dir(path: Path) -> Path:
    """The folder beside a database that holds its job history (hot jobs, archive, manifests)."""
    return path.with_name(f"{path.stem}-history")


def is_damaged(path: Path) -> bool:
    """True when the file exists and does not read as AudioFetch's tables."""
    try:
        parse_database(path.read_bytes(), path)
    except FileNotFoundError:
        return False
    except DamagedStore:
        return True
    return False


def restore_good_copy(path: Path) -> Path:
    """Put the last good copy back in place of a damaged database; the damaged file is kept
    beside it (returned). Damaged files of its job history are put back too (when only one
    of those is damaged, the database itself is left as it is). StoreError when there is no
    good copy."""
    history = history_dir(path)
    damaged = sorted(p for p in history.rglob("*.json") if is_damaged(p)) \
        if history.is_dir() else []
    if damaged and not is_damaged(path):
        kept = [_restore_one(p) for p in damaged]
        return kept[0]
    kept_main = _restore_one(path)
    for other in damaged:
        _restore_one(other)
    return kept_main


def _restore_one(path: Path) -> Path:
    good = good_copy_path(path)
    if not good.is_file():
        raise StoreError(f"There is no earlier good copy of {path} to restore.")
    data = good.read_bytes()
    parse_database(data, good)
    kept = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    if path.exists():
        os.replace(path, kept)
    atomic_write_bytes(path, data, mode=0o600)
    return kept


def read_database(path: Path) -> dict[str, dict[str, Any]]:
    """The tables of a database file ({} when there is none); a clean read is kept as its
    good copy. DamagedStore or StoreError say what is wrong."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StoreError(f"Could not read {path}: {exc.strerror or exc}.") from exc
    data = parse_database(raw, path)
    # This file reads cleanly: keep it as the copy to go back to if it is ever damaged.
    good = good_copy_path(path)
    with contextlib.suppress(OSError):
        kept = good.stat() if good.is_file() else None
        now = path.stat()
        if kept is None or kept.st_size != now.st_size or kept.st_mtime < now.st_mtime:
            atomic_write_bytes(good, raw, mode=0o600)
    return data


def write_database(path: Path, data: dict[str, dict[str, Any]], durable: bool = True) -> None:
    """Write tables as TinyDB's JSON, atomically; StoreError says why it could not.
    `durable=False` leaves the fsync to the caller (who syncs many files at once)."""
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        atomic_write_bytes(path, encoded, fsync=durable)
    except OSError as exc:
        raise StoreError(f"Could not save to {path}: {exc.strerror or exc}.") from exc


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None,
                       fsync: bool = True) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then `os.replace` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class AtomicJSONStorage(Storage):
    """JSON storage that keeps the data in memory and replaces the file whole on each write.

    TinyDB's own JSONStorage rewrites the file in place, so a crash mid-write truncates it.
    Reads are served from memory: this process is the only writer.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._data: dict[str, dict[str, Any]] | None = None
        self._wrote = False  # this process changed the file: refresh its good copy at close

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._data is None:
            self._data = self._load()
        return self._data

    def _load(self) -> dict[str, dict[str, Any]]:
        return read_database(self.path)

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        try:
            write_database(self.path, data)
        except StoreError:
            # Memory may hold a change the disk refused: reload what is really there.
            self._data = None
            raise
        self._data = data
        self._wrote = True

    def close(self) -> None:
        """Forget the cached tables. A file this process wrote was written whole by
        AudioFetch, so it becomes the good copy: restoring after later damage then loses
        only what a crashed session changed, not the whole last session."""
        if self._wrote:
            with contextlib.suppress(OSError):
                atomic_write_bytes(good_copy_path(self.path), self.path.read_bytes(),
                                   mode=0o600)
            self._wrote = False
        self._data = None


def _remove_stale_temp_files(path: Path) -> None:
    """Temp files are left only by a process killed mid-write; the real file is intact."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


class Store:
    """The app's one TinyDB. All access goes through `run` (sync) or `arun` (from the loop)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        _remove_stale_temp_files(self.path)
        self._db = TinyDB(self.path, storage=AtomicJSONStorage)
        try:
            self._db.storage.read()  # damage shows now, at open, not at the first query
        except StoreError:
            self._db.close()
            raise

    def table(self, name: str) -> Table:
        return self._db.table(name)

    def run(self, fn: Callable[[TinyDB], T]) -> T:
        """Run `fn(db)` while holding the store's lock."""
        with self._lock:
            return fn(self._db)

    async def arun(self, fn: Callable[[TinyDB], T]) -> T:
        """Run `fn(db)` in a worker thread so the event loop never waits on disk."""
        return await asyncio.to_thread(self.run, fn)

    def close(self) -> None:
        with self._lock:
            self._db.close()

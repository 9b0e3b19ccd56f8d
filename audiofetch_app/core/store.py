"""TinyDB behind one lock, with atomic writes so a killed process never leaves a broken file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import threading
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


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then `os.replace` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
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

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._data is None:
            self._data = self._load()
        return self._data

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise StoreError(
                f"The database {self.path} is damaged and could not be read ({exc.msg})."
            ) from exc

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            atomic_write_bytes(self.path, encoded)
        except OSError as exc:
            # Memory may hold a change the disk refused: reload what is really there.
            self._data = None
            raise StoreError(f"Could not save to {self.path}: {exc.strerror or exc}.") from exc
        self._data = data

    def close(self) -> None:
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

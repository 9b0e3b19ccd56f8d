"""One running AudioFetch per data folder: an OS file lock that dies with the process."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

if os.name == "nt":  # pragma: no cover - exercised on Windows builds
    import msvcrt

    def _lock(fh: IO[str]) -> bool:
        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
else:
    import fcntl

    def _lock(fh: IO[str]) -> bool:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False


class InstanceLock:
    """Held for the life of the process; the OS frees it even after kill -9."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "instance.lock"
        self.info_path = data_dir / "instance.json"
        self._fh: IO[str] | None = None

    def acquire(self) -> bool:
        """True if this process now owns the data folder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open on purpose
        if not _lock(fh):
            fh.close()
            return False
        self._fh = fh
        self.publish(pid=os.getpid())
        return True

    def publish(self, **info: Any) -> None:
        """Tell a second start how to reach this one (pid, url, the window's focus token).
        Mode 0600, as the data folder's other secrets, and written whole to a temporary file
        renamed into place, so a command reading it at that moment never sees half of it."""
        current = self.read_info() if self.info_path.exists() else {}
        current.update(info)
        temp = self.info_path.with_name(f".{self.info_path.name}.{os.getpid()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(current))
        os.replace(temp, self.info_path)

    def read_info(self) -> dict[str, Any]:
        try:
            return json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self.info_path.unlink(missing_ok=True)

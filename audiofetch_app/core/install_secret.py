"""Per-install secrets kept as small files in the data folder (mode 0600): the local token
the command line shows the open app, the key NiceGUI signs browser storage with."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

MIN_LENGTH = 32


def install_secret(path: Path, *, create: bool = True) -> str | None:
    """The secret in `path`, made on first use (32 random bytes, URL-safe; mode 0600, written
    to a temporary file and renamed into place, so a reader never sees half of it). A file
    shorter than MIN_LENGTH or unreadable is made again. None when there is none and `create`
    is False. OSError when it cannot be written."""
    try:
        value = path.read_text(encoding="ascii").strip()
        if len(value) >= MIN_LENGTH:
            return value
    except (OSError, UnicodeDecodeError):
        pass
    if not create:
        return None
    value = secrets.token_urlsafe(MIN_LENGTH)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value)
    os.replace(temp, path)
    return value

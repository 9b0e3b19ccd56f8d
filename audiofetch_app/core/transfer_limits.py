"""Bounds every download keeps, whatever the server does: a largest file, a lowest speed
held for a while (curl's --speed-limit/--speed-time), and room left on the disk.

The job manager sets the limits of the job running now (its `max_filesize` option, else
Settings); `net.download` reads them, so every source is bounded without passing them on.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

GIB = 1 << 30
DEFAULT_MAX_FILE = 4 * GIB  # a 2-hour Space is about 100 MB, a long audiobook file 1 GB
DISK_RESERVE = 64 << 20  # never fill the disk to the last byte


@dataclass(frozen=True)
class TransferLimits:
    """`max_file_bytes`: a body larger than this stops (None: no limit). A transfer that
    stays under `min_speed` bytes/s for `speed_time` seconds is treated as cut."""

    max_file_bytes: int | None = DEFAULT_MAX_FILE
    min_speed: int = 1024
    speed_time: float = 60.0


DEFAULT = TransferLimits()
current: ContextVar[TransferLimits] = ContextVar("transfer_limits", default=DEFAULT)


def for_job(max_filesize: int | None, saved_max: int | None) -> TransferLimits:
    """The limits of one job: its own largest file, else the one in Settings."""
    return TransferLimits(max_file_bytes=max_filesize or saved_max or DEFAULT_MAX_FILE)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.I)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str | int) -> int:
    """Bytes from `50M`, `2G`, `1.5GiB`, `800k` or a plain number (binary units, as yt-dlp's
    --max-filesize reads them); ValueError with a sentence for anything else."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        match = _SIZE.match(str(text))
        if not match:
            raise ValueError(f"“{text}” is not a size; write it like 50M, 2G or 800K.")
        value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value < 1:
        raise ValueError("A size limit must be at least one byte.")
    return value


def show_size(size: int) -> str:
    """`4 GiB`, `50 MiB`, `800 KiB` or `512 bytes`: the largest unit it divides into evenly
    enough to read well."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20),
                         ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"


def short_size(size: int) -> str:
    """The exact size in the form parse_size reads back: `4G`, `500M`, `800K` or bytes."""
    for unit, factor in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)

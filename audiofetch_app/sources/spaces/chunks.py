"""Space chunks: `chunk_<19-digit timestamp>_<sequence>_a.aac`, ADTS AAC behind an ID3 tag."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_CHUNK = re.compile(r"chunk_(\d{19})_(\d+)_a\.aac", re.I)
_ADTS_SYNC = re.compile(rb"\xff[\xf1\xf9]")


def chunk_sequence(url: str) -> int | None:
    """The sequence number in a chunk's name, which orders chunks across playlists."""
    match = _CHUNK.search(url)
    return int(match.group(2)) if match else None


def _id3_size(data: bytes, at: int) -> int:
    """Length of the ID3v2 tag starting at `at` (header + body + optional footer)."""
    flags = data[at + 5]
    size = 0
    for byte in data[at + 6:at + 10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size + (10 if flags & 0x10 else 0)


def clean_chunk(data: bytes) -> bytes:
    """Pure ADTS: junk before the ID3 tag and the tag itself removed.

    Some CDNs put stray bytes before `ID3`, which makes FFmpeg reject the chunk; an ID3 tag
    in the middle of a joined ADTS stream would read as corrupt audio, so tags go too.
    """
    at = data.find(b"ID3", 0, 4096)
    start = 0
    while at != -1 and len(data) >= at + 10:
        start = at + _id3_size(data, at)
        at = data.find(b"ID3", start, start + 16) if data[start:start + 3] == b"ID3" else -1
    sync = _ADTS_SYNC.search(data, start)
    if sync is None:
        raise ValueError("the chunk holds no AAC audio")
    return data[sync.start():]


def join_chunks(paths: Iterable[Path], dest: Path) -> int:
    """Clean each chunk (a few dozen KB) in memory and append it to one ADTS file."""
    total = 0
    with open(dest, "wb") as out:
        for path in paths:
            cleaned = clean_chunk(path.read_bytes())
            out.write(cleaned)
            total += len(cleaned)
    return total

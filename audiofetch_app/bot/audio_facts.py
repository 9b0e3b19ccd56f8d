"""What Telegram's player shows of a saved file, read with FFmpeg: duration, title, performer,
and its cover as a thumbnail. Works for any file a job saved, whatever its source."""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from audiofetch_app.core.ffmpeg import header_duration
from audiofetch_app.core.ffmpeg_capture import capture

THUMB_SIDE = 320  # pixels: Telegram's largest thumbnail
MIME_TYPES = {".m4a": "audio/mp4", ".m4b": "audio/mp4", ".mp3": "audio/mpeg",
              ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg",
              ".flac": "audio/flac", ".wav": "audio/wav", ".aac": "audio/aac",
              ".webm": "audio/webm"}


@dataclass(frozen=True)
class AudioFacts:
    """`duration` in seconds (0.0 when unknown); `title` and `artist` tags ("" when none)."""

    duration: float
    title: str
    artist: str
    mime_type: str


def mime_type_of(path: Path) -> str:
    return MIME_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
        or "application/octet-stream"


async def read_facts(path: Path) -> AudioFacts:
    """Duration and global title/artist tags of `path` (FFmpeg's ffmetadata dump)."""
    _, out, err = await capture(["-i", os.fspath(path), "-f", "ffmetadata", "-"])
    tags: dict[str, str] = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.lower() in ("title", "artist", "album_artist") and key.lower() not in tags:
            tags[key.lower()] = value.replace("\\", "").strip()
    return AudioFacts(header_duration(err) or 0.0, tags.get("title", ""),
                      tags.get("artist") or tags.get("album_artist", ""), mime_type_of(path))


async def extract_thumb(path: Path, dest: Path) -> Path | None:
    """The file's embedded cover as a JPEG of at most 320×320 px at `dest`; None when the
    file carries no picture."""
    dest.unlink(missing_ok=True)
    scale = (f"scale='min({THUMB_SIDE},iw)':'min({THUMB_SIDE},ih)'"
             ":force_original_aspect_ratio=decrease")
    code, _, _ = await capture(["-y", "-i", os.fspath(path), "-map", "0:v:0?", "-frames:v", "1",
                             "-vf", scale, "-q:v", "4", "-f", "image2", os.fspath(dest)])
    if code != 0 or not dest.is_file() or dest.stat().st_size == 0:
        dest.unlink(missing_ok=True)
        return None
    return dest


async def image_to_jpeg(source: Path, dest: Path) -> Path | None:
    """A picture (a Space host's avatar in any format) as a JPEG at `dest`; None if FFmpeg
    cannot read it."""
    return await extract_thumb(source, dest)

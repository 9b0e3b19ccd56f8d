"""Turn the joined ADTS audio into a tagged .m4a (stream copy) or .mp3, with cover art."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from audiofetch_app.core import ffmpeg, net
from audiofetch_app.sources.spaces.metadata import SpaceMetadata

COVER_LIMIT = 5 * 1024 * 1024


def tags_for(meta: SpaceMetadata | None, url: str) -> dict[str, str]:
    if meta is None:
        return {"comment": url}
    date = meta.started_at or meta.scheduled_start
    return {
        "title": meta.display_title,
        "artist": meta.host_name or meta.host_screen_name,
        "album_artist": meta.host_name or meta.host_screen_name,
        "album": "X Spaces",
        "date": date.strftime("%Y-%m-%d") if date else "",
        "comment": meta.url,
    }


async def fetch_cover(http: httpx.AsyncClient, avatar_url: str, dest: Path) -> Path | None:
    """The host's avatar, in the large size X also serves; None when it cannot be had."""
    if not avatar_url:
        return None
    candidates = [avatar_url.replace("_normal.", "_400x400."), avatar_url]
    for url in dict.fromkeys(candidates):
        try:
            data = await net.fetch_bytes(http, url, max_bytes=COVER_LIMIT,
                                         policy=net.RetryPolicy(attempts=2))
        except net.NetError:
            continue
        if data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n":
            path = dest.with_suffix(".png" if data[:4] == b"\x89PNG" else ".jpg")
            path.write_bytes(data)
            return path
    return None


async def mux_space(joined: Path, dest: Path, *, fmt: str, tags: dict[str, str],
                    cover: Path | None, duration: float | None,
                    on_progress: Callable[[float, float | None], None] | None = None) -> Path:
    """The joined ADTS audio as a tagged .m4a (stream copy) or .mp3, with cover art."""
    return await ffmpeg.write_audio(["-f", "aac", "-i", str(joined)], dest, fmt=fmt,
                                    metadata=tags, cover=cover, duration=duration,
                                    on_progress=on_progress)

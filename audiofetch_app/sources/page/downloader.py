"""Fetch one track to a file: plain audio through net.download, HLS through core.hls."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx

from audiofetch_app.core import ffmpeg, hls, net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.urls import extension_for, url_extension
from audiofetch_app.sources.page.tracks import Track


def planned_extension(track: Track) -> str:
    """The extension before downloading: from the URL, else the page's MIME type."""
    if hls.is_hls_url(track.url) or (track.mime or "").endswith("mpegurl"):
        return "m4a"
    return url_extension(track.url) or extension_for(track.mime, "mp3")


async def fetch_track(client: httpx.AsyncClient, track: Track, dest: Path, *,
                      on_bytes: Callable[[int, int | None], None], workers: int = 4) -> Path:
    """Save `track` as `dest` (its extension fixed from Content-Type when the URL had none).

    Files keep their original format; HLS audio is joined by FFmpeg without re-encoding.
    """
    if dest.suffix == ".m4a" and (hls.is_hls_url(track.url)
                                  or (track.mime or "").endswith("mpegurl")):
        return await _fetch_hls(client, track, dest, on_bytes=on_bytes, workers=workers)
    result = await net.download(client, track.url, dest, expect="audio", on_progress=on_bytes)
    real = extension_for(result.content_type, dest.suffix.lstrip("."))
    if not url_extension(track.url) and f".{real}" != dest.suffix:
        dest = dest.replace(dest.with_suffix(f".{real}"))
    await ffmpeg.ensure_whole(dest)
    return dest


async def _fetch_hls(client: httpx.AsyncClient, track: Track, dest: Path, *,
                     on_bytes: Callable[[int, int | None], None], workers: int) -> Path:
    playlist = await hls.load_playlist(client, track.url)
    if not playlist.ended:  # as a direct link: a live window is not the recording
        raise JobError("This track is a live HLS stream; only finished recordings can be "
                       "saved.")
    workdir = dest.with_name(f".{dest.name}.segments")
    done = 0

    def add(delta: int) -> None:
        nonlocal done
        done += delta
        on_bytes(done, None)

    paths = await hls.download_segments(client, playlist, workdir, workers=workers, on_bytes=add)
    local = hls.write_local_playlist(playlist, workdir, paths)
    await hls.mux(local, dest, fmt="m4a", duration=playlist.duration or None)
    shutil.rmtree(workdir, ignore_errors=True)
    return dest

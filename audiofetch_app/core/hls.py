"""HLS audio (RFC 8216): read a playlist, fetch its segments in parallel, let FFmpeg join them.

The pieces live in hls_model (what a playlist says), hls_define (attribute lists and
variables), hls_parse (reading a media playlist), hls_master (choosing the audio in a master
playlist), hls_fetch (byte ranges and keys), hls_crypto (AES-128) and hls_join (the local
playlist and FFmpeg); this module keeps the names callers use. HLS.md beside it lists what
AudioFetch does with each tag.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from audiofetch_app.core import net
from audiofetch_app.core.hls_crypto import decrypt_file, iv_for
from audiofetch_app.core.hls_define import substitute
from audiofetch_app.core.hls_fetch import KeyStore, RangeReader
from audiofetch_app.core.hls_join import init_files, mux, segment_suffix, write_local_playlist
from audiofetch_app.core.hls_master import choose_variant
from audiofetch_app.core.hls_model import (
    MAX_PLAYLIST_BYTES,
    MAX_SEGMENTS,
    ByteRange,
    HlsError,
    InitSection,
    MediaPlaylist,
    Segment,
    short_url,
)
from audiofetch_app.core.hls_parse import parse_media_playlist
from audiofetch_app.core.tasks import run_workers

__all__ = [
    "MAX_PLAYLIST_BYTES", "MAX_SEGMENTS", "ByteRange", "HlsError", "InitSection",
    "MediaPlaylist", "Segment", "choose_variant", "download_segments", "is_hls_url",
    "load_playlist", "mux", "parse_media_playlist", "write_local_playlist",
]

log = logging.getLogger(__name__)


def is_hls_url(url: str) -> bool:
    """True for a link whose path ends in .m3u8 or .m3u (RFC 8216 §4: the playlist's names)."""
    return urlsplit(url).path.lower().endswith((".m3u8", ".m3u"))


async def load_playlist(client: httpx.AsyncClient, url: str) -> MediaPlaylist:
    """Fetch `url`, following a master playlist to its best audio (RFC 8216 §4.3.4, §6.3.1)."""
    imported: dict[str, str] = {}  # EXT-X-DEFINE variables a media playlist may IMPORT
    for _ in range(3):  # master -> media, with room for one odd redirecting layer
        text, response = await net.fetch_text(client, url, max_bytes=MAX_PLAYLIST_BYTES)
        final_url = str(response.url)
        if "#EXTM3U" not in text[:1024]:
            raise HlsError(f"{short_url(url)} is not an HLS playlist.")
        variant = choose_variant(text, final_url, imported)
        if variant is None:
            playlist = parse_media_playlist(text, final_url, imported)
            if playlist.gaps_skipped:
                log.info("%s: %d EXT-X-GAP segments (%.1f s) have no media and are left out",
                         short_url(final_url), playlist.gaps_skipped, playlist.gap_seconds)
            return playlist
        imported = substitute(text, final_url, imported)[1]
        url = variant
    raise HlsError(f"The HLS playlist at {short_url(url)} nests too deeply.")


async def download_segments(
    client: httpx.AsyncClient,
    playlist: MediaPlaylist,
    workdir: Path,
    *,
    workers: int = 8,
    on_bytes: Callable[[int], None] | None = None,
    on_segment: Callable[[int], None] | None = None,
    headers: dict[str, str] | None = None,
) -> list[Path]:
    """Fetch every segment and initialisation section into `workdir` as plain media: byte
    ranges by Range requests (RFC 8216 §4.3.2.2), AES-128 decrypted with each segment's own
    IV (§4.3.2.4, §5.2). Finished files are reused; one path per segment is returned."""
    workdir.mkdir(parents=True, exist_ok=True)
    fetcher = _Fetcher(client, workdir, headers, on_bytes)
    jobs: list[tuple[Segment | InitSection, Path, int | None]] = [
        (section, path, None) for section, path in init_files(playlist, workdir).items()]
    paths = [workdir / f"seg{s.index:06d}{segment_suffix(s.url)}" for s in playlist.segments]
    jobs.extend((s, p, s.sequence) for s, p in zip(playlist.segments, paths, strict=True))
    done = 0

    async def fetch(item: Segment | InitSection, path: Path, sequence: int | None) -> None:
        nonlocal done
        if not path.exists():
            await fetcher.fetch(item, path, sequence)
        if sequence is not None:
            done += 1
            if on_segment:
                on_segment(done)

    pending = iter(jobs)  # shared: each worker takes the next job, so tasks stay few

    async def worker() -> None:
        for job in pending:
            await fetch(*job)

    await run_workers(worker, workers)
    return paths


class _Fetcher:
    """One resource to one plain file: whole or a byte range, then decrypted if keyed."""

    def __init__(self, client: httpx.AsyncClient, workdir: Path,
                 headers: dict[str, str] | None, on_bytes: Callable[[int], None] | None
                 ) -> None:
        self.client, self.workdir, self.headers = client, workdir, headers
        self.on_bytes = on_bytes
        self.ranges = RangeReader(client, headers)
        self.keys = KeyStore(client, headers)

    async def fetch(self, item: Segment | InitSection, path: Path,
                    sequence: int | None) -> None:
        """`sequence` is the segment's Media Sequence Number; None for an init section."""
        target = path.with_name(path.name + ".enc") if item.key_url else path
        if not target.exists():
            if item.byterange is not None:
                await self.ranges.fetch(item.url, item.byterange, target, self.on_bytes)
            else:
                await self._download(item.url, target)
        if item.key_url:
            key = await self.keys.get(item.key_url)
            iv = iv_for(item.key_iv, sequence if sequence is not None else 0)
            what = (f"segment {sequence} of the HLS stream" if sequence is not None
                    else "the initialisation section of the HLS stream")
            await asyncio.to_thread(decrypt_file, target, path, key, iv, what)
            target.unlink(missing_ok=True)

    async def _download(self, url: str, target: Path) -> None:
        seen = 0

        def progress(total_done: int, _total: int | None) -> None:
            nonlocal seen
            if self.on_bytes:
                self.on_bytes(total_done - seen)
            seen = total_done

        await net.download(self.client, url, target, on_progress=progress,
                           headers=self.headers, durable=False)

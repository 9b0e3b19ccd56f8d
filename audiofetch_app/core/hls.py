"""HLS audio: read a playlist, fetch its segments in parallel, let FFmpeg join them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import m3u8

from audiofetch_app.core import ffmpeg, net

log = logging.getLogger(__name__)


class HlsError(Exception):
    """A playlist that cannot be used; the message is one sentence for the user."""


MAX_PLAYLIST_BYTES = 8 << 20  # a 30,000-segment playlist is about 2 MB
MAX_SEGMENTS = 30_000  # 33 hours of 4-second segments


def _loads(text: str, url: str) -> m3u8.M3U8:
    """m3u8's parse, with a cap on segments checked first (memory stays bounded) and any
    parse failure turned into a sentence that names the first line it cannot read."""
    count = text.count("#EXTINF")
    if count > MAX_SEGMENTS:
        raise HlsError(f"The HLS playlist at {_short(url)} lists {count:,} segments; "
                       f"AudioFetch takes at most {MAX_SEGMENTS:,}.")
    try:
        return m3u8.loads(text, uri=url)
    except Exception as exc:  # m3u8 raises plain ValueErrors and others on broken input
        number, line = _first_bad_line(text, url)
        raise HlsError(f"The HLS playlist at {_short(url)} cannot be read: line {number} "
                       f"({line[:80]!r}) is not valid HLS.") from exc


def _first_bad_line(text: str, url: str) -> tuple[int, str]:
    """The first line whose inclusion makes the playlist unreadable (by bisection, so a long
    playlist costs a few parses, not one per line)."""
    lines = text.splitlines()
    low, high = 1, len(lines)
    while low < high:
        middle = (low + high) // 2
        try:
            m3u8.loads("\n".join(lines[:middle]), uri=url)
        except Exception:
            high = middle
        else:
            low = middle + 1
    return low, lines[low - 1] if lines else ""


@dataclass
class Segment:
    index: int
    url: str
    duration: float
    key_url: str | None = None  # AES-128 key, fetched once and referenced locally
    key_iv: str | None = None


@dataclass
class MediaPlaylist:
    url: str
    segments: list[Segment]
    init_url: str | None = None  # fMP4 initialisation section (EXT-X-MAP)
    ended: bool = True
    target_duration: float = 0.0
    media_sequence: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.segments)


def is_hls_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith((".m3u8", ".m3u"))


def parse_media_playlist(text: str, url: str) -> MediaPlaylist:
    """Parse a media playlist; relative and root-relative URIs are joined to `url`."""
    parsed = _loads(text, url)
    segments: list[Segment] = []
    for i, seg in enumerate(parsed.segments):
        key = seg.key if seg.key and seg.key.method and seg.key.method != "NONE" else None
        if key is not None and key.method != "AES-128":
            raise HlsError(f"The stream is protected with {key.method}, which cannot be saved.")
        segments.append(Segment(
            index=i,
            url=urljoin(url, seg.uri),
            duration=float(seg.duration or 0.0),
            key_url=urljoin(url, key.uri) if key is not None else None,
            key_iv=key.iv if key is not None else None,
        ))
    init = parsed.segment_map[0].uri if parsed.segment_map else None
    return MediaPlaylist(
        url=url,
        segments=segments,
        init_url=urljoin(url, init) if init else None,
        ended=bool(parsed.is_endlist) or parsed.playlist_type == "vod",
        target_duration=float(parsed.target_duration or 0.0),
        media_sequence=int(parsed.media_sequence or 0),
    )


def choose_variant(text: str, url: str) -> str | None:
    """For a master playlist, the URL of the best audio rendition; None for a media playlist."""
    parsed = _loads(text, url)
    if not parsed.is_variant:
        return None
    audio = [m for m in parsed.media if (m.type or "").upper() == "AUDIO" and m.uri]
    if audio:
        best = next((m for m in audio if (m.default or "").upper() == "YES"), audio[0])
        return urljoin(url, best.uri)
    variants = list(parsed.playlists)
    if not variants:
        raise HlsError(f"The HLS playlist at {_short(url)} lists no streams.")
    audio_only = [v for v in variants if _is_audio_only(v.stream_info.codecs)]
    pool = audio_only or variants
    best = max(pool, key=lambda v: v.stream_info.bandwidth or 0)
    return urljoin(url, best.uri)


def _is_audio_only(codecs: str | None) -> bool:
    if not codecs:
        return False
    parts = [c.strip().lower() for c in codecs.split(",")]
    return all(p.startswith(("mp4a", "ac-3", "ec-3", "opus", "flac", "mp3")) for p in parts)


async def load_playlist(client: httpx.AsyncClient, url: str) -> MediaPlaylist:
    """Fetch `url`, following a master playlist to its best audio rendition."""
    for _ in range(3):  # master -> media, with room for one odd redirecting layer
        text, response = await net.fetch_text(client, url, max_bytes=MAX_PLAYLIST_BYTES)
        final_url = str(response.url)
        if "#EXTM3U" not in text[:1024]:
            raise HlsError(f"{_short(url)} is not an HLS playlist.")
        variant = choose_variant(text, final_url)
        if variant is None:
            return parse_media_playlist(text, final_url)
        url = variant
    raise HlsError(f"The HLS playlist at {_short(url)} nests too deeply.")


def _segment_suffix(url: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if suffix and len(suffix) <= 6 else ".ts"


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
    """Fetch every segment (and init/key files) into `workdir`; finished files are reused."""
    workdir.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, Path, bool]] = []
    if playlist.init_url:
        jobs.append((playlist.init_url, workdir / f"init{_segment_suffix(playlist.init_url)}",
                     False))
    jobs.extend((url, path, False) for url, path in _key_files(playlist, workdir).items())
    paths = [workdir / f"seg{s.index:06d}{_segment_suffix(s.url)}" for s in playlist.segments]
    jobs.extend((s.url, p, True) for s, p in zip(playlist.segments, paths, strict=True))
    done = 0

    async def fetch(url: str, path: Path, is_segment: bool) -> None:
        nonlocal done
        if not path.exists():
            seen = 0

            def progress(total_done: int, _total: int | None) -> None:
                nonlocal seen
                if on_bytes:
                    on_bytes(total_done - seen)
                seen = total_done

            await net.download(client, url, path, on_progress=progress, headers=headers,
                               durable=False)
        if is_segment:
            done += 1
            if on_segment:
                on_segment(done)

    pending = iter(jobs)  # shared: each worker takes the next job, so tasks stay few

    async def worker() -> None:
        for job in pending:
            await fetch(*job)

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, workers))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return paths


def _key_files(playlist: MediaPlaylist, workdir: Path) -> dict[str, Path]:
    urls = dict.fromkeys(s.key_url for s in playlist.segments if s.key_url)
    return {url: workdir / f"key{i}.key" for i, url in enumerate(urls)}


def write_local_playlist(playlist: MediaPlaylist, workdir: Path, paths: list[Path]) -> Path:
    """A copy of the playlist pointing at the downloaded files, for FFmpeg's HLS reader.

    The files sit beside the playlist and are named by index, so plain names are safe.
    """
    key_for = _key_files(playlist, workdir)
    lines = ["#EXTM3U", "#EXT-X-VERSION:7",
             f"#EXT-X-TARGETDURATION:{int(playlist.target_duration or 10) + 1}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    if playlist.init_url:
        init_file = next(workdir.glob("init.*"))
        lines.append(f'#EXT-X-MAP:URI="{init_file.name}"')
    current_key: str | None = None
    for seg, path in zip(playlist.segments, paths, strict=True):
        if seg.key_url != current_key:
            if seg.key_url:
                iv = f",IV={seg.key_iv}" if seg.key_iv else ""
                lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="{key_for[seg.key_url].name}"{iv}')
            else:
                lines.append("#EXT-X-KEY:METHOD=NONE")
            current_key = seg.key_url
        lines.append(f"#EXTINF:{seg.duration:.6f},")
        lines.append(path.name)  # relative: FFmpeg does not decode %20 in file: URIs
    lines.append("#EXT-X-ENDLIST")
    local = workdir / "local.m3u8"
    local.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return local


async def mux(local_playlist: Path, dest: Path, *, fmt: str = "m4a",
              metadata: dict[str, str] | None = None, duration: float | None = None,
              on_progress: Callable[[float, float | None], None] | None = None) -> Path:
    """Join the local playlist into `dest` (through `dest.part`, renamed when FFmpeg succeeds)."""
    inputs = ["-allowed_extensions", "ALL", "-protocol_whitelist", "file,crypto,data",
              "-i", str(local_playlist)]
    return await ffmpeg.write_audio(inputs, dest, fmt=fmt, metadata=metadata,
                                    duration=duration, on_progress=on_progress)


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"

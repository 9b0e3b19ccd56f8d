"""Join downloaded segments into one audio file with FFmpeg.

The local playlist lists plain files only (AudioFetch decrypts AES-128 itself), keeps the
EXT-X-MAP and EXT-X-DISCONTINUITY tags (RFC 8216 §4.3.2.5, §4.3.2.3), and FFmpeg copies the
audio with timestamps laid end to end, so a timestamp reset at a discontinuity or a skipped
EXT-X-GAP segment leaves neither an overlap nor a hole. When the audio format changes at a
discontinuity (an ad in another sample rate), the parts are decoded and encoded once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from audiofetch_app.core import ffmpeg
from audiofetch_app.core.ffmpeg_capture import capture
from audiofetch_app.core.hls_model import HlsError, InitSection, MediaPlaylist, Segment

log = logging.getLogger(__name__)

_INPUT = ["-allowed_extensions", "ALL", "-protocol_whitelist", "file,crypto,data"]
# Each packet starts where the one before it ended: the copy has no holes and no overlaps.
_CONTIGUOUS = r"setts=ts=if(N\,PREV_OUTDTS+PREV_OUTDURATION\,0)"
_REENCODE = {"m4a": (["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart"], "mp4"),
             "mp3": ffmpeg.OUTPUT_FORMATS["mp3"]}
MAX_FORMAT_CHANGES = 200
MAX_PROBED_RUNS = 256
_PROBE_SECONDS = 60.0


def segment_suffix(url: str) -> str:
    """The file extension a downloaded resource keeps: FFmpeg's HLS reader checks it, and
    RFC 8216 §3 names segment formats by it (.ts, .aac, .mp3, .m4s...)."""
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if suffix and len(suffix) <= 6 else ".ts"


def init_files(playlist: MediaPlaylist, workdir: Path) -> dict[InitSection, Path]:
    """Where each distinct initialisation section (EXT-X-MAP, RFC 8216 §4.3.2.5) is saved."""
    sections = dict.fromkeys(s.init for s in playlist.segments if s.init is not None)
    return {section: workdir / f"init{n:03d}{segment_suffix(section.url)}"
            for n, section in enumerate(sections)}


def write_local_playlist(playlist: MediaPlaylist, workdir: Path, paths: list[Path]) -> Path:
    """A copy of the playlist pointing at the downloaded, decrypted files, for FFmpeg's HLS
    reader; EXT-X-MAP and EXT-X-DISCONTINUITY stay where RFC 8216 §4.3.2 put them.

    The files sit beside the playlist and are named by index, so plain names are safe.
    """
    inits = init_files(playlist, workdir)
    lines = _header(playlist.target_duration)
    current: Path | None = None
    for position, (segment, path) in enumerate(zip(playlist.segments, paths, strict=True)):
        if position and segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        init = inits.get(segment.init) if segment.init else None
        if init is not None and init != current:
            lines.append(f'#EXT-X-MAP:URI="{init.name}"')
            current = init
        lines += _entry(segment, path)
    lines.append("#EXT-X-ENDLIST")
    local = workdir / "local.m3u8"
    local.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return local


def _header(target_duration: float) -> list[str]:
    return ["#EXTM3U", "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{int(target_duration or 10) + 1}",
            "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]


def _entry(segment: Segment, path: Path) -> list[str]:
    # relative: FFmpeg does not decode %20 in file: URIs
    return [f"#EXTINF:{segment.duration:.6f},", path.name]


@dataclass
class _Run:
    """Segments between two discontinuities (or changes of EXT-X-MAP)."""

    map_line: str | None
    lines: list[str] = field(default_factory=list)

    def first_file(self) -> str | None:
        """The file that tells the run's audio format: its init section, else a segment."""
        if self.map_line:
            match = re.search(r'URI="([^"]*)"', self.map_line)
            return match.group(1) if match else None
        return next((line for line in self.lines if not line.startswith("#")), None)


def _runs(text: str) -> tuple[list[str], list[_Run]]:
    """The local playlist's header and its runs."""
    header: list[str] = []
    runs: list[_Run] = []
    current_map: str | None = None
    split = True
    for line in text.splitlines():
        if line.startswith("#EXT-X-DISCONTINUITY"):
            split = True
        elif line.startswith("#EXT-X-MAP"):
            current_map, split = line, True
        elif line == "#EXT-X-ENDLIST":
            continue
        elif line.startswith("#EXTINF") or not line.startswith("#"):
            if split:
                runs.append(_Run(current_map))
                split = False
            runs[-1].lines.append(line)
        elif not runs:
            header.append(line)
    return header, runs


async def mux(local_playlist: Path, dest: Path, *, fmt: str = "m4a",
              metadata: dict[str, str] | None = None, duration: float | None = None,
              on_progress: Callable[[float, float | None], None] | None = None) -> Path:
    """Join the local playlist into `dest` (through `dest.part`, renamed when FFmpeg
    succeeds); the audio of runs split by EXT-X-DISCONTINUITY (RFC 8216 §4.3.2.3) is copied
    when every run has the same format, and encoded once when the format changes."""
    header, runs = _runs(local_playlist.read_text(encoding="utf-8"))
    groups = await _groups(local_playlist.parent, runs) if len(runs) > 1 else [runs]
    if len(groups) <= 1:
        inputs = [*_INPUT, "-i", str(local_playlist), "-bsf:a", _CONTIGUOUS]
        return await ffmpeg.write_audio(inputs, dest, fmt=fmt, metadata=metadata,
                                        duration=duration, on_progress=on_progress)
    if len(groups) > MAX_FORMAT_CHANGES:
        raise HlsError(f"The HLS stream changes its audio format {len(groups) - 1} times; "
                       f"AudioFetch joins at most {MAX_FORMAT_CHANGES} such parts.")
    log.info("The audio format changes at %d discontinuities: encoding once", len(groups) - 1)
    return await _reencode(header, groups, local_playlist.parent, dest, fmt=fmt,
                           metadata=metadata, duration=duration, on_progress=on_progress)


async def _groups(workdir: Path, runs: list[_Run]) -> list[list[_Run]]:
    """Consecutive runs whose audio has the same container, codec, rate and channels."""
    if len(runs) > MAX_PROBED_RUNS:
        # A packager that marks nearly every segment does not change formats that often.
        log.warning("%d discontinuities: too many to check each for a format change",
                    len(runs) - 1)
        return [runs]
    slots = asyncio.Semaphore(4)  # a few FFmpeg probes at a time
    names = list(dict.fromkeys(run.first_file() for run in runs))  # a shared map: one probe
    found = await asyncio.gather(*(_signature(workdir, name, slots) for name in names))
    by_name = dict(zip(names, found, strict=True))
    signatures = [by_name[run.first_file()] for run in runs]
    groups: list[list[_Run]] = []
    last: tuple[str, ...] | None = None
    for run, signature in zip(runs, signatures, strict=True):
        if not groups or (signature is not None and signature != last):
            groups.append([])
        groups[-1].append(run)
        last = signature if signature is not None else last
    return groups


_INPUT_LINE = re.compile(r"^Input #0, (\S+?),? from", re.M)
_AUDIO_LINE = re.compile(r"Stream #0:\d+.*?: Audio: (\w+)(?: \(([^)]*)\))?.*?, (\d+) Hz, "
                         r"([^,]+)")


async def _signature(workdir: Path, name: str | None, slots: asyncio.Semaphore
                     ) -> tuple[str, ...] | None:
    """What FFmpeg says of a run's first file; None when it says nothing useful."""
    if name is None:
        return None
    async with slots:
        _, _, text = await capture(["-i", str(workdir / name)], seconds=_PROBE_SECONDS)
    container = _INPUT_LINE.search(text)
    audio = _AUDIO_LINE.search(text)
    if audio is None:
        return None
    codec, detail, rate, channels = audio.groups()
    profile = detail if detail and "/" not in detail else ""
    return (container.group(1) if container else "", codec, profile, rate, channels.strip())


async def _reencode(header: list[str], groups: list[list[_Run]], workdir: Path, dest: Path,
                    *, fmt: str, metadata: dict[str, str] | None, duration: float | None,
                    on_progress: Callable[[float, float | None], None] | None) -> Path:
    if fmt not in _REENCODE:
        raise ffmpeg.FFmpegError(f"Unknown output format {fmt!r}; use m4a or mp3.")
    args: list[str] = []
    for number, group in enumerate(groups):
        lines = list(header)
        for position, run in enumerate(group):
            if position:
                lines.append("#EXT-X-DISCONTINUITY")
            if run.map_line:
                lines.append(run.map_line)
            lines += run.lines
        part_list = workdir / f"local-part{number:03d}.m3u8"
        part_list.write_text("\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n", encoding="utf-8")
        args += [*_INPUT, "-i", str(part_list)]
    # Each part's timestamps restart at zero, so the concat filter lays them end to end.
    chains = "".join(f"[{n}:a:0]asetpts=N/SR/TB[p{n}];" for n in range(len(groups)))
    joined = "".join(f"[p{n}]" for n in range(len(groups)))
    args += ["-filter_complex", f"{chains}{joined}concat=n={len(groups)}:v=0:a=1[a]",
             "-map", "[a]"]
    codec_args, muxer = _REENCODE[fmt]
    args += codec_args
    for key, value in (metadata or {}).items():
        if value:
            args += ["-metadata", f"{key}={value}"]
    part = dest.with_name(dest.name + ".part")
    args += ["-f", muxer, str(part)]
    try:
        await ffmpeg.run_ffmpeg(args, duration=duration, on_progress=on_progress)
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return dest

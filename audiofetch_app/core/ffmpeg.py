"""Find FFmpeg (env, imageio-ffmpeg, PATH) and run it as an asyncio subprocess with progress."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from audiofetch_app.core.job_context import JobError

ENV_VAR = "IMAGEIO_FFMPEG_EXE"
_TAIL_LINES = 20
_KILL_AFTER = 2.0
_MAX_LINE = 64 * 1024

ProgressCallback = Callable[[float, float | None], None]


class FFmpegError(Exception):
    """FFmpeg failed; str() is one sentence for the user, `stderr_tail` is for the log."""

    def __init__(self, message: str, stderr_tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.stderr_tail: list[str] = list(stderr_tail or [])


class FFmpegNotFound(FFmpegError):
    """No usable FFmpeg binary."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message or "FFmpeg was not found. Install it or set IMAGEIO_FFMPEG_EXE to its path."
        )


def _popen_kwargs() -> dict[str, Any]:
    # A windowed (frozen) app would flash a console for every FFmpeg run without this flag.
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NO_WINDOW}
    return {}


@functools.lru_cache(maxsize=1)
def find_ffmpeg() -> str:
    """Path of FFmpeg: $IMAGEIO_FFMPEG_EXE, else imageio-ffmpeg's binary, else PATH."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        raise FFmpegNotFound(
            f"FFmpeg was not found at {env} (set by {ENV_VAR}). "
            f"Fix that path or unset {ENV_VAR} to use the bundled FFmpeg."
        )
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and os.path.isfile(exe):
            return exe
    except Exception:  # missing package or binary: fall through to PATH
        pass
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    raise FFmpegNotFound()


async def located() -> str:
    """find_ffmpeg without holding up the event loop: its first call runs `ffmpeg -version`
    (imageio-ffmpeg checks its binary that way), 20-80 ms. Errors as find_ffmpeg's."""
    return await asyncio.to_thread(find_ffmpeg)


def ffmpeg_version(exe: str | None = None) -> str:
    """The version FFmpeg reports (e.g. "7.0.2-static"). Blocking: call via asyncio.to_thread."""
    exe = exe or find_ffmpeg()
    try:
        done = subprocess.run(
            [exe, "-hide_banner", "-version"], stdin=subprocess.DEVNULL,
            capture_output=True, timeout=15, check=False, **_popen_kwargs(),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise FFmpegError(f"FFmpeg at {exe} could not be started: {exc}.") from exc
    first = done.stdout.decode("utf-8", "replace").strip().splitlines()[:1]
    match = re.match(r"\S+ version (\S+)", first[0]) if first else None
    if done.returncode != 0 or not match:
        raise FFmpegError(f"The program at {exe} did not answer like FFmpeg.")
    return match.group(1)


# ---------------------------------------------------------------------------- running


async def _pump(stream: asyncio.StreamReader | None, on_line: Callable[[str], None]) -> None:
    """Read a pipe to EOF, calling `on_line` per line (\\n or \\r); never blocks the child."""
    if stream is None:
        return
    buf = b""
    while chunk := await stream.read(65536):
        buf += chunk
        *lines, buf = re.split(rb"[\r\n]", buf)
        for raw in lines:
            if raw.strip():
                on_line(raw.decode("utf-8", "replace").rstrip())
        if len(buf) > _MAX_LINE:  # a runaway line: keep its end, memory stays bounded
            buf = buf[-_MAX_LINE:]
    if buf.strip():
        on_line(buf.decode("utf-8", "replace").rstrip())


def _seconds(block: dict[str, str]) -> float | None:
    """Seconds done from one `-progress` block; out_time_ms is microseconds too (FFmpeg quirk)."""
    for key in ("out_time_us", "out_time_ms"):
        value = block.get(key, "")
        if value.lstrip("-").isdigit():
            return max(0.0, int(value) / 1_000_000)
    match = re.fullmatch(r"(-?)(\d+):(\d+):(\d+(?:\.\d+)?)", block.get("out_time", ""))
    if match:
        if match.group(1):
            return 0.0
        h, m, s = match.group(2, 3, 4)
        return int(h) * 3600 + int(m) * 60 + float(s)
    return None


class _ProgressParser:
    def __init__(self, duration: float | None, callback: ProgressCallback | None) -> None:
        self.duration = duration
        self.callback = callback
        self.block: dict[str, str] = {}

    def feed(self, line: str) -> None:
        key, sep, value = line.partition("=")
        if not sep:
            return
        key, value = key.strip(), value.strip()
        if key != "progress":
            self.block[key] = value
            return
        seconds = _seconds(self.block)
        self.block = {}
        if seconds is not None and self.callback is not None:
            self.callback(seconds, self.duration)


_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)+")
_NOISE = re.compile(
    r"^(?:Conversion failed|Terminating thread|Task finished with error|Exiting normally"
    r"|Error opening (?:input|output) files?\b|size=|.*misdetection possible"
    r"|.*Error number -?\d+ occurred)", re.I,
)
_ERRORISH = re.compile(
    r"error|invalid|no such|not found|denied|unknown|unsupported|not supported|failed"
    r"|could not|cannot|unable|refused|timed out|no space|nothing was written|forbidden", re.I,
)
# Phrases that say what went wrong better than whatever line happens to be first.
_TELLING = [
    (re.compile(r"Invalid data found when processing input"),
     "Invalid data found when processing input"),
    (re.compile(r"Error opening input: End of file"), "the input is empty or is not audio"),
    (re.compile(r"Nothing was written into output file"),
     "no audio could be decoded from the input"),
]


def explain_failure(lines: list[str], returncode: int | None = None) -> str:
    """One user-facing sentence built from the most telling line of FFmpeg's stderr."""
    cleaned = [_PREFIX.sub("", line).strip() for line in lines]
    detail = None
    for pattern, text in _TELLING:
        if any(pattern.search(line) for line in cleaned):
            detail = text
            break
    if detail is None:
        # The first real error is usually the cause; later ones are its consequences.
        detail = next((line for line in cleaned
                       if line and not _NOISE.match(line) and _ERRORISH.search(line)), None)
    if detail is None:
        return f"FFmpeg stopped with exit code {returncode}."
    return f"FFmpeg could not process the audio: {detail.rstrip('.!: ')}."


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Terminate, then kill after a grace period; always reap so no zombie is left."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            async with asyncio.timeout(_KILL_AFTER):
                await proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    await proc.wait()


async def _supervise(proc: asyncio.subprocess.Process, work: Awaitable[Any]) -> None:
    """Await `work`; on any failure or cancellation stop the process before re-raising."""
    try:
        await work
    except BaseException:
        # Shielded so that a second cancellation cannot leave the child running.
        await asyncio.shield(asyncio.ensure_future(_stop(proc)))
        raise


async def _spawn(cmd: list[str], cwd: Path | None) -> asyncio.subprocess.Process:
    try:
        return await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=cwd, **_popen_kwargs(),
        )
    except FileNotFoundError as exc:
        raise FFmpegNotFound(f"FFmpeg was not found at {cmd[0]}.") from exc
    except OSError as exc:
        raise FFmpegError(f"FFmpeg could not be started: {exc.strerror or exc}.") from exc


async def run_ffmpeg(
    args: list[str],
    *,
    duration: float | None = None,
    on_progress: ProgressCallback | None = None,
    log: logging.Logger | None = None,
    cwd: Path | None = None,
) -> None:
    """Run FFmpeg with `args`, reporting (seconds_done, duration); raise FFmpegError on failure.

    Progress comes over stdout, so `args` must not write media to stdout.
    """
    log = log or logging.getLogger(__name__)
    cmd = [await located(), "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats",
           *args]
    log.debug("running %s", subprocess.list2cmdline(cmd))
    stderr_tail: deque[str] = deque(maxlen=_TAIL_LINES)
    parser = _ProgressParser(duration, on_progress)
    proc = await _spawn(cmd, cwd)
    await _supervise(proc, asyncio.gather(
        _pump(proc.stdout, parser.feed), _pump(proc.stderr, stderr_tail.append)
    ))
    returncode = await proc.wait()
    if returncode != 0:
        tail = list(stderr_tail)
        log.warning("FFmpeg exited with code %s; last lines of its output:\n%s",
                    returncode, "\n".join(tail))
        raise FFmpegError(explain_failure(tail, returncode), tail)


_DURATION = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")


def header_duration(text: str) -> float | None:
    """The `Duration: HH:MM:SS.ss` FFmpeg prints of its first input, in seconds; None when
    it gives none (or "N/A")."""
    match = _DURATION.search(text)
    if match is None:
        return None
    h, m, s = match.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


async def probe_duration(path: str | os.PathLike[str]) -> float | None:
    """Duration of a media file in seconds from FFmpeg's header dump, or None if unknown."""
    cmd = [await located(), "-hide_banner", "-nostdin", "-i", os.fspath(path)]
    proc = await _spawn(cmd, None)
    lines: list[str] = []
    # No output file is given, so FFmpeg exits non-zero after printing the header: expected.
    await _supervise(proc, asyncio.gather(
        _pump(proc.stdout, lambda _line: None), _pump(proc.stderr, lines.append)
    ))
    await proc.wait()
    return next((found for line in lines if (found := header_duration(line)) is not None),
                None)


_TIME = re.compile(r"time=(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")


def _clock(match: re.Match[str]) -> float:
    h, m, sec = match.groups()
    return int(h) * 3600 + int(m) * 60 + float(sec)


async def check_complete(path: Path) -> str | None:
    """Why the audio file at `path` is not whole, in one sentence; None when it reads to its
    end. Reads every packet without decoding or re-encoding (`-c copy` to the null muxer):
    a container FFmpeg cannot open, or one whose header promises more time than its packets
    hold (a cut-off MP3 with a Xing/Info header, an MP4 without its moov atom), is not whole.
    Formats that declare no length (a plain MP3 stream, Ogg) pass when they parse."""
    cmd = [await located(), "-hide_banner", "-nostdin", "-i", os.fspath(path), "-map", "0:a?",
           "-c", "copy", "-f", "null", "-"]
    proc = await _spawn(cmd, None)
    lines: list[str] = []
    await _supervise(proc, asyncio.gather(
        _pump(proc.stdout, lambda _line: None), _pump(proc.stderr, lines.append)))
    if await proc.wait() != 0:
        reason = explain_failure(lines[-8:]).rstrip(".")
        return f"{path.name} is not a whole audio file ({reason})"
    declared = next((_clock(m) for line in lines if (m := _DURATION.search(line))), None)
    reached = max((_clock(m) for line in lines for m in _TIME.finditer(line)), default=None)
    if declared and reached is not None and reached < declared - max(1.0, declared * 0.02):
        return (f"{path.name} ends after {reached:.0f} s of the {declared:.0f} s its header "
                "promises: the server sent only part of it")
    return None


async def ensure_whole(path: Path) -> None:
    """Delete `path` and raise JobError (one sentence) when it is not a whole audio file (see
    `check_complete`); a download the server cut short is never reported as done. Without
    FFmpeg the check is skipped."""
    try:
        problem = await check_complete(path)
    except FFmpegNotFound:
        return
    if problem:
        path.unlink(missing_ok=True)
        raise JobError(f"{problem}; AudioFetch did not keep it.")


# How each output format is written: audio codec arguments and FFmpeg's muxer name.
OUTPUT_FORMATS: dict[str, tuple[list[str], str]] = {
    # mp4 adds aac_adtstoasc itself for ADTS input, and also takes MP3 audio from HLS.
    "m4a": (["-c:a", "copy", "-movflags", "+faststart"], "mp4"),
    "mp3": (["-c:a", "libmp3lame", "-q:a", "2", "-id3v2_version", "3"], "mp3"),
}


def output_args(out: Path, *, fmt: str = "m4a", metadata: dict[str, str] | None = None,
                cover: Path | None = None) -> list[str]:
    """FFmpeg's arguments after the audio input: the cover as a second input (attached
    picture), the first audio stream as `fmt` (OUTPUT_FORMATS), the tags that have a value,
    and the output file `out`. FFmpegError for an unknown `fmt`."""
    if fmt not in OUTPUT_FORMATS:
        raise FFmpegError(f"Unknown output format {fmt!r}; use m4a or mp3.")
    codec_args, muxer = OUTPUT_FORMATS[fmt]
    args = ["-i", str(cover)] if cover is not None else []
    args += ["-map", "0:a:0"]
    if cover is not None:
        args += ["-map", "1:v:0", "-c:v", "copy", "-disposition:v:0", "attached_pic"]
    args += codec_args
    for key, value in (metadata or {}).items():
        if value:
            args += ["-metadata", f"{key}={value}"]
    return [*args, "-f", muxer, str(out)]


async def write_audio(input_args: list[str], dest: Path, *, fmt: str = "m4a",
                      metadata: dict[str, str] | None = None, cover: Path | None = None,
                      duration: float | None = None,
                      on_progress: Callable[[float, float | None], None] | None = None
                      ) -> Path:
    """Write the first audio stream of `input_args` to `dest` as `fmt`, tagged.

    FFmpeg writes `dest.part`, which becomes `dest` only when FFmpeg succeeded.
    """
    part = dest.with_name(dest.name + ".part")
    args = [*input_args, *output_args(part, fmt=fmt, metadata=metadata, cover=cover)]
    try:
        await run_ffmpeg(args, duration=duration, on_progress=on_progress)
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


# Containers that carry tags, by file extension -> FFmpeg muxer. Raw AAC (ADTS) has no tags.
TAGGABLE = {".mp3": "mp3", ".m4a": "ipod", ".m4b": "ipod", ".ogg": "ogg", ".oga": "ogg",
            ".opus": "opus", ".flac": "flac", ".webm": "webm", ".wav": "wav"}


async def retag(path: Path, metadata: dict[str, str]) -> bool:
    """Write tags into `path` without re-encoding; False when its format has no tags."""
    muxer = TAGGABLE.get(path.suffix.lower())
    if muxer is None:
        return False
    tmp = path.with_name(path.name + ".tagging.part")
    args = ["-i", str(path), "-map", "0", "-c", "copy", "-map_metadata", "0"]
    for key, value in metadata.items():
        if value:
            args += ["-metadata", f"{key}={value}"]
    args += ["-f", muxer, str(tmp)]
    try:
        await run_ffmpeg(args)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return True

"""Resumable downloads to a file: `.part` first, Range to continue after a cut, the size,
speed and free-space bounds of core.transfer_limits, and a rename only when complete."""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from audiofetch_app.core import transfer_limits
from audiofetch_app.core.audio_sniff import HEADER_BYTES, extension_from_header
from audiofetch_app.core.net_errors import (
    DiskError,
    NetError,
    NotAudioError,
    TooLargeError,
    check_size,
    not_audio,
    show_url,
    strip_query,
)
from audiofetch_app.core.retry import (
    DEFAULT_POLICY,
    Again,
    Restart,
    RetryPolicy,
    check_status,
    retrying,
    translated,
)

log = logging.getLogger("audiofetch_app.core.net")  # as before the split: filters key on it

ProgressCallback = Callable[[int, int | None], None]

_HTML_TYPES = ("text/html", "application/xhtml")
# Types no audio file is sent as on purpose (RFC 6838's top-level "text", and structured
# text): where audio is expected, such a body is refused unless its first bytes are audio
# (core.audio_sniff), since a misconfigured server may still label an MP3 text/plain.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


@dataclass
class DownloadResult:
    """A finished download: where it is and what arrived."""

    path: Path
    size: int
    content_type: str | None
    resumed: bool
    final_url: str
    filename: str | None = None  # the name the server gave (Content-Disposition), unsafe


def disposition_filename(header: str | None) -> str | None:
    """The file name in a Content-Disposition header (RFC 6266): `filename*` (RFC 5987/8187,
    percent-encoded with its charset) before `filename`; None when there is none. Read by
    the standard library's MIME parser. The name is the server's: make it safe before use."""
    if not header:
        return None
    message = email.message.EmailMessage()
    try:
        message["Content-Disposition"] = header
        name = message.get_filename()
    except (ValueError, TypeError, LookupError, IndexError):
        return None
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or None


@dataclass
class _Job:
    client: httpx.AsyncClient
    url: str
    dest: Path
    on_progress: ProgressCallback | None
    expect: str
    max_bytes: int | None
    headers: dict[str, str]
    chunk_size: int
    durable: bool = True
    limits: transfer_limits.TransferLimits = field(default_factory=transfer_limits.TransferLimits)
    part: Path = field(init=False)
    range_ok: bool = True
    validator: str | None = None
    content_type: str = ""  # of the last answer, without parameters

    def __post_init__(self) -> None:
        self.part = self.dest.with_name(self.dest.name + ".part")

    def part_size(self) -> int:
        with _disk_errors(self.dest), contextlib.suppress(FileNotFoundError):
            return self.part.stat().st_size
        return 0


async def download(client: httpx.AsyncClient, url: str, dest: Path, *,
                   on_progress: ProgressCallback | None = None, expect: str = "any",
                   max_bytes: int | None = None, policy: RetryPolicy | None = None,
                   headers: dict[str, str] | None = None, resume: bool = True,
                   chunk_size: int = 256 * 1024, durable: bool = True) -> DownloadResult:
    """Stream `url` into `dest`.part, resuming with Range after cuts; rename it when complete.

    `policy.attempts` bounds consecutive failures that add no bytes to the .part, so a long
    download over a flaky line keeps going as long as each try gets further.
    `durable=False` skips the fsync, for intermediate pieces (HLS segments) that are joined
    into a file that is itself written safely.
    """
    if expect not in ("any", "audio"):
        raise ValueError(f"expect must be 'any' or 'audio', not {expect!r}")
    limits = transfer_limits.current.get()
    if limits.max_file_bytes is not None:
        max_bytes = min(max_bytes or limits.max_file_bytes, limits.max_file_bytes)
    job = _Job(client, url, Path(dest), on_progress, expect, max_bytes, dict(headers or {}),
               chunk_size, durable, limits=limits)
    with _disk_errors(job.dest):
        job.part.parent.mkdir(parents=True, exist_ok=True)
        if not resume:
            job.part.unlink(missing_ok=True)
    try:
        return await retrying(policy or DEFAULT_POLICY, url, lambda: _attempt(job),
                              job.part_size)
    except (NotAudioError, TooLargeError):
        with _disk_errors(job.dest):
            job.part.unlink(missing_ok=True)
        raise


async def _attempt(job: _Job) -> DownloadResult:
    offset = job.part_size() if job.range_ok else 0
    # identity: Range offsets and Content-Length must count the bytes we write.
    headers = {"Accept-Encoding": "identity", **job.headers}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if job.validator:
            headers["If-Range"] = job.validator
    with translated(job.url):
        async with job.client.stream("GET", job.url, headers=headers) as response:
            return await _receive(job, response, offset)


async def _receive(job: _Job, response: httpx.Response, offset: int) -> DownloadResult:
    status = response.status_code
    if status == 416 and offset:
        if _content_range(response)[2] == offset:  # the .part already holds everything
            if job.on_progress:
                job.on_progress(offset, offset)
            return _finish(job, response, offset, resumed=True)
        with _disk_errors(job.dest):
            job.part.unlink(missing_ok=True)
        raise Restart
    check_status(response)
    if status == 206:
        start, total = _content_range(response)[0::2]
        if start != offset:
            if not offset:  # asked for everything and got a piece: a broken server
                raise Again(NetError(f"The server sent only part of {show_url(job.url)}."))
            job.range_ok = False
            raise Restart
        if total is None and (length := _content_length(response)) is not None:
            total = offset + length
    else:
        if offset:
            log.debug("%s ignored Range; starting over", strip_query(job.url))
        offset, total = 0, _content_length(response)
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        job.range_ok, total = False, None  # sizes and offsets count the encoded bytes
    etag = response.headers.get("etag")
    job.validator = (etag if etag and not etag.startswith("W/")
                     else response.headers.get("last-modified"))
    content_type = response.headers.get("content-type", "")
    job.content_type = content_type.split(";")[0].strip().lower()
    if job.expect == "audio" and job.content_type.startswith(_HTML_TYPES):
        raise not_audio(job.url, f" ({job.content_type})")
    if job.max_bytes is not None:
        check_size(total, job.max_bytes, job.url, _FILE_LIMIT_HINT)
    if total is not None:
        _check_free_space(job, total - offset)
    done, pending = offset, bytearray()
    watch = _SpeedWatch(job.limits, job.url)
    with _disk_errors(job.dest), open(job.part, "ab" if offset else "wb") as out:
        try:
            async for piece in response.aiter_bytes():
                pending += piece
                watch.arrived(len(piece))
                if job.max_bytes is not None:
                    check_size(done + len(pending), job.max_bytes, job.url, _FILE_LIMIT_HINT)
                if len(pending) >= job.chunk_size:
                    done = _flush(job, out, pending, done, total)
        except BaseException:
            # Keep what arrived before a cut or a cancel: the next try resumes after it.
            with contextlib.suppress(OSError):
                out.write(pending)
            raise
        if pending:
            done = _flush(job, out, pending, done, total)
        if total is not None and done != total:
            raise Again(NetError(f"The download of {show_url(job.url)} stopped at {done} of "
                                 f"{total} bytes."))
        # fsync so that a crash right after the rename cannot leave a hollow "finished" file.
        out.flush()
        if job.durable:
            await asyncio.to_thread(os.fsync, out.fileno())
    return _finish(job, response, done, resumed=status == 206 and offset > 0)


def _flush(job: _Job, out: IO[bytes], pending: bytearray, done: int, total: int | None) -> int:
    """Write `pending` to the .part (sniffing a fresh file first); return the new total."""
    if done == 0 and job.expect == "audio":
        head = bytes(pending[:512]).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head.startswith((b"<!doctype html", b"<html")):
            raise not_audio(job.url, "")
        if job.content_type.startswith(_TEXT_TYPES) and not head.startswith(b"#extm3u") \
                and extension_from_header(bytes(pending[:HEADER_BYTES])) is None:
            raise not_audio(job.url, f" ({job.content_type})", "text")
    out.write(pending)
    done += len(pending)
    pending.clear()
    if job.on_progress:
        job.on_progress(done, total)
    return done


def _finish(job: _Job, response: httpx.Response, size: int, *, resumed: bool) -> DownloadResult:
    with _disk_errors(job.dest):
        os.replace(job.part, job.dest)
    return DownloadResult(path=job.dest, size=size,
                          content_type=response.headers.get("content-type"),
                          resumed=resumed, final_url=str(response.url),
                          filename=disposition_filename(
                              response.headers.get("content-disposition")))


@contextlib.contextmanager
def _disk_errors(dest: Path) -> Iterator[None]:
    """Turn an OSError from the file system into a DiskError naming `dest`."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DiskError(f"Could not write {dest}: {reason}.") from exc


_FILE_LIMIT_HINT = " (--max-filesize, or Settings)"


def _check_free_space(job: _Job, needed: int) -> None:
    """DiskError before a download whose size is known and would not fit on the disk."""
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(job.part.parent).free
        if needed + transfer_limits.DISK_RESERVE > free:
            raise DiskError(f"There is not enough free space in {job.part.parent} for "
                            f"{show_url(job.url)}: it needs "
                            f"{transfer_limits.show_size(needed)}, and "
                            f"{transfer_limits.show_size(free)} is free.")


class _SpeedWatch:
    """Ends a transfer that stays under the lowest speed for the set time (like curl's
    --speed-limit/--speed-time); the retry loop treats it as a cut, but counts it as a
    failure even though bytes arrived, so a trickle cannot go on for ever."""

    def __init__(self, limits: transfer_limits.TransferLimits, url: str) -> None:
        self.limits, self.url = limits, url
        self.window_start = time.monotonic()
        self.window_bytes = 0

    def arrived(self, size: int) -> None:
        self.window_bytes += size
        now = time.monotonic()
        elapsed = now - self.window_start
        if elapsed < self.limits.speed_time:
            return
        if self.window_bytes < self.limits.min_speed * elapsed:
            raise Again(NetError(
                f"The download of {show_url(self.url)} crawled along at under "
                f"{transfer_limits.show_size(self.limits.min_speed)}/s for "
                f"{self.limits.speed_time:g} s, so AudioFetch gave up on it."),
                progress_counts=False)
        self.window_start, self.window_bytes = now, 0


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.strip().isdigit() else None


def _content_range(response: httpx.Response) -> tuple[int | None, int | None, int | None]:
    """(start, end, total) of a `Content-Range: bytes a-b/n` header; None where unknown."""
    unit, _, spec = response.headers.get("content-range", "").strip().partition(" ")
    if unit.lower() != "bytes":
        return None, None, None
    span, _, total = spec.partition("/")
    first, _, last = span.partition("-")
    ints = [int(v) if v.strip().isdigit() else None for v in (first, last, total)]
    return ints[0], ints[1], ints[2]

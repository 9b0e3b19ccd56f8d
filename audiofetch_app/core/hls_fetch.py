"""Byte ranges and keys for HLS over the shared client.

A segment or initialisation section given as a byte range (RFC 8216 §4.3.2.2, §4.3.2.5) is
fetched with an exact `Range: bytes=a-b` and a 206 answer is checked against it; a cut is
resumed from the bytes already on disk. A server that ignores Range (200) has the range cut
out of its body when the body is small; its body is kept for the next ranges of that file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import httpx

from audiofetch_app.core import net, transfer_limits
from audiofetch_app.core.hls_model import ByteRange, HlsError
from audiofetch_app.core.net_errors import DiskError, NetError, check_size, show_url, url_host
from audiofetch_app.core.retry import (
    DEFAULT_POLICY,
    Again,
    RetryPolicy,
    check_status,
    retrying,
    translated,
)

WHOLE_BODY_LIMIT = 50 << 20  # a server that ignores Range: cut ranges from bodies this small
KEY_MAX_BYTES = 1024

BytesCallback = Callable[[int], None]


class RangeReader:
    """Fetches byte ranges of resources for one playlist download."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str] | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.client = client
        self.headers = dict(headers or {})
        self.policy = policy or DEFAULT_POLICY
        self._ranges_ok: dict[str, bool] = {}  # learnt from each resource's first answer
        self._one_at_a_time: dict[str, asyncio.Lock] = {}
        self._whole_bodies = asyncio.Semaphore(1)  # at most one whole body in memory at once
        self._bodies: OrderedDict[str, bytes] = OrderedDict()  # sent whole; kept to cut from

    async def fetch(self, url: str, span: ByteRange, dest: Path,
                    on_bytes: BytesCallback | None = None) -> None:
        """Write bytes `span` of `url` to `dest` (through `dest.part`), RFC 8216 §4.3.2.2."""
        limits = transfer_limits.current.get()
        if limits.max_file_bytes is not None:
            check_size(span.length, limits.max_file_bytes, url, " (--max-filesize, or Settings)")
        if not self._ranges_ok.get(url):
            # Until the server has shown it honours Range, ranges of this resource go one at
            # a time: if it sends whole bodies, one of them is enough for all.
            async with self._one_at_a_time.setdefault(url, asyncio.Lock()):
                if not self._ranges_ok.get(url):
                    await self._fetch(url, span, dest, on_bytes)
                    return
        await self._fetch(url, span, dest, on_bytes)

    async def _fetch(self, url: str, span: ByteRange, dest: Path,
                     on_bytes: BytesCallback | None) -> None:
        if (body := self._bodies.get(url)) is not None:
            _write(dest, _cut(body, span, span.start, url))
            if on_bytes:
                on_bytes(span.length)
            return
        part = dest.with_name(dest.name + ".part")
        await retrying(self.policy, url, lambda: self._attempt(url, span, part, on_bytes),
                       lambda: _size(part))
        try:
            os.replace(part, dest)
        except OSError as exc:
            raise _disk_error(dest, exc) from exc

    async def _attempt(self, url: str, span: ByteRange, part: Path,
                       on_bytes: BytesCallback | None) -> None:
        have = _size(part)
        if have > span.length:
            part.unlink()
            have = 0
        if have == span.length:
            return
        first = span.start + have
        headers = {"Accept-Encoding": "identity", **self.headers,
                   "Range": f"bytes={first}-{span.last}"}
        with translated(url):
            async with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 416:
                    raise HlsError(f"The HLS playlist asks for bytes {span.start}–{span.last} "
                                   f"of {show_url(url)}, which the server says is shorter.")
                check_status(response)
                if response.status_code == 206:
                    self._ranges_ok[url] = True
                    await _receive(response, url, span, first, part, on_bytes)
                elif response.status_code == 200:
                    self._ranges_ok[url] = False
                    async with self._whole_bodies:
                        body = await _whole_body(response, url)
                        self._keep(url, body)
                        _append(part, _cut(body, span, first, url))
                    if on_bytes:
                        on_bytes(span.end - first)
                else:
                    raise NetError(f"The server answered {response.status_code} instead of "
                                   f"the byte range of {show_url(url)} that was asked for.")

    def _keep(self, url: str, body: bytes) -> None:
        """Keep `body` to cut more ranges from, dropping the oldest beyond the limit."""
        self._bodies[url] = body
        self._bodies.move_to_end(url)
        while sum(map(len, self._bodies.values())) > WHOLE_BODY_LIMIT and len(self._bodies) > 1:
            self._bodies.popitem(last=False)


async def _receive(response: httpx.Response, url: str, span: ByteRange, first: int,
                   part: Path, on_bytes: BytesCallback | None) -> None:
    """Append a 206 body to `part`; Again (resume) when it holds less than the range."""
    start = _content_range_start(response)
    if start != first:
        raise HlsError(f"The server sent bytes from {start} of {show_url(url)} when asked "
                       f"for bytes {first}–{span.last}.")
    wanted = span.end - first
    received = 0
    watch = _SpeedWatch(url)
    try:
        with open(part, "ab") as out:
            async for piece in response.aiter_bytes():
                piece = piece[:wanted - received]  # anything past the range is not ours
                out.write(piece)
                received += len(piece)
                watch.arrived(len(piece))
                if on_bytes:
                    on_bytes(len(piece))
                if received >= wanted:
                    break
    except OSError as exc:
        raise _disk_error(part, exc) from exc
    if received < wanted:
        raise Again(NetError(f"The range of {show_url(url)} stopped at {first + received} of "
                             f"{span.end} bytes."))


async def _whole_body(response: httpx.Response, url: str) -> bytes:
    """The body of a server that ignored Range, if it is small enough to cut from."""
    limit = WHOLE_BODY_LIMIT
    too_big = HlsError(f"The server at {url_host(url)} ignores byte ranges and sends all of "
                       f"{show_url(url)} each time; AudioFetch cuts ranges only out of files "
                       f"under {transfer_limits.show_size(limit)}.")
    length = response.headers.get("content-length", "")
    if length.strip().isdigit() and int(length) > limit:
        raise too_big
    body = bytearray()
    watch = _SpeedWatch(url)
    async for piece in response.aiter_bytes():
        body += piece
        watch.arrived(len(piece))
        if len(body) > limit:
            raise too_big
    return bytes(body)


def _cut(body: bytes, span: ByteRange, first: int, url: str) -> bytes:
    if len(body) < span.end:
        raise HlsError(f"The HLS playlist asks for bytes {span.start}–{span.last} of "
                       f"{show_url(url)}, but the file has only {len(body)} bytes.")
    return body[first:span.end]


def _content_range_start(response: httpx.Response) -> int | None:
    unit, _, spec = response.headers.get("content-range", "").strip().partition(" ")
    first = spec.partition("-")[0].strip()
    return int(first) if unit.lower() == "bytes" and first.isdigit() else None


def _size(path: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        return path.stat().st_size
    return 0


def _append(path: Path, data: bytes) -> None:
    try:
        with open(path, "ab") as out:
            out.write(data)
    except OSError as exc:
        raise _disk_error(path, exc) from exc


def _write(dest: Path, data: bytes) -> None:
    part = dest.with_name(dest.name + ".part")
    try:
        part.write_bytes(data)
        os.replace(part, dest)
    except OSError as exc:
        raise _disk_error(dest, exc) from exc


def _disk_error(path: Path, exc: OSError) -> DiskError:
    return DiskError(f"Could not write {path}: {exc.strerror or type(exc).__name__}.")


class _SpeedWatch:
    """The lowest-speed bound of core.transfer_limits, for ranges: a trickle is a cut."""

    def __init__(self, url: str) -> None:
        self.limits, self.url = transfer_limits.current.get(), url
        self.since, self.count = time.monotonic(), 0

    def arrived(self, size: int) -> None:
        self.count += size
        elapsed = time.monotonic() - self.since
        if elapsed < self.limits.speed_time:
            return
        if self.count < self.limits.min_speed * elapsed:
            raise Again(NetError(f"The download of {show_url(self.url)} crawled along too "
                                 "slowly, so AudioFetch gave up on it."), progress_counts=False)
        self.since, self.count = time.monotonic(), 0


class KeyStore:
    """AES-128 keys (RFC 8216 §4.3.2.4), each fetched once per playlist download."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str] | None = None
                 ) -> None:
        self.client = client
        self.headers = dict(headers or {})
        self._keys: dict[str, bytes] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, url: str) -> bytes:
        """The 16-byte key at `url` (RFC 8216 §4.3.2.4, §5.1); a sentence when the server
        sends anything else."""
        async with self._locks.setdefault(url, asyncio.Lock()):
            if url not in self._keys:
                self._keys[url] = await self._fetch(url)
        return self._keys[url]

    async def _fetch(self, url: str) -> bytes:
        wrong = (f"The key at {show_url(url)} is not a 16-byte AES-128 key; it may have "
                 "expired or need a login.")
        try:
            key = await net.fetch_bytes(self.client, url, max_bytes=KEY_MAX_BYTES,
                                        headers=self.headers or None)
        except net.TooLargeError:
            raise HlsError(wrong) from None
        if len(key) != 16:
            raise HlsError(wrong)
        return key

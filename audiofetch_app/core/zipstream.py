"""Stream a ZIP of audio tracks to a file or an HTTP response in constant memory.

Built on stream-zip's `async_stream_zip`, which runs the ZIP generator in a default-executor
thread and pulls each member's bytes back from the event loop. Audio is already compressed, so
nothing is compressed: members of known size and CRC-32 are stored as is, others go out as
deflate level 0 (stored blocks: nothing buffered, no CPU spent compressing).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import threading
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import stream_zip as sz

from audiofetch_app.core.naming import safe_relpath

MIB = 1 << 20
READ_SIZE = MIB  # file reads
WRITE_SIZE = MIB  # blocks, and batched writes, of write_zip
HTTP_CHUNK = 64 * 1024  # blocks of zip_chunks
# Our offset counts bytes that reached the consumer, which trails stream-zip's own by less than a
# block; the margin dwarfs any block size, so decisions made on it are never late.
ZIP64_MARGIN = 16 * MIB
ZIP32_LIMIT = (1 << 32) - ZIP64_MARGIN
_LOCAL_HEADER = 30 + 9  # fixed part + stream-zip's extended-timestamp extra field
_EOCD = b"PK\x05\x06"  # stream-zip writes no comment: an archive ends with this 22-byte record
_FILE_MODE = stat.S_IFREG | 0o644
_TIME_RANGE = (datetime(1980, 1, 2, tzinfo=UTC), datetime(2038, 1, 18, tzinfo=UTC))  # DOS, int32

# File reads get threads of their own: async_stream_zip parks a default-executor thread while it
# waits for member bytes, so with enough archives in flight, reads queued on that executor would
# wait for threads that are waiting for them.
_READER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="zip-read")


class ZipStreamError(Exception):
    """The archive could not be made; the message is one sentence a user can read."""


@dataclass
class ZipMember:
    """One file of the archive; `chunks` is an async iterable of bytes or a factory of one."""

    name: str
    chunks: Callable[[], AsyncIterable[bytes]] | AsyncIterable[bytes]
    size: int | None = None
    crc32: int | None = None
    modified: datetime | None = None

    @classmethod
    async def from_file(cls, path: Path, name: str | None = None) -> ZipMember:
        """A member for a file on disk; size and CRC-32 are read first so it is stored as is."""
        path = Path(path)
        size, crc, mtime = await asyncio.to_thread(_measure, path)
        name = path.name if name is None else name
        return cls(name, lambda: _read(path), size, crc, datetime.fromtimestamp(mtime, UTC))

    def open(self) -> AsyncIterable[bytes]:
        return self.chunks() if callable(self.chunks) else self.chunks


def needs_zip64(size: int | None, offset: int, *, first: bool) -> bool:
    """Whether a member of `size` bytes (None: unknown) starting at `offset` must be ZIP64.

    ZIP64 only when needed: zip64 extra fields in the first local header break some readers
    (macOS Archive Utility, older unzip, type sniffers that read only the start of a file),
    while 32-bit members stay readable everywhere. So the first member is 32-bit unless its own
    known size forbids it. A known-size member is 64-bit if it would end past the limit, as
    stream-zip cannot place a 32-bit central directory beyond 4 GiB; an unknown-size one only
    once the archive is past it (`_Run._entry` lets a 32-bit one carry the archive across).
    """
    if size is not None:
        return offset + size >= ZIP32_LIMIT
    return not first and offset >= ZIP32_LIMIT


async def zip_chunks(
    members: AsyncIterable[ZipMember] | Iterable[ZipMember], *, block_size: int = HTTP_CHUNK
) -> AsyncIterator[bytes]:
    """Yield the ZIP of `members` block by block, e.g. as the body of an HTTP response."""
    if not 0 < block_size <= ZIP64_MARGIN // 2:
        raise ValueError(f"block_size must be between 1 and {ZIP64_MARGIN // 2} bytes")
    run = _Run(members, block_size)
    blocks: Any = sz.async_stream_zip(run.entries(), chunk_size=block_size, get_compressobj=_level0)
    tail = b""
    try:
        async for block in blocks:
            run.offset += len(block)
            tail = (tail + block[-22:])[-22:]
            yield block
    except sz.ZipError as exc:
        raise ZipStreamError(_explain(exc)) from exc
    finally:
        await run.close()
        await blocks.aclose()
    if not tail.startswith(_EOCD):
        raise ZipStreamError("The ZIP file came out incomplete; please try again.")


async def write_zip(
    members: AsyncIterable[ZipMember] | Iterable[ZipMember],
    dest: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write the ZIP of `members` to `dest` by way of `dest.part`; return its size in bytes."""
    dest = Path(dest)
    part = _PartFile(dest.with_name(dest.name + ".part"))
    chunks: Any = zip_chunks(members, block_size=WRITE_SIZE)
    written, batch, writing = 0, [], None

    async def landed() -> None:  # wait for the write in flight, if any, and report it
        nonlocal written, writing
        if writing is not None:
            written += await writing
            writing = None
            if on_progress:
                on_progress(written)

    try:
        await asyncio.to_thread(part.open)
        async for block in chunks:
            batch.append(block)
            if sum(map(len, batch)) >= WRITE_SIZE:  # small blocks (after headers) wait for more
                await landed()  # one write in flight while the next block is made, no more
                writing, batch = asyncio.ensure_future(asyncio.to_thread(part.write, batch)), []
        await landed()
        writing = asyncio.ensure_future(asyncio.to_thread(part.write, batch))
        await landed()
        await asyncio.to_thread(part.commit, dest)
    except BaseException:
        if writing is not None:
            writing.cancel()
        part.discard()  # not awaited: an await could itself be cancelled and leave the .part
        raise
    finally:
        await chunks.aclose()
    return written


class _Run:
    """One archive in the making: the entries fed to stream-zip, and what they produced."""

    def __init__(self, members: AsyncIterable[ZipMember] | Iterable[ZipMember], block: int):
        self.members, self.block = members, block
        self.offset = 0  # bytes handed to our consumer
        self.since_flush = 0  # bytes stream-zip made since it last ended a block early
        self.count = 0
        self.taken: set[str] = set()
        self.pulling: set[Any] = set()  # tasks reading a source
        self.sources: set[Any] = set()
        self.closed = False

    async def entries(self) -> AsyncIterator[tuple[Any, ...]]:
        if not isinstance(self.members, AsyncIterable):
            for member in self.members:
                yield self._entry(member)
            return
        members = aiter(self.members)
        self.sources.add(members)
        while True:
            try:
                member = await self._pull(members)
            except StopAsyncIteration:
                return
            yield self._entry(member)

    def _entry(self, member: ZipMember) -> tuple[Any, ...]:
        name = self._claim(member.name)
        first = self.count == 0
        zip64 = needs_zip64(member.size, self.offset, first=first)
        if not zip64 and not first:
            # stream-zip 0.0.84 ends a block after each local header, and silently ends the whole
            # archive if that block is empty, i.e. if the header ends exactly on a block boundary
            # (uktrade/stream-zip#189). A zip64 extra field (20 bytes) moves the boundary.
            header = _LOCAL_HEADER + len(name.encode())
            zip64 = (self.since_flush + header) % self.block == 0
        self.since_flush = 0
        self.count += 1
        if member.size is not None and member.crc32 is not None:
            method = (sz.NO_COMPRESSION_64 if zip64 else sz.NO_COMPRESSION_32)(
                member.size, member.crc32
            )
            deflate = None
        else:
            # ZIP_AUTO(0, level=0) is ZIP_32 here (the offset is far below 4 GiB) whose central
            # directory turns zip64 should this member carry the archive past 4 GiB.
            method = sz.ZIP_64 if zip64 else sz.ZIP_AUTO(0, level=0)
            deflate = _level0()
        data = self._data(member, deflate, 24 if zip64 else 16)
        return name, _zip_time(member.modified), _FILE_MODE, method, data

    async def _data(self, member: ZipMember, deflate: Any, descriptor: int) -> AsyncIterator[bytes]:
        source = aiter(member.open())
        self.sources.add(source)
        while True:
            try:
                chunk = await self._pull(source)
            except StopAsyncIteration:
                break
            # Mirror what stream-zip emits (same zlib, same calls) to know where its blocks end.
            self.since_flush += len(deflate.compress(chunk)) if deflate else len(chunk)
            yield chunk
        self.sources.discard(source)
        if deflate is not None:  # then the deflate tail and a data descriptor
            self.since_flush += len(deflate.flush()) + descriptor

    async def _pull(self, iterator: AsyncIterator[Any]) -> Any:
        if self.closed:
            raise ZipStreamError("The ZIP file was abandoned before it was complete.")
        task = asyncio.current_task()
        self.pulling.add(task)
        try:
            return await anext(iterator)
        finally:
            self.pulling.discard(task)

    def _claim(self, raw: str) -> str:
        # Compared case-insensitively: the archive will be unpacked on Windows and macOS too.
        name = safe_relpath(raw or "", fallback="track")
        path, n = PurePosixPath(name), 1
        while name.casefold() in self.taken:
            n += 1
            name = str(path.with_name(f"{path.stem} ({n}){path.suffix}"))
        self.taken.add(name.casefold())
        return name

    async def close(self) -> None:
        """Stop member reads in flight, so stream-zip's thread unwinds, and close the sources."""
        self.closed = True
        pulling = set(self.pulling)
        for task in pulling:
            task.cancel()
        if pulling:
            await asyncio.wait(pulling, timeout=5)
        for source in list(self.sources):
            with contextlib.suppress(Exception):
                if hasattr(source, "aclose"):
                    await source.aclose()
        self.sources.clear()


class _PartFile:
    """The `.part` being written; the lock keeps cleanup from racing a write still in a thread."""

    def __init__(self, path: Path):
        self.path, self.file, self.lock, self.discarded = path, None, threading.Lock(), False

    def open(self) -> None:
        with self.lock:
            if not self.discarded:
                self.file = open(self.path, "wb")  # noqa: SIM115 - closed by commit or discard

    def write(self, blocks: list[bytes]) -> int:
        with self.lock:
            if self.file is not None:
                self.file.writelines(blocks)
        return sum(map(len, blocks))

    def commit(self, dest: Path) -> None:
        with self.lock:
            self.file.flush()
            os.fsync(self.file.fileno())  # durable before it takes the real name
            self.file.close()
            os.replace(self.path, dest)

    def discard(self) -> None:
        with self.lock:
            self.discarded = True
            if self.file is not None:
                self.file.close()
            self.path.unlink(missing_ok=True)


def _level0() -> Any:
    # The parameters of ZIP_AUTO's compressor too, so that _Run._data can mirror its output.
    return zlib.compressobj(level=0, memLevel=8, wbits=-zlib.MAX_WBITS)


def _zip_time(value: datetime | None) -> datetime:
    value = value or datetime.now(UTC)
    low, high = (t if value.tzinfo else t.replace(tzinfo=None) for t in _TIME_RANGE)
    return min(max(value, low), high).astimezone()  # unzip reads DOS times as local time


def _measure(path: Path) -> tuple[int, int, float]:
    crc = size = 0
    with path.open("rb") as fh:
        while block := fh.read(READ_SIZE):
            crc, size = zlib.crc32(block, crc), size + len(block)
        return size, crc, os.fstat(fh.fileno()).st_mtime


async def _read(path: Path) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    fh = await loop.run_in_executor(_READER, path.open, "rb")
    try:
        while block := await loop.run_in_executor(_READER, fh.read, READ_SIZE):
            yield block
    finally:
        fh.close()


def _explain(exc: sz.ZipError) -> str:
    if isinstance(exc, sz.CRC32IntegrityError | sz.UncompressedSizeIntegrityError):
        return "A track changed while it was being zipped: its size or checksum no longer match."
    if isinstance(exc, sz.NameLengthOverflowError):
        return "A track name is too long for a ZIP file."
    if isinstance(exc, sz.ZipOverflowError):
        return "A track of unknown size made the ZIP file outgrow what its entries can hold."
    return f"The ZIP file could not be made ({type(exc).__name__})."

"""Stream a ZIP of audio tracks to a file or an HTTP response in constant memory.

stream-zip makes the archive in a thread of its own, fed through a bounded pipe a few megabytes
ahead (core/zip_thread.py, core/zip_pipe.py); `write_zip` writes its blocks from that thread,
`zip_chunks` hands them to the event loop. Audio is already compressed, so nothing is
compressed: members of known size and CRC-32 are stored as is, others go out as deflate stored
blocks (core/zip_stored.py: nothing buffered, no CPU spent compressing).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stream_zip as sz

from audiofetch_app.core.zip_pipe import Abandoned
from audiofetch_app.core.zip_thread import Truncated, ZipThread

MIB = 1 << 20
READ_SIZE = MIB  # file reads
WRITE_SIZE = MIB  # blocks, and batched writes, of write_zip
HTTP_CHUNK = 64 * 1024  # blocks of zip_chunks
REPORT_EVERY = 0.1  # seconds between write_zip's progress reports, at most
# The offset the zip64 decision sees counts the blocks stream-zip has handed over, which trail its
# own count by less than a block; the margin dwarfs any block size, so it is never late.
ZIP64_MARGIN = 16 * MIB
ZIP32_LIMIT = (1 << 32) - ZIP64_MARGIN
_buffers = threading.local()  # a read buffer per thread, for _measure


class ZipStreamError(Exception):
    """The archive could not be made; the message is one sentence a user can read."""


@dataclass
class ZipMember:
    """One file of the archive; `chunks` is an async iterable of bytes or a factory of one.

    With `path`, the archive reads the bytes from that file in its own thread instead (they are
    the same bytes; `chunks` is still what `open` gives).
    """

    name: str
    chunks: Callable[[], AsyncIterable[bytes]] | AsyncIterable[bytes]
    size: int | None = None
    crc32: int | None = None
    modified: datetime | None = None
    path: Path | None = None

    @classmethod
    async def from_file(cls, path: Path, name: str | None = None) -> ZipMember:
        """A member for a file on disk; size and CRC-32 are read first so it is stored as is."""
        path = Path(path)
        size, crc, mtime = await asyncio.to_thread(_measure, path)
        name = path.name if name is None else name
        modified = datetime.fromtimestamp(mtime, UTC)
        return cls(name, lambda: _read(path), size, crc, modified, path)

    def open(self) -> AsyncIterable[bytes]:
        return self.chunks() if callable(self.chunks) else self.chunks


def needs_zip64(size: int | None, offset: int, *, first: bool) -> bool:
    """Whether a member of `size` bytes (None: unknown) starting at `offset` must be ZIP64.

    ZIP64 only when needed: zip64 extra fields in the first local header break some readers
    (macOS Archive Utility, older unzip, type sniffers that read only the start of a file),
    while 32-bit members stay readable everywhere. So the first member is 32-bit unless its own
    known size forbids it. A known-size member is 64-bit if it would end past the limit, as
    stream-zip cannot place a 32-bit central directory beyond 4 GiB; an unknown-size one only
    once the archive is past it (ZIP_AUTO lets a 32-bit one carry the archive across).
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
    run = ZipThread(members, block_size, _needs_zip64)
    run.start()
    try:
        while (block := await run.out.aget()) is not None:
            yield block
    except sz.ZipError as exc:
        raise ZipStreamError(_explain(exc)) from exc
    finally:
        await run.close()


async def write_zip(
    members: AsyncIterable[ZipMember] | Iterable[ZipMember],
    dest: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write the ZIP of `members` to `dest` by way of `dest.part`; return its size in bytes."""
    dest = Path(dest)
    loop = asyncio.get_running_loop()
    failed: list[BaseException] = []

    def progress(written: int) -> None:  # on the loop, in order, before write_zip returns
        if on_progress is not None and not failed:
            try:
                on_progress(written)
            except BaseException as exc:
                failed.append(exc)
                run.abandon()

    def report(written: int) -> None:  # in a writing thread
        if on_progress is not None:
            loop.call_soon_threadsafe(progress, written)

    part = _PartFile(dest.with_name(dest.name + ".part"), report)
    # stream-zip's thread writes each block itself: no hand-over, and the allocator gets the
    # same few megabytes back again and again.
    run = ZipThread(members, WRITE_SIZE, _needs_zip64, sink=part.write)
    try:
        try:
            await asyncio.to_thread(part.open)
            run.start()
            await asyncio.shield(run.exited)  # type: ignore[arg-type]
            await asyncio.to_thread(part.flush)
            if failed:  # on_progress raised at the end
                raise failed[0]
            return await asyncio.to_thread(part.commit, dest)
        except sz.ZipError as exc:
            raise ZipStreamError(_explain(exc)) from exc
        except Abandoned:
            if failed:  # on_progress raised
                raise failed[0] from None
            raise
    except BaseException:
        run.abandon()
        part.discard()  # not awaited: an await could itself be cancelled and leave the .part
        raise
    finally:
        await run.close()


def _needs_zip64(size: int | None, offset: int, first: bool) -> bool:
    return needs_zip64(size, offset, first=first)


class _PartFile:
    """The `.part` being written by stream-zip's thread; the lock keeps cleanup from racing it.

    `report(written)` is called from that thread at most every REPORT_EVERY seconds, and by
    `flush` with the total.
    """

    def __init__(self, path: Path, report: Callable[[int], None]):
        self.path, self.report = path, report
        self.file: Any = None
        self.lock, self.discarded = threading.Lock(), False
        self.batch: list[bytes] = []  # small blocks (a local header's) wait for more
        self.held = self.written = 0
        self.reported = 0.0

    def open(self) -> None:
        with self.lock:
            if not self.discarded:
                self.file = open(self.path, "wb")  # noqa: SIM115 - closed by commit or discard

    def write(self, block: bytes) -> None:
        self.batch.append(block)
        self.held += len(block)
        if self.held >= WRITE_SIZE:
            self._write_batch()

    def _write_batch(self) -> None:
        with self.lock:
            if self.file is None:
                raise Abandoned("the archive was discarded")
            self.file.writelines(self.batch)
        self.written += self.held
        self.batch.clear()
        self.held = 0
        if (now := time.monotonic()) - self.reported >= REPORT_EVERY:
            self.reported = now
            self.report(self.written)

    def flush(self) -> None:
        """Write what is left and report the total."""
        self._write_batch()
        self.report(self.written)

    def commit(self, dest: Path) -> int:
        """Make the file durable and give it its real name; return its size."""
        with self.lock:
            if self.file is None:
                raise Abandoned("the archive was discarded")
            self.file.flush()
            os.fsync(self.file.fileno())  # durable before it takes the real name
            self.file.close()
            self.file = None
            os.replace(self.path, dest)
        return self.written

    def discard(self) -> None:
        with self.lock:
            self.discarded = True
            if self.file is not None:
                self.file.close()
                self.file = None
            self.path.unlink(missing_ok=True)


def _measure(path: Path) -> tuple[int, int, float]:
    # One buffer per thread, used again and again: a fresh megabyte for every read costs page
    # faults that can outweigh the read itself.
    if (buffer := getattr(_buffers, "buffer", None)) is None:
        buffer = _buffers.buffer = bytearray(READ_SIZE)
    view, crc, size = memoryview(buffer), 0, 0
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            crc, size = zlib.crc32(view[:n], crc), size + n
        return size, crc, os.fstat(fh.fileno()).st_mtime


async def _read(path: Path) -> AsyncIterator[bytes]:
    fh = await asyncio.to_thread(path.open, "rb")
    try:
        while block := await asyncio.to_thread(fh.read, READ_SIZE):
            yield block
    finally:
        fh.close()


def _explain(exc: sz.ZipError) -> str:
    if isinstance(exc, Truncated):
        return "The ZIP file came out incomplete; please try again."
    if isinstance(exc, sz.CRC32IntegrityError | sz.UncompressedSizeIntegrityError):
        return "A track changed while it was being zipped: its size or checksum no longer match."
    if isinstance(exc, sz.NameLengthOverflowError):
        return "A track name is too long for a ZIP file."
    if isinstance(exc, sz.ZipOverflowError):
        return "A track of unknown size made the ZIP file outgrow what its entries can hold."
    return f"The ZIP file could not be made ({type(exc).__name__})."

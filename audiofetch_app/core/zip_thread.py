"""stream-zip's generator in a thread of its own, fed and drained through pipes.

Not stream_zip.async_stream_zip: that one hops to a default-executor thread for every block it
makes and back to the event loop for every chunk it reads. Here a feeder on the loop pulls the
members and puts their bytes in one bounded pipe, a few megabytes ahead of stream-zip (files are
read there by a thread of their own, so the next track's CRC-32 is measured while this one is
zipped). stream-zip's thread hands each block to a sink (`write_zip` writes it there and then)
or puts it in the `out` pipe.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import stat
import threading
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import stream_zip as sz

from audiofetch_app.core.naming import safe_relpath
from audiofetch_app.core.zip_pipe import Abandoned, Pipe, run_in_thread
from audiofetch_app.core.zip_stored import StoredBlocks, WithCompressor

if TYPE_CHECKING:
    from audiofetch_app.core.zipstream import ZipMember

MIB = 1 << 20
FEED_BYTES = 8 * MIB  # member bytes read ahead of stream-zip: rides over the loop's hiccups
OUT_BYTES = 4 * MIB  # blocks made ahead of the `out` pipe's consumer
READ_SIZE = MIB  # reads of member files, rounded to whole blocks
_MARKER_SIZE = 4096  # what a member's marker counts for in the feed: bounds empty members
_LOCAL_HEADER = 30 + 9  # fixed part + stream-zip's extended-timestamp extra field
_EOCD = b"PK\x05\x06"  # stream-zip writes no comment: an archive ends with this 22-byte record
_FILE_MODE = stat.S_IFREG | 0o644
_TIME_RANGE = (datetime(1980, 1, 2, tzinfo=UTC), datetime(2038, 1, 18, tzinfo=UTC))  # DOS, int32
_END_OF_MEMBER = object()


class Truncated(sz.ZipError):
    """stream-zip ended the archive before its end record."""


class _Next:
    """In the feed, before a member's bytes."""

    __slots__ = ("member",)

    def __init__(self, member: ZipMember):
        self.member = member


class ZipThread:
    """One archive in the making, by stream-zip in a thread: its blocks go to `sink` or `out`.

    `needs_zip64(size, offset, first)` decides each member's format when stream-zip starts it.
    The next member is asked of `members` once the previous one's bytes are all read (a caller
    may then delete its file).
    """

    def __init__(
        self,
        members: AsyncIterable[ZipMember] | Iterable[ZipMember],
        block: int,
        needs_zip64: Callable[[int | None, int, bool], bool],
        sink: Callable[[bytes], None] | None = None,
    ):
        self.loop = asyncio.get_running_loop()
        self.members, self.block, self.needs_zip64 = members, block, needs_zip64
        self.read_size = max(1, READ_SIZE // block) * block  # whole blocks: fewer copies
        self.feed = Pipe(self.loop, FEED_BYTES)
        self.out = Pipe(self.loop, max(OUT_BYTES, 2 * block))
        self.sink = sink or self.out.put
        self.offset = 0  # bytes stream-zip has handed over (it holds less than a block more)
        self.since_flush = 0  # bytes stream-zip made since it last ended a block early
        self.count = 0
        self.taken: set[str] = set()
        self.feeder: asyncio.Task[None] | None = None
        self.exited: asyncio.Future[None] | None = None
        self.reader: threading.Thread | None = None  # reads member files, started at the first
        self.reads: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def start(self) -> None:
        """Start the feeder and stream-zip's thread; `exited` settles when the thread ends."""
        self.feeder = self.loop.create_task(self._feed())
        self.exited = run_in_thread(self.loop, self._run, name="zip-stream")
        # Its error, if any, reaches the consumer through `out` or `exited`: mark it seen.
        self.exited.add_done_callback(lambda done: done.cancelled() or done.exception())

    def abandon(self) -> None:
        """Make every thread stop at its next step (nothing awaited); `close` tidies up."""
        self.out.abandon()
        self.feed.abandon()
        self.reads.put(None)

    async def close(self) -> None:
        """Stop the feeder (its sources are closed) and the threads; wait for them to end."""
        self.abandon()
        waits = [w for w in (self.feeder, self.exited) if w is not None]
        if self.feeder is not None:
            self.feeder.cancel()
        if waits:
            await asyncio.wait(waits, timeout=5)

    # -- on the loop
    async def _feed(self) -> None:
        """Pull the members and put their bytes in the feed, each after a `_Next`."""
        members: Any = self.members
        source: Any = None
        try:
            source = aiter(members) if isinstance(members, AsyncIterable) else None
            listed = iter(members) if source is None else None
            while True:
                member = next(listed, None) if source is None else await anext(source, None)
                if member is None:
                    break
                await self.feed.aput(_Next(member), _MARKER_SIZE)
                if member.path is not None:
                    await self._read(member.path)
                else:
                    await self._pump(member)
                await self.feed.aput(_END_OF_MEMBER, 0)
            self.feed.finish()
        except BaseException as exc:
            self.feed.finish(exc)  # stream-zip raises it in its thread, after the bytes before it
            if not isinstance(exc, Exception):
                raise
        finally:
            if hasattr(source, "aclose"):
                with contextlib.suppress(Exception):
                    await source.aclose()

    async def _pump(self, member: ZipMember) -> None:
        chunks: Any = aiter(member.open())
        try:
            async for chunk in chunks:
                if chunk:  # bytes, not a buffer the source might reuse while it sits here
                    await self.feed.aput(chunk if type(chunk) is bytes else bytes(chunk))
        except BaseException:
            if hasattr(chunks, "aclose"):  # cut off mid-member: let it tidy up
                with contextlib.suppress(Exception):
                    await chunks.aclose()
            raise

    async def _read(self, path: Path) -> None:
        """Have the reading thread put the file's bytes in the feed, and wait till it has."""
        if self.reader is None:
            self.reader = threading.Thread(target=self._reading, name="zip-read", daemon=True)
            self.reader.start()
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.reads.put((path, done))
        await asyncio.wrap_future(done)

    # -- in threads
    def _reading(self) -> None:
        """Read files into the feed as asked, until asked for None or the feed is abandoned."""
        while (asked := self.reads.get()) is not None:
            path, done = asked
            try:
                with open(path, "rb") as fh:
                    while block := fh.read(self.read_size):
                        self.feed.put(block)
            except BaseException as exc:
                if done.set_running_or_notify_cancel():
                    done.set_exception(exc)
                if isinstance(exc, Abandoned):
                    return
            else:
                if done.set_running_or_notify_cancel():
                    done.set_result(None)

    def _run(self) -> None:
        blocks = sz.stream_zip(self._entries(), chunk_size=self.block)
        try:
            tail = b""
            for block in blocks:
                self.offset += len(block)
                tail = (tail + block[-22:])[-22:]
                self.sink(block)
            if not tail.startswith(_EOCD):  # e.g. uktrade/stream-zip#189, dodged in _entry
                raise Truncated("the archive has no end record")
            self.out.finish()
        except BaseException as exc:
            self.out.finish(exc)
            self.feed.abandon()  # the feeder and the file readers stop too
            raise
        finally:
            blocks.close()

    def _entries(self) -> Iterator[tuple[Any, ...]]:
        while (item := self.feed.get()) is not None:
            yield self._entry(item.member)

    def _data(self) -> Iterator[bytes]:
        while (chunk := self.feed.get()) is not _END_OF_MEMBER:
            yield chunk

    def _entry(self, member: ZipMember) -> tuple[Any, ...]:
        name = self._claim(member.name)
        first = self.count == 0
        zip64 = self.needs_zip64(member.size, self.offset, first)
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
            data = self._counted(self._data())
        else:
            # ZIP_AUTO(0) is ZIP_32 here (the offset is far below 4 GiB) whose central directory
            # turns zip64 should this member carry the archive past 4 GiB.
            base = sz.ZIP_64 if zip64 else sz.ZIP_AUTO(0, level=0)
            method = WithCompressor(base, StoredBlocks(self.block, self._count))
            data = self._described(self._data(), 24 if zip64 else 16)
        return name, _zip_time(member.modified), _FILE_MODE, method, data

    def _count(self, n: int) -> None:
        self.since_flush += n

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.since_flush += len(chunk)
            yield chunk

    def _described(self, chunks: Iterator[bytes], descriptor: int) -> Iterator[bytes]:
        yield from chunks  # StoredBlocks counts the deflate stream stream-zip makes of them
        self.since_flush += descriptor  # and the data descriptor follows it

    def _claim(self, raw: str) -> str:
        # Compared case-insensitively: the archive will be unpacked on Windows and macOS too.
        name = safe_relpath(raw or "", fallback="track")
        path, n = PurePosixPath(name), 1
        while name.casefold() in self.taken:
            n += 1
            name = str(path.with_name(f"{path.stem} ({n}){path.suffix}"))
        self.taken.add(name.casefold())
        return name


def _zip_time(value: datetime | None) -> datetime:
    value = value or datetime.now(UTC)
    low, high = (t if value.tzinfo else t.replace(tzinfo=None) for t in _TIME_RANGE)
    return min(max(value, low), high).astimezone()  # unzip reads DOS times as local time

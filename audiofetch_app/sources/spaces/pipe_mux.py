"""FFmpeg fed while the chunks arrive: ADTS on its stdin in sequence order, so the tagged
file is ready moments after the last chunk instead of a join and a mux later.

A chunk is sent once it and every chunk planned before it are on disk; sent audio goes to
FFmpeg FEED_BYTES at a time (and all of it at the end), not a pipe write per chunk. At most
`WINDOW` chunks wait in memory; later arrivals wait as file names and are read back when due.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
import subprocess
import sys
from collections import deque
from collections.abc import Awaitable
from pathlib import Path

from audiofetch_app.core import ffmpeg
from audiofetch_app.sources.spaces.chunks import clean_chunk

log = logging.getLogger(__name__)

WINDOW = 64  # chunks held in memory while an earlier one is still on its way
FEED_BYTES = 256 * 1024  # audio gathered before one write to FFmpeg (~10 chunks)
_TAIL_LINES = 20
_KILL_AFTER = 2.0


class StreamBroken(Exception):
    """The stream cannot give the whole file (a chunk came that belongs before audio already
    sent, a chunk without audio, FFmpeg failed): the caller joins the chunks from disk."""


class PipeMux:
    """One FFmpeg writing `dest`.part from ADTS on stdin; `finish()` renames it to `dest`."""

    def __init__(self, dest: Path, *, fmt: str, tags: dict[str, str],
                 cover: Awaitable[Path | None] | None = None) -> None:
        if fmt not in ffmpeg.OUTPUT_FORMATS:
            raise ffmpeg.FFmpegError(f"Unknown output format {fmt!r}; use m4a or mp3.")
        self.dest, self.fmt, self.tags, self.cover = dest, fmt, tags, cover
        self.part = dest.with_name(dest.name + ".part")
        self.fed: list[int] = []  # sequence numbers written, in order
        self._order: deque[int] = deque()  # planned, not yet written, ascending
        self._ready: dict[int, bytes | Path] = {}
        self._in_memory = 0
        self._batch: list[bytes] = []  # cleaned audio of chunks in `fed`, not yet written
        self._batch_size = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._broken: str | None = None  # why the stream stopped taking chunks
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: deque[str] = deque(maxlen=_TAIL_LINES)
        self._tasks: list[asyncio.Task] = []

    # -- what the recorder calls (synchronous: it only files the news and wakes the feeder) --

    def plan(self, sequences: list[int]) -> None:
        """These chunks are coming; they are written in ascending order."""
        last = self.fed[-1] if self.fed else None
        for seq in sorted(sequences):
            if last is not None and seq <= last:
                self._broken = self._broken or f"chunk {seq} came after chunk {last} was sent"
                continue
            if not self._order or seq > self._order[-1]:
                self._order.append(seq)
            elif seq not in self._order:
                self._order.insert(bisect.bisect(self._order, seq), seq)

    def arrived(self, seq: int, path: Path, data: bytes | None) -> None:
        """Chunk `seq` is on disk at `path` (its bytes too, when at hand)."""
        if seq in self._ready:
            return
        if data is not None and self._in_memory < WINDOW:
            self._ready[seq] = data
            self._in_memory += 1
        else:
            self._ready[seq] = path
        if self._order and self._order[0] == seq:
            self._wake.set()

    # -- the FFmpeg side ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the feeder (FFmpeg is spawned by it, once the cover is known)."""
        self._tasks.append(asyncio.create_task(self._feed(), name=f"feed {self.dest.name}"))

    async def _spawn(self) -> asyncio.subprocess.Process:
        cover = await self.cover if self.cover is not None else None
        args = [await ffmpeg.located(), "-hide_banner", "-nostdin", "-y", "-v", "error",
                "-f", "aac", "-i", "pipe:0",
                *ffmpeg.output_args(self.part, fmt=self.fmt, metadata=self.tags, cover=cover)]
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                # A windowed (frozen) app would flash a console window without this flag.
                **({"creationflags": subprocess.CREATE_NO_WINDOW}
                   if sys.platform == "win32" else {}))
        except FileNotFoundError as exc:
            raise ffmpeg.FFmpegNotFound(f"FFmpeg was not found at {args[0]}.") from exc
        except OSError as exc:
            raise ffmpeg.FFmpegError(
                f"FFmpeg could not be started: {exc.strerror or exc}.") from exc
        self._tasks.append(asyncio.create_task(self._read_stderr(proc)))
        return proc

    async def _read_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._stderr.append(line[:1000])

    async def _feed(self) -> None:
        self._proc = await self._spawn()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._order and self._order[0] in self._ready and self._broken is None:
                seq = self._order.popleft()
                await self._write(seq, self._ready.pop(seq))
            if self._closing:
                await self._flush()
                return

    async def _write(self, seq: int, item: bytes | Path) -> None:
        if isinstance(item, Path):
            data = await asyncio.to_thread(item.read_bytes)
        else:
            data = item
            self._in_memory -= 1
        try:
            audio = clean_chunk(data)
        except ValueError:
            self._broken = f"chunk {seq} holds no AAC audio"
            return
        self.fed.append(seq)
        self._batch.append(audio)
        self._batch_size += len(audio)
        if self._batch_size >= FEED_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        """Write the gathered audio: one write and one wake-up of FFmpeg for ~10 chunks."""
        if not self._batch or self._broken is not None:
            return
        audio = b"".join(self._batch)
        self._batch.clear()
        self._batch_size = 0
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(audio)
            await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self._broken = "FFmpeg stopped reading"

    async def _stop_feeding(self) -> None:
        """Write what is due, then stop the feeder task (errors come out here)."""
        self._closing = True
        self._wake.set()
        await self._tasks[0]

    async def finish(self, chunks: dict[int, Path]) -> Path:
        """Send every recorded chunk not sent yet, end the stream and put the file in place;
        StreamBroken (and nothing left behind) when the stream cannot give the whole file."""
        try:
            await self._stop_feeding()
        except ffmpeg.FFmpegError as exc:
            self._broken = self._broken or str(exc)
        last = self.fed[-1] if self.fed else -1
        rest = sorted(set(chunks) - set(self.fed))
        if self._broken is None and rest and rest[0] < last:
            self._broken = f"chunk {rest[0]} came after chunk {last} was sent"
        if self._broken is None:
            for seq in rest:  # chunks after a gap the recorder gave up on, in order
                item = self._ready.pop(seq, None) or chunks[seq]
                await self._write(seq, item)
            await self._flush()
        if self._broken is not None:
            await self.abort()
            raise StreamBroken(self._broken)
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        proc.stdin.close()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await proc.stdin.wait_closed()
        code = await proc.wait()
        await asyncio.gather(*self._tasks[1:], return_exceptions=True)
        if code != 0 or self._broken is not None:
            tail = list(self._stderr)
            log.warning("FFmpeg exited with code %s; last lines of its output:\n%s",
                        code, "\n".join(tail))
            self.part.unlink(missing_ok=True)
            raise StreamBroken(self._broken or ffmpeg.explain_failure(tail, code))
        os.replace(self.part, self.dest)
        return self.dest

    async def abort(self) -> None:
        """Stop feeding, kill FFmpeg and delete the .part; safe to call more than once."""
        self._closing = True
        for task in self._tasks[:1]:
            task.cancel()
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if proc is not None:
            await proc.wait()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._ready.clear()
        self._batch.clear()
        self.part.unlink(missing_ok=True)

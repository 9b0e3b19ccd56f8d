"""Chunk files written by one thread of their own, behind the fetch.

A fetch hands its chunk over and sends its next request at once; the chunk is reported (on
the loop) once its file is in place. Before, each fetch waited for `asyncio.to_thread` to
write its file: a default-executor hop per chunk, six threads taking turns at the GIL (2.2 s
of system time for a 2,400-chunk Space on 2 cores), and a file creation that takes 1 ms or
more on a busy disk, all inside every chunk's request cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

PENDING_BYTES = 8 * 1024 * 1024  # chunk bytes waiting to be written (one bigger chunk alone)

# (sequence, file, its bytes): a chunk whose file is in place
Saved = Callable[[int, Path, bytes], None]


def save_whole(path: Path, data: bytes) -> None:
    """`data` as `path`, whole or not at all (a resumed job trusts every chunk file)."""
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)


class ChunkWriter:
    """Writes chunks in the order handed over, in a daemon thread started by `start()`;
    `on_saved` runs on the loop for each, in that order, once its file is in place.

    `put` waits while PENDING_BYTES are already waiting; `close` waits for every file and
    raises the first error (OSError of a write, or what `on_saved` raised). After a write
    error the thread writes nothing more. Nothing is reported after `close` returns.
    """

    def __init__(self, on_saved: Saved, *, max_pending: int = PENDING_BYTES) -> None:
        self.loop = asyncio.get_running_loop()
        self.on_saved = on_saved
        self.max_pending = max_pending
        self._jobs: queue.SimpleQueue[tuple[int, Path, bytes] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._saved: list[tuple[int, Path, bytes]] = []  # written, not yet reported
        self._posted = False  # a report is on its way to the loop
        self._failure: BaseException | None = None  # of the thread, handed over in a report
        self._error: BaseException | None = None  # the first error, raised by put and close
        self._pending = 0  # bytes handed over and not yet reported
        self._room = asyncio.Event()
        self._stop = threading.Event()
        self._done = False  # closed: reports are dropped
        self._ending = False  # the thread was told to stop
        self._exited: asyncio.Future[None] = self.loop.create_future()
        self._started = False

    def start(self) -> None:
        """Start the writing thread."""
        self._started = True
        threading.Thread(target=self._run, name="space-chunks", daemon=True).start()

    async def put(self, seq: int, path: Path, data: bytes) -> None:
        """Hand chunk `seq` over to be written as `path`; waits only while the thread is
        PENDING_BYTES behind. Raises the first error met so far."""
        while self._error is None and self._pending and \
                self._pending + len(data) > self.max_pending:
            self._room.clear()
            await self._room.wait()
        if self._error is not None:
            raise self._error
        self._pending += len(data)
        self._jobs.put((seq, path, data))

    async def close(self, *, quiet: bool = False) -> None:
        """Write and report everything handed over and stop the thread; then raise the first
        error, unless `quiet` (a fetch failed or was cancelled: keep what can be kept). A
        second cancel stops only the wait: nothing is reported after that."""
        self._ending = True
        try:
            if self._started:
                self._jobs.put(None)
                await asyncio.shield(self._exited)
            self._report()
        finally:
            self._done = True
        if self._error is not None and not quiet:
            raise self._error

    # -- on the loop
    def _report(self) -> None:
        with self._lock:
            saved, self._saved = self._saved, []
            failure, self._failure = self._failure, None
            self._posted = False
        for seq, path, data in saved:
            self._pending -= len(data)
            if self._done or self._error is not None:
                continue
            try:
                self.on_saved(seq, path, data)
            except Exception as exc:
                self._error = exc
        if failure is not None and self._error is None:
            self._error = failure
        self._room.set()

    def _exit(self) -> None:
        if not self._ending and self._error is None:  # never: the thread catches everything
            self._error = RuntimeError("the thread writing chunk files stopped")
        self._report()
        if not self._exited.done():
            self._exited.set_result(None)

    # -- in the thread
    def _run(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                if self._stop.is_set():
                    continue
                try:
                    save_whole(job[1], job[2])
                except BaseException as exc:
                    self._stop.set()
                    with self._lock:
                        self._failure = exc
                    self._post(self._report)
                    continue
                with self._lock:
                    self._saved.append(job)
                    post = not self._posted
                    self._posted = True
                if post:  # one wake-up of the loop for all the chunks written till it comes
                    self._post(self._report)
        finally:
            self._post(self._exit)

    def _post(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self.loop.call_soon_threadsafe(callback)

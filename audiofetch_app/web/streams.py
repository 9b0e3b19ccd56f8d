"""Hand a job's output straight to one HTTP caller: nothing is written on this machine.

The REST face registers `hub.produce` as the job manager's stream consumer; a job that
delivers its output (`JobContext.deliver`) then feeds the caller of `/api/stream/{job_id}`.

The job produces blocks into a small queue (so a slow caller slows the job down instead of
filling memory); the web face takes them out and sends them. A caller who hangs up stops the
job; a job that breaks tells the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from audiofetch_app.core.job_context import JobError

QUEUE_BLOCKS = 16  # about 1 MiB in flight with 64 KiB blocks
_END = object()


class StreamGone(JobError):
    """Nobody is reading the stream any more, or nobody came to read it."""


@dataclass
class _Stream:
    queue: asyncio.Queue[object] = field(default_factory=lambda: asyncio.Queue(QUEUE_BLOCKS))
    taken: asyncio.Event = field(default_factory=asyncio.Event)
    gone: bool = False


class StreamHub:
    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._ready: dict[str, asyncio.Event] = {}

    def _event(self, job_id: str) -> asyncio.Event:
        return self._ready.setdefault(job_id, asyncio.Event())

    async def produce(self, job_id: str, blocks: AsyncIterator[bytes],
                      wait_for_reader: float = 120.0) -> None:
        """Run by the job: push `blocks` to the reader; StreamGone if there is none."""
        stream = self._streams[job_id] = _Stream()
        self._event(job_id).set()
        try:
            try:
                async with asyncio.timeout(wait_for_reader):
                    await stream.taken.wait()
            except TimeoutError as exc:
                raise StreamGone("Nobody came to collect the stream.") from exc
            try:
                async for block in blocks:
                    if block:
                        await self._put(stream, block)
            except StreamGone:
                raise
            except Exception as exc:  # the reader must learn the stream broke
                await self._put(stream, exc)
                raise
            await self._put(stream, _END)
        finally:
            self._streams.pop(job_id, None)
            self._ready.pop(job_id, None)

    @staticmethod
    async def _put(stream: _Stream, item: object) -> None:
        while True:
            if stream.gone:
                raise StreamGone("The browser stopped collecting the download.")
            try:
                async with asyncio.timeout(0.5):
                    await stream.queue.put(item)
                return
            except TimeoutError:
                continue

    async def attach(self, job_id: str, wait_for_job: float = 60.0) -> AsyncIterator[bytes]:
        """Run by the web face before it answers: waits for the job, then hands its blocks."""
        try:
            async with asyncio.timeout(wait_for_job):
                await self._event(job_id).wait()
        except TimeoutError as exc:
            self._ready.pop(job_id, None)
            raise StreamGone("The download did not start in time.") from exc
        stream = self._streams.get(job_id)
        if stream is None or stream.taken.is_set():
            raise StreamGone("Someone is already collecting this stream.")
        stream.taken.set()
        return self._drain(stream)

    @staticmethod
    async def _drain(stream: _Stream) -> AsyncIterator[bytes]:
        finished = False
        try:
            while True:
                item = await stream.queue.get()
                if item is _END:
                    finished = True
                    return
                if isinstance(item, BaseException):
                    finished = True
                    raise StreamGone(str(item)) from item
                yield item  # type: ignore[misc]
        finally:
            if not finished:
                stream.gone = True  # the caller hung up: stop the job


hub = StreamHub()

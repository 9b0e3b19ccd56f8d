"""Live job progress for programs: `GET /api/events`, server-sent events behind the same auth.

Each event is one JSON job (as `/api/status` gives it) with the event type as the SSE event
name: added, updated, progress, removed. Progress is sent at most `PROGRESS_PER_SECOND` times a
second per job; a comment line every `HEARTBEAT` seconds keeps proxies from closing the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from audiofetch_app.web.api import job_json

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime

HEARTBEAT = 15.0
PROGRESS_PER_SECOND = 4
QUEUE_LIMIT = 1000  # a client that stops reading loses progress events, never memory


def build_events_router(get_runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["jobs"])

    @router.get("/events", response_class=StreamingResponse,
                responses={200: {"content": {"text/event-stream": {}}}})
    async def events(request: Request, job_id: str | None = None) -> StreamingResponse:
        """Server-sent events for every job (or one `job_id`) as they change."""
        return StreamingResponse(_stream(get_runtime().jobs, request, job_id),
                                 media_type="text/event-stream",
                                 headers={"cache-control": "no-store",
                                          "x-accel-buffering": "no"})

    return router


async def _stream(jobs: Any, request: Request, only: str | None) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_LIMIT)
    last_progress: dict[str, float] = {}

    def listen(event: Any) -> None:
        if only is not None and event.job.id != only:
            return
        if event.type == "progress":
            now = time.monotonic()
            if now - last_progress.get(event.job.id, 0.0) < 1 / PROGRESS_PER_SECOND:
                return
            last_progress[event.job.id] = now
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(event)

    unsubscribe = jobs.subscribe(listen)
    try:
        yield b"retry: 3000\n\n"
        if only is not None and jobs.get(only) is not None:
            yield _frame("updated", jobs.get(only))
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"
                continue
            yield _frame(event.type, event.job)
    finally:
        unsubscribe()


def _frame(kind: str, job: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(job_json(job))}\n\n".encode()

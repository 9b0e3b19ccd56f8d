"""Live job progress for programs: `GET /api/events` (server-sent events) and `/ws` (a
WebSocket, as the page-audio web app AudioFetch replaces served), behind the same auth.

Each event is one JSON job (as `/api/status` gives it) with the event type: added, updated,
progress, removed. SSE names the type in the `event:` line; `/ws` sends one text message per
event, `{"type": ..., "job": {...}}`. Progress is sent at most `PROGRESS_PER_SECOND` times a
second per job; on SSE a comment line every `HEARTBEAT` seconds keeps proxies from closing the
stream. Both take `?job_id=` to follow one job (which is sent at once as "updated").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from audiofetch_app.web.api import job_json
from audiofetch_app.web.closing import until_closing

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime

HEARTBEAT = 15.0
PROGRESS_PER_SECOND = 4
QUEUE_LIMIT = 1000  # a client that stops reading loses progress events, never memory


def build_events_router(get_runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(tags=["jobs"])

    @router.get("/api/events", response_class=StreamingResponse,
                responses={200: {"content": {"text/event-stream": {}}}})
    async def events(request: Request, job_id: str | None = None) -> StreamingResponse:
        """Server-sent events for every job (or one `job_id`) as they change."""
        return StreamingResponse(_stream(get_runtime().jobs, request, job_id),
                                 media_type="text/event-stream",
                                 headers={"cache-control": "no-store",
                                          "x-accel-buffering": "no"})

    @router.websocket("/ws")
    async def websocket_events(socket: WebSocket, job_id: str | None = None) -> None:
        """The same events on a WebSocket: one `{"type", "job"}` text message each."""
        jobs = get_runtime().jobs
        await socket.accept()
        queue, unsubscribe = _listen(jobs, job_id)
        closed = asyncio.create_task(_until_closed(socket))
        closing = asyncio.create_task(until_closing())
        try:
            if job_id is not None and jobs.get(job_id) is not None:
                await socket.send_json({"type": "updated", "job": job_json(jobs.get(job_id))})
            while not closed.done():
                getting = asyncio.create_task(queue.get())
                await asyncio.wait({getting, closed, closing},
                                   return_when=asyncio.FIRST_COMPLETED)
                if not getting.done():
                    getting.cancel()
                    if closing.done():  # the app is closing: "going away"
                        await socket.close(1001)
                    break
                event = getting.result()
                await socket.send_json({"type": event.type, "job": job_json(event.job)})
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client went away mid-send
        finally:
            unsubscribe()
            closed.cancel()
            closing.cancel()

    return router


async def _until_closed(socket: WebSocket) -> None:
    """Read (and drop) what the client sends until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await socket.receive()
            if message.get("type") == "websocket.disconnect":
                return


def _listen(jobs: Any, only: str | None) -> tuple[asyncio.Queue[Any], Callable[[], None]]:
    """A queue of job events (progress thinned to PROGRESS_PER_SECOND per job; a client that
    stops reading loses events, never memory) and the call that stops it."""
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

    return queue, jobs.subscribe(listen)


async def _stream(jobs: Any, request: Request, only: str | None) -> AsyncIterator[bytes]:
    queue, unsubscribe = _listen(jobs, only)
    closing = asyncio.ensure_future(until_closing())
    getting: asyncio.Future[Any] = closing  # replaced by each wait for the next event
    try:
        yield b"retry: 3000\n\n"
        if only is not None and jobs.get(only) is not None:
            yield _frame("updated", jobs.get(only))
        while True:
            getting = asyncio.ensure_future(queue.get())
            await asyncio.wait({getting, closing}, timeout=HEARTBEAT,
                               return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():
                getting.cancel()
                if closing.done():  # the app is closing: the stream ends, the client retries
                    return
                if await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"
                continue
            event = getting.result()
            yield _frame(event.type, event.job)
    finally:
        unsubscribe()
        closing.cancel()
        getting.cancel()


def _frame(kind: str, job: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(job_json(job))}\n\n".encode()

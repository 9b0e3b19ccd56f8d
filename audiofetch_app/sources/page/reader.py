"""Read a fetched page (decode, check its shape, parse, detect) away from the event loop.

A page is whatever anyone pastes, so reading one is untrusted work: a million nested
`<div>`s keeps an HTML parser busy for hours. It runs in a worker process, never on the
event loop and never in a thread (a thread cannot be stopped; a process can): each page gets
at most READ_SECONDS, after which its process is killed and the job ends with a sentence.
Before parsing, the worker scans the page's shape (`shape.check_shape`) and refuses pages
deeper or larger than any real page (MAX_DEPTH, MAX_ELEMENTS).

Worker processes are started with "spawn" (safe beside the event loop's threads, and the
same on every system; the frozen app re-enters through `multiprocessing.freeze_support`).
One idle worker is kept warm for the next page, and at most MAX_READERS pages are read at
once; further pages wait their turn. A worker that cannot be started at all (a locked-down
system) is replaced by a thread, with the caps still applied but no time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.page import charset, detect
from audiofetch_app.sources.page.document import page_title
from audiofetch_app.sources.page.shape import PageTooComplex, check_shape
from audiofetch_app.sources.page.tracks import Track

log = logging.getLogger(__name__)

# Caps no real page comes near. Browsers stop nesting at 512 levels (Blink) and real pages
# stay under a few hundred; MAX_DEPTH nested <div>s take lexbor about 20 ms, 100,000 take 30 s.
MAX_DEPTH = 4096
# Real pages have under 100,000 elements; 500,000 empty ones take about 2 s and 200 MB to
# scan, parse and search.
MAX_ELEMENTS = 500_000
# The longest one page may take, from handing it over to getting its tracks back. The
# slowest page within the caps is one of audio links only: 5 MB of them (160,000 tracks)
# take about 15 s.
READ_SECONDS = 30.0
MAX_READERS = 2   # pages read at once
IDLE_READERS = 1  # warm workers kept for the next page


@dataclass(frozen=True)
class ReadRequest:
    """One page for a worker: its bytes, where it came from, what to look for, the caps."""

    data: bytes
    url: str
    http_charset: str | None
    plugin: str | None
    max_depth: int
    max_elements: int


@dataclass
class PageReading:
    """What a page offers: tracks in page order, its title, the feeds it links to (looked
    up only when it has no tracks) and the encoding it was read in."""

    tracks: list[Track]
    title: str
    feed_links: list[str]
    encoding: str


def read_here(request: ReadRequest) -> PageReading:
    """Read the page in `request` in this process (what a worker does): decode, check the
    shape (PageTooComplex past a cap), parse and detect."""
    text, encoding = charset.decode_html(request.data, request.http_charset)
    check_shape(text, max_depth=request.max_depth, max_elements=request.max_elements)
    page = detect.parse_page(text, request.url, max_bytes=len(text), encoding=encoding)
    tracks = detect.detect_tracks(page, request.plugin)
    links = detect.feed_links(page) if not tracks and request.plugin in (None, "feeds") else []
    return PageReading(tracks, page_title(text, request.url), links, encoding)


def too_complex_sentence(exc: PageTooComplex) -> str:
    """The one sentence for a page past a cap."""
    if exc.what == "depth":
        return (f"This page is too deeply nested to read safely (more than {exc.limit:,} "
                "levels); AudioFetch stopped reading it.")
    return (f"This page has too many elements to read safely (more than {exc.limit:,}); "
            "AudioFetch stopped reading it.")


async def read_page(data: bytes, url: str, *, http_charset: str | None = None,
                    plugin: str | None = None) -> PageReading:
    """Read the page `data` fetched from `url` in a worker process, within READ_SECONDS.

    `http_charset` is the response's Content-Type charset. Raises JobError with a sentence
    when the page is past a cap, takes too long, or its worker dies."""
    request = ReadRequest(data, url, http_charset, plugin, MAX_DEPTH, MAX_ELEMENTS)
    async with _slots():
        answer = await _ask_worker(request, READ_SECONDS)
    status, value = answer
    if status == "ok":
        return value
    if status == "too-complex":
        raise JobError(too_complex_sentence(PageTooComplex(*value)))
    log.warning("Reading %s failed in the worker: %s", url, value)
    raise JobError("AudioFetch could not read this page (its reader failed).")


def warm_up() -> None:
    """Start a worker in the background when none is idle, so that the next read_page (say,
    once the page has been fetched) need not wait for one to start."""
    global _warming
    with _idle_lock:
        if _idle or (_warming is not None and not _warming.done()):
            return
        _warming = _starter.submit(_start_idle)


def shutdown() -> None:
    """Stop the idle workers (they also stop by themselves when this process ends)."""
    with _idle_lock:
        workers, _idle[:] = list(_idle), []
    for worker in workers:
        worker.close()


# --- the parent's side ---------------------------------------------------------------------

_idle: list[_Worker] = []
_idle_lock = threading.Lock()
_starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audiofetch-page-warm-up")
_warming: Future[None] | None = None  # a warm-up start under way (not tied to a loop)
_slot_state: dict[str, Any] = {}  # the semaphore, tied to the event loop that made it


def _slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if _slot_state.get("loop") is not loop:
        _slot_state.update(loop=loop, semaphore=asyncio.Semaphore(MAX_READERS))
    return _slot_state["semaphore"]


class _Worker:
    """One worker process and our end of its pipe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_end,), daemon=True,
                                       name="audiofetch-page-reader")
        self.process.start()
        child_end.close()
        self.killed = threading.Event()

    def exchange(self, request: ReadRequest, seconds: float) -> tuple[str, Any]:
        """Send a request and wait for the answer (in a thread, which ends soon after kill()
        and kills the worker itself a little after `seconds`, should nobody be waiting)."""
        deadline = time.monotonic() + seconds + 5
        try:
            self.conn.send(request)
            while not self.conn.poll(0.2):
                if time.monotonic() > deadline:
                    self.kill()
                if self.killed.is_set():
                    raise EOFError
            return self.conn.recv()
        finally:
            if self.killed.is_set():  # reap the killed process and let go of the pipe
                with contextlib.suppress(OSError, ValueError, AssertionError):
                    self.process.join(5)
                    self.conn.close()

    def kill(self) -> None:
        self.killed.set()
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.process.kill()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)  # the worker ends its loop
        with contextlib.suppress(OSError):
            self.conn.close()


def _take_worker() -> _Worker | None:
    with _idle_lock:
        while _idle:
            worker = _idle.pop()
            if worker.process.is_alive():
                return worker
    return None


def _start_idle() -> None:
    with contextlib.suppress(OSError, RuntimeError, ValueError):  # read_page will say so
        _give_back(_Worker())


async def _get_worker() -> _Worker:
    """An idle worker, the one a warm-up is starting, or a new one."""
    worker = _take_worker()
    warming = _warming
    if worker is None and warming is not None and not warming.done():
        await asyncio.shield(asyncio.wrap_future(warming))
        worker = _take_worker()
    return worker if worker is not None else await asyncio.to_thread(_Worker)


def _give_back(worker: _Worker) -> None:
    with _idle_lock:
        if len(_idle) < IDLE_READERS and worker.process.is_alive():
            _idle.append(worker)
            return
    worker.close()


async def _ask_worker(request: ReadRequest, seconds: float) -> tuple[str, Any]:
    try:
        worker = await _get_worker()
    except (OSError, RuntimeError, ValueError) as exc:
        log.warning("No worker process for reading pages (%s); reading in a thread.", exc)
        return await asyncio.to_thread(_answer, request)
    exchange = asyncio.get_running_loop().run_in_executor(None, worker.exchange, request,
                                                          seconds)
    try:
        async with asyncio.timeout(seconds):
            answer = await exchange
    except TimeoutError:
        worker.kill()
        raise JobError(f"This page took longer than {seconds:g} seconds to read; AudioFetch "
                       "stopped reading it.") from None
    except (EOFError, OSError):
        worker.kill()
        raise JobError("AudioFetch could not read this page (its reader stopped "
                       "unexpectedly).") from None
    except BaseException:  # cancelled: the work is of no use any more
        worker.kill()
        raise
    _give_back(worker)
    return answer


# --- the worker's side ---------------------------------------------------------------------

def _answer(request: ReadRequest) -> tuple[str, Any]:
    try:
        return "ok", read_here(request)
    except PageTooComplex as exc:
        return "too-complex", (exc.what, exc.limit)
    except Exception as exc:  # a bug must cost this page, never the worker
        return "error", f"{type(exc).__name__}: {exc}"


def _serve(conn: Connection) -> None:
    """A worker's loop: read pages until the pipe closes or None arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the app, which ends us
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(5)  # a hostile page must not slow the window down
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            conn.send(_answer(request))
        except (OSError, ValueError):
            return

"""Hostile pages: deep nesting and millions of elements end with a sentence while the event
loop goes on answering; a page that takes too long is stopped (its worker process killed);
a page larger than AudioFetch reads is searched in the part that was read, and says so."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import audiofetch_app.sources  # noqa: F401 - registers the sources
from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import JobState
from audiofetch_app.sources.page import finder, reader
from audiofetch_app.sources.page.shape import PageTooComplex, check_shape
from audiofetch_app.sources.page.source import KIND
from audiofetch_app.sources.runtime import open_runtime
from audiofetch_app.web.api import build_router
from tests.desktop import AppProcess, wait_for_http
from tests.fakes.hostile_pages import (
    AUDIO_LINK,
    larger_than,
    many_elements,
    nested_divs,
)

MILLION_DIVS = nested_divs(1_000_000)  # about 11 MB
DEPTH_SENTENCE = ("This page is too deeply nested to read safely (more than 4,096 levels); "
                  "AudioFetch stopped reading it.")
HANG_GUARD = 60.0  # seconds; only so that a regression fails instead of hanging the run


class Ticker:
    """Counts how often the event loop gets round to a 10 ms sleep, and the longest gap."""

    def __init__(self) -> None:
        self.ticks = 0
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            self.ticks, self.longest, last = self.ticks + 1, max(self.longest, now - last), now

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        print(f"event loop: {self.ticks} ticks, longest gap {self.longest * 1000:.0f} ms")


def readers() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name == "audiofetch-page-reader"]


async def no_readers_left() -> None:
    """Stop the idle workers and wait until no worker process is left (a killed one is gone,
    a busy one would stay)."""
    reader.shutdown()
    deadline = time.monotonic() + HANG_GUARD
    while readers():
        assert time.monotonic() < deadline, f"worker processes still alive: {readers()}"
        await asyncio.sleep(0.05)


@pytest.fixture
def uncapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shape caps, so a hostile page really reaches the parser (and the time limit)."""
    monkeypatch.setattr(reader, "MAX_DEPTH", 10**9)
    monkeypatch.setattr(reader, "MAX_ELEMENTS", 10**9)


@pytest.fixture
async def runtime(af_home: Path):
    rt = await open_runtime(console_log=False)
    yield rt
    await rt.close()


async def find(url: str, plugin: str | None = None) -> finder.FoundPage:
    async with net.make_client() as client:
        return await finder.find_tracks(client, url, plugin)


# --- the shape scan ------------------------------------------------------------------------

@pytest.mark.parametrize("html, elements, depth", [
    ("<div><p>a<p>b<ul><li>x<li>y</ul></div>", 6, 2),             # <p>, <li> close themselves
    ("<img src=a><br><input><hr>", 4, 0),                         # void elements
    ("<svg><path d=x/><g><circle/></g></svg><div/>", 5, 2),       # /> closes only in svg
    ("<script>'<div>'.repeat(9)</script><!-- <div> --><div></div>", 2, 1),
    ("<style>div{}</style><textarea><div><div></textarea>", 2, 0),
    ("<div title='<div>'></div>", 1, 1),
    ("<DIV><Span></SPAN></div>", 2, 2),
    ("<!-- never closed <div><div>", 0, 0),
    ("< div>a <b", 0, 0),
])
def test_shape_counts_like_a_parser(html: str, elements: int, depth: int) -> None:
    shape = check_shape(html, max_depth=100, max_elements=100)
    assert (shape.elements, shape.depth) == (elements, depth)


def test_shape_stops_at_the_first_cap() -> None:
    with pytest.raises(PageTooComplex) as deep:
        check_shape("<div>" * 11, max_depth=10, max_elements=100)
    assert (deep.value.what, deep.value.limit) == ("depth", 10)
    with pytest.raises(PageTooComplex) as wide:
        check_shape("<i></i>" * 101, max_depth=10, max_elements=100)
    assert (wide.value.what, wide.value.limit) == ("elements", 100)
    assert check_shape("<div/>" * 10, max_depth=10, max_elements=100).depth == 10


def test_shape_scan_of_unclosed_openers_stays_linear() -> None:
    # Each of these would send a backtracking regex to the end of the text once per opener.
    for opener in ("<!--", "<script>", "<title", "<a "):
        assert check_shape(opener * 200_000, max_depth=10**9, max_elements=10**9)


# --- deep and wide pages -------------------------------------------------------------------

async def test_a_million_nested_divs_end_the_job_with_a_sentence(runtime, http_server) -> None:
    http_server.add("/deep", MILLION_DIVS, content_type="text/html")
    async with Ticker() as ticker:
        job = await runtime.jobs.submit(KIND, http_server.url_for("/deep"), {})
        done = await asyncio.wait_for(runtime.jobs.wait(job.id), HANG_GUARD)
    assert done.state == JobState.FAILED
    assert done.error == DEPTH_SENTENCE
    assert ticker.ticks > 0
    assert not http_server.hits.get("/media/deep.mp3")


async def test_too_many_elements_end_with_a_sentence(http_server) -> None:
    http_server.add("/wide", many_elements(reader.MAX_ELEMENTS + 1), content_type="text/html")
    with pytest.raises(JobError) as caught:
        await find(http_server.url_for("/wide"))
    assert str(caught.value) == ("This page has too many elements to read safely (more than "
                                 "500,000); AudioFetch stopped reading it.")


async def test_pages_just_under_the_caps_are_read(http_server) -> None:
    http_server.add("/deep", nested_divs(reader.MAX_DEPTH - 10), content_type="text/html")
    http_server.add("/wide", many_elements(reader.MAX_ELEMENTS - 10), content_type="text/html")
    for path in ("/deep", "/wide"):
        found = await find(http_server.url_for(path))
        assert [t.url for t in found.tracks] == [http_server.url_for("/media/deep.mp3")]
        assert found.tracks[0].title == "The deep track"


async def test_a_page_that_takes_too_long_is_stopped_while_the_loop_goes_on(
        http_server, uncapped, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "READ_SECONDS", 3.0)
    http_server.add("/deep", MILLION_DIVS, content_type="text/html")
    http_server.add("/ok", f"<title>Fine</title>{AUDIO_LINK}", content_type="text/html")
    async with Ticker() as ticker:
        hostile = asyncio.create_task(find(http_server.url_for("/deep")))
        while not http_server.hits.get("/deep"):
            await asyncio.sleep(0.01)
        # Another page, asked for while the hostile one is being read, is answered first.
        fine = await asyncio.wait_for(find(http_server.url_for("/ok")), HANG_GUARD)
        assert fine.title == "Fine" and not hostile.done()
        with pytest.raises(JobError) as caught:
            await asyncio.wait_for(hostile, HANG_GUARD)
    assert str(caught.value) == ("This page took longer than 3 seconds to read; AudioFetch "
                                 "stopped reading it.")
    assert ticker.ticks >= 20  # a blocked loop gets round to it about once
    await no_readers_left()  # the worker busy with the page was killed


async def test_cancelling_a_job_kills_its_worker(http_server, uncapped) -> None:
    http_server.add("/deep", MILLION_DIVS, content_type="text/html")
    task = asyncio.create_task(find(http_server.url_for("/deep")))
    while not http_server.hits.get("/deep"):
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.0)  # let the worker get well into the page
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await no_readers_left()


async def test_a_worker_that_dies_ends_the_read_with_a_sentence(http_server, uncapped) -> None:
    http_server.add("/deep", MILLION_DIVS, content_type="text/html")
    task = asyncio.create_task(find(http_server.url_for("/deep")))
    while not http_server.hits.get("/deep") or not readers():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)
    for process in readers():
        process.kill()
    with pytest.raises(JobError) as caught:
        await asyncio.wait_for(task, HANG_GUARD)
    assert str(caught.value) == ("AudioFetch could not read this page (its reader stopped "
                                 "unexpectedly).")
    await no_readers_left()


async def test_without_worker_processes_pages_are_read_in_a_thread(
        http_server, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise OSError("no processes here")

    reader.shutdown()
    monkeypatch.setattr(reader, "_Worker", refuse)
    http_server.add("/ok", f"<title>Fine</title>{AUDIO_LINK}", content_type="text/html")
    http_server.add("/deep", MILLION_DIVS, content_type="text/html")
    assert (await find(http_server.url_for("/ok"))).title == "Fine"
    with pytest.raises(JobError, match="too deeply nested"):
        await find(http_server.url_for("/deep"))


# --- the REST face while a hostile page is read --------------------------------------------

async def test_the_api_answers_while_a_hostile_page_is_read(
        af_home: Path, http_server, uncapped, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "READ_SECONDS", 3.0)
    http_server.add("/deep", MILLION_DIVS, content_type="text/html")
    runtime = await open_runtime(console_log=False)
    app = FastAPI()
    app.include_router(build_router(lambda: runtime))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://test") as client:
            started = await client.post("/api/download", json={
                "url": http_server.url_for("/deep"), "kind": "page"})
            job_id = started.json()["job_id"]
            answered, slowest = 0, 0.0
            deadline = time.monotonic() + HANG_GUARD
            while True:
                began = time.perf_counter()
                status = (await client.get(f"/api/status/{job_id}")).json()
                listed = await client.get("/api/jobs")
                slowest = max(slowest, time.perf_counter() - began)
                assert listed.status_code == 200
                answered += 1
                if status["state"] not in ("queued", "running"):
                    break
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
        print(f"{answered} status requests answered, the slowest in {slowest * 1000:.0f} ms")
        assert status["state"] == "failed"
        assert status["error"].startswith("This page took longer than 3 seconds to read")
        assert answered >= 20
    finally:
        await runtime.close()
    await no_readers_left()


def test_a_real_server_answers_others_while_a_hostile_page_is_posted(
        tmp_path: Path, http_server) -> None:
    http_server.add("/deep", MILLION_DIVS, content_type="text/html")
    with AppProcess(["serve", "--port", "0"], tmp_path / "home", tmp_path / "logs") as app:
        base = app.wait_for_url()
        wait_for_http(base, alive=app.check_alive)
        with httpx.Client(base_url=base, timeout=10) as client:
            job_id = client.post("/api/download", json={
                "url": http_server.url_for("/deep"), "kind": "page"}).json()["job_id"]
            times = []
            deadline = time.monotonic() + HANG_GUARD
            while True:
                began = time.perf_counter()
                status = client.get(f"/api/status/{job_id}").json()
                times.append(time.perf_counter() - began)
                if status["state"] not in ("queued", "running"):
                    break
                assert time.monotonic() < deadline  # polls back to back: every answer timed
            for _ in range(10):  # and afterwards, for every client
                assert httpx.get(f"{base}/api/jobs", timeout=10).status_code == 200
    print(f"{len(times)} status requests, the slowest in {max(times) * 1000:.0f} ms")
    assert status["state"] == "failed" and status["error"] == DEPTH_SENTENCE


# --- pages larger than AudioFetch reads ----------------------------------------------------

async def test_a_cut_page_says_so_when_nothing_was_found(http_server) -> None:
    cap = finder.MAX_PAGE_BYTES
    http_server.add("/long", larger_than(cap, after=AUDIO_LINK), content_type="text/html")
    with pytest.raises(JobError) as caught:
        await find(http_server.url_for("/long"))
    assert str(caught.value).startswith(
        "No audio found on this page, but it is larger than 5 MB and AudioFetch read only its "
        "first 5 MB. Looked for ")


async def test_a_cut_page_is_searched_in_what_was_read(http_server) -> None:
    http_server.add("/long", larger_than(finder.MAX_PAGE_BYTES, before=AUDIO_LINK),
                    content_type="text/html")
    found = await find(http_server.url_for("/long"))
    assert found.truncated and found.title == "Long"
    assert [t.title for t in found.tracks] == ["The deep track"]
    # ... and says so to the person: in the preview (the tab, `page --list`, REST).
    from audiofetch_app import sources

    shown = await sources.preview(None, http_server.url_for("/long"), "page")
    assert shown.note == ("This page is larger than 5 MB; AudioFetch read its first 5 MB "
                          "only, so tracks after that are not listed.")


async def test_a_page_of_exactly_the_cap_is_whole(http_server) -> None:
    cap = finder.MAX_PAGE_BYTES
    body = f"<title>Full</title>{AUDIO_LINK}".encode()
    body += b" " * (cap - len(body))
    http_server.add("/full", body, content_type="text/html")
    found = await find(http_server.url_for("/full"))
    assert not found.truncated and len(found.tracks) == 1
    empty = b"<title>Empty</title>"
    http_server.add("/empty", empty + b" " * (cap - len(empty)), content_type="text/html")
    with pytest.raises(JobError, match=r"^No audio found on this page\. Looked for"):
        await find(http_server.url_for("/empty"))


async def test_a_page_without_tracks_is_followed_to_its_feed(http_server) -> None:
    feed = ('<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel>'
            "<title>Caf\xe9</title><item><title>\xc9pisode 1</title>"
            '<enclosure url="/ep1.mp3" type="audio/mpeg" length="1"/></item></channel></rss>'
            ).encode("latin-1")
    http_server.add("/feed.xml", feed, content_type="application/rss+xml")
    http_server.add("/show", '<title>Show</title><link rel="alternate" '
                    'type="application/rss+xml" href="/feed.xml">', content_type="text/html")
    found = await find(http_server.url_for("/show"))
    assert [(t.url, t.title) for t in found.tracks] == [
        (http_server.url_for("/ep1.mp3"), "Épisode 1")]

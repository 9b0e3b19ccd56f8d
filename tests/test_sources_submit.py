"""The faces' two calls: every source owns its links and options; a page job downloads the
tracks the preview showed, without fetching the page again."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import pytest

from audiofetch_app import sources
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import JobState
from audiofetch_app.core.registry import OptionError
from audiofetch_app.sources.page.finder import PagePreview
from audiofetch_app.sources.page.options import track_dicts

PAGE = """<!DOCTYPE html><html><head><title>The Long Road</title></head><body><ul>
<li><a href="/media/ch1.mp3">Leaving</a></li>
<li><a href="/media/ch2.mp3">The Crossing</a></li>
<li><a href="/media/ch3.mp3">Home Again</a></li>
</ul></body></html>"""


@pytest.mark.parametrize("text", [
    "https://x.com/i/spaces/1YqKDqDkXvWJV",
    "https://twitter.com/i/spaces/1YqKDqDkXvWJV?s=20",
    "https://mobile.twitter.com/i/spaces/1YqKDqDkXvWJV/peek",
    "  https://www.x.com/i/spaces/1YqKDqDkXvWJV#top ",
])
def test_every_form_of_a_space_link_has_one_canonical_form(text: str) -> None:
    link = sources.recognise(text)
    assert (link.kind, link.url, link.id) == (
        "space", "https://x.com/i/spaces/1YqKDqDkXvWJV", "1YqKDqDkXvWJV")


def test_kind_auto_gives_each_link_to_its_source() -> None:
    assert sources.recognise("https://cdn.example/a/Chapter%201.mp3?x=1").kind == "direct"
    assert sources.recognise("https://cdn.example/live/list.m3u8").kind == "direct"
    assert sources.recognise("https://example.com/blog/post").kind == "page"
    # A named kind takes the link even where "auto" would choose another source.
    assert sources.recognise("https://example.com/download?id=81", "direct").kind == "direct"


@pytest.mark.parametrize("url, kind, words", [
    ("ftp://example.com/a.mp3", "auto", "cannot download that link"),
    ("ftp://example.com/a.mp3", "direct", "Only http:// and https://"),
    ("https://x.com/i/spaces/!!", "space", "not an X Space link"),
    ("https://example.com/", "nonsense", "Unknown kind of download"),
])
def test_links_no_source_takes_get_a_sentence(url: str, kind: str, words: str) -> None:
    with pytest.raises(JobError, match=words):
        sources.recognise(url, kind)


@pytest.mark.parametrize("kind, raw, words", [
    ("page", {"workers": 0}, "Workers must be a whole number from 1 to 20"),
    ("page", {"workers": 21}, "from 1 to 20"),
    ("page", {"plugin": "nope"}, "Unknown plugin 'nope'"),
    ("page", {"tracks": []}, "Choose at least one track"),
    ("page", {"tracks": [{"url": "ftp://x/a.mp3"}]}, "no http"),
    ("page", {"tracks": [{"href": "https://x/a.mp3"}]}, "not one AudioFetch found"),
    ("space", {"format": "wav"}, "Format must be one of m4a, mp3"),
    ("direct", {"workers": True}, "whole number"),
    ("direct", {"stream": True}, "Unknown option 'stream'"),
])
def test_each_source_checks_its_own_typed_options(kind: str, raw: dict, words: str) -> None:
    with pytest.raises(OptionError, match=words):
        sources.options_for(kind, raw)


def test_options_read_back_from_a_stored_job_ignore_what_they_do_not_know() -> None:
    options = sources.page.PageOptions.from_dict({"workers": 4, "retired": 1}, strict=False)
    assert options.workers == 4 and options.to_dict() == {"workers": 4}


async def test_submit_stores_the_canonical_link_and_typed_options(runtime) -> None:
    job = await sources.submit(runtime, "https://twitter.com/i/spaces/1YqKDqDkXvWJV?s=1",
                               options={"format": "mp3", "workers": 4})
    assert job.kind == "space" and job.url == "https://x.com/i/spaces/1YqKDqDkXvWJV"
    assert job.options == {"format": "mp3", "workers": 4}
    await runtime.jobs.cancel(job.id)
    with pytest.raises(OptionError):
        await sources.submit(runtime, "https://example.com/book", options={"workers": 99})
    assert runtime.jobs.count() == 1  # the refused job was never stored


def _site(server, mp3: bytes) -> str:
    server.add("/book", PAGE, content_type="text/html; charset=utf-8")
    for name in ("ch1.mp3", "ch2.mp3", "ch3.mp3"):
        server.add(f"/media/{name}", mp3, content_type="audio/mpeg")
    return server.url_for("/book")


async def test_a_page_job_downloads_what_the_preview_showed(runtime, http_server,
                                                             mp3: bytes) -> None:
    url = _site(http_server, mp3)
    found = await sources.preview(runtime, url)
    assert isinstance(found, PagePreview) and found.link.kind == "page"
    assert [t.title for t in found.tracks] == ["Leaving", "The Crossing", "Home Again"]
    # The page changes after the preview: the job must not notice.
    http_server.add("/book", "<html><body>Moved away</body></html>", content_type="text/html")
    fetched = len(http_server.requests_to("/book"))
    chosen = [found.tracks[0], found.tracks[2]]
    job = await sources.submit(runtime, found.link.url, found.link.kind,
                               {"name": "Picked", "tracks": track_dicts(chosen)})
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.DONE, job.error
    assert len(http_server.requests_to("/book")) == fetched  # not fetched again
    with zipfile.ZipFile(job.output_path) as archive:
        # Each keeps its number on the page (the third chapter is 03, as --list shows it).
        assert sorted(archive.namelist()) == ["01 - Leaving.mp3", "03 - Home Again.mp3"]


async def test_a_resumed_page_job_saves_the_list_its_first_run_found(runtime, http_server,
                                                                     mp3: bytes) -> None:
    url = _site(http_server, mp3)
    http_server.add("/media/ch3.mp3", "gone", content_type="text/html", status=404)
    job = await sources.submit(runtime, url, options={"zip": False, "name": "Book"})
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.FAILED and "1 of 3 tracks failed" in job.error
    # The page now lists other tracks; the third file is back.
    http_server.add("/book", PAGE.replace("Leaving", "A New First Chapter"),
                    content_type="text/html; charset=utf-8")
    http_server.add("/media/ch3.mp3", mp3, content_type="audio/mpeg")
    fetched = len(http_server.requests_to("/book"))
    await runtime.jobs.retry(job.id)
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.DONE, job.error
    assert len(http_server.requests_to("/book")) == fetched
    names = sorted(p.name for p in Path(job.output_path).iterdir() if p.suffix == ".mp3")
    assert names == ["01 - Leaving.mp3", "02 - The Crossing.mp3", "03 - Home Again.mp3"]


async def test_a_page_link_that_is_one_audio_file_previews_as_a_direct_link(
        runtime, http_server, mp3: bytes) -> None:
    http_server.add("/download", mp3, content_type="audio/mpeg")
    found = await sources.preview(runtime, http_server.url_for("/download"), "page")
    assert found.link.kind == "direct" and found.link.url == http_server.url_for("/download")

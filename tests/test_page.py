"""Page audio end to end: a loopback site, real detection, parallel downloads, ZIP or folder."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import pytest

import audiofetch_app.sources  # noqa: F401 - registers the sources
from audiofetch_app import sources
from audiofetch_app.core.job_record import JobState
from audiofetch_app.sources.page.options import track_dicts
from audiofetch_app.sources.page.source import KIND
from audiofetch_app.sources.runtime import open_runtime
from tests.media import make_tone
from tests.probe import decode_errors, ffprobe, tags

PAGE = """<!DOCTYPE html><html><head><title>The Long Road — Audiobook</title></head>
<body><nav><a href="/">Home</a></nav>
<h1>The Long Road</h1>
<ul class="chapters">
  <li><h3>Chapter 1: Leaving</h3><audio controls src="/media/ch1.mp3"></audio></li>
  <li><h3>Chapter 2</h3><audio controls><source src="/media/ch2.ogg" type="audio/ogg">
      <source src="/media/ch2.mp3" type="audio/mpeg"></audio></li>
  <li><a href="/media/ch3.mp3">Chapter 3: Home again</a></li>
</ul>
<img src="/cover.jpg"><script>var analytics = {id: 5};</script>
</body></html>"""


@pytest.fixture(scope="module")
def mp3(tmp_path_factory) -> bytes:
    return make_tone(tmp_path_factory.mktemp("m") / "t.mp3", seconds=2).read_bytes()


@pytest.fixture
async def runtime(af_home: Path):
    rt = await open_runtime(console_log=False)
    yield rt
    await rt.close()


def serve_site(server, mp3: bytes, broken: bool = False) -> str:
    server.add("/book", PAGE, content_type="text/html; charset=utf-8")
    server.add("/media/ch1.mp3", mp3, content_type="audio/mpeg")
    server.add("/media/ch2.mp3", mp3, content_type="audio/mpeg")
    server.add("/media/ch2.ogg", b"OggS" + b"\x00" * 100, content_type="audio/ogg")
    if broken:
        server.add("/media/ch3.mp3", "<html>Not found</html>", content_type="text/html",
                   status=404)
    else:
        server.add("/media/ch3.mp3", mp3, content_type="audio/mpeg", cut_after=1000)
    return server.url_for("/book")


async def _run(runtime, url: str, **options):
    job = await runtime.jobs.submit(KIND, url, options)
    return await asyncio.wait_for(runtime.jobs.wait(job.id), 120)


async def test_zip_of_every_track_in_page_order(runtime, http_server, mp3: bytes) -> None:
    url = serve_site(http_server, mp3)
    job = await _run(runtime, url, workers=3)
    assert job.state == JobState.DONE, job.error
    out = Path(job.output_path)
    assert out.name == "The Long Road — Audiobook.zip"
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        names = sorted(archive.namelist())
    assert [n[:5] for n in names] == ["01 - ", "02 - ", "03 - "]
    assert all(n.endswith(".mp3") for n in names)
    assert [t["url"].rsplit("/", 1)[1] for t in job.detail["tracks"]] == [
        "ch1.mp3", "ch2.mp3", "ch3.mp3"]  # page order; mp3 preferred over ogg
    assert not list(out.parent.glob(".*tracks")) and not list(out.parent.glob("*.part"))
    assert job.items_done == job.items_total == 3


async def test_folder_output_with_tags_and_archive(runtime, http_server, mp3: bytes,
                                                   tmp_path: Path) -> None:
    url = serve_site(http_server, mp3)
    job = await _run(runtime, url, zip=False, name="Road Trip", output_dir=str(tmp_path / "o"))
    assert job.state == JobState.DONE, job.error
    folder = Path(job.output_path)
    assert folder == tmp_path / "o" / "Road Trip"
    files = sorted(p.name for p in folder.glob("*.mp3"))
    assert len(files) == 3 and files[0].startswith("01 - ")
    first = folder / files[0]
    meta = tags(ffprobe(first))
    assert meta["album"] == "Road Trip" and meta["track"].startswith("1")
    assert decode_errors(first) == ""
    hits = dict(http_server.hits)
    again = await _run(runtime, url, zip=False, name="Road Trip",
                       output_dir=str(tmp_path / "o"))
    assert again.state == JobState.DONE
    assert http_server.hits.get("/media/ch1.mp3") == hits.get("/media/ch1.mp3")  # skipped
    assert again.files == []  # and said, as "Saved" alone would mislead
    assert again.detail["notice"] == ("All 3 tracks were already in the folder; nothing new "
                                      "was saved.")


async def test_delete_with_files_takes_only_that_jobs_files_from_a_shared_folder(
        runtime, http_server, mp3: bytes, tmp_path: Path) -> None:
    """Two page jobs into one folder, and a file of the user's own there: deleting one job
    with its files leaves the other's and the user's; the folder goes with the last."""
    url = serve_site(http_server, mp3)
    out = {"zip": False, "name": "Road Trip", "output_dir": str(tmp_path / "o")}
    tracks = track_dicts((await sources.preview(runtime, url, KIND)).tracks)
    first = await _run(runtime, url, tracks=tracks[:2], **out)
    second = await _run(runtime, url, tracks=tracks[2:], **out)
    assert first.state == second.state == JobState.DONE, (first.error, second.error)
    folder = Path(first.output_path)
    assert Path(second.output_path) == folder
    mine = folder / "my notes.txt"
    mine.write_text("keep me")
    assert len(list(folder.glob("*.mp3"))) == 3

    await runtime.jobs.delete(first.id, with_files=True)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        Path(second.files[0]).name, "my notes.txt"]
    # The folder no longer has the first job's tracks, so the next run fetches them again.
    hits = http_server.hits.get("/media/ch1.mp3")
    again = await _run(runtime, url, tracks=tracks[:1], **out)
    assert again.state == JobState.DONE and http_server.hits.get("/media/ch1.mp3") == hits + 1

    mine.unlink()
    await runtime.jobs.delete(second.id, with_files=True)
    await runtime.jobs.delete(again.id, with_files=True)
    assert not folder.exists()  # only AudioFetch's archive was left, so the folder went


async def test_delete_with_files_leaves_a_file_another_job_saved_again(
        runtime, http_server, mp3: bytes, tmp_path: Path) -> None:
    """A file deleted by hand and saved again by a later job under the same name is that
    job's now: deleting the first job with its files leaves it (a new user's trial)."""
    url = serve_site(http_server, mp3)
    out = {"zip": False, "name": "Road Trip", "output_dir": str(tmp_path / "o")}
    tracks = track_dicts((await sources.preview(runtime, url, KIND)).tracks)
    first = await _run(runtime, url, tracks=tracks[:1], **out)
    saved = Path(first.files[0])
    saved.unlink()  # by hand
    second = await _run(runtime, url, tracks=tracks[:1], **out)
    assert second.state == JobState.DONE and second.files == [str(saved)] and saved.exists()
    assert await runtime.jobs.deletable_files(first.id) == []  # what the dialog lists
    await runtime.jobs.delete(first.id, with_files=True)
    assert saved.read_bytes()  # the second job's file stayed
    assert await runtime.jobs.deletable_files(second.id) == [saved]
    await runtime.jobs.delete(second.id, with_files=True)
    assert not saved.parent.exists()


async def test_failed_tracks_are_listed_and_the_rest_kept(runtime, http_server,
                                                          mp3: bytes) -> None:
    url = serve_site(http_server, mp3, broken=True)
    job = await _run(runtime, url)
    assert job.state == JobState.FAILED
    assert "1 of 3 tracks failed" in job.error and "404" in job.error
    assert job.detail["failed"][0]["name"].startswith("03 - ")
    with zipfile.ZipFile(job.output_path) as archive:
        assert len(archive.namelist()) == 2


async def test_page_without_audio_says_what_it_looked_for(runtime, http_server) -> None:
    http_server.add("/empty", "<html><body><p>Nothing here</p></body></html>",
                    content_type="text/html")
    job = await _run(runtime, http_server.url_for("/empty"))
    assert job.state == JobState.FAILED and job.error.startswith("No audio found on this page")


async def test_not_a_page(runtime, http_server) -> None:
    http_server.add("/file.pdf", b"%PDF-1.4", content_type="application/pdf")
    job = await _run(runtime, http_server.url_for("/file.pdf"))
    assert job.state == JobState.FAILED and "not a web page" in job.error
    # A text file is one sentence too, not the list of every player looked for.
    http_server.add("/notes.txt", "Show notes\nNothing to hear.\n", content_type="text/plain")
    job = await _run(runtime, http_server.url_for("/notes.txt"))
    assert job.error == "That link is a text file (text/plain), not a web page with audio."


def _page_cli(*args: str, home: Path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, AUDIOFETCH_HOME=str(home),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.run([sys.executable, "-m", "audiofetch_app", "page", *args], env=env,
                          capture_output=True, text=True, timeout=180)


def test_cli_list_and_download(tmp_path: Path, http_server, mp3: bytes) -> None:
    url = serve_site(http_server, mp3)
    listed = _page_cli(url, "--list", home=tmp_path / "home")
    assert listed.returncode == 0, listed.stderr
    assert "3 tracks" in listed.stdout and "/media/ch2.mp3" in listed.stdout
    assert not (tmp_path / "home" / "downloads").exists()
    result = _page_cli(url, "My Book", "-o", str(tmp_path / "out"), "--workers", "2",
                       home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "out" / "My Book.zip")
    folder = _page_cli(url, "-o", str(tmp_path / "dir"), "--no-zip", home=tmp_path / "home")
    assert folder.returncode == 0, folder.stderr
    assert len(list(Path(folder.stdout.strip().splitlines()[-1]).glob("*.mp3"))) == 3


def test_cli_errors(tmp_path: Path, http_server, mp3: bytes) -> None:
    url = serve_site(http_server, mp3, broken=True)
    bad_plugin = _page_cli(url, "--plugin", "nope", home=tmp_path)
    assert bad_plugin.returncode == 2 and "html5" in bad_plugin.stderr
    partial = _page_cli(url, home=tmp_path)
    assert partial.returncode == 1 and "failed: 03 - " in partial.stderr
    assert _page_cli("not a url", home=tmp_path).returncode == 2


async def test_a_page_jobs_bar_moves_with_its_bytes(runtime, http_server, tmp_path: Path
                                                    ) -> None:
    """One track of a known size, sent slowly: the job's progress is a fraction of its bytes
    while it downloads (it stayed at 0 until the whole track was in), and exact at the end."""
    tone = make_tone(tmp_path / "long.mp3", seconds=200).read_bytes()  # ~1.6 MB
    http_server.add("/one", '<title>One</title><audio src="/slow.mp3"></audio>',
                    content_type="text/html")
    http_server.add("/slow.mp3", tone, content_type="audio/mpeg", chunk_size=64 * 1024,
                    chunk_delay=0.05)
    job = await runtime.jobs.submit(KIND, http_server.url_for("/one"), {"zip": False})
    seen: list[float] = []
    while runtime.jobs.get(job.id).active:
        progress = runtime.jobs.get(job.id).progress
        if progress is not None and 0 < progress < 1:
            seen.append(progress)
        await asyncio.sleep(0.02)
    done = runtime.jobs.get(job.id)
    assert done.state == JobState.DONE, done.error
    assert seen and seen == sorted(seen)  # a bar that moves forward between 0 and 1
    assert done.bytes_total == done.bytes_done >= len(tone)  # tags may add a few bytes

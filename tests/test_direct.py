"""Direct links end to end: real loopback server, real FFmpeg, real JobManager and TinyDB."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import audiofetch_app.sources  # noqa: F401 - registers the direct source
from audiofetch_app.core import registry
from audiofetch_app.core.ffmpeg import probe_duration
from audiofetch_app.core.job_record import JobState
from audiofetch_app.core.jobs import JobManager
from audiofetch_app.core.store import Store
from audiofetch_app.core.urls import title_from_url
from tests.media import make_hls, make_tone, serve_folder

HLS_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
             ".m4s": "video/iso.segment", ".mp4": "video/mp4"}


@pytest.fixture(scope="session")
def tone(tmp_path_factory) -> bytes:
    return make_tone(tmp_path_factory.mktemp("media") / "tone.mp3").read_bytes()


@pytest.fixture
async def manager(tmp_path: Path):
    mgr = JobManager(Store(tmp_path / "db.json"), max_running=2,
                     default_output=tmp_path / "out")
    await mgr.start()
    yield mgr
    await mgr.close()


def test_registry_claims_audio_and_hls_links() -> None:
    assert registry.detect_kind("https://cdn.example/a/Chapter%201.mp3?x=1") == "direct"
    assert registry.detect_kind("https://cdn.example/live/list.m3u8") == "direct"
    assert registry.detect_kind("https://example.com/blog/post") == "page"
    assert registry.detect_kind("https://x.com/i/spaces/1YqKDqDkXvWJV") == "space"
    assert title_from_url("https://h/x/Chapter_01%20Intro.mp3") == "Chapter 01 Intro"


async def test_direct_mp3(manager: JobManager, http_server, tone: bytes, tmp_path: Path) -> None:
    http_server.add("/files/Episode 1.mp3", tone, content_type="audio/mpeg")
    job = await manager.submit("direct", http_server.url_for("/files/Episode%201.mp3"))
    done = await asyncio.wait_for(manager.wait(job.id), 20)
    assert done.state == JobState.DONE, done.error
    out = Path(done.output_path)
    assert out == tmp_path / "out" / "Episode 1.mp3"
    assert out.read_bytes() == tone
    assert done.bytes_done == done.bytes_total == len(tone)
    assert not list(out.parent.glob("*.part"))


async def test_extension_from_content_type(manager: JobManager, http_server,
                                           tone: bytes) -> None:
    http_server.add("/stream", tone, content_type="audio/mpeg")
    job = await manager.submit("direct", http_server.url_for("/stream?id=7"), {"name": "Talk"})
    done = await manager.wait(job.id)
    assert done.state == JobState.DONE, done.error
    assert Path(done.output_path).name == "Talk.mp3"


async def test_html_instead_of_audio_fails_cleanly(manager: JobManager, http_server,
                                                   tmp_path: Path) -> None:
    http_server.add("/a.mp3", "<!DOCTYPE html><html><body>Login</body></html>",
                    content_type="text/html")
    done = await manager.wait((await manager.submit("direct", http_server.url_for("/a.mp3"))).id)
    assert done.state == JobState.FAILED
    assert "web page" in done.error and "\n" not in done.error
    assert not list((tmp_path / "out").glob("*"))


@pytest.mark.parametrize("status, words", [(404, "404"), (500, "500"), (429, "429")])
async def test_http_errors_are_sentences(manager: JobManager, http_server, status: int,
                                         words: str, monkeypatch) -> None:
    from audiofetch_app.core import net

    monkeypatch.setattr(net, "DEFAULT_POLICY", net.RetryPolicy(attempts=2, base_delay=0.01))
    http_server.add("/x.mp3", b"nope", status=status)
    done = await manager.wait((await manager.submit("direct", http_server.url_for("/x.mp3"))).id)
    assert done.state == JobState.FAILED and words in done.error


async def test_bad_urls_fail_with_a_sentence(manager: JobManager) -> None:
    for url in ("ftp://example.com/a.mp3", "file:///etc/passwd", "http://"):
        done = await manager.wait((await manager.submit("direct", url)).id)
        assert done.state == JobState.FAILED
        assert done.error.endswith(".") and "Traceback" not in done.error


async def test_cut_connection_resumes(manager: JobManager, http_server, tone: bytes) -> None:
    http_server.add("/cut.mp3", tone, content_type="audio/mpeg", cut_after=len(tone) // 3)
    done = await manager.wait((await manager.submit("direct", http_server.url_for("/cut.mp3"))).id)
    assert done.state == JobState.DONE, done.error
    assert Path(done.output_path).read_bytes() == tone
    assert any("range" in r.headers for r in http_server.requests_to("/cut.mp3"))


async def test_cancel_removes_partial_within_a_second(manager: JobManager, http_server,
                                                      tone: bytes, tmp_path: Path) -> None:
    http_server.add("/slow.mp3", tone * 40, content_type="audio/mpeg", chunk_size=4096,
                    chunk_delay=0.05)
    job = await manager.submit("direct", http_server.url_for("/slow.mp3"))
    part = tmp_path / "out" / "slow.mp3.part"
    while manager.get(job.id).bytes_done == 0:
        await asyncio.sleep(0.02)
    await asyncio.wait_for(manager.cancel(job.id), 1.0)
    assert manager.get(job.id).state == JobState.CANCELLED
    assert not part.exists() and not (tmp_path / "out" / "slow.mp3").exists()


async def test_interrupted_download_resumes_from_part(tmp_path: Path, http_server,
                                                      tone: bytes) -> None:
    payload = tone * 40
    http_server.add("/big.mp3", payload, content_type="audio/mpeg", chunk_size=16384,
                    chunk_delay=0.01)
    store = Store(tmp_path / "db.json")
    first = JobManager(store, default_output=tmp_path / "out")
    job = await first.submit("direct", http_server.url_for("/big.mp3"))
    part = tmp_path / "out" / "big.mp3.part"
    while first.get(job.id).bytes_done < len(payload) // 4:
        await asyncio.sleep(0.02)
    await first.close()  # like quitting the app: interrupted, .part kept
    assert first.get(job.id).state == JobState.INTERRUPTED and part.exists()
    kept = part.stat().st_size
    http_server.add("/big.mp3", payload, content_type="audio/mpeg")
    second = JobManager(store, default_output=tmp_path / "out")
    await second.start()
    await second.retry(job.id)
    done = await second.wait(job.id)
    await second.close()
    assert done.state == JobState.DONE, done.error
    assert Path(done.output_path).read_bytes() == payload
    ranges = [r.headers.get("range") for r in http_server.requests_to("/big.mp3")]
    assert f"bytes={kept}-" in ranges


@pytest.mark.parametrize("segment_type", ["mpegts", "fmp4"])
async def test_hls_audio_is_muxed(manager: JobManager, http_server, tmp_path: Path,
                                  segment_type: str) -> None:
    folder = tmp_path / f"hls-{segment_type}"
    make_hls(folder, seconds=9, segment_type=segment_type)
    serve_folder(http_server, folder, "/hls", HLS_TYPES)
    job = await manager.submit("direct", http_server.url_for("/hls/list.m3u8"),
                               {"name": "Radio show", "workers": 3})
    done = await asyncio.wait_for(manager.wait(job.id), 60)
    assert done.state == JobState.DONE, done.error
    out = Path(done.output_path)
    assert out.name == "Radio show.m4a"
    duration = await probe_duration(out)
    assert duration is not None and abs(duration - 9) < 0.5
    assert done.items_done == done.items_total and done.items_total >= 3
    assert not list(out.parent.glob(".*segments"))


async def test_hls_master_playlist_picks_audio(manager: JobManager, http_server,
                                               tmp_path: Path) -> None:
    folder = tmp_path / "hls"
    make_hls(folder, seconds=6)
    serve_folder(http_server, folder, "/a", HLS_TYPES)
    master = ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\"\n"
              "/a/list.m3u8\n")
    http_server.add("/master.m3u8", master, content_type="application/vnd.apple.mpegurl")
    done = await manager.wait((await manager.submit(
        "direct", http_server.url_for("/master.m3u8"))).id)
    assert done.state == JobState.DONE, done.error


async def test_corrupt_hls_segment_fails_with_sentence(manager: JobManager, http_server,
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "hls"
    make_hls(folder, seconds=6)
    for seg in folder.glob("*.ts"):
        seg.write_bytes(b"\x00garbage" * 100)
    serve_folder(http_server, folder, "/bad", HLS_TYPES)
    done = await manager.wait((await manager.submit(
        "direct", http_server.url_for("/bad/list.m3u8"))).id)
    assert done.state == JobState.FAILED
    assert "FFmpeg" in done.error and "\n" not in done.error


async def test_aes128_encrypted_hls(manager: JobManager, http_server, tmp_path: Path) -> None:
    folder = tmp_path / "enc"
    make_hls(folder, seconds=6, key_url=http_server.url_for("/enc/audio.key"))
    assert "METHOD=AES-128" in (folder / "list.m3u8").read_text()
    (folder / "keyinfo.txt").unlink()
    serve_folder(http_server, folder, "/enc", {**HLS_TYPES, ".key": "application/octet-stream"})
    done = await manager.wait((await manager.submit(
        "direct", http_server.url_for("/enc/list.m3u8"), {"name": "Secret"})).id)
    assert done.state == JobState.DONE, done.error
    duration = await probe_duration(Path(done.output_path))
    assert duration is not None and abs(duration - 6) < 0.5
    assert http_server.hits.get("/enc/audio.key")


@pytest.mark.parametrize("header, options, expected", [
    ('attachment; filename="Harbour Interview.mp3"', {}, "Harbour Interview.mp3"),
    # RFC 6266: filename* (RFC 8187, UTF-8 percent-encoded) wins over the plain fallback.
    ("attachment; filename*=UTF-8''Caf%C3%A9%20%C3%89t%C3%A9.mp3; filename=\"Cafe.mp3\"", {},
     "Café Été.mp3"),
    ('attachment; filename="../../secret/notes.mp3"', {}, "notes.mp3"),  # no folders
    ('attachment; filename="Harbour Interview.mp3"', {"name": "Mine"}, "Mine.mp3"),
    ("inline", {}, "download.mp3"),  # no name given: the URL's
])
async def test_the_servers_file_name_is_used_when_no_name_is_given(
        manager, http_server, tone: bytes, tmp_path: Path, header: str, options: dict,
        expected: str) -> None:
    http_server.add("/download", tone, content_type="audio/mpeg",
                    headers={"Content-Disposition": header})
    out = tmp_path / "out"
    job = await manager.submit("direct", http_server.url_for("/download?id=81"),
                               {"output_dir": str(out), **options})
    job = await asyncio.wait_for(manager.wait(job.id), 30)
    assert job.state == JobState.DONE, job.error
    assert [p.name for p in out.iterdir()] == [expected]
    assert Path(job.output_path).name == expected

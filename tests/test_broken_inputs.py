"""Broken inputs end in one sentence: a malformed playlist names its bad line, a playlist of
100,000 segments is refused in bounded memory, and a server whose Content-Length is shorter
than its file is not reported as done."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from audiofetch_app import sources
from audiofetch_app.core import hls, net
from audiofetch_app.core.job_record import JobState
from tests.fakes.hostile_http import HostileServer
from tests.media import make_tone


@pytest.mark.parametrize("bad", ["#EXTINF:ten seconds,", "#EXT-X-TARGETDURATION:soon",
                                 "#EXT-X-MEDIA-SEQUENCE:first"])
def test_a_malformed_playlist_names_its_bad_line(bad: str) -> None:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:10",
             "#EXTINF:10.0,", "a.aac", bad, "b.aac", "#EXT-X-ENDLIST"]
    if bad.startswith(("#EXT-X-TARGET", "#EXT-X-MEDIA")):
        lines.insert(2, bad)
        lines.remove(bad)
        lines.insert(2, bad)
    text = "\n".join(lines)
    number = lines.index(bad) + 1
    with pytest.raises(hls.HlsError) as err:
        hls.parse_media_playlist(text, "https://cdn.example/list.m3u8")
    assert str(err.value) == (f"The HLS playlist at cdn.example/list.m3u8 cannot be read: line "
                              f"{number} ({bad!r}) is not valid HLS.")


async def test_a_playlist_of_100000_segments_is_refused_in_bounded_memory(http_server) -> None:
    body = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n" + "".join(
        f"#EXTINF:4.0,\nhttps://cdn.example/seg{i}.aac\n" for i in range(100_000)) + \
        "#EXT-X-ENDLIST\n"
    http_server.add("/big.m3u8", body, content_type="application/vnd.apple.mpegurl")
    tracemalloc.start()
    try:
        async with net.make_client() as client:
            with pytest.raises(hls.HlsError, match="lists 100,000 segments; AudioFetch takes "
                                                    "at most 30,000"):
                await hls.load_playlist(client, http_server.url_for("/big.m3u8"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20, f"peak {peak >> 20} MiB"  # the parse never ran


@pytest.fixture
def short_server(tmp_path_factory) -> Iterator[HostileServer]:
    tone = make_tone(tmp_path_factory.mktemp("m") / "t.mp3", seconds=6).read_bytes()
    server = HostileServer(body=tone, short_length=len(tone) // 2)
    try:
        yield server
    finally:
        server.stop()


async def test_a_content_length_shorter_than_the_file_is_not_done(
        runtime, short_server: HostileServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    job = await sources.submit(runtime, short_server.url_for("/short"), "direct",
                               {"output_dir": str(out), "name": "Interview"})
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.FAILED
    assert job.error.startswith("Interview.mp3 ends after 3 s of the 6 s its header promises")
    assert list(out.iterdir()) == []  # nothing that looks finished

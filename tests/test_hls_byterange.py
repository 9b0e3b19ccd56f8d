"""Issue 1: HLS byte ranges (RFC 8216 §4.3.2.2, and EXT-X-MAP's BYTERANGE, §4.3.2.5).

The report: a media playlist whose segments are EXT-X-BYTERANGE slices of one file; the whole
file was downloaded for every slice, so 7 slices of a 6-second file made a 42-second
recording. Each slice must be fetched with its own `Range: bytes=a-b`, a slice with only a
length starting where the previous slice of the same file ended.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from audiofetch_app.core.job_record import JobState
from tests.fakes.hls_origin import HlsOrigin, media_playlist, save_direct
from tests.media import (
    audio_packets,
    audio_problems,
    decoded_seconds,
    make_fmp4_hls,
    make_tone_segments,
)

FREQS = [300, 500, 700, 900, 1100, 1300, 1500]  # one tone per slice, so order shows


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> list[Path]:
    """Seven packed-AAC slices of a six-second recording."""
    return make_tone_segments(tmp_path_factory.mktemp("slices"), FREQS, seconds=6 / 7)


def sliced_playlist(slices: list[Path], name: str = "show.aac") -> str:
    """Every slice a range of one file; only the first gives an offset (§4.3.2.2)."""
    lines = []
    for number, part in enumerate(slices):
        offset = "@0" if number == 0 else ""
        lines += [f"#EXTINF:{decoded_seconds(part):.6f},",
                  f"#EXT-X-BYTERANGE:{part.stat().st_size}{offset}", name]
    return media_playlist(*lines, version=4)


def expected_ranges(slices: list[Path]) -> list[str]:
    """The Range header of each slice, from the sizes of the files the test made."""
    ranges, start = [], 0
    for part in slices:
        size = part.stat().st_size
        ranges.append(f"bytes={start}-{start + size - 1}")
        start += size
    return ranges


async def test_seven_slices_of_a_six_second_file_make_six_seconds(
        http_server, tmp_path: Path, slices: list[Path]) -> None:
    origin = HlsOrigin(http_server)
    whole = b"".join(part.read_bytes() for part in slices)
    origin.put("show.aac", whole)
    url = origin.put("list.m3u8", sliced_playlist(slices))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.DONE, done.error
    durations = [decoded_seconds(part) for part in slices]
    assert abs(sum(durations) - 6.0) < 0.1  # the media is what the report describes
    packets = sum(audio_packets(part) for part in slices)
    problems = audio_problems(Path(done.output_path), durations, FREQS, packets)
    assert not problems, "; ".join(problems)
    sent = [r.headers.get("range") for r in origin.requests("show.aac")]
    assert sorted(sent) == sorted(expected_ranges(slices))  # one exact range each, no more


async def test_a_server_that_ignores_range_is_cut_from_one_small_body(
        http_server, tmp_path: Path, slices: list[Path]) -> None:
    origin = HlsOrigin(http_server)
    origin.put("show.aac", b"".join(part.read_bytes() for part in slices),
               range_support=False)
    url = origin.put("list.m3u8", sliced_playlist(slices))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.DONE, done.error
    durations = [decoded_seconds(part) for part in slices]
    packets = sum(audio_packets(part) for part in slices)
    problems = audio_problems(Path(done.output_path), durations, FREQS, packets)
    assert not problems, "; ".join(problems)
    assert len(origin.requests("show.aac")) == 1  # the whole body once, then cut from it


async def test_a_server_that_ignores_range_on_a_large_file_fails_with_a_sentence(
        http_server, tmp_path: Path, slices: list[Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from audiofetch_app.core import hls_fetch

    monkeypatch.setattr(hls_fetch, "WHOLE_BODY_LIMIT", 16 << 10)  # the file is over 40 KiB
    origin = HlsOrigin(http_server)
    origin.put("show.aac", b"".join(part.read_bytes() for part in slices),
               range_support=False)
    url = origin.put("list.m3u8", sliced_playlist(slices))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.FAILED
    assert "ignores byte ranges" in done.error and "\n" not in done.error
    assert all(r.headers.get("range") for r in origin.requests("show.aac"))


async def test_fmp4_in_one_file_with_a_ranged_map(http_server, tmp_path: Path) -> None:
    """EXT-X-MAP:BYTERANGE for the init section, segments as ranges of the same file, the
    later ones without offsets (FFmpeg's single_file output, offsets taken out)."""
    folder = tmp_path / "fmp4"
    written = make_fmp4_hls(folder, [300, 500, 700], single_file=True).read_text()
    assert re.search(r'#EXT-X-MAP:URI="media.m4s",BYTERANGE="(\d+)@0"', written)
    first = True
    lines = []
    for line in written.splitlines():
        if line.startswith("#EXT-X-BYTERANGE:") and not first:
            line = line.split("@")[0]
        first = first and not line.startswith("#EXT-X-BYTERANGE:")
        lines.append(line)
    origin = HlsOrigin(http_server)
    origin.put_file(folder / "media.m4s")
    url = origin.put("list.m3u8", "\n".join(lines) + "\n")
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.DONE, done.error
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", written)]
    problems = audio_problems(Path(done.output_path), durations, [300, 500, 700])
    assert not problems, "; ".join(problems)
    map_length = int(re.search(r'BYTERANGE="(\d+)@0"', written).group(1))
    sent = [r.headers.get("range") for r in origin.requests("media.m4s")]
    assert f"bytes=0-{map_length - 1}" in sent and len(sent) == len(durations) + 1


async def test_a_range_cut_off_midway_is_resumed_not_restarted(
        http_server, tmp_path: Path, slices: list[Path]) -> None:
    origin = HlsOrigin(http_server)
    origin.put("show.aac", b"".join(part.read_bytes() for part in slices), cut_after=1000)
    url = origin.put("list.m3u8", sliced_playlist(slices))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.DONE, done.error
    durations = [decoded_seconds(part) for part in slices]
    packets = sum(audio_packets(part) for part in slices)
    problems = audio_problems(Path(done.output_path), durations, FREQS, packets)
    assert not problems, "; ".join(problems)
    sent = [r.headers.get("range") for r in origin.requests("show.aac")]
    first = expected_ranges(slices)[0]  # the first request of the file is the one cut
    assert sent[0] == first and f"bytes=1000-{first.split('-')[1]}" in sent
    assert len(sent) == len(slices) + 1


async def test_a_range_past_the_end_of_the_file_fails_with_a_sentence(
        http_server, tmp_path: Path, slices: list[Path]) -> None:
    origin = HlsOrigin(http_server)
    origin.put("show.aac", slices[0].read_bytes())  # far shorter than the range below
    url = origin.put("list.m3u8", media_playlist(
        "#EXTINF:1.0,", "#EXT-X-BYTERANGE:1000@5000000", "show.aac", version=4))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.FAILED
    assert done.error == (f"The HLS playlist asks for bytes 5000000–5000999 of "
                          f"{origin.url('show.aac').split('://')[1]}, which the server says "
                          "is shorter.")

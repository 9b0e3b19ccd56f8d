"""The RFC 8216 rows of core/HLS.md that change the audio, each saved end to end through the
direct-link job and checked by listening: length, decoder errors and the tone of each part.

Rows here: EXT-X-MAP, EXT-X-DISCONTINUITY (+ -SEQUENCE), EXT-X-GAP, EXT-X-MEDIA renditions,
EXT-X-I-FRAMES-ONLY, EXT-X-PART, EXT-X-ENDLIST. Byte ranges: test_hls_byterange.py; keys:
test_hls_aes.py; parsing alone: test_hls_parse.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from audiofetch_app.core.job_record import JobState
from tests.fakes.hls_origin import HlsOrigin, media_playlist, save_direct, segment_lines
from tests.media import (
    HLS_SEGMENT_FORMATS,
    audio_packets,
    audio_problems,
    decoded_seconds,
    make_fmp4_hls,
    make_tone_segments,
    make_video_segments,
)


def serve(origin: HlsOrigin, parts: list[Path], prefix: str = "") -> list[str]:
    """Serve each part under prefix + its file name; returns the names."""
    names = [prefix + part.name for part in parts]
    for part, name in zip(parts, names, strict=True):
        origin.put_file(part, name)
    return names


def seconds_of(parts: list[Path]) -> list[float]:
    return [decoded_seconds(part) for part in parts]


def assert_sounds_like(done, durations: list[float], freqs: list[int],
                       packets: int | None = None) -> None:
    assert done.state == JobState.DONE, done.error
    problems = audio_problems(Path(done.output_path), durations, freqs, packets)
    assert not problems, "; ".join(problems)


# -- EXT-X-MAP (§4.3.2.5) --------------------------------------------------------------


async def test_map_changes_between_runs_of_fmp4(http_server, tmp_path: Path) -> None:
    """Two fMP4 encodes, each with its own init section, one after the other."""
    origin = HlsOrigin(http_server)
    lines, durations = [], []
    for run, freqs in (("a", [300, 500]), ("b", [700, 900])):
        folder = tmp_path / run
        written = make_fmp4_hls(folder, freqs).read_text()
        for file in folder.iterdir():
            if file.suffix in (".mp4", ".m4s"):
                origin.put_file(file, f"{run}-{file.name}")
        if lines:
            lines.append("#EXT-X-DISCONTINUITY")
        for line in written.splitlines():
            if line.startswith("#EXT-X-MAP:"):
                lines.append(f'#EXT-X-MAP:URI="{run}-init.mp4"')
            elif line.startswith("#EXTINF:"):
                lines.append(line)
                durations.append(float(line[8:].rstrip(",")))
            elif line and not line.startswith("#"):
                lines.append(f"{run}-{line}")
    url = origin.put("list.m3u8", media_playlist(*lines))
    done = await save_direct(tmp_path, url)
    # The tiny last fragment of each encode shifts nothing: check the long parts' tones.
    long_parts = [d for d in durations if d > 0.5]
    assert_sounds_like(done, durations, [])
    problems = audio_problems(Path(done.output_path), long_parts, [300, 500, 700, 900])
    assert not problems, "; ".join(problems)


# -- EXT-X-DISCONTINUITY and EXT-X-DISCONTINUITY-SEQUENCE (§4.3.2.3, §4.3.3.3) -----------


async def test_timestamps_that_restart_at_a_discontinuity(http_server,
                                                          tmp_path: Path) -> None:
    """Two MPEG-TS encodes spliced (an ad break): the second's timestamps start again."""
    first = make_tone_segments(tmp_path / "one", [300, 500], fmt="mpegts", name="one")
    second = make_tone_segments(tmp_path / "two", [700, 900], fmt="mpegts", name="two")
    origin = HlsOrigin(http_server)
    names = serve(origin, first + second)
    durations = seconds_of(first + second)
    lines = [*segment_lines(names[:2], durations[:2]), "#EXT-X-DISCONTINUITY",
             *segment_lines(names[2:], durations[2:])]
    url = origin.put("list.m3u8", media_playlist("#EXT-X-DISCONTINUITY-SEQUENCE:3", *lines))
    packets = sum(audio_packets(part) for part in first + second)
    assert_sounds_like(await save_direct(tmp_path, url), durations, [300, 500, 700, 900],
                       packets)


async def test_a_new_audio_format_after_a_discontinuity(http_server, tmp_path: Path) -> None:
    """48 kHz mono, then 44.1 kHz stereo: copied as one stream the second half would play
    8.8 % fast (700 Hz heard as 762 Hz); it is decoded and encoded once instead."""
    first = make_tone_segments(tmp_path / "one", [300, 500], name="one")
    second = make_tone_segments(tmp_path / "two", [700, 900], name="two",
                                sample_rate=44100, channels=2)
    origin = HlsOrigin(http_server)
    names = serve(origin, first + second)
    durations = seconds_of(first + second)
    lines = [*segment_lines(names[:2], durations[:2]), "#EXT-X-DISCONTINUITY",
             *segment_lines(names[2:], durations[2:])]
    url = origin.put("list.m3u8", media_playlist(*lines))
    assert_sounds_like(await save_direct(tmp_path, url), durations, [300, 500, 700, 900])


# -- EXT-X-GAP (RFC 8216bis §4.4.4.7) ----------------------------------------------------


@pytest.mark.parametrize("fmt", ["adts", "mpegts"])
async def test_gap_segments_are_not_fetched_and_leave_no_hole(http_server, tmp_path: Path,
                                                              fmt: str) -> None:
    freqs = [300, 500, 700, 900, 1100, 1300]
    parts = make_tone_segments(tmp_path / fmt, freqs, fmt=fmt)
    ext = HLS_SEGMENT_FORMATS[fmt][0]
    origin = HlsOrigin(http_server)
    kept = [0, 1, 4, 5]
    names = [f"s{n}{ext}" for n in range(len(parts))]
    for number in kept:  # the gap's URIs answer 404, as a packager's missing files do
        origin.put_file(parts[number], names[number])
    durations = seconds_of(parts)
    lines: list[str] = []
    for number, name in enumerate(names):
        if number not in kept:
            lines.append("#EXT-X-GAP")
        lines += segment_lines([name], [durations[number]])
    url = origin.put("list.m3u8", media_playlist(*lines))
    done = await save_direct(tmp_path, url)
    assert_sounds_like(done, [durations[n] for n in kept], [freqs[n] for n in kept],
                       sum(audio_packets(parts[n]) for n in kept))
    assert not origin.requests(names[2]) and not origin.requests(names[3])


# -- EXT-X-MEDIA renditions, EXT-X-I-FRAME-STREAM-INF (§4.3.4.1, §4.3.4.2.1, §4.3.4.3) ---


async def test_the_audio_rendition_is_taken_not_a_video_variant(http_server,
                                                                 tmp_path: Path) -> None:
    """Video-only variants next to two audio groups; the best variant's group and its
    DEFAULT rendition is the audio to save (700 Hz), never a video variant."""
    origin = HlsOrigin(http_server)
    video = make_video_segments(tmp_path / "video", 2)
    for variant in ("v-lo", "v-hi", "v-iframe"):
        names = serve(origin, video, f"{variant}-")
        origin.put(f"{variant}.m3u8", media_playlist(*segment_lines(names, [1.0, 1.0])))
    tracks = {"lo-en": 300, "hi-en": 700, "hi-fr": 900}
    durations: list[float] = []
    for track, freq in tracks.items():
        parts = make_tone_segments(tmp_path / track, [freq, freq], name=track)
        durations = seconds_of(parts)
        names = serve(origin, parts)
        origin.put(f"{track}.m3u8", media_playlist(*segment_lines(names, durations)))
    master = "\n".join([
        "#EXTM3U",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="lo",NAME="English",LANGUAGE="en",DEFAULT=YES,'
        'AUTOSELECT=YES,URI="lo-en.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="hi",NAME="English",LANGUAGE="en",DEFAULT=YES,'
        'AUTOSELECT=YES,URI="hi-en.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="hi",NAME="Français",LANGUAGE="fr",DEFAULT=NO,'
        'AUTOSELECT=YES,URI="hi-fr.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=400000,CODECS="mp4v.20.9,mp4a.40.2",AUDIO="lo"',
        "v-lo.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=1800000,CODECS="mp4v.20.9,mp4a.40.2",AUDIO="hi"',
        "v-hi.m3u8",
        '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=9000000,CODECS="mp4v.20.9",URI="v-iframe.m3u8"',
        ""])
    url = origin.put("master.m3u8", master)
    assert_sounds_like(await save_direct(tmp_path, url), durations, [700, 700])
    for variant in ("v-lo", "v-hi", "v-iframe", "lo-en", "hi-fr"):
        assert not origin.requests(f"{variant}.m3u8"), variant


# -- EXT-X-I-FRAMES-ONLY (§4.3.3.6) ------------------------------------------------------


async def test_an_i_frames_only_playlist_is_refused_with_a_sentence(http_server,
                                                                    tmp_path: Path) -> None:
    origin = HlsOrigin(http_server)
    video = make_video_segments(tmp_path / "video", 1)
    names = serve(origin, video)
    url = origin.put("iframes.m3u8", media_playlist(
        "#EXT-X-I-FRAMES-ONLY", "#EXTINF:1.0,", "#EXT-X-BYTERANGE:188@0", names[0]))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.FAILED
    assert "only video key frames" in done.error
    assert not origin.requests(names[0])


# -- EXT-X-PART, EXT-X-PRELOAD-HINT (RFC 8216bis §4.4.4.9, §4.4.5.3) ---------------------


async def test_low_latency_parts_are_ignored_for_whole_segments(http_server,
                                                                tmp_path: Path) -> None:
    freqs = [300, 500, 700, 900]
    parts = make_tone_segments(tmp_path / "ll", freqs)
    origin = HlsOrigin(http_server)
    names = serve(origin, parts)
    durations = seconds_of(parts)
    lines = ["#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5",
             "#EXT-X-PART-INF:PART-TARGET=0.5"]
    for number, name in enumerate(names):
        if number >= 2:  # the newest segments are also listed as parts (not served)
            lines += [f'#EXT-X-PART:DURATION=0.5,URI="part{number}.0.aac",INDEPENDENT=YES',
                      f'#EXT-X-PART:DURATION=0.5,URI="part{number}.1.aac"']
        lines += segment_lines([name], [durations[number]])
    # Parts of a segment not yet whole, and a hint of the next part: no segment at all.
    lines += ['#EXT-X-PART:DURATION=0.5,URI="part4.0.aac",INDEPENDENT=YES',
              '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part4.1.aac"']
    url = origin.put("list.m3u8", media_playlist(*lines, version=9))
    assert_sounds_like(await save_direct(tmp_path, url), durations, freqs,
                       sum(audio_packets(part) for part in parts))
    assert not [r for r in http_server.requests if re.search(r"/part\d", r.path)]
    assert len(origin.requests("list.m3u8")) == 1  # never taken for a segment of itself


# -- EXT-X-ENDLIST, EXT-X-PLAYLIST-TYPE (§4.3.3.4, §4.3.3.5) ------------------------------


@pytest.fixture
def three_tones(tmp_path: Path) -> list[Path]:
    return make_tone_segments(tmp_path / "three", [300, 500, 700])


async def test_endlist_may_come_first(http_server, tmp_path: Path,
                                      three_tones: list[Path]) -> None:
    """§4.3.3.4: EXT-X-ENDLIST may occur anywhere; segments after it still count."""
    origin = HlsOrigin(http_server)
    names = serve(origin, three_tones)
    durations = seconds_of(three_tones)
    url = origin.put("list.m3u8", media_playlist(
        "#EXT-X-ENDLIST", *segment_lines(names, durations), playlist_type=None, ended=False))
    assert_sounds_like(await save_direct(tmp_path, url), durations, [300, 500, 700])


async def test_an_event_playlist_that_has_ended_is_saved(http_server, tmp_path: Path,
                                                         three_tones: list[Path]) -> None:
    origin = HlsOrigin(http_server)
    names = serve(origin, three_tones)
    durations = seconds_of(three_tones)
    url = origin.put("list.m3u8", media_playlist(*segment_lines(names, durations),
                                                 playlist_type="EVENT"))
    assert_sounds_like(await save_direct(tmp_path, url), durations, [300, 500, 700])


@pytest.mark.parametrize("playlist_type", ["EVENT", None])
async def test_a_live_playlist_is_refused_by_a_direct_link(http_server, tmp_path: Path,
                                                           three_tones: list[Path],
                                                           playlist_type) -> None:
    origin = HlsOrigin(http_server)
    names = serve(origin, three_tones)
    url = origin.put("list.m3u8", media_playlist(
        *segment_lines(names, seconds_of(three_tones)), playlist_type=playlist_type,
        ended=False))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.FAILED
    assert "live" in done.error and not origin.requests(names[0])

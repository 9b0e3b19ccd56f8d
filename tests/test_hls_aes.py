"""Issue 2 and the EXT-X-KEY rows: AES-128 (RFC 8216 §4.3.2.4, §5.2).

The report: with no IV attribute the IV is the segment's Media Sequence Number (a big-endian
128-bit integer); the local playlist handed to FFmpeg started at sequence 0, so a playlist at
#EXT-X-MEDIA-SEQUENCE:1700000000 of packed AAC lost frames. Packed audio shows it at once:
its first bytes are audio, and CBC with a wrong IV garbles exactly the first 16 bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from audiofetch_app.core.job_record import JobState
from tests.fakes.hls_origin import HlsOrigin, media_playlist, save_direct
from tests.media import (
    HLS_SEGMENT_FORMATS,
    aes128_encrypt,
    audio_packets,
    audio_problems,
    decoded_seconds,
    make_tone_segments,
    sequence_iv,
)

FREQS = [300, 500, 700, 900, 1100, 1300]
FIRST = 1_700_000_000
KEY_A = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
KEY_B = bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f")


@pytest.fixture(scope="module", params=["adts", "mp3"])
def packed(request, tmp_path_factory) -> tuple[str, list[Path]]:
    """Six packed-audio segments, one tone each."""
    fmt = request.param
    parts = make_tone_segments(tmp_path_factory.mktemp(fmt), FREQS, seconds=1.0, fmt=fmt)
    head = parts[0].read_bytes()[:2]
    assert head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # frame sync: the first bytes are audio
    return fmt, parts


def check_audio(done, parts: list[Path], freqs: list[int]) -> None:
    assert done.state == JobState.DONE, done.error
    durations = [decoded_seconds(part) for part in parts]
    packets = sum(audio_packets(part) for part in parts)
    problems = audio_problems(Path(done.output_path), durations, freqs, packets)
    assert not problems, "; ".join(problems)


def entry(name: str, part: Path) -> list[str]:
    return [f"#EXTINF:{decoded_seconds(part):.6f},", name]


async def test_no_iv_means_each_segments_media_sequence_number(
        http_server, tmp_path: Path, packed: tuple[str, list[Path]]) -> None:
    fmt, parts = packed
    ext = HLS_SEGMENT_FORMATS[fmt][0]
    origin = HlsOrigin(http_server)
    origin.put("audio.key", KEY_A)
    lines = ['#EXT-X-KEY:METHOD=AES-128,URI="audio.key"']
    for number, part in enumerate(parts):
        iv = sequence_iv(FIRST + number)  # RFC 8216 §5.2
        origin.put(f"s{number}{ext}", aes128_encrypt(part.read_bytes(), KEY_A, iv))
        lines += entry(f"s{number}{ext}", part)
    url = origin.put("list.m3u8", media_playlist(*lines, sequence=FIRST))
    check_audio(await save_direct(tmp_path, url), parts, FREQS)
    assert len(origin.requests("audio.key")) == 1


async def test_key_rotation_explicit_ivs_and_clear_runs_between(
        http_server, tmp_path: Path, packed: tuple[str, list[Path]]) -> None:
    """Key A (no IV), METHOD=NONE (plain), key B with an IV attribute, key A again."""
    fmt, parts = packed
    ext = HLS_SEGMENT_FORMATS[fmt][0]
    explicit = "0x000000000000000000000000DEADBEEF"
    runs = [('#EXT-X-KEY:METHOD=AES-128,URI="a.key"', KEY_A, None),
            ("#EXT-X-KEY:METHOD=NONE", None, None),
            (f'#EXT-X-KEY:METHOD=AES-128,URI="b.key",IV={explicit}', KEY_B,
             bytes.fromhex(explicit[2:])),
            ('#EXT-X-KEY:METHOD=AES-128,URI="a.key"', KEY_A, None)]
    origin = HlsOrigin(http_server)
    origin.put("a.key", KEY_A)
    origin.put("b.key", KEY_B)
    lines: list[str] = []
    plan = [0, 0, 1, 2, 2, 3]  # which run each segment belongs to
    for number, (part, run) in enumerate(zip(parts, plan, strict=True)):
        tag, key, iv = runs[run]
        if number == 0 or plan[number - 1] != run:
            lines.append(tag)
        data = part.read_bytes()
        if key is not None:
            data = aes128_encrypt(data, key, iv or sequence_iv(FIRST + number))
        origin.put(f"s{number}{ext}", data)
        lines += entry(f"s{number}{ext}", part)
    url = origin.put("list.m3u8", media_playlist(*lines, sequence=FIRST))
    check_audio(await save_direct(tmp_path, url), parts, FREQS)
    assert len(origin.requests("a.key")) == 1 and len(origin.requests("b.key")) == 1


async def test_an_identity_key_beside_a_drm_key_is_used(http_server, tmp_path: Path,
                                                        packed) -> None:
    """§4.3.2.4: several EXT-X-KEY tags with different KEYFORMATs may apply to a segment."""
    fmt, parts = packed
    ext = HLS_SEGMENT_FORMATS[fmt][0]
    origin = HlsOrigin(http_server)
    origin.put("audio.key", KEY_A)
    lines = ['#EXT-X-KEY:METHOD=AES-128,URI="audio.key"',
             '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://k",KEYFORMAT="com.apple.streamingkeydelivery"'
             ',KEYFORMATVERSIONS="1"']
    for number, part in enumerate(parts[:3]):
        origin.put(f"s{number}{ext}",
                   aes128_encrypt(part.read_bytes(), KEY_A, sequence_iv(7 + number)))
        lines += entry(f"s{number}{ext}", part)
    url = origin.put("list.m3u8", media_playlist(*lines, sequence=7))
    check_audio(await save_direct(tmp_path, url), parts[:3], FREQS[:3])


@pytest.mark.parametrize(("key_tag", "sentence"), [
    ('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://k",KEYFORMAT="com.apple.streamingkeydelivery"',
     "locked with DRM (KEYFORMAT com.apple.streamingkeydelivery)"),
    ('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k.key"', "protected with SAMPLE-AES"),
    ('#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI="k.key"', "protected with SAMPLE-AES-CTR"),
])
async def test_keys_it_cannot_use_are_refused_with_a_sentence(
        http_server, tmp_path: Path, key_tag: str, sentence: str) -> None:
    origin = HlsOrigin(http_server)
    origin.put("s0.aac", b"\xff\xf1" + bytes(200))
    url = origin.put("list.m3u8", media_playlist(key_tag, "#EXTINF:1.0,", "s0.aac"))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.FAILED
    assert sentence in done.error and "\n" not in done.error
    assert not origin.requests("s0.aac")  # refused before any media was fetched


async def test_a_wrong_key_fails_with_a_sentence(http_server, tmp_path: Path,
                                                 packed) -> None:
    fmt, parts = packed
    ext = HLS_SEGMENT_FORMATS[fmt][0]
    origin = HlsOrigin(http_server)
    origin.put("audio.key", KEY_B)  # not the key the segment was encrypted with
    origin.put(f"s0{ext}", aes128_encrypt(parts[0].read_bytes(), KEY_A, sequence_iv(0)))
    url = origin.put("list.m3u8", media_playlist(
        '#EXT-X-KEY:METHOD=AES-128,URI="audio.key"', *entry(f"s0{ext}", parts[0])))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.FAILED
    assert "did not decrypt with its AES-128 key" in done.error or "FFmpeg" in done.error


async def test_a_key_that_is_a_web_page_fails_with_a_sentence(http_server,
                                                              tmp_path: Path) -> None:
    origin = HlsOrigin(http_server)
    origin.put("audio.key", "<html>Please log in</html>", content_type="text/html")
    origin.put("s0.aac", bytes(32))
    url = origin.put("list.m3u8", media_playlist(
        '#EXT-X-KEY:METHOD=AES-128,URI="audio.key"', "#EXTINF:1.0,", "s0.aac"))
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.FAILED
    assert "not a 16-byte AES-128 key" in done.error


async def test_encrypted_byte_range_slices(http_server, tmp_path: Path, packed) -> None:
    """Each sub-range is a Media Segment encrypted on its own (CBC restarts at every segment
    boundary, §4.3.2.4), the slices laid end to end in one file."""
    fmt, parts = packed
    ext = HLS_SEGMENT_FORMATS[fmt][0]
    origin = HlsOrigin(http_server)
    origin.put("audio.key", KEY_A)
    sealed = [aes128_encrypt(part.read_bytes(), KEY_A, sequence_iv(FIRST + number))
              for number, part in enumerate(parts)]
    origin.put(f"all{ext}", b"".join(sealed))
    lines = ['#EXT-X-KEY:METHOD=AES-128,URI="audio.key"']
    for number, (part, body) in enumerate(zip(parts, sealed, strict=True)):
        offset = "@0" if number == 0 else ""
        lines += [f"#EXTINF:{decoded_seconds(part):.6f},",
                  f"#EXT-X-BYTERANGE:{len(body)}{offset}", f"all{ext}"]
    url = origin.put("list.m3u8", media_playlist(*lines, sequence=FIRST))
    check_audio(await save_direct(tmp_path, url), parts, FREQS)
    assert all(r.headers.get("range") for r in origin.requests(f"all{ext}"))


async def test_encrypted_fmp4_with_its_init_section(http_server, tmp_path: Path) -> None:
    """§4.3.2.5: an init section under an AES-128 key needs the key's IV attribute, which
    then serves every segment too."""
    import re

    from tests.media import make_fmp4_hls

    folder = tmp_path / "fmp4"
    written = make_fmp4_hls(folder, [300, 500, 700]).read_text()
    iv_text = "0x0F0E0D0C0B0A09080706050403020100"
    iv = bytes.fromhex(iv_text[2:])
    origin = HlsOrigin(http_server)
    origin.put("audio.key", KEY_B)
    for file in folder.iterdir():
        if file.suffix in (".mp4", ".m4s"):
            origin.put(file.name, aes128_encrypt(file.read_bytes(), KEY_B, iv))
    text = written.replace("#EXT-X-MAP:",
                           f'#EXT-X-KEY:METHOD=AES-128,URI="audio.key",IV={iv_text}\n'
                           "#EXT-X-MAP:")
    url = origin.put("list.m3u8", text)
    done = await save_direct(tmp_path, url)
    assert done.state == JobState.DONE, done.error
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", written)]
    problems = audio_problems(Path(done.output_path), durations, [300, 500, 700])
    assert not problems, "; ".join(problems)

"""Reading playlists as RFC 8216 says, without the network: sequence numbers and IVs, byte
range offsets, keys per KEYFORMAT, maps, gaps, parts, the end of a playlist, and the choice
of audio in a master playlist. Every expected value is worked out from the RFC's text."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiofetch_app.core import hls
from audiofetch_app.core.hls_crypto import iv_for
from tests.fakes.hls_origin import media_playlist

URL = "https://cdn.example/show/list.m3u8"


def parse(*lines: str, **header) -> hls.MediaPlaylist:
    return hls.parse_media_playlist(media_playlist(*lines, **header), URL)


def test_sequence_numbers_count_from_media_sequence_and_give_the_iv() -> None:
    playlist = parse('#EXT-X-KEY:METHOD=AES-128,URI="k.key"',
                     "#EXTINF:2,", "a.aac", "#EXTINF:2,", "b.aac", sequence=1_700_000_000)
    assert [s.sequence for s in playlist.segments] == [1_700_000_000, 1_700_000_001]
    assert [s.key_url for s in playlist.segments] == ["https://cdn.example/show/k.key"] * 2
    # §5.2: the sequence number, big-endian, left-padded with zeros to 16 octets.
    assert iv_for(None, 1_700_000_001) == bytes(12) + (1_700_000_001).to_bytes(4, "big")
    assert iv_for("0x1", 5) == bytes(15) + b"\x01"  # an IV attribute wins
    assert iv_for("0X000102030405060708090A0B0C0D0E0F", 5) == bytes(range(16))


def test_without_media_sequence_the_first_segment_is_zero() -> None:
    assert [s.sequence for s in parse("#EXTINF:2,", "a.aac", "#EXTINF:2,", "b.aac").segments
            ] == [0, 1]


def test_byte_range_offsets() -> None:
    """§4.3.2.2: no offset means the byte after the previous segment's range."""
    playlist = parse("#EXTINF:1,", "#EXT-X-BYTERANGE:100@0", "all.ts",
                     "#EXTINF:1,", "#EXT-X-BYTERANGE:200", "all.ts",
                     "#EXTINF:1,", "#EXT-X-BYTERANGE:300@1000", "all.ts",
                     "#EXTINF:1,", "#EXT-X-BYTERANGE:50", "all.ts",
                     "#EXTINF:1,", "whole.ts")
    spans = [(s.byterange.start, s.byterange.length) if s.byterange else None
             for s in playlist.segments]
    assert spans == [(0, 100), (100, 200), (1000, 300), (1300, 50), None]
    assert playlist.segments[1].byterange.last == 299  # Range: bytes=100-299


@pytest.mark.parametrize("before", [[], ["#EXTINF:1,", "#EXT-X-BYTERANGE:10@0", "other.ts"],
                                    ["#EXTINF:1,", "all.ts"]])
def test_a_range_without_offset_must_follow_a_range_of_the_same_file(before) -> None:
    with pytest.raises(hls.HlsError, match=r"has no offset, and the segment before it is not "
                                           r"a range of the same file \(RFC 8216 §4.3.2.2\)"):
        parse(*before, "#EXTINF:1,", "#EXT-X-BYTERANGE:100", "all.ts")


def test_a_broken_byte_range_names_its_line() -> None:
    with pytest.raises(hls.HlsError, match=r"line 5 \('#EXT-X-BYTERANGE:lots'\) is not valid"):
        parse("#EXTINF:1,", "#EXT-X-BYTERANGE:lots", "all.ts", playlist_type=None)


def test_maps_with_and_without_byte_ranges() -> None:
    """§4.3.2.5: a map applies to the segments after it; BYTERANGE picks part of a file."""
    playlist = parse('#EXT-X-MAP:URI="one.mp4",BYTERANGE="720@0"', "#EXTINF:1,", "a.m4s",
                     '#EXT-X-MAP:URI="two.mp4",BYTERANGE="500"', "#EXTINF:1,", "b.m4s",
                     '#EXT-X-MAP:URI="three.mp4"', "#EXTINF:1,", "c.m4s")
    inits = [s.init for s in playlist.segments]
    assert [i.url.rsplit("/", 1)[1] for i in inits] == ["one.mp4", "two.mp4", "three.mp4"]
    assert [(i.byterange.start, i.byterange.length) if i.byterange else None for i in inits
            ] == [(0, 720), (0, 500), None]
    assert playlist.init_url == "https://cdn.example/show/one.mp4"


def test_an_encrypted_map_needs_an_iv() -> None:
    with pytest.raises(hls.HlsError, match="without the IV that RFC 8216 requires"):
        parse('#EXT-X-KEY:METHOD=AES-128,URI="k.key"', '#EXT-X-MAP:URI="init.mp4"',
              "#EXTINF:1,", "a.m4s")
    playlist = parse('#EXT-X-KEY:METHOD=AES-128,URI="k.key",IV=0x10',
                     '#EXT-X-MAP:URI="init.mp4"', "#EXTINF:1,", "a.m4s")
    assert playlist.segments[0].init.key_iv == "0x10"


def test_keys_per_keyformat_and_method_none() -> None:
    """§4.3.2.4: a key holds until the next EXT-X-KEY of the same KEYFORMAT."""
    playlist = parse('#EXT-X-KEY:METHOD=AES-128,URI="a.key"', "#EXTINF:1,", "1.ts",
                     '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://x",KEYFORMAT="com.example.drm"',
                     "#EXTINF:1,", "2.ts",
                     "#EXT-X-KEY:METHOD=NONE", "#EXTINF:1,", "3.ts",
                     '#EXT-X-KEY:METHOD=AES-128,URI="b.key",IV=0xFF', "#EXTINF:1,", "4.ts")
    keys = [(s.key_url.rsplit("/", 1)[1] if s.key_url else None, s.key_iv)
            for s in playlist.segments]
    assert keys == [("a.key", None), ("a.key", None), (None, None), ("b.key", "0xFF")]


@pytest.mark.parametrize(("tag", "sentence"), [
    ('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://x",KEYFORMAT="com.apple.streamingkeydelivery"',
     "locked with DRM"),
    ('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k.key"', "protected with SAMPLE-AES"),
    ('#EXT-X-KEY:METHOD=CHACHA,URI="k.key"', "protected with CHACHA"),
])
def test_keys_that_cannot_be_used_are_refused(tag: str, sentence: str) -> None:
    with pytest.raises(hls.HlsError, match=sentence):
        parse(tag, "#EXTINF:1,", "a.ts")


def test_gap_segments_are_left_out_but_keep_their_sequence_numbers() -> None:
    playlist = parse("#EXTINF:2,", "a.ts", "#EXT-X-DISCONTINUITY", "#EXT-X-GAP", "#EXTINF:2,",
                     "b.ts", "#EXTINF:2,", "c.ts", sequence=10)
    assert [(s.url.rsplit("/", 1)[1], s.sequence) for s in playlist.segments] == [
        ("a.ts", 10), ("c.ts", 12)]
    assert playlist.segments[1].discontinuity  # the gap's discontinuity is not lost
    assert (playlist.gaps_skipped, playlist.gap_seconds, playlist.duration) == (1, 2.0, 4.0)


def test_parts_and_preload_hints_are_not_segments() -> None:
    playlist = parse("#EXT-X-PART-INF:PART-TARGET=0.5",
                     '#EXT-X-PART:DURATION=0.5,URI="a.0.ts"', "#EXTINF:1,", "a.ts",
                     '#EXT-X-PART:DURATION=0.5,URI="b.0.ts"',
                     '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="b.1.ts"',
                     playlist_type=None, ended=False)
    assert [s.url.rsplit("/", 1)[1] for s in playlist.segments] == ["a.ts"]
    assert not playlist.ended


@pytest.mark.parametrize(("header", "lines", "ended"), [
    ({"playlist_type": None, "ended": False}, ["#EXT-X-ENDLIST"], True),
    ({"playlist_type": "VOD", "ended": False}, [], True),  # §4.3.3.5: VOD cannot change
    ({"playlist_type": "EVENT", "ended": False}, [], False),
    ({"playlist_type": None, "ended": False}, [], False),
    ({"playlist_type": "EVENT", "ended": True}, [], True),
])
def test_when_a_playlist_has_ended(header, lines, ended: bool) -> None:
    playlist = parse(*lines, "#EXTINF:1,", "a.ts", "#EXTINF:1,", "b.ts", **header)
    assert playlist.ended is ended and len(playlist.segments) == 2


def test_i_frames_only_and_delta_updates_are_refused() -> None:
    with pytest.raises(hls.HlsError, match="only video key frames"):
        parse("#EXT-X-I-FRAMES-ONLY", "#EXTINF:1,", "#EXT-X-BYTERANGE:188@0", "v.ts")
    with pytest.raises(hls.HlsError, match="leaves out 40 segments"):
        parse("#EXT-X-SKIP:SKIPPED-SEGMENTS=40", "#EXTINF:1,", "a.ts")


def master(*lines: str) -> str:
    return "\n".join(["#EXTM3U", *lines, ""])


@pytest.mark.parametrize(("text", "chosen"), [
    # The best variant's group, its DEFAULT rendition.
    (master('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="lo",NAME="a",DEFAULT=YES,URI="lo.m3u8"',
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="hi",NAME="a",DEFAULT=NO,URI="hi-en.m3u8"',
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="hi",NAME="b",DEFAULT=YES,URI="hi-de.m3u8"',
            '#EXT-X-STREAM-INF:BANDWIDTH=100,AUDIO="lo"', "v1.m3u8",
            '#EXT-X-STREAM-INF:BANDWIDTH=900,AUDIO="hi"', "v2.m3u8"), "hi-de.m3u8"),
    # Audio description only when nothing else is there.
    (master('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="AD",DEFAULT=YES,'
            'CHARACTERISTICS="public.accessibility.describes-video",URI="ad.m3u8"',
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="Main",URI="main.m3u8"',
            '#EXT-X-STREAM-INF:BANDWIDTH=100,AUDIO="a"', "v.m3u8"), "main.m3u8"),
    # A rendition without URI: the audio is inside the variants; take an audio-only one.
    (master('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="Main",DEFAULT=YES',
            '#EXT-X-STREAM-INF:BANDWIDTH=900,CODECS="avc1.4d401f,mp4a.40.2",AUDIO="a"',
            "video.m3u8",
            '#EXT-X-STREAM-INF:BANDWIDTH=64,CODECS="mp4a.40.2",AUDIO="a"', "audio.m3u8"),
     "audio.m3u8"),
    # No audio-only variant: the best variant, whose audio FFmpeg takes out.
    (master('#EXT-X-STREAM-INF:BANDWIDTH=900,CODECS="avc1.4d401f,mp4a.40.2"', "v9.m3u8",
            '#EXT-X-STREAM-INF:BANDWIDTH=300,CODECS="avc1.4d401f,mp4a.40.2"', "v3.m3u8",
            '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=99999,URI="iframes.m3u8"'), "v9.m3u8"),
])
def test_choosing_the_audio_in_a_master_playlist(text: str, chosen: str) -> None:
    assert hls.choose_variant(text, URL) == f"https://cdn.example/show/{chosen}"


def test_the_local_playlist_lists_plain_files_maps_and_discontinuities(tmp_path: Path
                                                                         ) -> None:
    playlist = parse('#EXT-X-KEY:METHOD=AES-128,URI="k.key",IV=0x1',
                     '#EXT-X-MAP:URI="one.mp4"', "#EXTINF:1,", "a.m4s",
                     "#EXT-X-DISCONTINUITY", '#EXT-X-MAP:URI="two.mp4"', "#EXTINF:1,", "b.m4s")
    assert playlist.segments[1].key_url and playlist.segments[1].init.key_url
    paths = [tmp_path / "seg000000.m4s", tmp_path / "seg000001.m4s"]
    text = hls.write_local_playlist(playlist, tmp_path, paths).read_text()
    body = [line for line in text.splitlines() if not line.startswith(
        ("#EXTM3U", "#EXT-X-VERSION", "#EXT-X-TARGET", "#EXT-X-MEDIA-SEQ", "#EXT-X-PLAYLIST"))]
    assert body == ['#EXT-X-MAP:URI="init000.mp4"', "#EXTINF:1.000000,", "seg000000.m4s",
                    "#EXT-X-DISCONTINUITY", '#EXT-X-MAP:URI="init001.mp4"',
                    "#EXTINF:1.000000,", "seg000001.m4s", "#EXT-X-ENDLIST"]
    assert "EXT-X-KEY" not in text


def test_discontinuities_are_kept_and_their_sequence_read() -> None:
    """§4.3.2.3, §4.3.3.3: the tag marks the segment after it; the sequence is only read."""
    playlist = parse("#EXT-X-DISCONTINUITY-SEQUENCE:7", "#EXTINF:1,", "a.ts",
                     "#EXT-X-DISCONTINUITY", "#EXTINF:1,", "b.ts", "#EXTINF:1,", "c.ts")
    assert playlist.discontinuity_sequence == 7
    assert [s.discontinuity for s in playlist.segments] == [False, True, False]


async def test_a_page_where_a_playlist_should_be_is_named(http_server) -> None:
    """§4.3.1.1: a playlist starts with EXTM3U."""
    from audiofetch_app.core import net

    http_server.add("/list.m3u8", "<html>Not found</html>", content_type="text/html")
    async with net.make_client() as client:
        with pytest.raises(hls.HlsError, match=r"/list.m3u8 is not an HLS playlist\.$"):
            await hls.load_playlist(client, http_server.url_for("/list.m3u8"))


def test_variables_from_define_and_the_query() -> None:
    """8216bis §4.3: {$name} takes a NAME/VALUE or a QUERYPARAM of the playlist's URL."""
    text = media_playlist('#EXT-X-DEFINE:NAME="path",VALUE="audio/en"',
                          '#EXT-X-DEFINE:QUERYPARAM="token"',
                          "#EXTINF:1,", "{$path}/a.aac?token={$token}")
    playlist = hls.parse_media_playlist(text, URL + "?token=s3cr3t")
    assert playlist.segments[0].url == "https://cdn.example/show/audio/en/a.aac?token=s3cr3t"
    with pytest.raises(hls.HlsError, match="line 7 uses the variable other, which it does not"):
        parse('#EXT-X-DEFINE:NAME="path",VALUE="x"', "#EXTINF:1,", "{$other}/a.aac")
    with pytest.raises(hls.HlsError, match="defines token from a value it does not have"):
        parse('#EXT-X-DEFINE:QUERYPARAM="token"', "#EXTINF:1,", "a.aac?t={$token}")


async def test_a_media_playlist_imports_the_masters_variables(http_server) -> None:
    """8216bis §4.4.2.3: IMPORT takes a variable the master playlist defined."""
    from audiofetch_app.core import net

    http_server.add("/master.m3u8", master(
        '#EXT-X-DEFINE:QUERYPARAM="auth"', '#EXT-X-DEFINE:NAME="lang",VALUE="de"',
        '#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"', "{$lang}.m3u8?auth={$auth}"))
    http_server.add("/de.m3u8", media_playlist('#EXT-X-DEFINE:IMPORT="auth"',
                                               "#EXTINF:1,", "de/a.aac?auth={$auth}"))
    async with net.make_client() as client:
        playlist = await hls.load_playlist(client, http_server.url_for("/master.m3u8?auth=k1"))
    assert playlist.segments[0].url == http_server.url_for("/de/a.aac?auth=k1")
    assert http_server.requests_to("/de.m3u8")[0].query == {"auth": "k1"}

"""The fake X itself, exercised directly with httpx: auth quirks, metadata, playlists, audio."""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from audiofetch_app.core.ffmpeg import find_ffmpeg
from tests.fakes.http_server import FakeServer
from tests.fakes.space_audio import (
    CHUNK_SECONDS,
    PRIV_OWNER,
    SAMPLE_RATE,
    decode_pcm,
    measure_tones,
    strip_junk,
    tone_hz,
)
from tests.fakes.x_server import PUBLIC_BEARER, FakeSpace, FakeX, serve_space_for_bench

BEARER = {"authorization": f"Bearer {PUBLIC_BEARER}"}
REFERER = {"referer": "https://x.com/"}
FEATURES = json.dumps({"spaces_2022_h2_spaces_communities": True}, separators=(",", ":"))
LIVE_POLL = 0.05  # seconds between looks at the growing live playlist
CHUNK_RE = re.compile(r"^chunk_\d{19}_(\d+)_a\.aac(\?type=live)?$")


@pytest.fixture
def http(fake_x: FakeX) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_x.url, timeout=10) as client:
        yield client


def guest_token(http: httpx.Client) -> str:
    answer = http.post("/1.1/guest/activate.json", headers=BEARER)
    assert answer.status_code == 200
    return answer.json()["guest_token"]


def metadata(http: httpx.Client, space_id: str, headers: dict[str, str],
             query_id: str = "jyQ0_DEMZHeoluCgHJ-U5Q") -> httpx.Response:
    variables = json.dumps({"id": space_id, "isMetatagsQuery": False,
                            "withReplays": True, "withListeners": True}, separators=(",", ":"))
    return http.get(f"/i/api/graphql/{query_id}/AudioSpaceById",
                    params={"variables": variables, "features": FEATURES}, headers=headers)


def guest_headers(http: httpx.Client) -> dict[str, str]:
    return {**BEARER, "x-guest-token": guest_token(http)}


def status(http: httpx.Client, media_key: str, headers: dict[str, str]) -> httpx.Response:
    return http.get(f"/1.1/live_video_stream/status/{media_key}",
                    params={"client": "web", "use_syndication_guest_id": "false",
                            "cookie_set_host": "x.com"}, headers=headers)


def error_code(answer: httpx.Response) -> int:
    return answer.json()["errors"][0]["code"]


def media_playlist_of(http: httpx.Client, master_url: str) -> tuple[str, str]:
    """(media playlist URL, text) reached from a master playlist URL."""
    master = http.get(master_url, headers=REFERER)
    assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text
    assert 'CODECS="mp4a.40.2"' in master.text
    uri = chunk_uris(master.text)[0]
    media_url = urljoin(master_url, uri)
    media = http.get(media_url, headers=REFERER)
    assert media.status_code == 200
    return media_url, media.text


def chunk_uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def media_sequence(playlist: str) -> int:
    return int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", playlist).group(1))


# -- auth ---------------------------------------------------------------------------------

def test_guest_flow_and_exhausted_token(fake_x, http):
    fake_x.guest_token_uses = 3
    fake_x.add_space(FakeSpace("1YqKDqDkXvWJV", title="Guests"))
    assert http.post("/1.1/guest/activate.json").status_code == 401
    headers = guest_headers(http)
    assert re.fullmatch(r"\d{19}", headers["x-guest-token"])
    for _ in range(3):
        answer = metadata(http, "1YqKDqDkXvWJV", headers)
        assert answer.status_code == 200
        assert answer.json()["data"]["audioSpace"]["metadata"]["title"] == "Guests"
    spent = metadata(http, "1YqKDqDkXvWJV", headers)
    assert spent.status_code == 403 and error_code(spent) == 239
    assert metadata(http, "1YqKDqDkXvWJV", {**BEARER}).status_code == 403  # no token at all
    assert metadata(http, "1YqKDqDkXvWJV", {"x-guest-token": headers["x-guest-token"]}
                    ).status_code == 401  # no bearer
    fresh = guest_headers(http)
    assert metadata(http, "1YqKDqDkXvWJV", fresh).status_code == 200
    fake_x.expire_guest_tokens()
    assert error_code(metadata(http, "1YqKDqDkXvWJV", fresh)) == 239
    assert fake_x.guest_tokens_issued == 2


def test_cookie_flow_checks_csrf_and_auth_token(fake_x, http):
    space = fake_x.add_space(FakeSpace("1cookies"))
    good = {**BEARER, "cookie": "auth_token=good-auth-token; ct0=abc123",
            "x-csrf-token": "abc123"}
    assert metadata(http, space.space_id, good).status_code == 200
    assert status(http, space.media_key, good).status_code == 200
    for csrf in ("wrong", None):
        headers = {k: v for k, v in good.items() if k != "x-csrf-token"}
        if csrf:
            headers["x-csrf-token"] = csrf
        answer = metadata(http, space.space_id, headers)
        assert answer.status_code == 403 and error_code(answer) == 353
    expired = {**good, "cookie": "auth_token=expired; ct0=abc123"}
    answer = metadata(http, space.space_id, expired)
    assert answer.status_code == 401 and error_code(answer) == 32
    assert answer.json()["errors"][0]["message"] == "Could not authenticate you."


def test_guests_can_be_refused(fake_x, http):
    fake_x.guest_access = False
    fake_x.add_space(FakeSpace("1loginonly"))
    assert metadata(http, "1loginonly", guest_headers(http)).status_code == 403
    good = {**BEARER, "cookie": "auth_token=good-auth-token; ct0=t", "x-csrf-token": "t"}
    assert metadata(http, "1loginonly", good).status_code == 200


def test_rate_limit_answers_429_with_reset(fake_x, http):
    fake_x.add_space(FakeSpace("1limited"))
    headers = guest_headers(http)
    fake_x.rate_limit(2, reset_in=5)
    for _ in range(2):
        answer = metadata(http, "1limited", headers)
        assert answer.status_code == 429 and error_code(answer) == 88
        assert answer.headers["x-rate-limit-remaining"] == "0"
        assert int(answer.headers["x-rate-limit-limit"]) > 0
        assert abs(int(answer.headers["x-rate-limit-reset"]) - (time.time() + 5)) < 3
    assert metadata(http, "1limited", headers).status_code == 200


# -- metadata -----------------------------------------------------------------------------

def test_graphql_metadata_has_xs_shape(fake_x, http):
    space = fake_x.add_space(FakeSpace(
        "1shape", title="Shape of things", host_name="Grace Hopper",
        host_screen_name="grace", chunks=10, speakers=[("Ada", "ada")]))
    answer = metadata(http, "1shape", guest_headers(http))
    assert answer.status_code == 200
    audio_space = answer.json()["data"]["audioSpace"]
    meta = audio_space["metadata"]
    assert meta["rest_id"] == "1shape" and meta["state"] == "Ended"
    assert meta["media_key"] == space.media_key and meta["title"] == "Shape of things"
    assert meta["is_space_available_for_replay"] is True
    assert isinstance(meta["started_at"], int) and meta["started_at"] > 10**12
    assert int(meta["ended_at"]) - meta["started_at"] == 10 * 3008  # X sends a string
    assert isinstance(meta["created_at"], int)
    user = meta["creator_results"]["result"]
    assert user["__typename"] == "User" and user["rest_id"].isdigit()
    assert user["legacy"]["name"] == "Grace Hopper"
    assert user["legacy"]["screen_name"] == "grace"
    participants = audio_space["participants"]
    assert participants["admins"][0]["twitter_screen_name"] == "grace"
    assert [s["display_name"] for s in participants["speakers"]] == ["Ada"]
    assert participants["listeners"] == [] and participants["total"] >= 2
    avatar_url = user["legacy"]["profile_image_url_https"]
    assert avatar_url.startswith(fake_x.url)
    from PIL import Image

    for url, size in ((avatar_url, 48), (avatar_url.replace("_normal", "_400x400"), 400)):
        image = httpx.get(url)
        assert image.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(image.content)).size == (size, size)


def test_unknown_id_errors_and_query_id(fake_x, http):
    fake_x.add_space(FakeSpace("1known"))
    headers = guest_headers(http)
    assert metadata(http, "1deleted", headers).json() == {"data": {"audioSpace": {}}}
    fake_x.graphql_error("Space not found", times=1)
    answer = metadata(http, "1known", headers)
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["message"] == "Space not found"
    assert answer.json()["data"] == {}
    assert "metadata" in metadata(http, "1known", headers).json()["data"]["audioSpace"]
    no_features = http.get("/i/api/graphql/q/AudioSpaceById",
                           params={"variables": '{"id":"1known"}'}, headers=headers)
    assert no_features.status_code == 400
    fake_x.require_query_id = "right"
    assert metadata(http, "1known", headers, query_id="wrong").status_code == 404
    assert metadata(http, "1known", headers, query_id="right").status_code == 200


@pytest.mark.parametrize("state", ["NotStarted", "PrePublished", "Canceled", "TimedOut"])
def test_spaces_that_never_ran_have_no_stream(fake_x, http, state):
    space = fake_x.add_space(FakeSpace("1notyet", state=state))
    headers = guest_headers(http)
    meta = metadata(http, "1notyet", headers).json()["data"]["audioSpace"]["metadata"]
    assert meta["state"] == state and "started_at" not in meta
    assert meta["is_space_available_for_replay"] is False
    if state == "NotStarted":
        assert meta["scheduled_start"] > time.time() * 1000
    assert status(http, space.media_key, headers).status_code == 404
    assert http.get(fake_x.playlist_url("1notyet"), headers=REFERER).status_code == 404


# -- stream -------------------------------------------------------------------------------

def test_status_replay_geoblocked_and_no_replay(fake_x, http):
    replay = fake_x.add_space(FakeSpace("1replay"))
    geo = fake_x.add_space(FakeSpace("1geo", geoblocked=True))
    gone = fake_x.add_space(FakeSpace("1noreplay", replay=False))
    headers = guest_headers(http)
    answer = status(http, replay.media_key, headers)
    assert answer.status_code == 200
    source = answer.json()["source"]
    assert "/audio-space/playlist_" in source["noRedirectPlaybackUrl"]
    assert source["noRedirectPlaybackUrl"].endswith("?type=replay")
    assert source["streamType"] == "HLS" and "/geoblocked/" not in source["location"]
    assert {"sessionId", "chatToken", "lifecycleToken", "shareUrl"} <= set(answer.json())
    location = status(http, geo.media_key, headers).json()["source"]["location"]
    assert "/live_video_stream/geoblocked/" in location
    assert http.get(location, headers=REFERER).status_code == 403
    assert status(http, gone.media_key, headers).status_code == 404
    meta = metadata(http, "1noreplay", headers).json()["data"]["audioSpace"]["metadata"]
    assert meta["state"] == "Ended" and meta["is_space_available_for_replay"] is False
    assert status(http, "28_0000000000000000000", headers).status_code == 404


@pytest.mark.parametrize("media_uri", ["root", "relative"])
def test_master_media_chunks_and_referer(fake_x, http, media_uri):
    space = fake_x.add_space(FakeSpace("1hls", chunks=9, first_sequence=12,
                                       media_uri=media_uri))
    master_url = fake_x.playlist_url("1hls")
    uri = chunk_uris(http.get(master_url, headers=REFERER).text)[0]
    assert uri.startswith("/Transcoding/" if media_uri == "root" else "chunklist_")
    media_url, playlist = media_playlist_of(http, master_url)
    assert "#EXT-X-TARGETDURATION:3" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST")
    assert media_sequence(playlist) == 12 and playlist.count("#EXTINF:3.008,") == 9
    names = chunk_uris(playlist)
    assert [int(CHUNK_RE.match(n).group(1)) for n in names] == fake_x.chunk_sequence("1hls")
    first_chunk = urljoin(media_url, names[0])
    assert first_chunk == fake_x.chunk_url("1hls", 12)
    for url in (master_url, media_url, first_chunk):
        assert http.get(url).status_code == 403
        assert http.get(url, headers={"referer": "https://evil.example/"}).status_code == 403
        assert http.get(url, headers={"referer": "https://twitter.com/"}).status_code == 200
    assert http.get(urljoin(media_url, names[0].replace("_12_", "_99_"))).status_code == 403
    assert http.get(urljoin(media_url, "chunk_1000000000000000000_12_a.aac"),
                    headers=REFERER).status_code == 404
    fake_x.hide_metadata("1hls")  # a remembered playlist URL outlives the metadata
    assert status(http, space.media_key, guest_headers(http)).status_code == 404
    assert http.get(master_url, headers=REFERER).status_code == 200


def fetch_chunks(http: httpx.Client, fake_x: FakeX, space_id: str) -> dict[int, bytes]:
    media_url, playlist = media_playlist_of(http, fake_x.playlist_url(space_id))
    chunks = {}
    for name in chunk_uris(playlist):
        answer = http.get(urljoin(media_url, name), headers=REFERER)
        assert answer.status_code == 200
        chunks[int(CHUNK_RE.match(name).group(1))] = answer.content
    return chunks


def ffmpeg_errors(path: Path) -> str:
    done = subprocess.run([find_ffmpeg(), "-hide_banner", "-v", "error", "-i", str(path),
                           "-f", "null", "-"], capture_output=True, text=True)
    return done.stderr.strip()


@pytest.mark.parametrize("channels", [1, 2])
def test_chunks_have_id3_junk_and_decode_cleanly(fake_x, http, tmp_path, channels):
    fake_x.add_space(FakeSpace("1audio", chunks=15, channels=channels, first_sequence=3))
    chunks = fetch_chunks(http, fake_x, "1audio")
    junky = fake_x.junk_chunks("1audio")
    assert junky == [9, 16]  # the 7th and 14th chunks
    for seq, body in chunks.items():
        assert body.startswith(b"ID3") != (seq in junky)
        tag_at = body.find(b"ID3")
        assert 1 <= tag_at <= 60 if seq in junky else tag_at == 0
        assert PRIV_OWNER in body[tag_at:tag_at + 100]
    clean = tmp_path / "clean.aac"
    clean.write_bytes(b"".join(strip_junk(chunks[s]) for s in sorted(chunks)))
    assert ffmpeg_errors(clean) == ""
    seconds = len(decode_pcm(clean)) / SAMPLE_RATE
    assert abs(seconds - fake_x.expected_duration("1audio")) < CHUNK_SECONDS
    assert measure_tones(clean) == [tone_hz(s) for s in fake_x.chunk_sequence("1audio")]
    raw = tmp_path / "raw.aac"  # the quirk is real: unstripped junk breaks decoding
    raw.write_bytes(b"".join(chunks[s] for s in sorted(chunks)))
    assert ffmpeg_errors(raw) != ""


def test_chunk_failures_can_be_injected(fake_x, http):
    fake_x.add_space(FakeSpace("1flaky", chunks=3, junk_every=0))
    fake_x.fail_chunk("1flaky", 1, times=2, status=503)
    url = fake_x.chunk_url("1flaky", 1)
    assert [http.get(url, headers=REFERER).status_code for _ in range(3)] == [503, 503, 200]
    fake_x.cut_chunk("1flaky", 2, after=100)
    with pytest.raises(httpx.TransportError):
        http.get(fake_x.chunk_url("1flaky", 2), headers=REFERER)
    assert http.get(fake_x.chunk_url("1flaky", 2), headers=REFERER).status_code == 200
    assert fake_x.chunk_hits("1flaky") == {1: 3, 2: 2}


# -- live ---------------------------------------------------------------------------------

def test_live_playlist_slides_grows_and_ends(fake_x, http):
    space = fake_x.add_space(FakeSpace("1live", state="Running", chunks=12, live_initial=3,
                                       live_window=4, live_interval=0.15, first_sequence=100))
    headers = guest_headers(http)
    meta = metadata(http, "1live", headers).json()["data"]["audioSpace"]["metadata"]
    assert meta["state"] == "Running" and "ended_at" not in meta
    live_master = status(http, space.media_key, headers).json()["source"]["location"]
    assert live_master.endswith("?type=live")
    live_url, first = media_playlist_of(http, live_master)
    assert "#EXT-X-ENDLIST" not in first
    replay_url, so_far = media_playlist_of(http, live_master.replace("type=live",
                                                                    "type=replay"))
    assert media_sequence(so_far) == 100 and "#EXT-X-ENDLIST" not in so_far
    seen: dict[int, str] = {}
    sequences = []
    deadline = time.monotonic() + 10
    while True:
        playlist = http.get(live_url, headers=REFERER).text
        names = chunk_uris(playlist)
        assert 1 <= len(names) <= 4 and all(n.endswith("?type=live") for n in names)
        seqs = [int(CHUNK_RE.match(n).group(1)) for n in names]
        assert seqs[0] == media_sequence(playlist)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        sequences.append(seqs[0])
        seen.update(zip(seqs, names, strict=True))
        assert http.get(urljoin(live_url, names[-1]), headers=REFERER).status_code == 200
        if "#EXT-X-ENDLIST" in playlist:
            break
        assert time.monotonic() < deadline, "the live Space never ended"
        time.sleep(LIVE_POLL)
    assert sequences == sorted(sequences) and sequences[-1] > sequences[0]
    assert max(seen) == 111
    final = http.get(replay_url, headers=REFERER).text
    assert [int(CHUNK_RE.match(n).group(1)) for n in chunk_uris(final)] == list(range(100, 112))
    assert final.rstrip().endswith("#EXT-X-ENDLIST")
    meta = metadata(http, "1live", headers).json()["data"]["audioSpace"]["metadata"]
    assert meta["state"] == "Ended" and meta["is_space_available_for_replay"] is True
    after = status(http, space.media_key, headers).json()["source"]["location"]
    assert after.endswith("?type=replay")


def test_manual_live_clock(fake_x, http):
    fake_x.add_space(FakeSpace("1manual", state="Running", chunks=50, live_initial=2,
                               live_interval=None, live_window=3))
    live = fake_x.media_playlist_url("1manual", "live")
    assert len(chunk_uris(http.get(live, headers=REFERER).text)) == 2
    fake_x.advance_live("1manual", 5)
    playlist = http.get(live, headers=REFERER).text
    assert len(chunk_uris(playlist)) == 3 and media_sequence(playlist) == 4
    assert http.get(fake_x.chunk_url("1manual", 6), headers=REFERER).status_code == 200
    assert http.get(fake_x.chunk_url("1manual", 7), headers=REFERER).status_code == 404
    fake_x.end_live("1manual")
    assert http.get(live, headers=REFERER).text.rstrip().endswith("#EXT-X-ENDLIST")
    assert fake_x.chunk_sequence("1manual") == list(range(7))


# -- plumbing -----------------------------------------------------------------------------

def test_server_prefix_routes_lose_to_exact_and_longer_prefixes():
    with FakeServer() as server:
        server.add("/a/", b"short", prefix=True)
        server.add("/a/b/", b"long", prefix=True)
        server.add("/a/b/c", b"exact")
        get = lambda path: httpx.get(server.url + path).content  # noqa: E731
        assert get("/a/x") == b"short" and get("/a/b/x") == b"long"
        assert get("/a/b/c") == b"exact" and httpx.get(server.url + "/b").status_code == 404
        assert server.hits["/a/x"] == 1


def test_bench_space_is_cheap_to_serve():
    started = time.monotonic()
    fake, space = serve_space_for_bench(chunks=2400, latency=0.0)
    try:
        with httpx.Client(timeout=10) as http:
            _, playlist = media_playlist_of(http, fake.playlist_url(space.space_id))
            assert len(chunk_uris(playlist)) == 2400
            last = http.get(fake.chunk_url(space.space_id, 2399), headers=REFERER)
            assert last.status_code == 200 and len(last.content) > 10_000
        assert abs(fake.expected_duration(space.space_id) - 7219.2) < 1e-6
    finally:
        fake.stop()
    assert time.monotonic() - started < 5

"""A faithful fake of X for Spaces, on one loopback FakeServer (AUDIOFETCH_X_API=fake.url).

    fake = FakeX()                                  # or FakeX(FakeServer(), latency=0.04)
    space = fake.add_space(FakeSpace("1YqKDqDkXvWJV", title="Talk", state="Ended"))
    os.environ["AUDIOFETCH_X_API"] = fake.url       # the `fake_x` fixture does this
    ... run the client against fake.space_url(space.space_id) ...
    fake.expected_duration(space.space_id), fake.chunk_sequence(space.space_id)

What it serves, at the paths X uses:
- `POST /1.1/guest/activate.json` -> `{"guest_token": "<19 digits>"}`.
- `GET /i/api/graphql/<any query id>/AudioSpaceById?variables=<json>&features=<json>` ->
  `{"data": {"audioSpace": {...}}}` (see FakeSpace.metadata_json); unknown or hidden id ->
  200 `{"data": {"audioSpace": {}}}`; missing `features` -> 400 (code 336).
- `GET /1.1/live_video_stream/status/<media_key>` -> `{"source": {"location",
  "noRedirectPlaybackUrl", "status", "streamType"}, "sessionId", ...}`; 404 when there is no
  stream (not started, ended without replay, unknown). Geoblocked: location under
  `/live_video_stream/geoblocked/` (which answers 403).
- CDN, absolute URLs on the same server: `<space.cdn_prefix>playlist_<n>.m3u8?type=replay|live`
  (master) -> `chunklist_<n>.m3u8?type=...` (media, root-relative or relative URI) ->
  relative `chunk_<19 digits>_<seq>_a.aac` (`?type=live` appended in live playlists).
  Every CDN request needs `Referer: https://x.com/...` (or twitter.com), else 403.
  A live Space's status gives `?type=live` (a sliding window of `live_window` chunks with
  an advancing EXT-X-MEDIA-SEQUENCE); the same master path with `?type=replay` lists every
  chunk from the start. Both share sequence numbers; ENDLIST appears in both at the end.
  CDN files outlive the metadata: `hide_metadata` keeps serving them (a remembered URL).
- Avatars (no auth): `/profile_images/<user id>/<screen_name>_normal.jpg` (48 px) and
  `_400x400.jpg` / `.jpg` (400 px), real JPEGs.

API checks, in X's order: bearer token (else 401, code 89); a pending `rate_limit` (429,
code 88, `x-rate-limit-*` headers); with an `auth_token` cookie: `x-csrf-token` == `ct0`
cookie (else 403, code 353) and a known auth_token (else 401, code 32); otherwise a guest
token from activate.json, good for `guest_token_uses` API calls (then 403, code 239).
`guest_access=False` refuses guests on GraphQL and status (403, code 200 "Forbidden.").

Quirks kept from X: `ended_at` is a string of milliseconds (`started_at` a number); chunks
are 3.008 s (`#EXTINF:3.008,`); every `junk_every`-th chunk has junk before its ID3 tag
(see tests.fakes.space_audio: chunk audio is a tone per sequence number, so
`measure_tones(file) == [tone_hz(s) for s in sequence]` proves order, no gap, no repeat).
Test hooks: rate_limit, graphql_error, expire_guest_tokens, fail_chunk, cut_chunk,
advance_live, end_live, hide_metadata; chunk_hits, junk_chunks, requests.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Iterable
from http.cookies import SimpleCookie

from tests.fakes.http_server import FakeServer, Request, Response
from tests.fakes.space_audio import CHUNK_SECONDS, chunk_audio
from tests.fakes.x_space import FakeSpace, avatar_jpeg, dumps

__all__ = ["PUBLIC_BEARER", "FakeSpace", "FakeX", "serve_space_for_bench"]

PUBLIC_BEARER = ("AAAAAAAAAAAAAAAAAAAAANRILgAAAAAAnNwIzUejRCOuH5E6I8xnZz4puTs%3D"
                 "1Zv7ttfk8LF81IUq16cHjhLTvJu4FA33AGWWjCpTnA")
GRAPHQL_PREFIX = "/i/api/graphql/"
STATUS_PREFIX = "/1.1/live_video_stream/status/"
GEOBLOCKED_PREFIX = "/live_video_stream/geoblocked/"
ACTIVATE_PATH = "/1.1/guest/activate.json"
RATE_LIMIT = 500
JSON = "application/json;charset=utf-8"
_CHUNK_RE = re.compile(r"chunk_(\d{19})_(\d+)_a\.aac")
_REFERERS = ("https://x.com/", "https://twitter.com/", "https://mobile.twitter.com/",
             "https://www.x.com/", "https://mobile.x.com/", "https://www.twitter.com/")


def _errors(status: int, code: int | None, message: str,
            headers: Iterable[tuple[str, str]] = ()) -> Response:
    error: dict = {"message": message} if code is None else {"code": code, "message": message}
    return status, [("Content-Type", JSON), *headers], dumps({"errors": [error]})


def _cookies(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is "no cookies", as browsers see it
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


class FakeX:
    """X's Spaces endpoints, CDN and avatars on one loopback server (see module docstring)."""

    def __init__(self, server: FakeServer | None = None, *, guest_token_uses: int = 50,
                 valid_auth_tokens: Iterable[str] = ("good-auth-token",),
                 latency: float = 0.0, require_query_id: str | None = None,
                 guest_access: bool = True) -> None:
        self._owns_server = server is None
        self.server = server or FakeServer()
        self.url = self.server.url
        self.guest_token_uses = guest_token_uses
        self.valid_auth_tokens = set(valid_auth_tokens)
        self.latency = latency
        self.require_query_id = require_query_id
        self.guest_access = guest_access
        self.spaces: dict[str, FakeSpace] = {}
        self._gone: dict[tuple[str, str], int] = {}
        self._vanishing: set[str] = set()
        self.hidden: set[str] = set()  # metadata gone, CDN still serving
        self._guest_uses: dict[str, int] = {}
        self._next_guest = 1_693_000_000_000_000_000
        self._rate_limited = 0
        self._rate_reset_in = 1
        self._graphql_errors: list[str] = []
        self._lock = threading.Lock()
        add = self._add
        add(ACTIVATE_PATH, self._activate)
        add(GRAPHQL_PREFIX, self._graphql, prefix=True)
        add(STATUS_PREFIX, self._status, prefix=True)
        add(GEOBLOCKED_PREFIX, lambda _r: (403, [("Content-Type", "text/plain")],
                                           b"Geoblocked"), prefix=True)
        add("/profile_images/", self._avatar, prefix=True)

    def _add(self, path: str, handler, **options) -> None:
        self.server.add(path, handler, latency=self.latency, **options)

    # -- setting things up -----------------------------------------------------------------

    def add_space(self, space: FakeSpace) -> FakeSpace:
        """Serve `space`; a Running one starts its live clock now."""
        space._t0 = time.monotonic()
        self.spaces[space.space_id] = space
        self.hidden.discard(space.space_id)
        self._add(space.cdn_prefix, functools.partial(self._cdn, space), prefix=True)
        chunk_audio(0, space.channels)  # make the audio now, not during the first request
        return space

    def hide_metadata(self, space_id: str) -> None:
        """Make the Space deleted/private for the API while its CDN files stay (days later)."""
        self.hidden.add(space_id)

    def rate_limit(self, times: int, reset_in: int = 1) -> None:
        """The next `times` API requests (activate, GraphQL, status) answer 429."""
        with self._lock:
            self._rate_limited = times
            self._rate_reset_in = reset_in

    def graphql_error(self, message: str, times: int = 1) -> None:
        """The next `times` GraphQL requests answer HTTP 200 with `errors` and empty data."""
        with self._lock:
            self._graphql_errors = [message] * times

    def expire_guest_tokens(self) -> None:
        """Every guest token issued so far is used up."""
        with self._lock:
            for token in self._guest_uses:
                self._guest_uses[token] = self.guest_token_uses

    def fail_chunk(self, space_id: str, seq: int, times: int = 1, status: int = 503) -> None:
        """The next `times` requests for chunk `seq` answer `status`."""
        self._add(self._chunk_path(space_id, seq),
                  functools.partial(self._cdn, self.spaces[space_id]),
                  fail_times=times, fail_status=status)

    def cut_chunk(self, space_id: str, seq: int, after: int = 1000, times: int = 1) -> None:
        """The next `times` answers for chunk `seq` drop the connection after `after` bytes."""
        self._add(self._chunk_path(space_id, seq),
                  functools.partial(self._cdn, self.spaces[space_id]),
                  cut_after=after, cut_times=times)

    def advance_live(self, space_id: str, count: int = 1) -> None:
        """Publish `count` more chunks of a live Space now (for live_interval=None)."""
        self.spaces[space_id]._advanced += count

    def gone_for(self, space_id: str, times: int, what: str = "replay") -> None:
        """X right after a Space ends: the next `times` requests for its replay playlists
        (`what="replay"`) or its stream status (`what="status"`) answer 404."""
        self._gone[(space_id, what)] = times

    def vanish_live_at_end(self, space_id: str) -> None:
        """Once the Space is over, its live playlist answers 404 instead of ENDLIST (as X's
        does), so chunks published since the last poll are only in the replay playlist."""
        self._vanishing.add(space_id)

    def _still_gone(self, space_id: str, what: str) -> bool:
        with self._lock:
            left = self._gone.get((space_id, what), 0)
            if left > 0:
                self._gone[(space_id, what)] = left - 1
            return left > 0

    def end_live(self, space_id: str) -> None:
        """End a live Space now, with the chunks it has so far."""
        space = self.spaces[space_id]
        space.chunks = space.published()

    # -- what tests read ---------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    @property
    def guest_tokens_issued(self) -> int:
        return len(self._guest_uses)

    def space_url(self, space_id: str) -> str:
        """What a user pastes."""
        return f"https://x.com/i/spaces/{space_id}"

    def playlist_url(self, space_id: str, kind: str = "replay") -> str:
        """The master playlist URL ("replay" or "live"), as the status endpoint gives it."""
        space = self.spaces[space_id]
        return f"{self.url}{space.cdn_prefix}{space.master_name}?type={kind}"

    def media_playlist_url(self, space_id: str, kind: str = "replay") -> str:
        space = self.spaces[space_id]
        return f"{self.url}{space.cdn_prefix}{space.media_name}?type={kind}"

    def chunk_url(self, space_id: str, seq: int) -> str:
        return self.url + self._chunk_path(space_id, seq)

    def expected_duration(self, space_id: str) -> float:
        """Seconds of audio in the finished Space."""
        return self.spaces[space_id].chunks * CHUNK_SECONDS

    def chunk_sequence(self, space_id: str) -> list[int]:
        """Sequence numbers of all chunks of the finished Space, in order."""
        return self.spaces[space_id].sequence()

    def junk_chunks(self, space_id: str) -> list[int]:
        space = self.spaces[space_id]
        return [seq for seq in space.sequence() if space.has_junk(seq)]

    def chunk_hits(self, space_id: str) -> dict[int, int]:
        """How many times each chunk of the Space was requested."""
        prefix = self.spaces[space_id].cdn_prefix
        hits: dict[int, int] = {}
        for request in list(self.server.requests):
            match = _CHUNK_RE.fullmatch(request.path[len(prefix):]) \
                if request.path.startswith(prefix) else None
            if match:
                seq = int(match.group(2))
                hits[seq] = hits.get(seq, 0) + 1
        return hits

    def stop(self) -> None:
        """Stop the server if FakeX started it."""
        if self._owns_server:
            self.server.stop()

    def __enter__(self) -> FakeX:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inside the server threads -----------------------------------------------------------

    def _chunk_path(self, space_id: str, seq: int) -> str:
        space = self.spaces[space_id]
        return space.cdn_prefix + space.chunk_name(seq)

    def _json(self, obj: object, status: int = 200) -> Response:
        with self._lock:
            remaining = max(0, RATE_LIMIT - len(self.server.requests))
        return status, [("Content-Type", JSON), ("x-rate-limit-limit", str(RATE_LIMIT)),
                        ("x-rate-limit-remaining", str(remaining)),
                        ("x-rate-limit-reset", str(int(time.time()) + 900))], dumps(obj)

    def _check(self, request: Request, *, needs_viewer: bool = True) -> Response | None:
        """None when the request may go on, else X's refusal."""
        if request.headers.get("authorization", "") != f"Bearer {PUBLIC_BEARER}":
            return _errors(401, 89, "Invalid or expired token.")
        with self._lock:
            if self._rate_limited > 0:
                self._rate_limited -= 1
                reset = int(time.time()) + self._rate_reset_in
                return _errors(429, 88, "Rate limit exceeded.", [
                    ("x-rate-limit-limit", str(RATE_LIMIT)), ("x-rate-limit-remaining", "0"),
                    ("x-rate-limit-reset", str(reset))])
        if not needs_viewer:
            return None
        cookies = _cookies(request)
        if "auth_token" in cookies:
            csrf = request.headers.get("x-csrf-token")
            if not csrf or csrf != cookies.get("ct0"):
                return _errors(403, 353,
                               "This request requires a matching csrf cookie and header.")
            if cookies["auth_token"] not in self.valid_auth_tokens:
                return _errors(401, 32, "Could not authenticate you.")
            return None
        token = request.headers.get("x-guest-token", "")
        with self._lock:
            uses = self._guest_uses.get(token)
            if uses is None or uses >= self.guest_token_uses:
                return _errors(403, 239, "Bad guest token.")
            self._guest_uses[token] = uses + 1
        if not self.guest_access:
            return _errors(403, 200, "Forbidden.")
        return None

    def _activate(self, request: Request) -> Response:
        if request.method != "POST":
            return _errors(404, 34, "Sorry, that page does not exist.")
        refusal = self._check(request, needs_viewer=False)
        if refusal:
            return refusal
        with self._lock:
            self._next_guest += 7
            token = str(self._next_guest)
            self._guest_uses[token] = 0
        return self._json({"guest_token": token})

    def _graphql(self, request: Request) -> Response:
        query_id, _, operation = request.path[len(GRAPHQL_PREFIX):].partition("/")
        if operation != "AudioSpaceById" or request.method not in ("GET", "HEAD"):
            return _errors(404, 34, "Sorry, that page does not exist.")
        refusal = self._check(request)
        if refusal:
            return refusal
        if self.require_query_id and query_id != self.require_query_id:
            return _errors(404, None, "Query: Unspecified")
        try:
            variables = json.loads(request.query.get("variables", ""))
            space_id = variables["id"]
        except (ValueError, KeyError, TypeError):
            return _errors(400, None, 'Variable "$id" of required type "String!" was not '
                           "provided.")
        try:
            features = json.loads(request.query.get("features", ""))
            assert isinstance(features, dict)
        except (ValueError, AssertionError):
            return _errors(400, 336, "The following features cannot be null: "
                           "spaces_2022_h2_spaces_communities, spaces_2022_h2_clipping")
        with self._lock:
            message = self._graphql_errors.pop(0) if self._graphql_errors else None
        if message is not None:
            return self._json({"errors": [{"message": message, "locations": [
                {"line": 1, "column": 1}], "path": ["audioSpace"]}], "data": {}})
        space = self.spaces.get(space_id) if space_id not in self.hidden else None
        audio_space = space.metadata_json(self.url) if space else {}
        return self._json({"data": {"audioSpace": audio_space}})

    def _status(self, request: Request) -> Response:
        refusal = self._check(request)
        if refusal:
            return refusal
        media_key = request.path[len(STATUS_PREFIX):]
        space = next((s for s in self.spaces.values()
                      if s.media_key == media_key and s.space_id not in self.hidden), None)
        if space is None or self._still_gone(space.space_id, "status"):
            return _errors(404, 34, "Sorry, that page does not exist.")
        state = space.current_state()
        if space.geoblocked:
            location = f"{self.url}{GEOBLOCKED_PREFIX}{media_key}/playlist.m3u8"
        elif state == "Running":
            location = self.playlist_url(space.space_id, "live")
        elif state == "Ended" and space.replay:
            location = self.playlist_url(space.space_id, "replay")
        else:
            return _errors(404, 34, "Sorry, that page does not exist.")
        return self._json({
            "source": {"location": location, "noRedirectPlaybackUrl": location,
                       "status": "LIVE_PUBLIC", "streamType": "HLS"},
            "sessionId": "1" + media_key[3:], "chatToken": "fake-chat-token",
            "lifecycleToken": "fake-lifecycle-token",
            "shareUrl": self.space_url(space.space_id), "chatPermissionType": "Public"})

    def _cdn(self, space: FakeSpace, request: Request) -> Response:
        referer = request.headers.get("referer", "")
        if not referer.startswith(_REFERERS):
            return 403, [("Content-Type", "text/plain")], b"Forbidden"
        now = time.monotonic()
        name = request.path[len(space.cdn_prefix):]
        kind = request.query.get("type") or ("live" if not space.is_over(now) else "replay")
        not_found = (404, [("Content-Type", "text/plain")], b"Not Found")
        if space.published(now) == 0 or kind not in ("live", "replay"):
            return not_found
        if name in (space.master_name, space.media_name) and (
                (kind == "live" and space.is_over(now) and space.space_id in self._vanishing)
                or (kind == "replay" and self._still_gone(space.space_id, "replay"))):
            return not_found
        playlist = [("Content-Type", "application/vnd.apple.mpegurl"),
                    ("Cache-Control", "no-cache" if not space.is_over(now) else "max-age=60")]
        if name == space.master_name:
            return 200, playlist, space.master_playlist(kind)
        if name == space.media_name:
            return 200, playlist, space.media_playlist(kind, now)
        match = _CHUNK_RE.fullmatch(name)
        if not match:
            return not_found
        seq = int(match.group(2))
        index = seq - space.first_sequence
        if not 0 <= index < space.published(now) or name != space.chunk_name(seq):
            return not_found
        return 200, [("Content-Type", "audio/aac")], space.chunk_body(seq)

    def _avatar(self, request: Request) -> Response:
        match = re.fullmatch(r"/profile_images/\d+/(\w+?)(_normal|_400x400|)\.jpg", request.path)
        if not match:
            return 404, [("Content-Type", "text/plain")], b"Not Found"
        size = 48 if match.group(2) == "_normal" else 400
        return 200, [("Content-Type", "image/jpeg")], avatar_jpeg(match.group(1), size)


def serve_space_for_bench(chunks: int = 2400, latency: float = 0.04,
                          junk_every: int = 7) -> tuple[FakeX, FakeSpace]:
    """A FakeX serving one ended `chunks`-chunk Space with `latency` s per request."""
    fake = FakeX(latency=latency)
    space = fake.add_space(FakeSpace("1BenchSpaceXYZ", title="Benchmark Space",
                                     host_name="Bench Host", host_screen_name="benchhost",
                                     chunks=chunks, junk_every=junk_every))
    return fake, space

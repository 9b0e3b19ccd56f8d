"""One fake X Space: its settings, the names X gives it, its metadata and its playlists.

`FakeSpace` is plain data plus pure rendering; `tests.fakes.x_server.FakeX` serves it.
A Space marked `state="Running"` is live: from the moment FakeX adds it, it has
`live_initial` chunks and gains one every `live_interval` seconds (or per
`FakeX.advance_live` when `live_interval` is None) until `chunks` exist; then it reports
"Ended" and its playlists get `#EXT-X-ENDLIST`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.fakes.space_audio import CHUNK_SECONDS, build_chunk, junk_bytes

STATES = ("NotStarted", "PrePublished", "Running", "Ended", "Canceled", "TimedOut")
NEVER_STARTED = ("NotStarted", "PrePublished", "Canceled", "TimedOut")
CHUNK_MS = round(CHUNK_SECONDS * 1000)  # 3008
CDN_REGION = "us-east-1"
DEFAULT_STARTED_AT_MS = 1_693_000_000_000  # 2023-08-25 21:46:40 UTC


def _digits(seed: str, count: int) -> str:
    """`count` decimal digits (no leading zero) derived from `seed`."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    return str(10 ** (count - 1) + number % (9 * 10 ** (count - 1)))


@dataclass
class FakeSpace:
    """A Space as X would serve it; everything not given is derived from `space_id`."""

    space_id: str
    title: str = "Fake Space"
    host_name: str = "Fake Host"
    host_screen_name: str = "fakehost"
    state: str = "Ended"
    chunks: int = 20
    replay: bool = True
    geoblocked: bool = False
    junk_every: int = 7  # every Nth chunk (by position) has junk before its ID3; 0: none
    started_at_ms: int | None = None  # default: a fixed 2023 date; "now" for Running
    ended_at_ms: int | None = None  # default for Ended: started + chunks * 3.008 s
    scheduled_start_ms: int | None = None  # default for NotStarted: an hour from now
    speakers: list[tuple[str, str]] = field(
        default_factory=lambda: [("Ada Lovelace", "ada"), ("Alan Turing", "alanturing")])
    live_interval: float | None = 0.3
    live_window: int = 6
    live_initial: int = 4
    channels: int = 1
    first_sequence: int = 0
    media_uri: str = "root"  # the master names its media playlist "root"-relative or "relative"
    media_key: str = ""  # default: "28_" + 19 digits
    # "legacy": the host's names and picture in `legacy` (X until 2025); "core": X's newer
    # shape, names in `core` and the picture in `avatar`, with no names left in `legacy`.
    user_shape: str = "legacy"

    _t0: float | None = field(default=None, init=False, repr=False)
    _advanced: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"state must be one of {STATES}")
        if self.media_uri not in ("root", "relative"):
            raise ValueError('media_uri must be "root" or "relative"')
        now_ms = int(time.time() * 1000)
        self.media_key = self.media_key or "28_" + _digits("mk" + self.space_id, 19)
        if self.started_at_ms is None and self.state not in NEVER_STARTED:
            self.started_at_ms = (now_ms - self.live_initial * CHUNK_MS
                                  if self.state == "Running" else DEFAULT_STARTED_AT_MS)
        if self.ended_at_ms is None and self.state == "Ended":
            assert self.started_at_ms is not None
            self.ended_at_ms = self.started_at_ms + self.chunks * CHUNK_MS
        if self.scheduled_start_ms is None and self.state == "NotStarted":
            self.scheduled_start_ms = now_ms + 3_600_000
        self.live_initial = max(1, min(self.live_initial, self.chunks))

    # -- names -----------------------------------------------------------------------------

    @property
    def cdn_token(self) -> str:
        raw = hashlib.sha256(("tok" + self.space_id).encode()).digest()[:33]
        return base64.urlsafe_b64encode(raw).decode()

    @property
    def playlist_id(self) -> str:
        return _digits("pl" + self.space_id, 19)

    @property
    def cdn_prefix(self) -> str:
        """Root-relative folder of the playlists and chunks (ends with /audio-space/)."""
        return (f"/Transcoding/v1/hls/{self.cdn_token}/non_transcode/{CDN_REGION}/"
                f"periscope-replay-direct-prod-{CDN_REGION}-public/audio-space/")

    @property
    def master_name(self) -> str:
        return f"playlist_{self.playlist_id}.m3u8"

    @property
    def media_name(self) -> str:
        return f"chunklist_{self.playlist_id}.m3u8"

    @property
    def creator_id(self) -> str:
        return _digits("user" + self.host_screen_name, 18)

    def sequence(self) -> list[int]:
        """Sequence numbers of every chunk the Space has when finished."""
        return list(range(self.first_sequence, self.first_sequence + self.chunks))

    def chunk_timestamp(self, seq: int) -> int:
        """The 19-digit nanosecond timestamp in a chunk's name (with X's small jitter)."""
        start_ns = (self.started_at_ms or DEFAULT_STARTED_AT_MS) * 1_000_000
        index = seq - self.first_sequence
        return start_ns + index * CHUNK_MS * 1_000_000 + (seq * 7919) % 1_000_000

    def chunk_name(self, seq: int) -> str:
        return f"chunk_{self.chunk_timestamp(seq)}_{seq}_a.aac"

    def has_junk(self, seq: int) -> bool:
        index = seq - self.first_sequence
        return self.junk_every > 0 and index % self.junk_every == self.junk_every - 1

    def chunk_body(self, seq: int) -> bytes:
        junk = junk_bytes(f"{self.space_id}/{seq}") if self.has_junk(seq) else b""
        return build_chunk(seq, channels=self.channels, first_seq=self.first_sequence,
                           junk=junk)

    # -- time --------------------------------------------------------------------------------

    def published(self, now: float | None = None) -> int:
        """How many chunks exist at monotonic time `now`."""
        if self.state in NEVER_STARTED:
            return 0
        if self.state != "Running":
            return self.chunks
        count = self.live_initial + self._advanced
        if self.live_interval and self._t0 is not None:
            elapsed = (time.monotonic() if now is None else now) - self._t0
            count += int(elapsed / self.live_interval)
        return min(self.chunks, count)

    def current_state(self, now: float | None = None) -> str:
        if self.state == "Running" and self.published(now) >= self.chunks:
            return "Ended"
        return self.state

    def is_over(self, now: float | None = None) -> bool:
        """True once no more chunks will appear (ENDLIST is in the playlists)."""
        return self.state != "Running" or self.current_state(now) == "Ended"

    # -- what X answers ------------------------------------------------------------------

    def user_json(self, base_url: str) -> dict:
        picture = avatar_url(base_url, self.creator_id, self.host_screen_name)
        user = {"__typename": "User", "id": base64.b64encode(
                    f"User:{self.creator_id}".encode()).decode(),
                "rest_id": self.creator_id, "is_blue_verified": False,
                "legacy": {"followers_count": 1234, "verified": False}}
        if self.user_shape == "core":
            user["core"] = {"created_at": "Tue Mar 21 20:50:14 +0000 2006",
                            "name": self.host_name, "screen_name": self.host_screen_name}
            user["avatar"] = {"image_url": picture}
        else:
            user["legacy"].update({"name": self.host_name, "screen_name": self.host_screen_name,
                                   "profile_image_url_https": picture})
        return user

    def participant_json(self, base_url: str, name: str, screen_name: str) -> dict:
        rest_id = _digits("user" + screen_name, 18)
        return {"periscope_user_id": _digits("psc" + screen_name, 13),
                "start": self.started_at_ms or 0, "twitter_screen_name": screen_name,
                "display_name": name, "avatar_url": avatar_url(base_url, rest_id, screen_name),
                "is_verified": False, "is_muted_by_admin": False, "is_muted_by_guest": True,
                "user_results": {"rest_id": rest_id,
                                 "result": {"__typename": "User", "identity_profile_labels_"
                                            "highlighted_label": {}, "is_blue_verified": False,
                                            "legacy": {}}}}

    def metadata_json(self, base_url: str, now: float | None = None) -> dict:
        """The `data.audioSpace` object of AudioSpaceById."""
        state = self.current_state(now)
        ended = state == "Ended"
        meta: dict = {
            "rest_id": self.space_id, "state": state, "title": self.title,
            "media_key": self.media_key,
            "created_at": (self.started_at_ms or self.scheduled_start_ms
                           or DEFAULT_STARTED_AT_MS) - 600_000,
            "updated_at": self._ended_at_ms(now) or self.started_at_ms
            or int(time.time() * 1000),
            "content_type": "visual_audio", "conversation_controls": 0,
            "disallow_join": False, "is_employee_only": False, "is_locked": False,
            "is_muted": False, "is_space_available_for_clipping": False,
            "is_space_available_for_replay": self.replay if ended else False,
            "narrow_cast_space_type": 0, "no_incognito": False,
            "total_replay_watched": 321 if ended and self.replay else 0,
            "total_live_listeners": 4567 if self.started_at_ms else 0,
            "creator_results": {"result": self.user_json(base_url)},
        }
        if self.started_at_ms is not None:
            meta["started_at"] = self.started_at_ms
            meta["replay_start_time"] = self.started_at_ms
        if ended:
            meta["ended_at"] = str(self._ended_at_ms(now))  # X sends this one as a string
        if self.scheduled_start_ms is not None:
            meta["scheduled_start"] = self.scheduled_start_ms
        host = self.participant_json(base_url, self.host_name, self.host_screen_name)
        speakers = [self.participant_json(base_url, n, s) for n, s in self.speakers]
        return {"metadata": meta, "is_subscribed": False,
                "participants": {"total": 1 + len(speakers) + 40, "admins": [host],
                                 "speakers": speakers, "listeners": []},
                "sharings": {"items": [], "slice_info": {}}}

    def _ended_at_ms(self, now: float | None) -> int | None:
        if self.ended_at_ms is not None:
            return self.ended_at_ms
        if self.current_state(now) == "Ended" and self.started_at_ms is not None:
            return self.started_at_ms + self.chunks * CHUNK_MS
        return None

    def master_playlist(self, kind: str) -> str:
        """The master playlist: one audio variant pointing at the media playlist."""
        uri = self.media_name if self.media_uri == "relative" else self.cdn_prefix + \
            self.media_name
        return ("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                f'#EXT-X-STREAM-INF:BANDWIDTH={70_000 * self.channels},'
                f'CODECS="mp4a.40.2"\n{uri}?type={kind}\n')

    def media_playlist(self, kind: str, now: float | None = None) -> str:
        """The media playlist: all chunks so far ("replay") or the last few ("live")."""
        count = self.published(now)
        seqs = self.sequence()[:count]
        if kind == "live":
            seqs = seqs[-self.live_window:]
        first = seqs[0] if seqs else self.first_sequence + count
        lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-TARGETDURATION:3",
                 f"#EXT-X-MEDIA-SEQUENCE:{first}"]
        over = self.is_over(now)
        if kind == "replay":
            lines.append("#EXT-X-PLAYLIST-TYPE:" + ("VOD" if over else "EVENT"))
        else:
            lines.append("#EXT-X-DISCONTINUITY-SEQUENCE:0")
        suffix = "?type=live" if kind == "live" else ""
        for seq in seqs:
            if kind == "live":
                ns = self.chunk_timestamp(seq)
                stamp = datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="milliseconds")
                lines.append("#EXT-X-PROGRAM-DATE-TIME:" + stamp.replace("+00:00", "Z"))
            lines += [f"#EXTINF:{CHUNK_SECONDS:.3f},", self.chunk_name(seq) + suffix]
        if over:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"


def avatar_url(base_url: str, rest_id: str, screen_name: str) -> str:
    """Where a user's 48x48 avatar lives (replace `_normal` by `_400x400` for a big one)."""
    return f"{base_url}/profile_images/{rest_id}/{screen_name}_normal.jpg"


@functools.lru_cache(maxsize=32)
def avatar_jpeg(screen_name: str, size: int) -> bytes:
    """A real JPEG avatar: a colour derived from the name, with a lighter square."""
    from PIL import Image, ImageDraw

    seed = sum(screen_name.encode()) * 2654435761
    colour = ((seed >> 16) & 0xFF, (seed >> 8) & 0xFF, seed & 0xFF)
    image = Image.new("RGB", (size, size), colour)
    ImageDraw.Draw(image).rectangle((size // 4, size // 4, size * 3 // 4, size * 3 // 4),
                                    fill=tuple(min(255, c + 90) for c in colour))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))

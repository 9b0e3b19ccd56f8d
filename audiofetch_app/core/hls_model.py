"""What an HLS media playlist says, once read: segments with their byte ranges, keys, IVs and
initialisation sections (RFC 8216 §4.3.2), and the playlist's own state (§4.3.3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


class HlsError(Exception):
    """A playlist that cannot be used; the message is one sentence for the user."""


MAX_PLAYLIST_BYTES = 8 << 20  # a 30,000-segment playlist is about 2 MB
MAX_SEGMENTS = 30_000  # 33 hours of 4-second segments


@dataclass(frozen=True)
class ByteRange:
    """A sub-range of a resource (RFC 8216 §4.3.2.2), with its offset already resolved."""

    start: int
    length: int

    @property
    def last(self) -> int:
        """The last byte of the range, as HTTP's `Range: bytes=start-last` counts it."""
        return self.start + self.length - 1

    @property
    def end(self) -> int:
        """The offset just past the range: where a following range without `@o` begins."""
        return self.start + self.length


@dataclass(frozen=True)
class InitSection:
    """A Media Initialization Section (EXT-X-MAP, RFC 8216 §4.3.2.5)."""

    url: str
    byterange: ByteRange | None = None
    key_url: str | None = None  # AES-128 key in force at the EXT-X-MAP tag
    key_iv: str | None = None  # required when key_url is set (§4.3.2.5)


@dataclass
class Segment:
    """One Media Segment. `index` names its file (callers may renumber it); `sequence` is its
    Media Sequence Number (RFC 8216 §3), which is what an AES-128 key without IV uses."""

    index: int
    url: str
    duration: float
    key_url: str | None = None  # AES-128 (identity key format) key of this segment
    key_iv: str | None = None  # the IV attribute as written ("0x..."), None when absent
    sequence: int = 0
    byterange: ByteRange | None = None
    init: InitSection | None = None
    discontinuity: bool = False  # an EXT-X-DISCONTINUITY comes before it (§4.3.2.3)


@dataclass
class MediaPlaylist:
    url: str
    segments: list[Segment]
    init_url: str | None = None  # the first EXT-X-MAP's resource (kept for older callers)
    ended: bool = True  # EXT-X-ENDLIST anywhere, or PLAYLIST-TYPE:VOD (§4.3.3.4, §4.3.3.5)
    target_duration: float = 0.0
    media_sequence: int = 0
    extra: dict[str, str] = field(default_factory=dict)
    discontinuity_sequence: int = 0
    gaps_skipped: int = 0  # EXT-X-GAP segments, not fetched
    gap_seconds: float = 0.0

    @property
    def duration(self) -> float:
        """Seconds of media to save: the EXTINF durations (RFC 8216 §4.3.2.1) of the kept
        segments."""
        return sum(s.duration for s in self.segments)


def short_url(url: str) -> str:
    """host/path of `url`, as sentences name a playlist or a resource (a URI of RFC 8216 §4,
    shown without its query)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"

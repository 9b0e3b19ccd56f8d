"""Read a media playlist the way RFC 8216 §4 and §6.3 say a client must.

The m3u8 package checks the syntax first (a broken line is named by bisection); the tags that
change the audio are then read here, line by line, because their meaning depends on order:
a byte range without an offset continues the previous segment's range (§4.3.2.2), an
EXT-X-KEY holds until the next one of the same KEYFORMAT (§4.3.2.4), a segment's Media
Sequence Number counts from EXT-X-MEDIA-SEQUENCE (§3, §4.3.3.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import m3u8

from audiofetch_app.core.hls_define import attributes, substitute
from audiofetch_app.core.hls_model import (
    MAX_SEGMENTS,
    ByteRange,
    HlsError,
    InitSection,
    MediaPlaylist,
    Segment,
    short_url,
)

IDENTITY = "identity"

_BYTERANGE = re.compile(r"^\s*(\d+)(?:@(\d+))?\s*$")
_IV = re.compile(r"^0[xX]([0-9a-fA-F]{1,32})$")


def loads(text: str, url: str) -> m3u8.M3U8:
    """m3u8's parse of a playlist (RFC 8216 §4.1), with a cap on segments checked first
    (memory stays bounded) and any parse failure turned into a sentence that names the first
    line it cannot read."""
    count = text.count("#EXTINF")
    if count > MAX_SEGMENTS:
        raise HlsError(f"The HLS playlist at {short_url(url)} lists {count:,} segments; "
                       f"AudioFetch takes at most {MAX_SEGMENTS:,}.")
    try:
        return m3u8.loads(text, uri=url)
    except Exception as exc:  # m3u8 raises plain ValueErrors and others on broken input
        number, line = _first_bad_line(text, url)
        raise _bad_line(url, number, line) from exc


def _first_bad_line(text: str, url: str) -> tuple[int, str]:
    """The first line whose inclusion makes the playlist unreadable (by bisection, so a long
    playlist costs a few parses, not one per line)."""
    lines = text.splitlines()
    low, high = 1, len(lines)
    while low < high:
        middle = (low + high) // 2
        try:
            m3u8.loads("\n".join(lines[:middle]), uri=url)
        except Exception:
            high = middle
        else:
            low = middle + 1
    return low, lines[low - 1] if lines else ""


def _bad_line(url: str, number: int, line: str) -> HlsError:
    return HlsError(f"The HLS playlist at {short_url(url)} cannot be read: line {number} "
                    f"({line[:80]!r}) is not valid HLS.")


def parse_iv(text: str) -> bytes:
    """The 16 bytes of an IV attribute: a hexadecimal-sequence read as a 128-bit unsigned
    big-endian integer (RFC 8216 §4.3.2.4); ValueError when it is not one."""
    match = _IV.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a 128-bit hexadecimal IV")
    return int(match.group(1), 16).to_bytes(16, "big")


@dataclass
class _Key:
    method: str
    url: str | None
    iv: str | None
    keyformat: str


@dataclass
class _Reader:
    """The state a media playlist builds up as it is read top to bottom."""

    url: str
    playlist: MediaPlaylist
    keys: dict[str, _Key] = field(default_factory=dict)  # KEYFORMAT -> key in force
    init: InitSection | None = None
    duration: float | None = None  # from the EXTINF waiting for its URI line
    byterange: tuple[int, int | None] | None = None
    discontinuity: bool = False
    gap: bool = False
    position: int = 0  # segments seen, GAP ones included: they have sequence numbers too
    previous: tuple[str, ByteRange | None] | None = None  # the last segment's URI and range
    line_number: int = 0
    line: str = ""

    def fail(self) -> HlsError:
        return _bad_line(self.url, self.line_number, self.line)


def parse_media_playlist(text: str, url: str,
                         imported: dict[str, str] | None = None) -> MediaPlaylist:
    """Parse a media playlist (RFC 8216 §4.3.2, §4.3.3, §6.3.2); URIs are joined to `url`.

    EXT-X-GAP segments (RFC 8216bis §4.4.4.7) are left out, EXT-X-PART and preload hints
    are ignored (whole segments carry the same media), keys other than AES-128 with the
    identity KEYFORMAT are refused with a sentence, and `{$name}` variables are replaced
    (8216bis §4.3; `imported`: the master playlist's, for EXT-X-DEFINE:IMPORT).
    """
    text, _ = substitute(text, url, imported)
    parsed = loads(text, url)
    reader = _Reader(url, MediaPlaylist(url=url, segments=[], ended=False))
    playlist = reader.playlist
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        reader.line_number, reader.line = number, line
        if not line.startswith("#"):
            if reader.duration is not None or reader.byterange is not None:
                _add_segment(reader, line)
            continue
        tag, _, value = line.partition(":")
        handler = _TAGS.get(tag)
        if handler is not None:
            handler(reader, value)
    if parsed.playlist_type and parsed.playlist_type.lower() == "vod":
        playlist.ended = True  # a VOD playlist cannot change (§4.3.3.5)
    first_map = next((s.init for s in playlist.segments if s.init), None)
    playlist.init_url = first_map.url if first_map else None
    return playlist


def _int(reader: _Reader, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise reader.fail() from None


def _media_sequence(reader: _Reader, value: str) -> None:
    reader.playlist.media_sequence = _int(reader, value)


def _discontinuity_sequence(reader: _Reader, value: str) -> None:
    reader.playlist.discontinuity_sequence = _int(reader, value)


def _target_duration(reader: _Reader, value: str) -> None:
    try:
        reader.playlist.target_duration = float(value.strip())
    except ValueError:
        raise reader.fail() from None


def _endlist(reader: _Reader, _value: str) -> None:
    reader.playlist.ended = True  # it may appear anywhere (§4.3.3.4): keep reading


def _i_frames_only(reader: _Reader, _value: str) -> None:
    raise HlsError(f"The HLS playlist at {short_url(reader.url)} lists only video key frames "
                   "(EXT-X-I-FRAMES-ONLY); it has no audio to save.")


def _skip(reader: _Reader, value: str) -> None:
    skipped = attributes(value).get("SKIPPED-SEGMENTS", "some")
    raise HlsError(f"The HLS playlist at {short_url(reader.url)} is a delta update that leaves "
                   f"out {skipped} segments (EXT-X-SKIP); open it without _HLS_skip in the "
                   "address.")


def _extinf(reader: _Reader, value: str) -> None:
    try:
        reader.duration = float(value.split(",", 1)[0].strip())
    except ValueError:
        raise reader.fail() from None


def _byterange(reader: _Reader, value: str) -> None:
    match = _BYTERANGE.match(value)
    if not match:
        raise reader.fail()
    length, offset = match.groups()
    reader.byterange = (int(length), int(offset) if offset is not None else None)


def _discontinuity(reader: _Reader, _value: str) -> None:
    reader.discontinuity = True


def _gap(reader: _Reader, _value: str) -> None:
    reader.gap = True


def _key(reader: _Reader, value: str) -> None:
    found = attributes(value)
    method = found.get("METHOD", "").upper()
    if not method:
        raise reader.fail()
    if method == "NONE":
        reader.keys.clear()  # the segments that follow are not encrypted
        return
    keyformat = found.get("KEYFORMAT", IDENTITY)
    uri = found.get("URI")
    if uri is None:
        raise reader.fail()
    iv = found.get("IV")
    if iv is not None:
        try:
            parse_iv(iv)
        except ValueError:
            raise reader.fail() from None
    reader.keys[keyformat] = _Key(method, urljoin(reader.url, uri), iv, keyformat)


def _map(reader: _Reader, value: str) -> None:
    found = attributes(value)
    if "URI" not in found:
        raise reader.fail()
    span = None
    if "BYTERANGE" in found:
        match = _BYTERANGE.match(found["BYTERANGE"])
        if not match:
            raise reader.fail()
        # No segment's range comes before an EXT-X-MAP's, so a missing offset means 0.
        span = ByteRange(int(match.group(2) or 0), int(match.group(1)))
    key = _usable_key(reader)
    if key is not None and key.iv is None:
        raise HlsError(f"The HLS playlist at {short_url(reader.url)} encrypts its "
                       "initialisation section without the IV that RFC 8216 requires for "
                       "it, so it cannot be decrypted.")
    reader.init = InitSection(urljoin(reader.url, found["URI"]), span,
                              key.url if key else None, key.iv if key else None)


def _usable_key(reader: _Reader) -> _Key | None:
    """The AES-128 identity key in force, None when nothing is encrypted; a sentence for keys
    AudioFetch cannot use (§4.3.2.4: several KEYFORMATs may apply at once)."""
    if not reader.keys:
        return None
    identity = reader.keys.get(IDENTITY)
    where = short_url(reader.url)
    if identity is None:
        formats = ", ".join(sorted(reader.keys))
        raise HlsError(f"The HLS stream at {where} is locked with DRM (KEYFORMAT {formats}), "
                       "which AudioFetch cannot save.")
    if identity.method != "AES-128":
        raise HlsError(f"The HLS stream at {where} is protected with {identity.method}, "
                       "which AudioFetch cannot save.")
    return identity


def _add_segment(reader: _Reader, uri: str) -> None:
    url = urljoin(reader.url, uri)
    span = None
    if reader.byterange is not None:
        length, offset = reader.byterange
        if offset is None:
            previous = reader.previous
            if previous is None or previous[0] != url or previous[1] is None:
                raise HlsError(
                    f"The HLS playlist at {short_url(reader.url)} cannot be read: the byte "
                    f"range before line {reader.line_number} has no offset, and the segment "
                    "before it is not a range of the same file (RFC 8216 §4.3.2.2).")
            offset = previous[1].end
        span = ByteRange(offset, length)
    key = _usable_key(reader)
    sequence = reader.playlist.media_sequence + reader.position
    reader.position += 1
    reader.previous = (url, span)
    duration = float(reader.duration or 0.0)
    reader.duration = reader.byterange = None
    if reader.gap:  # no media there: not fetched; a discontinuity it carried moves on
        reader.gap = False
        reader.playlist.gaps_skipped += 1
        reader.playlist.gap_seconds += duration
        return
    reader.playlist.segments.append(Segment(
        index=len(reader.playlist.segments), url=url, duration=duration,
        key_url=key.url if key else None, key_iv=key.iv if key else None,
        sequence=sequence, byterange=span, init=reader.init,
        discontinuity=reader.discontinuity))
    reader.discontinuity = False


_TAGS = {
    "#EXT-X-MEDIA-SEQUENCE": _media_sequence,
    "#EXT-X-DISCONTINUITY-SEQUENCE": _discontinuity_sequence,
    "#EXT-X-TARGETDURATION": _target_duration,
    "#EXT-X-ENDLIST": _endlist,
    "#EXT-X-I-FRAMES-ONLY": _i_frames_only,
    "#EXT-X-SKIP": _skip,
    "#EXTINF": _extinf,
    "#EXT-X-BYTERANGE": _byterange,
    "#EXT-X-DISCONTINUITY": _discontinuity,
    "#EXT-X-GAP": _gap,
    "#EXT-X-KEY": _key,
    "#EXT-X-MAP": _map,
    # Ignored on purpose: EXT-X-PART, EXT-X-PART-INF, EXT-X-PRELOAD-HINT (low-latency parts
    # of segments also listed whole), EXT-X-SESSION-KEY (a preload hint), and every tag
    # that does not change the audio (§6.3.1: clients ignore what they do not need).
}

"""Pick the audio in a master playlist (RFC 8216 §4.3.4): an audio rendition (EXT-X-MEDIA,
§4.3.4.1 and §4.3.4.2.1) when there is one, else an audio-only variant, else a variant whose
audio FFmpeg takes out. I-frame playlists (EXT-X-I-FRAME-STREAM-INF, §4.3.4.3) never count."""

from __future__ import annotations

from urllib.parse import urljoin

import m3u8

from audiofetch_app.core.hls_define import substitute
from audiofetch_app.core.hls_model import HlsError, short_url
from audiofetch_app.core.hls_parse import loads

_VARIANT_TAG = "#EXT-X-STREAM-INF"  # what makes m3u8 call a playlist a master (is_variant)
_AUDIO_CODECS = ("mp4a", "ac-3", "ec-3", "opus", "flac", "mp3", "alac", "fLaC", "dtsc")


def choose_variant(text: str, url: str, imported: dict[str, str] | None = None) -> str | None:
    """For a master playlist, the URL of the best audio (RFC 8216 §4.3.4.2.1); None for a
    media playlist. `{$name}` variables are replaced first (RFC 8216bis §4.3)."""
    expanded = substitute(text, url, imported)[0]
    if _VARIANT_TAG not in expanded:  # a media playlist: no parse (30 ms for 2,400 segments)
        return None
    parsed = loads(expanded, url)
    if not parsed.is_variant:
        return None
    variants = sorted((v for v in parsed.playlists if v.uri),
                      key=lambda v: v.stream_info.bandwidth or 0, reverse=True)
    rendition = _best_rendition(parsed, variants)
    if rendition is not None:
        return urljoin(url, rendition.uri)
    if not variants:
        raise HlsError(f"The HLS playlist at {short_url(url)} lists no streams.")
    audio_only = [v for v in variants if _is_audio_only(v.stream_info.codecs)]
    return urljoin(url, (audio_only or variants)[0].uri)


def _best_rendition(parsed: m3u8.M3U8, variants: list[m3u8.Playlist]) -> m3u8.Media | None:
    """The audio rendition to take: from the group the best variant uses (renditions of one
    group are the same content, §4.3.4.2.1), the DEFAULT one, else AUTOSELECT, else the
    first; a rendition without URI has its audio inside the variants (§4.3.4.1)."""
    audio = [m for m in parsed.media if (m.type or "").upper() == "AUDIO"]
    if not any(m.uri for m in audio):
        return None
    order = [v.stream_info.audio for v in variants if v.stream_info.audio]
    groups = list(dict.fromkeys([*order, *(m.group_id for m in audio)]))
    for group in groups:
        members = [m for m in audio if m.group_id == group]
        # Audio description (spoken picture descriptions) only when nothing else is there.
        plain = [m for m in members if "describes-video" not in (m.characteristics or "")]
        for pool in (plain, members):
            chosen = (_flagged(pool, "default") or _flagged(pool, "autoselect")
                      or (pool[0] if pool else None))
            if chosen is not None:
                return chosen if chosen.uri else None
    return None


def _flagged(pool: list[m3u8.Media], attribute: str) -> m3u8.Media | None:
    return next((m for m in pool if (getattr(m, attribute) or "").upper() == "YES"), None)


def _is_audio_only(codecs: str | None) -> bool:
    if not codecs:
        return False
    parts = [c.strip().lower() for c in codecs.split(",")]
    return all(p.startswith(tuple(c.lower() for c in _AUDIO_CODECS)) for p in parts)

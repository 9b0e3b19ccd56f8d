"""What the user's browser saw a page play (sent by the browser extension), merged with what
AudioFetch finds in the page's HTML.

Detection reads HTML without running JavaScript; a player that builds its list at run time
shows nothing there, but the browser that ran it knows: its `<audio>`/`<video>` elements'
`currentSrc` and `<source>` lists, and the media requests the page made (Resource Timing
entries). Each arrives as one `SeenMedia` mapping:

    {"url": "https://cdn.example/ep1.mp3", "title": "Episode 1",
     "kind": "element" | "source" | "request", "mime": "audio/mpeg" | null}

Merged list: detection's tracks in page order first; then what only the browser saw, in the
order it was seen (elements in document order, then requests in the order they started).
Two entries naming the same file (`urls.normalize_url`) are one track: the first keeps its
place, an empty title is filled from the other. Requests count only when they look like
audio (an audio extension or MIME type, or an HLS playlist); a DASH manifest (`.mpd`) is
left out, since AudioFetch cannot save DASH.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from audiofetch_app.core.registry import OptionError
from audiofetch_app.core.urls import is_web_url, title_from_url
from audiofetch_app.sources.page.tracks import Track
from audiofetch_app.sources.page.urls import (
    AUDIO_EXTENSIONS,
    extension,
    normalize_mime,
    normalize_url,
)

MAX_SEEN = 500  # entries one page may send (a request body is at most 64 KiB)
MAX_TITLE = 300
KINDS = ("element", "source", "request")
FAMILY = "browser"  # the Track.family of what only the browser saw


def check_seen(seen: object) -> list[dict[str, Any]]:
    """`seen` as a list of clean mappings; OptionError with a sentence when it is not one."""
    if not isinstance(seen, list):
        raise OptionError("seen: a list of what the browser played.")
    if len(seen) > MAX_SEEN:
        raise OptionError(f"seen: at most {MAX_SEEN:,} entries.")
    clean = []
    for item in seen:
        if not isinstance(item, Mapping) or not isinstance(item.get("url"), str):
            raise OptionError("seen: each entry needs a url.")
        url = item["url"].strip()
        if len(url) > 4096 or not is_web_url(url):
            # blob:, data: and mediastream: sources cannot be fetched again, nor an address
            # urllib cannot read ("http://[::1", a port over 65535)
            continue
        title = item.get("title")
        kind = item.get("kind") if item.get("kind") in KINDS else "request"
        clean.append({"url": url, "title": title.strip()[:MAX_TITLE]
                      if isinstance(title, str) else "",
                      "kind": kind, "mime": normalize_mime(item.get("mime"))})
    return clean


def _is_audio(entry: Mapping[str, Any]) -> bool:
    ext = extension(entry["url"])
    if ext == "mpd":
        return False
    if entry["kind"] in ("element", "source"):
        return True  # the page put it in a media element: the page says it plays
    mime = entry.get("mime") or ""
    return ext in AUDIO_EXTENSIONS or mime.startswith("audio/") or "mpegurl" in mime


def merge(detected: Iterable[Track], seen: Iterable[Mapping[str, Any]]) -> list[Track]:
    """Detection's tracks, then what only the browser saw, one track per file (see the
    module's text for the order and the rules)."""
    merged: list[Track] = []
    by_key: dict[str, Track] = {}
    for track in detected:
        key = normalize_url(track.url)
        if key in by_key:
            continue
        by_key[key] = track
        merged.append(track)
    for entry in seen:
        if not _is_audio(entry):
            continue
        key = normalize_url(entry["url"])
        title = entry.get("title") or ""
        known = by_key.get(key)
        if known is not None:
            if not known.title and title:
                known.title = title
            continue
        track = Track(url=entry["url"], title=title or title_from_url(entry["url"]),
                      mime=entry.get("mime"), family=FAMILY)
        by_key[key] = track
        merged.append(track)
    return merged

"""JSON-LD: `AudioObject`, and `PodcastEpisode`/`Episode`/`MusicRecording` audio given under
`associatedMedia`, `audio` or `encoding`, anywhere in `@graph`s, arrays and nesting."""

from __future__ import annotations

import json
from typing import Any

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    clean_text,
    make_track,
    to_number,
    unique,
)
from audiofetch_app.sources.page.scripts import parse_literal
from audiofetch_app.sources.page.urls import is_audio

NAME = "jsonld"
DESCRIPTION = "JSON-LD AudioObject and PodcastEpisode data"
PRECEDENCE = 60

_MEDIA_TYPES = {"audioobject", "mediaobject", "datadownload"}
_AUDIO_KEYS = ("audio", "associatedMedia", "encoding", "encodings")
# Branches that describe people, pictures and site furniture, never the audio itself.
_SKIP_KEYS = {"image", "thumbnail", "thumbnailUrl", "logo", "author", "publisher", "creator",
              "video", "potentialAction", "breadcrumb", "sameAs", "@context", "contributor"}
_MAX_DEPTH = 40


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type", [])
    values = raw if isinstance(raw, list) else [raw]
    return {v.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() for v in values if isinstance(v, str)}


class _Walker:
    def __init__(self, page: Page, position: int) -> None:
        self.page = page
        self.position = position
        self.found: list[PlacedTrack | None] = []

    def emit(self, raw: Any, title: str, number: Any, mime: Any, trust: bool) -> None:
        pos = (self.position, len(self.found) + 1)
        self.found.append(make_track(self.page, raw, NAME, pos, title=title, number=number,
                                     mime=mime if isinstance(mime, str) else None, trust=trust))

    def media(self, node: dict[str, Any], title: str, number: Any) -> None:
        """A media object: its contentUrl (or an audio-looking url)."""
        title = clean_text(node.get("name")) or clean_text(node.get("headline")) or title
        mime = node.get("encodingFormat") or node.get("fileFormat")
        audio_typed = "audioobject" in _types(node) or (
            isinstance(mime, str) and mime.lower().startswith("audio"))
        content = node.get("contentUrl")
        if isinstance(content, str) and content.strip():
            self.emit(content, title, number, mime, trust=audio_typed)
            return
        url = node.get("url")
        if isinstance(url, str) and is_audio(url, mime if isinstance(mime, str) else None):
            self.emit(url, title, number, mime, trust=False)

    def walk(self, value: Any, title: str = "", number: Any = None, depth: int = 0,
             under_audio: bool = False) -> None:
        if depth > _MAX_DEPTH:
            return
        if isinstance(value, list):
            for item in value[:5000]:
                self.walk(item, title, number, depth + 1, under_audio)
            return
        if isinstance(value, str):
            if under_audio:
                self.emit(value, title, number, None, trust=True)
            return
        if not isinstance(value, dict):
            return
        types = _types(value)
        own_title = clean_text(value.get("name")) or clean_text(value.get("headline"))
        own_number = next((value[k] for k in ("episodeNumber", "position", "trackNumber")
                           if to_number(value.get(k)) is not None), None)
        if types & _MEDIA_TYPES or (under_audio and "contentUrl" in value):
            self.media(value, title, own_number if own_number is not None else number)
            return
        title = own_title or title
        number = own_number if own_number is not None else number
        for key, child in value.items():
            if key in _SKIP_KEYS or not isinstance(child, dict | list | str):
                continue
            if isinstance(child, str) and key not in _AUDIO_KEYS:
                continue
            self.walk(child, title, number, depth + 1, under_audio=key in _AUDIO_KEYS)


def _load(text: str) -> Any:
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return parse_literal(text.strip().removeprefix("<!--").removesuffix("-->"))


def find(page: Page) -> list[PlacedTrack]:
    """Audio in every `application/ld+json` script, in document order."""
    found: list[PlacedTrack | None] = []
    for script in page.scripts:
        if script.type != "application/ld+json":
            continue
        walker = _Walker(page, script.position)
        walker.walk(_load(script.text))
        found.extend(walker.found)
    return unique(found)

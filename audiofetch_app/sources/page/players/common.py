"""Helpers every player family shares: building tracks, choosing among alternative sources,
reading titles from markup and track objects from scripts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborNode

from audiofetch_app.sources.page.document import Page, Script
from audiofetch_app.sources.page.scripts import Token
from audiofetch_app.sources.page.tracks import Track
from audiofetch_app.sources.page.urls import (
    extension,
    format_mime,
    guess_mime,
    is_audio,
    normalize_url,
    preference,
    same_document,
)

Position = tuple[int, float]
URL_KEYS = ("src", "file", "url", "mp3", "m4a", "audio", "audioUrl", "audio_url", "audioSrc",
            "stream", "streamUrl", "stream_url", "source", "contentUrl", "aac", "oga", "ogg",
            "webm", "webma", "wav", "flac", "opus")
TITLE_KEYS = ("title", "name", "trackName", "track_name", "songName", "song", "caption")
NUMBER_KEYS = ("track_number", "trackNumber", "track", "number", "episodeNumber", "episode", "no")
# Extensions that are never audio, even where only audio is expected.
NOT_AUDIO = frozenset({"html", "htm", "xhtml", "jpg", "jpeg", "png", "gif", "webp", "svg", "avif",
                       "ico", "css", "js", "json", "pdf", "zip", "txt", "xml", "mp4", "mov",
                       "mkv", "avi", "m4v", "vtt", "srt", "lrc"})
_SPACE = re.compile(r"\s+")


@dataclass
class PlacedTrack(Track):
    """A Track plus where the page mentions it, so merged results keep page order."""

    position: Position = field(default=(0, 0), compare=False, repr=False)


def clean_text(value: Any, limit: int = 300) -> str:
    """Collapsed, stripped text for a title; '' for anything that is not a string."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return ""
    return _SPACE.sub(" ", str(value)).strip()[:limit]


def to_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 100_000:
        return value
    if isinstance(value, float) and value.is_integer() and 0 <= value < 100_000:
        return int(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d{1,5})(?:\s*/\s*\d+)?\s*", value)
        if match:
            return int(match.group(1))
    return None


def make_track(page: Page, raw: Any, family: str, position: Position, *, title: Any = "",
               number: Any = None, mime: Any = None, audio_context: bool = False,
               trust: bool = False) -> PlacedTrack | None:
    """A track for a URL the page names, or None when it is not (absolute-able) audio.

    `trust` keeps URLs without an audio extension, for places that only ever hold audio."""
    url = page.resolve(raw)
    if url is None or same_document(url, page.url):
        return None
    declared = mime if isinstance(mime, str) else None
    if not is_audio(url, declared, audio_context=audio_context) and (
            not trust or extension(url) in NOT_AUDIO
            or (declared and not declared.lower().startswith(("audio", "application")))):
        return None
    return PlacedTrack(url=url, title=clean_text(title), number=to_number(number),
                       mime=guess_mime(url, declared), family=family, position=position)


def best(candidates: Iterable[PlacedTrack | None]) -> PlacedTrack | None:
    """The preferred one of several alternative sources of one track (mp3/m4a over ogg)."""
    found = [c for c in candidates if c is not None]
    if not found:
        return None
    return min(enumerate(found), key=lambda ic: (preference(ic[1].url, ic[1].mime), ic[0]))[1]


def unique(tracks: Iterable[PlacedTrack | None]) -> list[PlacedTrack]:
    """Tracks without repeats (by normalized URL), first mention kept, in the given order."""
    seen: set[str] = set()
    out: list[PlacedTrack] = []
    for track in tracks:
        if track is None:
            continue
        key = normalize_url(track.url)
        if key not in seen:
            seen.add(key)
            out.append(track)
    return out


def attr(node: LexborNode, *names: str) -> str:
    """First non-empty attribute among names."""
    attrs = node.attributes
    for name in names:
        value = attrs.get(name)
        if value and value.strip():
            return value.strip()
    return ""


def classes(node: LexborNode) -> set[str]:
    return set((node.attributes.get("class") or "").split())


def node_text(node: LexborNode | None) -> str:
    if node is None:
        return ""
    return clean_text(node.text(deep=True, separator=" "))


def ancestors(node: LexborNode, limit: int = 12) -> Iterator[LexborNode]:
    parent = node.parent
    while parent is not None and limit > 0:
        yield parent
        parent, limit = parent.parent, limit - 1


def media_title(node: LexborNode) -> str:
    """A title the markup gives an audio element: its own attributes or a figure's caption."""
    own = attr(node, "title", "data-title", "aria-label", "data-name")
    if own:
        return clean_text(own)
    for parent in ancestors(node, 4):
        if parent.tag == "figure":
            return node_text(parent.css_first("figcaption"))
    return ""


def element_sources(page: Page, node: LexborNode, family: str, *,
                    audio_context: bool = True) -> list[PlacedTrack]:
    """Every source an audio element names: its own src/data-src, then its <source> children."""
    pos = (page.position(node), 0)
    title = media_title(node)
    found = [make_track(page, attr(node, "src", "data-src", "data-source", "data-audio"), family,
                        pos, title=title, mime=attr(node, "type"), audio_context=audio_context,
                        trust=audio_context)]
    for source in node.css("source"):
        raw = attr(source, "src", "data-src", "data-source")
        found.append(make_track(page, raw, family, pos, title=title, mime=attr(source, "type"),
                                audio_context=audio_context, trust=audio_context))
    return [t for t in found if t is not None]


def script_pos(script: Script, token: Token) -> Position:
    return (script.position, token.start + 1)


def first(obj: dict[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def track_from_object(page: Page, obj: Any, family: str, position: Position, *,
                      title: Any = "", audio_context: bool = False, trust: bool = False,
                      url_keys: Iterable[str] = URL_KEYS) -> PlacedTrack | None:
    """A track from a script's `{title, src|file|url|mp3..., type}` object, or from a string."""
    if isinstance(obj, str):
        return make_track(page, obj, family, position, title=title,
                          audio_context=audio_context, trust=trust)
    if not isinstance(obj, dict):
        return None
    name = first(obj, TITLE_KEYS) or title
    number = next((obj[k] for k in NUMBER_KEYS if to_number(obj.get(k)) is not None), None)
    mime = obj.get("type") if isinstance(obj.get("type"), str) else None
    candidates: list[PlacedTrack | None] = []
    for key in url_keys:
        value = obj.get(key)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, dict):
                candidates.append(track_from_object(page, item, family, position, title=name,
                                                    audio_context=audio_context, trust=trust))
            elif isinstance(item, str) and item.strip():
                candidates.append(make_track(page, item, family, position, title=name,
                                             number=number, mime=_key_mime(key, mime),
                                             audio_context=audio_context, trust=trust))
    sources = obj.get("sources")
    if isinstance(sources, list):
        candidates.extend(track_from_object(page, s, family, position, title=name,
                                            audio_context=audio_context, trust=trust)
                          for s in sources)
    chosen = best(candidates)
    if chosen is not None and chosen.number is None:
        chosen.number = to_number(number)
    return chosen


def _key_mime(key: str, declared: str | None) -> str | None:
    return declared or format_mime(key)


def tracks_from_list(page: Page, items: Any, family: str, position: Position,
                     **kwargs: Any) -> list[PlacedTrack]:
    """Tracks of a playlist array; items keep their order (positions ascend within it)."""
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return []
    found = []
    for index, item in enumerate(items[:2000]):
        track = track_from_object(page, item, family, (position[0], position[1] + index / 10_000),
                                  **kwargs)
        if track is not None:
            found.append(track)
    return _alternatives(found)


def _alternatives(tracks: list[PlacedTrack]) -> list[PlacedTrack]:
    """A list of one file in several formats (a.ogg, a.mp3) is one track, not several."""
    if len(tracks) < 2:
        return tracks
    stems = {(t.url.rsplit("?", 1)[0].rsplit(".", 1)[0], t.title) for t in tracks}
    if len(stems) == 1 and len({extension(t.url) for t in tracks}) == len(tracks):
        chosen = best(tracks)
        return [chosen] if chosen is not None else []
    return tracks

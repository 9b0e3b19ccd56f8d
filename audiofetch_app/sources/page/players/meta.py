"""Meta tags: Open Graph `og:audio` (with `secure_url`) and `twitter:player:stream`."""

from __future__ import annotations

from dataclasses import dataclass, field

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    attr,
    make_track,
    node_text,
    unique,
)

NAME = "meta"
DESCRIPTION = "og:audio and twitter:player:stream meta tags"
PRECEDENCE = 110


@dataclass
class _Group:
    """One og:audio structure: the URL and the properties that follow it."""

    position: int
    url: str = ""
    secure_url: str = ""
    mime: str = ""
    title: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def find(page: Page) -> list[PlacedTrack]:
    """og:audio groups in order (secure URL preferred), then the Twitter player stream."""
    groups: list[_Group] = []
    twitter: _Group | None = None
    for node in page.css("meta[content]"):
        prop = attr(node, "property", "name").lower()
        content = attr(node, "content")
        if not prop.startswith(("og:audio", "twitter:player:stream")) or not content:
            continue
        pos = page.position(node)
        if prop.startswith("twitter:player:stream"):
            twitter = twitter or _Group(pos)
            if prop == "twitter:player:stream":
                twitter.url = twitter.url or content
            elif prop.endswith("content_type"):
                twitter.mime = content
            continue
        current = groups[-1] if groups else None
        if prop in ("og:audio", "og:audio:url"):
            if current is None or (current.url and current.url != content):
                current = _Group(pos)
                groups.append(current)
            current.url = content
        elif current is None:
            current = _Group(pos)
            groups.append(current)
        if prop == "og:audio:secure_url":
            current.secure_url = content
        elif prop == "og:audio:type":
            current.mime = content
        elif prop in ("og:audio:title", "og:audio:album", "og:audio:artist"):
            current.extra[prop] = content
    title = page.meta("og:title", "twitter:title") or node_text(page.tree.css_first("title"))
    found: list[PlacedTrack | None] = []
    for group in groups:
        name = group.extra.get("og:audio:title") or title
        for raw in (group.secure_url, group.url):
            track = make_track(page, raw, NAME, (group.position, 0), title=name,
                               mime=group.mime or None, trust=True) if raw else None
            if track is not None:
                found.append(track)
                break
    if twitter is not None and twitter.url:
        audio = twitter.mime.lower().startswith("audio/")
        found.append(make_track(page, twitter.url, NAME, (twitter.position, 0), title=title,
                                mime=twitter.mime or None, trust=audio))
    return unique(found)

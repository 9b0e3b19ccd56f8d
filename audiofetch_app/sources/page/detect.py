"""Find the audio tracks a page offers, without running its JavaScript.

Each player family (a module in `players/`, listed in `players/__init__.py`) reads the parsed
page; auto-detection runs them all, merges what they find by normalized URL and keeps page
order, crediting a track to the family with the lowest PRECEDENCE that found it. Nothing here
touches the network and nothing here raises on any page."""

from __future__ import annotations

import logging
from types import ModuleType
from urllib.parse import unquote, urlsplit

from audiofetch_app.sources.page.document import Page, parse_page
from audiofetch_app.sources.page.players import feeds, load_families
from audiofetch_app.sources.page.players.common import PlacedTrack
from audiofetch_app.sources.page.tracks import Track
from audiofetch_app.sources.page.urls import normalize_url

__all__ = ["FAMILIES", "Page", "Track", "UnknownPlugin", "detect_tracks", "family_names",
           "feed_links", "parse_page", "what_we_look_for"]

log = logging.getLogger(__name__)

# The families in the order auto-detection runs them: see `players/__init__.py`.
FAMILIES: dict[str, ModuleType] = {module.NAME: module for module in load_families()}
# Who gets the credit when several families find one track: the lowest PRECEDENCE.
_RANK: dict[str, int] = {name: module.PRECEDENCE for name, module in FAMILIES.items()}
_UNRANKED = max(_RANK.values()) + 1
_GENERIC_TITLES = {"download", "play", "listen", "mp3", "audio", "link", "here", "click here",
                   "download mp3", "download audio", "stream", "listen now", "play now", "file",
                   "direct link", "download file", "save", "podcast", "episode"}


class UnknownPlugin(ValueError):
    """A `--plugin` name that is not one of the families."""


def family_names() -> list[str]:
    """The family names, in the order auto-detection runs them."""
    return list(FAMILIES)


def _rank(family: str) -> int:
    return _RANK.get(family, _UNRANKED)


def _run(name: str, page: Page) -> list[PlacedTrack]:
    try:
        found = FAMILIES[name].find(page)
    except Exception:  # a detector bug must cost its tracks, never the whole page
        log.debug("page detection: family %s failed on %s", name, page.url, exc_info=True)
        return []
    tracks = [t for t in found if isinstance(t, PlacedTrack) and t.url.startswith("http")]
    return sorted(tracks, key=lambda t: t.position)


def _is_feed(page: Page) -> bool:
    try:
        return feeds.is_feed(page)
    except Exception:
        return False


def _title_score(track: Track) -> int:
    title = track.title.strip().lower()
    if not title:
        return 0
    filename = unquote(urlsplit(track.url).path.rsplit("/", 1)[-1]).lower()
    if (title in _GENERIC_TITLES or "://" in title or title == filename
            or title == filename.rsplit(".", 1)[0]):
        return 1
    return 2


def _merge(group: list[PlacedTrack]) -> Track:
    by_family = sorted(group, key=lambda t: _rank(t.family))
    first = group[0]
    titled = max(by_family, key=_title_score)
    mimes = [t.mime for t in by_family if t.mime]
    specific = [m for m in mimes if m != "application/octet-stream"]
    return Track(
        url=first.url,
        title=titled.title,
        number=next((t.number for t in by_family if t.number is not None), None),
        mime=(specific or mimes or [None])[0],
        family=by_family[0].family,
        size=next((t.size for t in by_family if t.size is not None), None),
    )


def detect_tracks(page: Page, plugin: str | None = None) -> list[Track]:
    """Tracks in page order; `plugin` runs one family only (UnknownPlugin if no such family)."""
    name = (plugin or "").strip().lower()
    if name and name != "auto" and name not in FAMILIES:
        raise UnknownPlugin(f"Unknown plugin {plugin!r}; choose one of: {', '.join(FAMILIES)}")
    # On a feed, the markup is escaped show notes: its enclosures are the tracks.
    feed_only = [feeds.NAME] if _is_feed(page) else list(FAMILIES)
    names = [name] if name in FAMILIES else feed_only
    try:
        found = [track for family in names for track in _run(family, page)]
        found.sort(key=lambda t: (t.position, _rank(t.family)))
        groups: dict[str, list[PlacedTrack]] = {}
        for track in found:
            groups.setdefault(normalize_url(track.url), []).append(track)
        return [_merge(group) for group in groups.values()]
    except Exception:
        log.debug("page detection failed on %s", page.url, exc_info=True)
        return []


def feed_links(page: Page) -> list[str]:
    """RSS/Atom feeds the page links to; the caller follows them when the page has no tracks."""
    try:
        return feeds.feed_links(page)
    except Exception:
        log.debug("feed link detection failed on %s", page.url, exc_info=True)
        return []


def what_we_look_for() -> str:
    """One sentence naming what detection looks for, for "no audio found" messages."""
    parts = [module.DESCRIPTION for module in FAMILIES.values()]
    return f"Looked for {'; '.join(parts[:-1])}; and {parts[-1]}."
